package model

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/tensor"
)

// Weight fields of the structs below carry a `weight:"…"` tag with the
// upstream tensor name relative to the struct's prefix; "{gen}" stands for
// the expert suffix ("" for the understanding expert, "_mot_gen" for the
// generation expert). A ",optional" tag may be absent from the checkpoint
// (attention biases).
const genSuffix = "_mot_gen"

// weightLoader fills tagged tensor.Tensor fields from a checkpoint.
type weightLoader struct {
	ck *checkpoint.Checkpoint
	b  tensor.Backend
}

// fill loads every tagged field of the struct dst points to. prefix is
// prepended to each name and "{gen}" is replaced by suffix.
func (l weightLoader) fill(dst any, prefix, suffix string) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag, ok := t.Field(i).Tag.Lookup("weight")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		name = prefix + strings.ReplaceAll(name, "{gen}", suffix)
		if _, _, present := l.ck.Info(name); !present && opts == "optional" {
			continue
		}
		w, err := l.load(name)
		if err != nil {
			return err
		}
		v.Field(i).Set(reflect.ValueOf(w))
	}
	return nil
}

// load makes one backend weight from a checkpoint tensor.
func (l weightLoader) load(name string) (tensor.Tensor, error) {
	ct, err := l.ck.Tensor(name)
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(ct.Shape))
	for i, d := range ct.Shape {
		shape[i] = int(d)
	}
	w, err := l.b.Weight(ct.DType, ct.Data, shape...)
	if err != nil {
		return nil, fmt.Errorf("model: weight %q: %w", name, err)
	}
	return w, nil
}
