//go:build cuda

package gpu

import (
	"fmt"
	"slices"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/tensor"
)

// Host weights: layer streaming for cards whose memory cannot hold the
// whole model (--vram_mode low/balanced with --max_memory). A host weight
// keeps its bf16 bytes in host memory — page-locked when the host grants
// it, so the copy is a DMA transfer, else the checkpoint's own memory map
// copied through the pinned stage — and every op that reads it copies it
// to the device first (in stream order, before the op's kernels) and
// drops the copy when the op ends. The model does not know which of its
// weights live where (tensor.Streamer, model.BuildOptions).
//
// Copies overlap the computation: the backend remembers which host weight
// followed which the last time (a denoising step reads the same weights in
// the same order as the step before), and each time one is used it starts
// copying the next prefetchAhead on a second stream. An op waits only for
// its own weight's copy. Page-locked memory is capped (pinnedLimit) so
// streaming never takes the host's memory from under the rest of the
// system; weights beyond the cap are read from the checkpoint's mapping
// (the page cache) through the pinned stage, synchronously.

// hostData is the host storage of a host weight and its views.
type hostData struct {
	bytes  []byte // bf16, little-endian
	pinned bool   // bytes is page-locked memory of cuMemAllocHost
	freed  bool
}

var _ tensor.Streamer = (*CUDA)(nil)

// HostWeight implements tensor.Streamer: a weight kept in host memory. BF16
// bytes are used where they lie when no page-locked memory can be had
// (raw must then outlive the tensor, as a checkpoint mapping does).
func (b *CUDA) HostWeight(dt safetensors.DType, raw []byte, shape ...int) (tensor.Tensor, error) {
	defer b.op("")()
	n := numel(shape)
	bf, err := bf16Bytes(dt, raw, shape)
	if err != nil {
		return nil, err
	}
	h := b.newHostData(int64(len(bf)))
	if h.pinned {
		copy(h.bytes, bf)
	} else {
		h.bytes = bf
	}
	return &dtensor{shape: append([]int(nil), shape...), n: n, host: h}, nil
}

// ToHost implements tensor.Streamer: a device weight moves to host memory
// (the benchmark's generated weights); the device copy is freed.
func (b *CUDA) ToHost(t tensor.Tensor) (tensor.Tensor, error) {
	defer b.op("")()
	d := b.dt("ToHost", "t", t)
	if d.host != nil {
		return d, nil
	}
	if d.view {
		return nil, fmt.Errorf("gpu.ToHost: tensor %v is a view", d.shape)
	}
	h := b.newHostData(2 * d.n)
	if !h.pinned {
		h.bytes = make([]byte, 2*d.n)
	}
	b.download("ToHost", h.bytes, d.ptr())
	d.buf.freed = true
	b.alloc.put(d.buf.ptr, d.buf.size)
	return &dtensor{shape: d.shape, n: d.n, host: h}, nil
}

// HostBytes implements tensor.Streamer.
func (b *CUDA) HostBytes() (held, pinned int64) { return b.hostBytes, b.pinnedBytes }

// newHostData registers the host storage of a weight of size bytes:
// page-locked memory while the cap allows and the driver grants it, else
// no bytes yet (the caller supplies them; pinned is false).
func (b *CUDA) newHostData(size int64) *hostData {
	h := &hostData{}
	if b.pinnedBytes+size <= b.pinnedCap {
		if p, err := allocPinned(int(size)); err == nil {
			h.bytes, h.pinned = p, true
			b.pinnedBytes += size
		}
	}
	b.hostBytes += size
	b.hosts = append(b.hosts, h)
	return h
}

// pinnedLimit is the most page-locked memory host weights take: half the
// host's memory (16 GiB when it cannot be read). NewCUDA reads it once.
func pinnedLimit() int64 {
	if ram := HostRAMBytes(); ram > 0 {
		return ram / 2
	}
	return 16 << 30
}

// Copies ahead of use: at most prefetchAhead weights and prefetchBytes.
const (
	prefetchAhead = 16
	prefetchBytes = 768 << 20
)

// hostKey names the part of a host weight a tensor covers.
type hostKey struct {
	h      *hostData
	off, n int64
}

// bytes are the key's part of the host storage.
func (k hostKey) bytes() []byte { return k.h.bytes[2*k.off : 2*(k.off+k.n)] }

// inflight is a copy started ahead of its use.
type inflight struct {
	t    *dtensor
	done cu.Event
}

// prefetcher holds the copy stream, the successor table and the copies in
// flight (ops run on one goroutine, so it needs no lock).
type prefetcher struct {
	stream cu.Stream
	next   map[hostKey]hostKey
	last   hostKey
	ready  map[hostKey]*inflight
	events []cu.Event // free ones
}

func (p *prefetcher) event() cu.Event {
	if n := len(p.events); n > 0 {
		e := p.events[n-1]
		p.events = p.events[:n-1]
		return e
	}
	e, err := cu.MakeEvent(cu.DisableTiming)
	if err != nil {
		fail("cuEventCreate", err)
	}
	return e
}

// materialize returns a device copy of a host weight that lives until the
// outermost op ends: the prefetched one, or one copied now.
func (b *CUDA) materialize(op string, d *dtensor) *dtensor {
	if d.host.freed {
		panic(fmt.Sprintf("gpu.%s: host weight %v used after Free", op, d.shape))
	}
	k := hostKey{d.host, d.off, d.n}
	pf := &b.pf
	var t *dtensor
	if f, ok := pf.ready[k]; ok {
		delete(pf.ready, k)
		if err := b.stream.Wait(f.done, 0); err != nil {
			fail(op, err)
		}
		pf.events = append(pf.events, f.done)
		t = f.t
		t.shape = append([]int(nil), d.shape...)
	} else {
		t = b.newTensor(op, d.shape...)
		src := k.bytes()
		if d.host.pinned {
			if err := cu.MemcpyHtoDAsync(cu.DevicePtr(t.ptr()), unsafe.Pointer(&src[0]), int64(len(src)), b.stream); err != nil {
				fail(op, err)
			}
		} else {
			b.upload(op, t.ptr(), src)
		}
	}
	b.temps = append(b.temps, t)
	if pf.last.h != nil && pf.last != k {
		pf.next[pf.last] = k
	}
	pf.last = k
	b.prefetchAfter(op, k)
	return t
}

// prefetchAfter starts copying the weights that followed k last time, and
// drops copies that are no longer expected.
func (b *CUDA) prefetchAfter(op string, k hostKey) {
	pf := &b.pf
	var chain []hostKey
	bytes := int64(0)
	for cur, i := k, 0; i < prefetchAhead; i++ {
		nk, ok := pf.next[cur]
		if !ok || nk == k || (len(chain) > 0 && bytes+2*nk.n > prefetchBytes) {
			break
		}
		chain = append(chain, nk)
		bytes += 2 * nk.n
		cur = nk
	}
	for key, f := range pf.ready {
		if !slices.Contains(chain, key) {
			b.dropPrefetch(op, key, f)
		}
	}
	fenced := false
	for _, nk := range chain {
		if _, ok := pf.ready[nk]; ok || !nk.h.pinned || nk.h.freed {
			continue
		}
		if !fenced {
			// The copy may land in memory that ops already queued still
			// read (freed to the allocator after them): wait for them.
			fence := pf.event()
			if err := fence.Record(b.stream); err != nil {
				fail(op, err)
			}
			if err := pf.stream.Wait(fence, 0); err != nil {
				fail(op, err)
			}
			pf.events = append(pf.events, fence)
			fenced = true
		}
		p, size, err := b.alloc.get(2 * nk.n)
		if err != nil {
			return // no room to copy ahead: the op will copy when it comes
		}
		t := &dtensor{buf: &buffer{ptr: p, size: size}, n: nk.n}
		src := nk.bytes()
		if err := cu.MemcpyHtoDAsync(p, unsafe.Pointer(&src[0]), int64(len(src)), pf.stream); err != nil {
			fail(op, err)
		}
		ev := pf.event()
		if err := ev.Record(pf.stream); err != nil {
			fail(op, err)
		}
		pf.ready[nk] = &inflight{t: t, done: ev}
	}
}

// dropPrefetch frees a copy made ahead that will not be used; later ops
// that get its memory wait for the copy first.
func (b *CUDA) dropPrefetch(op string, k hostKey, f *inflight) {
	delete(b.pf.ready, k)
	if err := b.stream.Wait(f.done, 0); err != nil {
		fail(op, err)
	}
	b.pf.events = append(b.pf.events, f.done)
	b.alloc.put(f.t.buf.ptr, f.t.buf.size)
}

// releaseTemps frees the device copies of host weights.
func (b *CUDA) releaseTemps() {
	for _, t := range b.temps {
		t.buf.freed = true
		b.alloc.put(t.buf.ptr, t.buf.size)
	}
	b.temps = b.temps[:0]
}

// freeHost releases a host weight's memory.
func (b *CUDA) freeHost(d *dtensor) {
	if d.host.freed {
		panic(fmt.Sprintf("gpu.Free: host weight %v freed twice", d.shape))
	}
	b.releaseHost(d.host)
}

// releaseHost frees host storage (Free, Close).
func (b *CUDA) releaseHost(h *hostData) {
	if h.freed {
		return
	}
	h.freed = true
	b.hostBytes -= int64(len(h.bytes))
	if h.pinned {
		b.pinnedBytes -= int64(len(h.bytes))
		cu.MemFreeHost(unsafe.Pointer(&h.bytes[0]))
	}
	h.bytes = nil
}
