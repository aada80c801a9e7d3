//go:build cuda

package gpu

import (
	"fmt"
	"sort"

	"gorgonia.org/cu"
)

// allocator hands out device memory from size-class free lists (a caching
// allocator: cuMemAlloc is slow and synchronising, and the same shapes come
// back every layer and every step). All work runs on one stream, so a block
// freed by one op can be reused by the next: stream order keeps them apart.
// It enforces a byte budget on memory in use and tracks the peaks --profile
// reports.
type allocator struct {
	free     map[int64][]cu.DevicePtr
	budget   int64 // 0: the device's memory is the limit
	inUse    int64
	reserved int64 // in use + cached
	peakUse  int64
	peakRes  int64
}

func newAllocator(budget int64) *allocator {
	return &allocator{free: map[int64][]cu.DevicePtr{}, budget: budget}
}

// roundSize is the size class of a request: 512-byte granules, and 2 MiB
// granules above 32 MiB (large buffers: activations of big pictures).
func roundSize(n int64) int64 {
	const small, large = 512, 2 << 20
	if n <= 32<<20 {
		return (n + small - 1) / small * small
	}
	return (n + large - 1) / large * large
}

func (a *allocator) get(n int64) (cu.DevicePtr, int64, error) {
	size := roundSize(max(n, 1))
	if a.budget > 0 && a.inUse+size > a.budget {
		return 0, 0, fmt.Errorf("gpu: %w: %s more would pass the %s budget (%s in use)", ErrOutOfMemory, fmtGiB(size), fmtGiB(a.budget), fmtGiB(a.inUse))
	}
	if list := a.free[size]; len(list) > 0 {
		p := list[len(list)-1]
		a.free[size] = list[:len(list)-1]
		a.use(size)
		return p, size, nil
	}
	p, err := cu.MemAlloc(size)
	if err != nil {
		// Give the cached blocks back to the device and try once more.
		a.release()
		if p, err = cu.MemAlloc(size); err != nil {
			return 0, 0, fmt.Errorf("gpu: %w: allocating %s (%s in use): %v", ErrOutOfMemory, fmtGiB(size), fmtGiB(a.inUse), err)
		}
	}
	a.reserved += size
	a.peakRes = max(a.peakRes, a.reserved)
	a.use(size)
	return p, size, nil
}

func (a *allocator) use(size int64) {
	a.inUse += size
	a.peakUse = max(a.peakUse, a.inUse)
}

func (a *allocator) put(p cu.DevicePtr, size int64) {
	a.inUse -= size
	a.free[size] = append(a.free[size], p)
}

// release frees every cached block.
func (a *allocator) release() {
	sizes := make([]int64, 0, len(a.free))
	for s := range a.free {
		sizes = append(sizes, s)
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] > sizes[j] })
	for _, s := range sizes {
		for _, p := range a.free[s] {
			cu.MemFree(p)
			a.reserved -= s
		}
		delete(a.free, s)
	}
}

// resetPeaks starts a new measurement of the peaks.
func (a *allocator) resetPeaks() { a.peakUse, a.peakRes = a.inUse, a.reserved }

func fmtGiB(n int64) string { return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30)) }
