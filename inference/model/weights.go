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

// Source provides the weights of a network by their upstream names: a
// checkpoint (CheckpointSource) or, for the benchmark, generated tensors.
type Source interface {
	// Has reports whether the named tensor exists.
	Has(name string) bool
	// Load makes the named tensor on backend b.
	Load(b tensor.Backend, name string) (tensor.Tensor, error)
}

// CheckpointSource loads weights from an opened checkpoint.
type CheckpointSource struct{ Checkpoint *checkpoint.Checkpoint }

// Has implements Source.
func (s CheckpointSource) Has(name string) bool {
	_, _, present := s.Checkpoint.Info(name)
	return present
}

// Load implements Source: the backend receives the checkpoint's raw bytes.
func (s CheckpointSource) Load(b tensor.Backend, name string) (tensor.Tensor, error) {
	ct, err := s.Checkpoint.Tensor(name)
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(ct.Shape))
	for i, d := range ct.Shape {
		shape[i] = int(d)
	}
	w, err := b.Weight(ct.DType, ct.Data, shape...)
	if err != nil {
		return nil, fmt.Errorf("model: weight %q: %w", name, err)
	}
	return w, nil
}

// weightLoader fills tagged tensor.Tensor fields from a source, reporting
// each loaded tensor to progress (when set).
type weightLoader struct {
	src      Source
	b        tensor.Backend
	progress func(name string)
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
		if !l.src.Has(name) && opts == "optional" {
			continue
		}
		w, err := l.src.Load(l.b, name)
		if err != nil {
			return err
		}
		if l.progress != nil {
			l.progress(name)
		}
		v.Field(i).Set(reflect.ValueOf(w))
	}
	return nil
}
