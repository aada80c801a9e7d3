//go:build cuda

package gpu

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/tensor"
)

//go:embed kernels/ops_sm80.ptx
var ptxSM80 string

//go:embed kernels/ops_sm90.ptx
var ptxSM90 string

// CUDA is the tensor.Backend of one NVIDIA GPU: bf16 storage, fp32
// accumulation, GEMMs through cuBLAS, everything else through the kernels
// in gpu/kernels (PTX embedded, JIT-compiled by the driver). All work runs
// in order on one stream; the host waits only when it reads a result.
//
// A CUDA failure inside an op (out of memory, a kernel fault) panics with a
// *Error; the pipelines recover it and report it as an error.
type CUDA struct {
	device Device
	dev    cu.Device
	ctx    cu.CUContext
	stream cu.Stream
	mod    cu.Module
	fns    map[string]cu.Function
	blas   gemmer
	alloc  *allocator
	// stage is a page-locked host buffer for transfers.
	stage []byte
	// timer, when set, times every op (TimeOps).
	timer *opTimer
	// depth counts the ops entered and not yet ended; temps are the device
	// copies of host weights made for the outermost op, released when it
	// ends (stream order keeps them alive for its kernels).
	depth int
	temps []*dtensor
	// hostBytes is the host memory held by host weights, pinned the part
	// of it that is page-locked.
	hostBytes, pinnedBytes int64
	pinnedCap              int64 // pinnedLimit
	hosts                  []*hostData
	pf                     prefetcher
}

// Error is the panic value of a failed op.
type Error struct {
	Op  string
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("gpu: %s: %v", e.Op, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

func fail(op string, err error) {
	panic(&Error{Op: op, Err: err})
}

const stageBytes = 64 << 20

// Open opens device index with a budget (bytes, 0 = the whole card) on the
// memory the backend's tensors may hold.
func Open(index int, budget int64) (Accelerator, error) { return NewCUDA(index, budget) }

// NewCUDA is Open with the concrete type.
func NewCUDA(index int, budget int64) (*CUDA, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("gpu: counting CUDA devices: %w", err)
	}
	if index < 0 || index >= n {
		return nil, fmt.Errorf("gpu: no CUDA device %d (this machine has %d)", index, n)
	}
	d, err := describe(index)
	if err != nil {
		return nil, err
	}
	b := &CUDA{device: d, fns: map[string]cu.Function{}, alloc: newAllocator(budget), pinnedCap: pinnedLimit()}
	if b.dev, err = cu.GetDevice(index); err != nil {
		return nil, err
	}
	if b.ctx, err = b.dev.RetainPrimaryCtx(); err != nil {
		return nil, fmt.Errorf("gpu: device %d context: %w", index, err)
	}
	if err := cu.SetCurrentContext(b.ctx); err != nil {
		return nil, err
	}
	if b.stream, err = cu.MakeStream(cu.NonBlocking); err != nil {
		return nil, fmt.Errorf("gpu: stream: %w", err)
	}
	if b.pf.stream, err = cu.MakeStream(cu.NonBlocking); err != nil {
		return nil, fmt.Errorf("gpu: copy stream: %w", err)
	}
	b.pf.next, b.pf.ready = map[hostKey]hostKey{}, map[hostKey]*inflight{}
	ptx := ptxSM80
	if d.ComputeMajor >= 9 {
		ptx = ptxSM90
	}
	if d.ComputeMajor < 8 {
		return nil, fmt.Errorf("gpu: %s has compute capability %d.%d; the engine needs 8.0 (Ampere) or newer", d.Name, d.ComputeMajor, d.ComputeMinor)
	}
	if b.mod, err = cu.LoadData(ptx); err != nil {
		return nil, fmt.Errorf("gpu: loading the kernels: %w", err)
	}
	for _, name := range kernelNameList {
		f, err := b.mod.Function(name)
		if err != nil {
			return nil, fmt.Errorf("gpu: kernel %s: %w", name, err)
		}
		b.fns[name] = f
	}
	if b.blas, err = openGEMM(b); err != nil {
		return nil, err
	}
	b.device.GEMM = b.blas.describe()
	if b.stage, err = allocPinned(stageBytes); err != nil {
		return nil, err
	}
	return b, nil
}

// rawStream is the CUstream handle inside a cu.Stream (a struct holding
// exactly that pointer), for cuBLAS.
func rawStream(s cu.Stream) uintptr {
	if unsafe.Sizeof(s) != unsafe.Sizeof(uintptr(0)) {
		panic("gpu: cu.Stream layout changed")
	}
	return *(*uintptr)(unsafe.Pointer(&s))
}

// Name implements tensor.Backend.
func (b *CUDA) Name() string { return fmt.Sprintf("cuda:%d", b.device.Index) }

// Info implements Accelerator.
func (b *CUDA) Info() Device { return b.device }

// Sync waits for all queued work.
func (b *CUDA) Sync() {
	defer b.op("")()
	if err := b.stream.Synchronize(); err != nil {
		fail("cuStreamSynchronize", err)
	}
}

// Memory returns the allocator's current and peak use.
func (b *CUDA) Memory() MemoryStats {
	a := b.alloc
	return MemoryStats{InUse: a.inUse, Reserved: a.reserved, PeakInUse: a.peakUse, PeakReserved: a.peakRes}
}

// ResetPeaks starts a new peak measurement.
func (b *CUDA) ResetPeaks() { b.alloc.resetPeaks() }

// Close releases the device memory, the stream and the context.
func (b *CUDA) Close() {
	defer b.op("")()
	b.stream.Synchronize()
	b.pf.stream.Synchronize()
	for k, f := range b.pf.ready {
		b.dropPrefetch("Close", k, f)
	}
	if b.blas != nil {
		b.blas.close()
	}
	b.alloc.release()
	for _, h := range b.hosts {
		b.releaseHost(h)
	}
	b.hosts = nil
	if b.stage != nil {
		cu.MemFreeHost(unsafe.Pointer(&b.stage[0]))
		b.stage = nil
	}
	b.dev.ReleasePrimaryCtx()
}

// --- tensors ---

// buffer is an allocation; views share it.
type buffer struct {
	ptr   cu.DevicePtr
	size  int64
	freed bool
}

// dtensor is a bf16 tensor in device memory: elements [off, off+n) of buf;
// or, for a weight kept in host memory (HostWeight), elements [off, off+n)
// of host, copied to the device by each op that reads it.
type dtensor struct {
	shape []int
	buf   *buffer
	off   int64
	n     int64
	view  bool
	host  *hostData
}

func (t *dtensor) Shape() []int        { return t.shape }
func (t *dtensor) DType() tensor.DType { return tensor.BF16 }
func (t *dtensor) String() string      { return fmt.Sprintf("BF16%v", t.shape) }
func (t *dtensor) ptr() uintptr {
	if t.host != nil {
		panic(fmt.Sprintf("gpu: host weight %v read outside an op", t.shape))
	}
	if t.buf.freed {
		panic(fmt.Sprintf("gpu: tensor %v used after Free", t.shape))
	}
	return uintptr(t.buf.ptr) + uintptr(t.off*2)
}

func numel(shape []int) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
	}
	return n
}

// dt returns t as a CUDA tensor. Inside an op, a host weight comes back as
// a device copy made for the op.
func (b *CUDA) dt(op, name string, t tensor.Tensor) *dtensor {
	d, ok := t.(*dtensor)
	if !ok || d == nil {
		panic(fmt.Sprintf("gpu.%s: %s is not a CUDA tensor (%T)", op, name, t))
	}
	if d.host != nil && b.depth > 0 {
		return b.materialize(op, d)
	}
	return d
}

// newTensor allocates an uninitialised bf16 tensor.
func (b *CUDA) newTensor(op string, shape ...int) *dtensor {
	n := numel(shape)
	p, size, err := b.alloc.get(n * 2)
	if err != nil {
		fail(op, err)
	}
	return &dtensor{shape: append([]int(nil), shape...), buf: &buffer{ptr: p, size: size}, n: n}
}

// Zeros implements tensor.Backend.
func (b *CUDA) Zeros(shape ...int) tensor.Tensor {
	defer b.op("Zeros")()
	t := b.newTensor("Zeros", shape...)
	if err := cu.MemsetD16Async(cu.DevicePtr(t.ptr()), 0, t.n, b.stream); err != nil {
		fail("Zeros", err)
	}
	return t
}

// upload copies host bytes to the device through the pinned stage.
func (b *CUDA) upload(op string, dst uintptr, src []byte) {
	for len(src) > 0 {
		n := min(len(src), len(b.stage))
		if err := b.stream.Synchronize(); err != nil { // the stage is free again
			fail(op, err)
		}
		copy(b.stage, src[:n])
		if err := cu.MemcpyHtoDAsync(cu.DevicePtr(dst), unsafe.Pointer(&b.stage[0]), int64(n), b.stream); err != nil {
			fail(op, err)
		}
		dst += uintptr(n)
		src = src[n:]
	}
}

// download copies device bytes to the host through the pinned stage.
func (b *CUDA) download(op string, dst []byte, src uintptr) {
	for len(dst) > 0 {
		n := min(len(dst), len(b.stage))
		if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&b.stage[0]), cu.DevicePtr(src), int64(n), b.stream); err != nil {
			fail(op, err)
		}
		if err := b.stream.Synchronize(); err != nil {
			fail(op, err)
		}
		copy(dst[:n], b.stage)
		src += uintptr(n)
		dst = dst[n:]
	}
}

// FromFloat32 implements tensor.Backend: the values are rounded to bf16.
func (b *CUDA) FromFloat32(values []float32, shape ...int) tensor.Tensor {
	defer b.op("FromFloat32")()
	if int64(len(values)) != numel(shape) {
		panic(fmt.Sprintf("gpu.FromFloat32: %d values for shape %v", len(values), shape))
	}
	t := b.newTensor("FromFloat32", shape...)
	raw := make([]byte, 2*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint16(raw[2*i:], safetensors.Float32ToBF16(v))
	}
	b.upload("FromFloat32", t.ptr(), raw)
	return t
}

// Weight implements tensor.Backend: BF16 bytes are copied as they are; F32
// and F16 are rounded to bf16 on the way (the model runs in bf16).
func (b *CUDA) Weight(dt safetensors.DType, raw []byte, shape ...int) (tensor.Tensor, error) {
	defer b.op("Weight")()
	n := numel(shape)
	bf, err := bf16Bytes(dt, raw, shape)
	if err != nil {
		return nil, err
	}
	p, size, err := b.alloc.get(2 * n)
	if err != nil {
		return nil, err
	}
	t := &dtensor{shape: append([]int(nil), shape...), buf: &buffer{ptr: p, size: size}, n: n}
	b.upload("Weight", t.ptr(), bf)
	return t, nil
}

// bf16Bytes returns a checkpoint tensor's bytes as bf16: BF16 as they are
// (raw itself), F32 and F16 rounded into a new slice.
func bf16Bytes(dt safetensors.DType, raw []byte, shape []int) ([]byte, error) {
	n := numel(shape)
	switch dt {
	case safetensors.BF16:
		if int64(len(raw)) != 2*n {
			return nil, fmt.Errorf("gpu: BF16 weight of shape %v has %d bytes", shape, len(raw))
		}
		return raw, nil
	case safetensors.F32, safetensors.F16:
		vals, err := safetensors.DecodeFloat32(dt, raw, make([]float32, n))
		if err != nil {
			return nil, err
		}
		bf := make([]byte, 2*n)
		for i, v := range vals {
			binary.LittleEndian.PutUint16(bf[2*i:], safetensors.Float32ToBF16(v))
		}
		return bf, nil
	}
	return nil, fmt.Errorf("gpu: weights of dtype %s are not supported (want BF16, F16 or F32)", dt)
}

// RandomWeight implements Accelerator.
func (b *CUDA) RandomWeight(std float64, seed int64, shape ...int) tensor.Tensor {
	defer b.op("RandomWeight")()
	t := b.newTensor("RandomWeight", shape...)
	b.launch1D("fillrandom", t.n, argPtr(t.ptr()), argInt(t.n), argInt(seed), argF64(std))
	return t
}

// Filled implements Accelerator.
func (b *CUDA) Filled(v float32, shape ...int) tensor.Tensor {
	defer b.op("Filled")()
	t := b.newTensor("Filled", shape...)
	b.launch1D("fill", t.n, argPtr(t.ptr()), argInt(t.n), argF64(float64(v)))
	return t
}

// Float32 implements tensor.Backend.
func (b *CUDA) Float32(t tensor.Tensor) []float32 {
	defer b.op("Float32")()
	d := b.dt("Float32", "t", t)
	raw := make([]byte, 2*d.n)
	b.download("Float32", raw, d.ptr())
	out := make([]float32, d.n)
	for i := range out {
		out[i] = safetensors.BF16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return out
}

// Free implements tensor.Backend.
func (b *CUDA) Free(t tensor.Tensor) {
	d := b.dt("Free", "t", t)
	if d.view {
		panic(fmt.Sprintf("gpu.Free: tensor %v is a view; free its parent", d.shape))
	}
	if d.host != nil {
		b.freeHost(d)
		return
	}
	if d.buf.freed {
		panic(fmt.Sprintf("gpu.Free: tensor %v freed twice", d.shape))
	}
	d.buf.freed = true
	b.alloc.put(d.buf.ptr, d.buf.size)
}

// Reshape implements tensor.Backend.
func (b *CUDA) Reshape(t tensor.Tensor, shape ...int) tensor.Tensor {
	d := b.dt("Reshape", "t", t)
	if numel(shape) != d.n {
		panic(fmt.Sprintf("gpu.Reshape: %v to %v changes the element count", d.shape, shape))
	}
	return &dtensor{shape: append([]int(nil), shape...), buf: d.buf, off: d.off, n: d.n, view: true, host: d.host}
}

func rowSize(shape []int) int64 { return numel(shape[1:]) }

// Rows implements tensor.Backend.
func (b *CUDA) Rows(t tensor.Tensor, start, n int) tensor.Tensor {
	d := b.dt("Rows", "t", t)
	if start < 0 || n < 0 || start+n > d.shape[0] {
		panic(fmt.Sprintf("gpu.Rows: rows [%d, %d) of %v", start, start+n, d.shape))
	}
	rs := rowSize(d.shape)
	shape := append([]int{n}, d.shape[1:]...)
	return &dtensor{shape: shape, buf: d.buf, off: d.off + int64(start)*rs, n: int64(n) * rs, view: true, host: d.host}
}

// CopyRows implements tensor.Backend.
func (b *CUDA) CopyRows(dst tensor.Tensor, dstRow int, src tensor.Tensor) {
	defer b.op("CopyRows")()
	d, s := b.dt("CopyRows", "dst", dst), b.dt("CopyRows", "src", src)
	if rowSize(d.shape) != rowSize(s.shape) || dstRow < 0 || dstRow+s.shape[0] > d.shape[0] {
		panic(fmt.Sprintf("gpu.CopyRows: src %v at row %d of dst %v", s.shape, dstRow, d.shape))
	}
	to := d.ptr() + uintptr(int64(dstRow)*rowSize(d.shape)*2)
	if err := cu.MemcpyDtoDAsync(cu.DevicePtr(to), cu.DevicePtr(s.ptr()), s.n*2, b.stream); err != nil {
		fail("CopyRows", err)
	}
}

// --- launching ---

// arg holds a kernel argument as the 8 bytes gorgonia.org/cu copies.
type arg = uint64

func argPtr(p uintptr) arg { return arg(p) }
func argInt(v int64) arg   { return arg(v) }
func argF64(v float64) arg { return math.Float64bits(v) }

// launch runs a kernel on the stream.
func (b *CUDA) launch(name string, grid, block [3]int, smem int, args ...arg) {
	f, ok := b.fns[name]
	if !ok {
		panic("gpu: unknown kernel " + name)
	}
	ptrs := make([]unsafe.Pointer, len(args))
	for i := range args {
		ptrs[i] = unsafe.Pointer(&args[i])
	}
	if err := f.Launch(grid[0], grid[1], grid[2], block[0], block[1], block[2], smem, b.stream, ptrs); err != nil {
		fail(name, err)
	}
}

// launch1D runs an elementwise kernel over n items with grid-stride loops.
func (b *CUDA) launch1D(name string, n int64, args ...arg) {
	const threads = 256
	blocks := int(min((n+threads-1)/threads, 65535*8))
	if blocks < 1 {
		blocks = 1
	}
	b.launch(name, [3]int{blocks, 1, 1}, [3]int{threads, 1, 1}, 0, args...)
}

// scratchInts uploads int32 values to a temporary device buffer (positions,
// ids, key limits); free it with the returned function after the launch
// (stream order keeps it alive for the kernel).
func (b *CUDA) scratchInts(op string, v []int32) (uintptr, func()) { return scratch(b, op, v) }

// scratchFloats is scratchInts for float32 values (frequencies, scales).
func (b *CUDA) scratchFloats(op string, v []float32) (uintptr, func()) { return scratch(b, op, v) }

func scratch[T int32 | float32](b *CUDA, op string, v []T) (uintptr, func()) {
	n := int64(len(v))
	p, size, err := b.alloc.get(max(n, 1) * 4)
	if err != nil {
		fail(op, err)
	}
	if n > 0 {
		if err := cu.MemcpyHtoDAsync(p, unsafe.Pointer(&v[0]), n*4, b.stream); err != nil {
			fail(op, err)
		}
	}
	return uintptr(p), func() { b.alloc.put(p, size) }
}

var _ tensor.Backend = (*CUDA)(nil)

// DeviceFailure marks Error as a device failure for the pipelines.
func (e *Error) DeviceFailure() {}
