//go:build cuda

package gpu

import (
	"fmt"
	"runtime"

	"gorgonia.org/cu"
)

// Detect lists every CUDA device with its name, memory and compute
// capability. Free memory is read through each device's primary context.
func Detect() (Inventory, error) {
	inv := Inventory{DriverAPIVersion: cu.Version()}
	n, err := cu.NumDevices()
	if err != nil {
		return inv, fmt.Errorf("gpu: counting CUDA devices: %w", err)
	}
	// A context is bound to the calling OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := 0; i < n; i++ {
		d, err := describe(i)
		if err != nil {
			return inv, err
		}
		inv.Devices = append(inv.Devices, d)
	}
	return inv, nil
}

func describe(i int) (Device, error) {
	dev, err := cu.GetDevice(i)
	if err != nil {
		return Device{}, fmt.Errorf("gpu: device %d: %w", i, err)
	}
	d := Device{Index: i}
	if d.Name, err = dev.Name(); err != nil {
		return d, fmt.Errorf("gpu: device %d name: %w", i, err)
	}
	if d.TotalBytes, err = dev.TotalMem(); err != nil {
		return d, fmt.Errorf("gpu: device %d memory: %w", i, err)
	}
	if d.ComputeMajor, d.ComputeMinor, err = dev.ComputeCapability(); err != nil {
		return d, fmt.Errorf("gpu: device %d compute capability: %w", i, err)
	}
	if d.Multiprocessors, err = dev.Attribute(cu.MultiprocessorCount); err != nil {
		return d, fmt.Errorf("gpu: device %d multiprocessor count: %w", i, err)
	}
	ctx, err := dev.RetainPrimaryCtx()
	if err != nil {
		return d, fmt.Errorf("gpu: device %d context: %w", i, err)
	}
	defer dev.ReleasePrimaryCtx()
	if err := cu.SetCurrentContext(ctx); err != nil {
		return d, fmt.Errorf("gpu: device %d context: %w", i, err)
	}
	if d.FreeBytes, _, err = cu.MemInfo(); err != nil {
		return d, fmt.Errorf("gpu: device %d free memory: %w", i, err)
	}
	return d, nil
}
