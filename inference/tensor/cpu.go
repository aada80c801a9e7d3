package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/sensenova/studio/inference/safetensors"
)

// CPU is the float32 reference implementation of Backend: the backend the
// golden tests run on and the one the CUDA backend is tested against.
//
// Numerics. Every op is computed in float32 semantics like PyTorch's float32
// CPU run, with reductions done more exactly where PyTorch's order is an
// implementation detail: dot products (Linear, Conv3x3, the two products of
// Attention) accumulate in float64, in increasing index order, and round
// once; RMSNorm and softmax statistics are float64; GELU, SiLU and exp are
// evaluated in float64 and rounded. Where the reference's float32 rounding
// steps are part of the specification (RoPE tables and rotation, RMSNorm's
// two multiplies, the attention scale, softmax probabilities) they are
// reproduced step by step with explicit float32 conversions, which also
// keep the compiler from fusing multiply-adds. A Linear result therefore does
// not depend on the blocking, on the batch size M or on the number of
// workers: row i of Linear(x) equals Linear(Rows(x, i, 1)) bit for bit, and
// every op gives identical results on every run. (Where the compiler fuses
// float64 multiply-adds — arm64, or amd64 built with GOAMD64=v3 — a dot
// product may differ from an unfused build in its last float64 bit, which
// rarely moves the float32 result by one ulp; it stays deterministic.)
//
// Storage. Activations are F32 ([]float32). Weights made by Weight alias the
// checkpoint's (memory-mapped, read-only) bytes when they are BF16 or F32 and
// suitably aligned, so a BF16 weight costs no memory beyond the mapping; the
// CPU never writes to them (CopyRows refuses a weight as its destination).
// Ops that read weights widen BF16 blocks into per-goroutine scratch rather
// than converting a whole matrix. Every op also accepts BF16 where it expects
// F32 (converting on the way in); outputs are always F32.
//
// Parallelism. Linear splits its output into M×N blocks (N alone when M = 1),
// Attention into heads × query blocks, and other ops into row ranges; chunks
// are handed to up to Workers goroutines (the calling one included). Work
// below a few tens of thousands of flops runs inline on the caller.
//
// A CPU holds no mutable state besides scratch pools, so one value may be
// shared by goroutines; ops on distinct tensors may run concurrently, while a
// tensor written by one op (CopyRows) must not be read by another at the same
// time.
type CPU struct {
	workers int
	f32Pool sync.Pool // *[]float32 scratch
	f64Pool sync.Pool // *[]float64 scratch
}

var _ Backend = (*CPU)(nil)

// NewCPU returns a CPU backend running ops on up to workers goroutines;
// workers ≤ 0 means runtime.GOMAXPROCS(0).
func NewCPU(workers int) *CPU {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &CPU{workers: workers}
}

// Name returns "cpu".
func (c *CPU) Name() string { return "cpu" }

// Workers returns the number of goroutines an op may use.
func (c *CPU) Workers() int { return c.workers }

// storage is the memory behind a tensor and its views.
type storage struct {
	f32      []float32 // F32 data
	b16      []uint16  // BF16 data (bit patterns)
	readOnly bool      // a weight (possibly aliasing mapped bytes): never written
	freed    bool
}

// cpuTensor is the CPU's Tensor: elements [off, off+n) of its storage.
type cpuTensor struct {
	shape  []int
	dtype  DType
	st     *storage
	off, n int
	view   bool
}

func (t *cpuTensor) Shape() []int { return t.shape }
func (t *cpuTensor) DType() DType { return t.dtype }

// String describes a tensor as its dtype and shape, e.g. "F32[3 5]".
func (t *cpuTensor) String() string { return fmt.Sprintf("%s%v", t.dtype, t.shape) }

// panicf panics with a message naming the op: "tensor.Linear: ...".
func panicf(op, format string, args ...any) {
	panic(fmt.Sprintf("tensor.%s: ", op) + fmt.Sprintf(format, args...))
}

// shapeOf formats a tensor's shape for messages.
func shapeOf(t Tensor) string {
	if t == nil {
		return "nil"
	}
	return fmt.Sprint(t.Shape())
}

// checkShape validates dimensions and returns their product.
func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panicf(op, "negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt32*64/d {
			panicf(op, "shape %v is too large", shape)
		}
		n *= d
	}
	return n
}

// tensorOf returns t as a live CPU tensor.
func tensorOf(op, name string, t Tensor) *cpuTensor {
	ct, ok := t.(*cpuTensor)
	if !ok || ct == nil {
		panicf(op, "%s is %T, not a CPU tensor", name, t)
	}
	if ct.st.freed {
		panicf(op, "%s %v used after Free", name, ct.shape)
	}
	return ct
}

// f32Data returns the F32 elements of t, which must be F32.
func (t *cpuTensor) f32Data() []float32 { return t.st.f32[t.off : t.off+t.n : t.off+t.n] }

// b16Data returns the BF16 elements of t, which must be BF16.
func (t *cpuTensor) b16Data() []uint16 { return t.st.b16[t.off : t.off+t.n : t.off+t.n] }

// read returns t's values as float32: the storage itself for F32 (do not
// write to it), a converted copy for BF16.
func read(op, name string, t Tensor) ([]float32, *cpuTensor) {
	ct := tensorOf(op, name, t)
	if ct.dtype == F32 {
		return ct.f32Data(), ct
	}
	src := ct.b16Data()
	dst := make([]float32, len(src))
	widenBF16(dst, src)
	return dst, ct
}

// writable returns the F32 storage of t for writing in place.
func writable(op, name string, t Tensor) ([]float32, *cpuTensor) {
	ct := tensorOf(op, name, t)
	if ct.dtype != F32 {
		panicf(op, "%s is %s; want F32", name, ct.dtype)
	}
	if ct.st.readOnly {
		panicf(op, "%s %v is a weight (read-only memory)", name, ct.shape)
	}
	return ct.f32Data(), ct
}

// widenBF16 converts bf16 bit patterns to float32 (exact).
func widenBF16(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = math.Float32frombits(uint32(b) << 16)
	}
}

// newF32 makes an F32 tensor over data (taken, not copied).
func newF32(data []float32, shape ...int) *cpuTensor {
	return &cpuTensor{
		shape: append([]int(nil), shape...),
		dtype: F32,
		st:    &storage{f32: data},
		n:     len(data),
	}
}

// Zeros returns an F32 tensor of zeros.
func (c *CPU) Zeros(shape ...int) Tensor {
	n := checkShape("Zeros", shape)
	return newF32(make([]float32, n), shape...)
}

// FromFloat32 copies values into a new F32 tensor of the given shape.
func (c *CPU) FromFloat32(values []float32, shape ...int) Tensor {
	n := checkShape("FromFloat32", shape)
	if len(values) != n {
		panicf("FromFloat32", "%d values for shape %v (%d elements)", len(values), shape, n)
	}
	return newF32(append([]float32(nil), values...), shape...)
}

// littleEndian reports whether the host stores integers little-endian, the
// byte order of safetensors files (aliasing needs it).
func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// Weight makes a weight tensor from a checkpoint tensor's raw little-endian
// bytes. BF16 and F32 bytes are aliased, not copied, when their address is
// aligned for the element type (raw must then outlive the tensor and is
// never written); otherwise, and for F16 (widened to F32), the values are
// copied. Weights are read-only whichever way they are stored: CopyRows
// refuses one as its destination.
func (c *CPU) Weight(dt safetensors.DType, raw []byte, shape ...int) (Tensor, error) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d != 0 && n > math.MaxInt32*64/d) {
			return nil, fmt.Errorf("tensor.Weight: invalid shape %v", shape)
		}
		n *= d
	}
	size := int(dt.Size())
	switch dt {
	case safetensors.BF16, safetensors.F16, safetensors.F32:
	default:
		return nil, fmt.Errorf("tensor.Weight: dtype %s is not supported (want BF16, F16 or F32)", dt)
	}
	if len(raw) != n*size {
		return nil, fmt.Errorf("tensor.Weight: %d bytes of %s for shape %v (want %d bytes)", len(raw), dt, shape, n*size)
	}
	t := &cpuTensor{shape: append([]int(nil), shape...), st: &storage{readOnly: true}, n: n}
	aligned := n > 0 && littleEndian() && uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%uintptr(size) == 0
	switch dt {
	case safetensors.BF16:
		t.dtype = BF16
		if aligned {
			t.st.b16 = unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(raw))), n)
		} else {
			t.st.b16 = make([]uint16, n)
			for i := range t.st.b16 {
				t.st.b16[i] = binary.LittleEndian.Uint16(raw[2*i:])
			}
		}
	case safetensors.F32:
		t.dtype = F32
		if aligned {
			t.st.f32 = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(raw))), n)
		} else {
			t.st.f32 = make([]float32, n)
			for i := range t.st.f32 {
				t.st.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		}
	case safetensors.F16:
		t.dtype = F32
		t.st.f32 = make([]float32, n)
		for i := range t.st.f32 {
			t.st.f32[i] = safetensors.F16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	}
	return t, nil
}

// Float32 copies a tensor (F32 or BF16) to the host.
func (c *CPU) Float32(t Tensor) []float32 {
	ct := tensorOf("Float32", "tensor", t)
	out := make([]float32, ct.n)
	if ct.dtype == F32 {
		copy(out, ct.f32Data())
	} else {
		widenBF16(out, ct.b16Data())
	}
	return out
}

// Free releases a tensor's storage; any later use of it or of a view of it
// panics. Freeing a view, or freeing twice, panics.
func (c *CPU) Free(t Tensor) {
	ct := tensorOf("Free", "tensor", t)
	if ct.view {
		panicf("Free", "tensor %v is a view; free its parent", ct.shape)
	}
	ct.st.freed = true
	ct.st.f32, ct.st.b16 = nil, nil
}

// Reshape returns a view of t with another shape of the same element count.
func (c *CPU) Reshape(t Tensor, shape ...int) Tensor {
	ct := tensorOf("Reshape", "tensor", t)
	if n := checkShape("Reshape", shape); n != ct.n {
		panicf("Reshape", "cannot view %v (%d elements) as %v (%d elements)", ct.shape, ct.n, shape, n)
	}
	v := *ct
	v.shape = append([]int(nil), shape...)
	v.view = true
	return &v
}

// rowSize is the element count of one row (dimension 0) of t.
func rowSize(t *cpuTensor) int {
	n := 1
	for _, d := range t.shape[1:] {
		n *= d
	}
	return n
}

// Rows returns a view of rows [start, start+n) of t.
func (c *CPU) Rows(t Tensor, start, n int) Tensor {
	ct := tensorOf("Rows", "tensor", t)
	if len(ct.shape) == 0 {
		panicf("Rows", "tensor is a scalar (shape [])")
	}
	if start < 0 || n < 0 || start+n > ct.shape[0] {
		panicf("Rows", "rows [%d, %d) of %v are out of range", start, start+n, ct.shape)
	}
	rs := rowSize(ct)
	v := *ct
	v.shape = append([]int{n}, ct.shape[1:]...)
	v.off = ct.off + start*rs
	v.n = n * rs
	v.view = true
	return &v
}

// sameDims reports whether two shapes are equal.
func sameDims(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CopyRows writes src into dst starting at row dstRow (in place on dst); the
// rows of both must have the same shape. dst must be F32 and not a weight.
func (c *CPU) CopyRows(dst Tensor, dstRow int, src Tensor) {
	const op = "CopyRows"
	d, dt := writable(op, "dst", dst)
	st := tensorOf(op, "src", src)
	if len(dt.shape) == 0 || len(st.shape) == 0 || !sameDims(dt.shape[1:], st.shape[1:]) {
		panicf(op, "dst %v and src %v: rows differ in shape", dt.shape, st.shape)
	}
	if dstRow < 0 || dstRow+st.shape[0] > dt.shape[0] {
		panicf(op, "src %v at row %d does not fit in dst %v", st.shape, dstRow, dt.shape)
	}
	rs := rowSize(dt)
	out := d[dstRow*rs : dstRow*rs+st.n]
	if st.dtype == F32 {
		copy(out, st.f32Data())
	} else {
		widenBF16(out, st.b16Data())
	}
}

// Transpose returns the transpose of a 2-D tensor.
func (c *CPU) Transpose(x Tensor) Tensor {
	const op = "Transpose"
	xs, xt := read(op, "x", x)
	if len(xt.shape) != 2 {
		panicf(op, "x %v is not 2-D", xt.shape)
	}
	m, n := xt.shape[0], xt.shape[1]
	out := make([]float32, m*n)
	const tb = 32
	nb := (m + tb - 1) / tb
	c.parallelFor(nb, tb*n, func(lo, hi int) {
		for i0 := lo * tb; i0 < min(hi*tb, m); i0 += tb {
			i1 := min(i0+tb, m)
			for j0 := 0; j0 < n; j0 += tb {
				j1 := min(j0+tb, n)
				for i := i0; i < i1; i++ {
					row := xs[i*n : i*n+n]
					for j := j0; j < j1; j++ {
						out[j*m+i] = row[j]
					}
				}
			}
		}
	})
	return newF32(out, n, m)
}

// Embed returns the rows ids of the table w [V, N] as an F32 [len(ids), N].
func (c *CPU) Embed(w Tensor, ids []int32) Tensor {
	const op = "Embed"
	wt := tensorOf(op, "w", w)
	if len(wt.shape) != 2 {
		panicf(op, "w %v is not 2-D", wt.shape)
	}
	v, n := wt.shape[0], wt.shape[1]
	out := make([]float32, len(ids)*n)
	for i, id := range ids {
		if id < 0 || int(id) >= v {
			panicf(op, "id %d at position %d is outside the table w %v", id, i, wt.shape)
		}
		dst := out[i*n : i*n+n]
		if wt.dtype == F32 {
			copy(dst, wt.f32Data()[int(id)*n:])
		} else {
			widenBF16(dst, wt.b16Data()[int(id)*n:int(id)*n+n])
		}
	}
	return newF32(out, len(ids), n)
}

// --- scratch and parallel loops ---

// scratch32 returns a float32 scratch slice of length n (contents
// undefined); give it back with put32.
func (c *CPU) scratch32(n int) *[]float32 {
	p, _ := c.f32Pool.Get().(*[]float32)
	if p == nil || cap(*p) < n {
		s := make([]float32, n)
		p = &s
	}
	*p = (*p)[:n]
	return p
}

func (c *CPU) put32(p *[]float32) { c.f32Pool.Put(p) }

// scratch64 is scratch32 for float64.
func (c *CPU) scratch64(n int) *[]float64 {
	p, _ := c.f64Pool.Get().(*[]float64)
	if p == nil || cap(*p) < n {
		s := make([]float64, n)
		p = &s
	}
	*p = (*p)[:n]
	return p
}

func (c *CPU) put64(p *[]float64) { c.f64Pool.Put(p) }

// minChunkCost is the least work (in flops or element touches) worth a
// goroutine of its own: about ten microseconds.
const minChunkCost = 1 << 15

// parallelFor calls fn on consecutive ranges [lo, hi) covering [0, n), on up
// to c.workers goroutines (the caller's included), with ranges handed out as
// goroutines become free. itemCost estimates the work of one item; small
// totals run inline. fn must treat items independently, so results never
// depend on the split.
func (c *CPU) parallelFor(n, itemCost int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunks := min(n, c.workers*4)
	if total := int64(n) * int64(max(itemCost, 1)); total/minChunkCost < int64(chunks) {
		chunks = int(total / minChunkCost)
	}
	if c.workers <= 1 || chunks <= 1 {
		fn(0, n)
		return
	}
	size := (n + chunks - 1) / chunks
	chunks = (n + size - 1) / size
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= chunks {
				return
			}
			fn(i*size, min(i*size+size, n))
		}
	}
	g := min(c.workers, chunks)
	var wg sync.WaitGroup
	wg.Add(g - 1)
	for range g - 1 {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}
