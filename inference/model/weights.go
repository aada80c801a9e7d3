package model

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/safetensors"
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

// Size implements Sizer.
func (s CheckpointSource) Size(name string) (int64, bool) {
	info, _, ok := s.Checkpoint.Info(name)
	if !ok {
		return 0, false
	}
	n := int64(1)
	for _, d := range info.Shape {
		n *= int64(d)
	}
	return 2 * n, true
}

// LoadHost implements HostLoader: the checkpoint's bytes go to host memory
// without a trip through the device.
func (s CheckpointSource) LoadHost(b tensor.Streamer, name string) (tensor.Tensor, error) {
	return s.make(name, b.HostWeight)
}

// make hands the named tensor's bytes to a backend's weight maker.
func (s CheckpointSource) make(name string, weight func(safetensors.DType, []byte, ...int) (tensor.Tensor, error)) (tensor.Tensor, error) {
	ct, err := s.Checkpoint.Tensor(name)
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(ct.Shape))
	for i, d := range ct.Shape {
		shape[i] = int(d)
	}
	w, err := weight(ct.DType, ct.Data, shape...)
	if err != nil {
		return nil, fmt.Errorf("model: weight %q: %w", name, err)
	}
	return w, nil
}

// Sizer is a Source that knows a weight's size in bf16 bytes before making
// it; BuildOptions.DeviceBytes needs one.
type Sizer interface {
	Size(name string) (int64, bool)
}

// HostLoader is a Source that can make a weight in host memory directly.
type HostLoader interface {
	LoadHost(b tensor.Streamer, name string) (tensor.Tensor, error)
}

// Load implements Source: the backend receives the checkpoint's raw bytes.
func (s CheckpointSource) Load(b tensor.Backend, name string) (tensor.Tensor, error) {
	return s.make(name, b.Weight)
}

// weightLoader fills tagged tensor.Tensor fields from a source, reporting
// each loaded tensor to progress (when set). With a streamer and a device
// budget it keeps weights on the device while they fit, in the order they
// are loaded, and the rest in host memory.
type weightLoader struct {
	src      Source
	b        tensor.Backend
	progress func(name string)

	streamer       tensor.Streamer
	budget, onDev  int64
	devN, hostN    int
	hostBytesTotal int64
}

// load makes one weight, on the device or in host memory.
func (l *weightLoader) load(name string) (tensor.Tensor, error) {
	if l.streamer == nil || l.budget <= 0 {
		return l.src.Load(l.b, name)
	}
	size := int64(0)
	if sz, ok := l.src.(Sizer); ok {
		size, _ = sz.Size(name)
	}
	if l.onDev+size <= l.budget {
		l.onDev += size
		l.devN++
		return l.src.Load(l.b, name)
	}
	l.hostN++
	l.hostBytesTotal += size
	if hl, ok := l.src.(HostLoader); ok {
		return hl.LoadHost(l.streamer, name)
	}
	w, err := l.src.Load(l.b, name)
	if err != nil {
		return nil, err
	}
	return l.streamer.ToHost(w)
}

// fill loads every tagged field of the struct dst points to. prefix is
// prepended to each name and "{gen}" is replaced by suffix.
func (l *weightLoader) fill(dst any, prefix, suffix string) error {
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
		w, err := l.load(name)
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
