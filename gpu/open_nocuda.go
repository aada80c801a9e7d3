//go:build !cuda

package gpu

// Open opens CUDA device index; without the cuda build tag there is none.
func Open(index int, budget int64) (Accelerator, error) { return nil, ErrNoCUDA }
