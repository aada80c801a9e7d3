package gpu

import "github.com/sensenova/studio/inference/tensor"

// Accelerator is a tensor.Backend on one GPU with what the command line
// needs besides the ops: waiting for queued work, the memory figures of
// --profile and the benchmark's random weights. Open returns one.
type Accelerator interface {
	tensor.Backend
	// Info describes the device.
	Info() Device
	// Sync waits for all queued work.
	Sync()
	// Memory returns the allocator's current and peak use.
	Memory() MemoryStats
	// ResetPeaks starts a new peak measurement.
	ResetPeaks()
	// RandomWeight returns a bf16 tensor of uniform values with standard
	// deviation std, generated on the device from seed (no host copy).
	RandomWeight(std float64, seed int64, shape ...int) tensor.Tensor
	// Filled returns a tensor with every element v.
	Filled(v float32, shape ...int) tensor.Tensor
	// TimeOps starts (true) or stops timing every op on the device with
	// CUDA events; starting clears the totals. Timing adds a little work
	// per op, so time a separate run.
	TimeOps(on bool)
	// OpTimes returns the device time per op since TimeOps(true), longest
	// first.
	OpTimes() []OpTime
	// Close releases the device memory, the stream and the context.
	Close()
}

// MemoryStats are the allocator's figures in bytes: memory held by live
// tensors (in use) and by the allocator including its cache (reserved),
// now and at their peaks since the last ResetPeaks.
type MemoryStats struct {
	InUse, Reserved, PeakInUse, PeakReserved int64
}

// OpTime is the device time one op took in total over a measurement.
type OpTime struct {
	Op      string
	Calls   int
	Seconds float64
}
