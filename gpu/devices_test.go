//go:build !cuda

package gpu

import (
	"errors"
	"testing"
)

func TestDetectWithoutCUDA(t *testing.T) {
	inv, err := Detect()
	if !errors.Is(err, ErrNoCUDA) || len(inv.Devices) != 0 {
		t.Errorf("Detect() = %+v, %v; want no devices and ErrNoCUDA", inv, err)
	}
}
