package cli

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/sensenova/studio/gpu"
)

// gpuReport is what `sensenova gpu` prints.
type gpuReport struct {
	CUDA bool `json:"cuda"`
	gpu.Inventory
	Error string `json:"error,omitempty"`
}

func runGPU(_ context.Context, args []string, s Streams) error {
	fs := newFlags("gpu", "", s)
	if err := parse(fs, args); err != nil {
		return err
	}
	inv, err := gpu.Detect()
	rep := gpuReport{CUDA: !errors.Is(err, gpu.ErrNoCUDA), Inventory: inv}
	if err != nil {
		rep.Error = err.Error()
	}
	if rep.Devices == nil {
		rep.Devices = []gpu.Device{}
	}
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	if encErr := enc.Encode(rep); encErr != nil {
		return encErr
	}
	if err != nil && rep.CUDA {
		return err // a CUDA build that cannot query its devices failed
	}
	return nil
}
