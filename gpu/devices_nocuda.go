//go:build !cuda

package gpu

// Detect lists the CUDA devices; without the cuda build tag there are none.
func Detect() (Inventory, error) { return Inventory{}, ErrNoCUDA }
