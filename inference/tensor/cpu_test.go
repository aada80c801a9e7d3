package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/sensenova/studio/inference/safetensors"
)

// Test helpers shared by the CPU tests: random data, float64 references and
// comparisons. Tolerances follow ../shared/golden/README.md: max abs
// difference ÷ max abs of the reference.

const relTol = 1e-5

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5e45e)) }

// randVals returns n values uniform in [-scale, scale).
func randVals(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (2*r.Float32() - 1) * scale
	}
	return v
}

// relErr is max |got − want| ÷ max |want| (or the max abs difference when
// want is all zero).
func relErr(got []float32, want []float64) float64 {
	var d, m float64
	for i, w := range want {
		d = math.Max(d, math.Abs(float64(got[i])-w))
		m = math.Max(m, math.Abs(w))
	}
	if m == 0 {
		return d
	}
	return d / m
}

// checkClose fails when got and want differ in length or by more than tol.
func checkClose(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i, g := range got {
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			t.Fatalf("%s: value %d is %v", what, i, g)
		}
	}
	e := relErr(got, want)
	if e > tol {
		t.Errorf("%s: relative error %.3g > %.1g", what, e, tol)
	}
	t.Logf("%s: relative error %.2g", what, e)
}

// checkSame fails unless got and want are bit-identical.
func checkSame(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: value %d is %v (%#x), want %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func to64(v []float32) []float64 {
	o := make([]float64, len(v))
	for i, x := range v {
		o[i] = float64(x)
	}
	return o
}

// mustPanic runs f and checks that it panics with a message containing
// every one of parts.
func mustPanic(t *testing.T, parts []string, f func()) {
	t.Helper()
	msg, panicked := panicMessage(f)
	if !panicked {
		t.Errorf("no panic; want one mentioning %q", parts)
		return
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("panic %q does not mention %q", msg, p)
		}
	}
}

// panicMessage runs f and returns what it panicked with, if it did.
func panicMessage(f func()) (msg string, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			msg, panicked = fmt.Sprint(r), true
		}
	}()
	f()
	return "", false
}

// bf16Raw rounds vals to bf16 and returns their little-endian bytes and the
// rounded values.
func bf16Raw(vals []float32) ([]byte, []float32) {
	raw := make([]byte, 2*len(vals))
	rounded := make([]float32, len(vals))
	for i, v := range vals {
		b := safetensors.Float32ToBF16(v)
		binary.LittleEndian.PutUint16(raw[2*i:], b)
		rounded[i] = safetensors.BF16ToFloat32(b)
	}
	return raw, rounded
}

// f32Raw returns the little-endian bytes of vals.
func f32Raw(vals []float32) []byte {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return raw
}

// misaligned returns a copy of raw starting at an odd address.
func misaligned(raw []byte) []byte {
	buf := make([]byte, len(raw)+1)
	copy(buf[1:], raw)
	return buf[1:]
}

// weight makes a weight of the given dtype from vals and returns it with the
// values it holds (rounded to bf16 for BF16).
func weight(t *testing.T, c *CPU, dt DType, vals []float32, shape ...int) (Tensor, []float32) {
	t.Helper()
	var w Tensor
	var err error
	held := vals
	if dt == BF16 {
		var raw []byte
		raw, held = bf16Raw(vals)
		w, err = c.Weight(safetensors.BF16, raw, shape...)
	} else {
		w, err = c.Weight(safetensors.F32, f32Raw(vals), shape...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return w, held
}

func TestZerosFromFloat32(t *testing.T) {
	c := NewCPU(2)
	z := c.Zeros(2, 3)
	if got := z.Shape(); !sameDims(got, []int{2, 3}) || z.DType() != F32 || NumElements(z) != 6 {
		t.Fatalf("Zeros(2, 3) = %v %v", z.DType(), got)
	}
	checkSame(t, "zeros", c.Float32(z), make([]float32, 6))
	vals := []float32{1, 2, 3, 4, 5, 6}
	x := c.FromFloat32(vals, 3, 2)
	vals[0] = 99 // the tensor holds a copy
	got := c.Float32(x)
	checkSame(t, "FromFloat32", got, []float32{1, 2, 3, 4, 5, 6})
	got[1] = 99 // Float32 returns a copy
	checkSame(t, "FromFloat32 again", c.Float32(x), []float32{1, 2, 3, 4, 5, 6})
	if s := fmt.Sprint(x); s != "F32[3 2]" {
		t.Errorf("String = %q", s)
	}
	mustPanic(t, []string{"tensor.FromFloat32:", "5 values", "[2 3]"}, func() { c.FromFloat32(make([]float32, 5), 2, 3) })
	mustPanic(t, []string{"tensor.Zeros:", "negative"}, func() { c.Zeros(2, -1) })
	if c.Name() != "cpu" || NewCPU(0).Workers() < 1 || c.Workers() != 2 {
		t.Errorf("Name %q, workers %d/%d", c.Name(), NewCPU(0).Workers(), c.Workers())
	}
}

// dataPtr returns the address of a CPU tensor's first element.
func dataPtr(t Tensor) unsafe.Pointer {
	ct := t.(*cpuTensor)
	if ct.dtype == BF16 {
		return unsafe.Pointer(&ct.b16Data()[0])
	}
	return unsafe.Pointer(&ct.f32Data()[0])
}

func TestWeightAliasAndCopy(t *testing.T) {
	c := NewCPU(1)
	r := newRNG(1)
	vals := randVals(r, 24, 3)
	bfRaw, bfVals := bf16Raw(vals)
	f32Bytes := f32Raw(vals)
	for _, tc := range []struct {
		name  string
		dt    safetensors.DType
		raw   []byte
		want  []float32
		alias bool
		dtype DType
	}{
		{"bf16 aligned", safetensors.BF16, bfRaw, bfVals, true, BF16},
		{"bf16 misaligned", safetensors.BF16, misaligned(bfRaw), bfVals, false, BF16},
		{"f32 aligned", safetensors.F32, f32Bytes, vals, true, F32},
		{"f32 misaligned", safetensors.F32, misaligned(f32Bytes), vals, false, F32},
	} {
		w, err := c.Weight(tc.dt, tc.raw, 4, 6)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if w.DType() != tc.dtype || !sameDims(w.Shape(), []int{4, 6}) {
			t.Errorf("%s: %v %v", tc.name, w.DType(), w.Shape())
		}
		checkSame(t, tc.name, c.Float32(w), tc.want)
		if aliased := dataPtr(w) == unsafe.Pointer(&tc.raw[0]); aliased != tc.alias {
			t.Errorf("%s: aliased = %v, want %v", tc.name, aliased, tc.alias)
		}
		// Views of weights work; writing into an aliased weight does not.
		checkSame(t, tc.name+" rows", c.Float32(c.Rows(w, 1, 2)), tc.want[6:18])
		if tc.dtype == F32 {
			mustPanic(t, []string{"tensor.CopyRows:", "weight"}, func() { c.CopyRows(w, 0, c.Zeros(1, 6)) })
		}
	}

	// F16 is widened to an F32 copy.
	halves := []uint16{0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x3555}
	want := []float32{1, -2, 65504, 1.0 / (1 << 24), float32(math.Copysign(0, -1)), 0.33325195}
	raw := make([]byte, 2*len(halves))
	for i, h := range halves {
		binary.LittleEndian.PutUint16(raw[2*i:], h)
	}
	w, err := c.Weight(safetensors.F16, raw, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if w.DType() != F32 {
		t.Errorf("F16 weight has dtype %v, want F32", w.DType())
	}
	checkSame(t, "f16", c.Float32(w), want)

	if _, err := c.Weight(safetensors.I32, make([]byte, 8), 2); err == nil || !strings.Contains(err.Error(), "I32") {
		t.Errorf("I32 weight: error %v, want one naming the dtype", err)
	}
	if _, err := c.Weight(safetensors.BF16, make([]byte, 10), 2, 3); err == nil || !strings.Contains(err.Error(), "[2 3]") {
		t.Errorf("short bytes: error %v, want one naming the shape", err)
	}
	if w, err := c.Weight(safetensors.BF16, nil, 0, 4); err != nil || NumElements(w) != 0 {
		t.Errorf("empty weight: %v, %v", w, err)
	}
}

func TestViewsShareStorage(t *testing.T) {
	c := NewCPU(1)
	x := c.FromFloat32([]float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 4, 3)
	rows := c.Rows(x, 1, 2)
	checkSame(t, "Rows", c.Float32(rows), []float32{3, 4, 5, 6, 7, 8})
	flat := c.Reshape(rows, 6)
	if !sameDims(flat.Shape(), []int{6}) {
		t.Errorf("Reshape shape %v", flat.Shape())
	}
	sq := c.Reshape(x, 2, 2, 3)
	checkSame(t, "Rows of a 3-D view", c.Float32(c.Rows(sq, 1, 1)), []float32{6, 7, 8, 9, 10, 11})
	// Writing through a view writes the parent.
	c.CopyRows(rows, 1, c.FromFloat32([]float32{-1, -2, -3}, 1, 3))
	checkSame(t, "parent after CopyRows into a view", c.Float32(x), []float32{0, 1, 2, 3, 4, 5, -1, -2, -3, 9, 10, 11})
	checkSame(t, "reshaped view", c.Float32(flat), []float32{3, 4, 5, -1, -2, -3})
	if z := c.Rows(x, 4, 0); NumElements(z) != 0 {
		t.Errorf("empty Rows has %d elements", NumElements(z))
	}
	mustPanic(t, []string{"tensor.Rows:", "[3, 5)", "[4 3]"}, func() { c.Rows(x, 3, 2) })
	mustPanic(t, []string{"tensor.Reshape:", "[4 3]", "[5 2]"}, func() { c.Reshape(x, 5, 2) })
}

func TestCopyRows(t *testing.T) {
	c := NewCPU(1)
	dst := c.Zeros(5, 2, 2)
	src := c.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2)
	c.CopyRows(dst, 3, src)
	checkSame(t, "CopyRows", c.Float32(dst), []float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	bw, held := weight(t, c, BF16, []float32{1.5, -2.25, 3, 0.1}, 1, 2, 2)
	c.CopyRows(dst, 0, bw)
	checkSame(t, "CopyRows from bf16", c.Float32(c.Rows(dst, 0, 1)), held)
	mustPanic(t, []string{"tensor.CopyRows:", "[5 2 2]", "[2 4]"}, func() { c.CopyRows(dst, 0, c.Zeros(2, 4)) })
	mustPanic(t, []string{"tensor.CopyRows:", "row 4"}, func() { c.CopyRows(dst, 4, src) })
	mustPanic(t, []string{"tensor.CopyRows:", "BF16"}, func() { c.CopyRows(bw, 0, src) })
}

func TestFree(t *testing.T) {
	c := NewCPU(1)
	x := c.Zeros(4, 4)
	v := c.Rows(x, 1, 2)
	mustPanic(t, []string{"tensor.Free:", "view"}, func() { c.Free(v) })
	c.Free(x)
	mustPanic(t, []string{"tensor.Float32:", "after Free"}, func() { c.Float32(x) })
	mustPanic(t, []string{"tensor.GELU:", "after Free"}, func() { c.GELU(v) })
	mustPanic(t, []string{"tensor.Free:", "after Free"}, func() { c.Free(x) })
	mustPanic(t, []string{"tensor.Add:", "not a CPU tensor"}, func() { c.Add(nil, x) })
}

func TestTranspose(t *testing.T) {
	c := NewCPU(2)
	r := newRNG(2)
	for _, s := range [][2]int{{1, 1}, {1, 7}, {37, 53}, {130, 70}} {
		m, n := s[0], s[1]
		vals := randVals(r, m*n, 1)
		got := c.Transpose(c.FromFloat32(vals, m, n))
		if !sameDims(got.Shape(), []int{n, m}) {
			t.Fatalf("Transpose [%d %d] has shape %v", m, n, got.Shape())
		}
		want := make([]float32, m*n)
		for i := range m {
			for j := range n {
				want[j*m+i] = vals[i*n+j]
			}
		}
		checkSame(t, fmt.Sprintf("Transpose %dx%d", m, n), c.Float32(got), want)
	}
	mustPanic(t, []string{"tensor.Transpose:", "[2 3 4]"}, func() { c.Transpose(c.Zeros(2, 3, 4)) })
}

func TestEmbed(t *testing.T) {
	c := NewCPU(1)
	r := newRNG(3)
	vals := randVals(r, 11*5, 2)
	for _, dt := range []DType{F32, BF16} {
		w, held := weight(t, c, dt, vals, 11, 5)
		ids := []int32{3, 0, 10, 3}
		got := c.Embed(w, ids)
		if !sameDims(got.Shape(), []int{4, 5}) || got.DType() != F32 {
			t.Fatalf("Embed shape %v %v", got.DType(), got.Shape())
		}
		var want []float32
		for _, id := range ids {
			want = append(want, held[int(id)*5:int(id)*5+5]...)
		}
		checkSame(t, "Embed "+dt.String(), c.Float32(got), want)
		mustPanic(t, []string{"tensor.Embed:", "id 11", "[11 5]"}, func() { c.Embed(w, []int32{1, 11}) })
	}
}
