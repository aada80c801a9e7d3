package safetensors

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteThenOpenRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.safetensors")
	vals := []float32{1, -2.5, 3.25, 0, 1e-3, 65504}
	ids := Tensor{Name: "ids", DType: I64, Shape: []int64{2}, Data: make([]byte, 16)}
	binary.LittleEndian.PutUint64(ids.Data, 7)
	binary.LittleEndian.PutUint64(ids.Data[8:], uint64(math.MaxUint64)) // -1
	pix := Tensor{Name: "pix", DType: U8, Shape: []int64{1, 3}, Data: []byte{0, 128, 255}}
	err := Write(p, []Tensor{
		FromFloat32("a.f32", []int64{2, 3}, vals),
		FromBF16("a.bf16", []int64{6}, vals),
		ids, pix,
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Len() != 4 || f.Metadata["format"] != "pt" {
		t.Fatalf("len %d metadata %v", f.Len(), f.Metadata)
	}
	got, shape, err := f.Float32("a.f32")
	if err != nil || len(shape) != 2 || shape[0] != 2 || shape[1] != 3 {
		t.Fatalf("a.f32: shape %v err %v", shape, err)
	}
	for i := range vals {
		if got[i] != vals[i] {
			t.Errorf("a.f32[%d] = %v, want %v", i, got[i], vals[i])
		}
	}
	gotBF, _, err := f.Float32("a.bf16")
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		if want := RoundBF16(vals[i]); gotBF[i] != want {
			t.Errorf("a.bf16[%d] = %v, want %v", i, gotBF[i], want)
		}
	}
	gotIDs, _, err := f.Int64("ids")
	if err != nil || gotIDs[0] != 7 || gotIDs[1] != -1 {
		t.Errorf("ids = %v, %v", gotIDs, err)
	}
	gotPix, _, err := f.Int64("pix")
	if err != nil || gotPix[2] != 255 {
		t.Errorf("pix = %v, %v", gotPix, err)
	}
	if _, _, err := f.Int64("a.f32"); err == nil {
		t.Error("Int64 of an F32 tensor must fail")
	}
	if _, _, err := f.Float32("missing"); err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("missing tensor: %v", err)
	}
}

func TestWriteRejectsInconsistentTensors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.safetensors")
	err := Write(p, []Tensor{{Name: "x", DType: F32, Shape: []int64{3}, Data: make([]byte, 8)}}, nil)
	if err == nil || !strings.Contains(err.Error(), "want 12") {
		t.Errorf("short data: %v", err)
	}
	if _, statErr := os.Stat(p); statErr == nil {
		t.Error("a failed write left a file behind")
	}
}

// rawFile writes an 8-byte length, the header text and n data bytes.
func rawFile(t *testing.T, header string, lengthField uint64, data int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "raw.safetensors")
	b := make([]byte, 8, 8+len(header)+data)
	binary.LittleEndian.PutUint64(b, lengthField)
	b = append(b, header...)
	b = append(b, make([]byte, data)...)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenReportsCorruptFiles(t *testing.T) {
	good := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[8,16]}}`
	cases := []struct {
		name   string
		path   func(t *testing.T) string
		expect []string
	}{
		{"too short", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "s.safetensors")
			os.WriteFile(p, []byte{1, 2, 3}, 0o644)
			return p
		}, []string{"too short"}},
		{"header longer than file", func(t *testing.T) string { return rawFile(t, good, 5000, 16) }, []string{"5000 bytes", "truncated"}},
		{"absurd header length", func(t *testing.T) string { return rawFile(t, good, 1<<40, 16) }, []string{"not a safetensors file"}},
		{"invalid JSON", func(t *testing.T) string { return rawFile(t, `{"a": [}`, 8, 0) }, []string{"not valid JSON"}},
		{"unknown dtype", func(t *testing.T) string {
			h := `{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}`
			return rawFile(t, h, uint64(len(h)), 2)
		}, []string{`"a"`, "Q4"}},
		{"truncated data", func(t *testing.T) string { return rawFile(t, good, uint64(len(good)), 12) }, []string{`"b"`, "truncated"}},
		{"overlapping offsets", func(t *testing.T) string {
			h := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
			return rawFile(t, h, uint64(len(h)), 12)
		}, []string{"overlap", `"a"`, `"b"`}},
		{"size does not match shape", func(t *testing.T) string {
			h := `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`
			return rawFile(t, h, uint64(len(h)), 8)
		}, []string{`"a"`, "want 12"}},
		{"directory", func(t *testing.T) string { return t.TempDir() }, []string{"directory"}},
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none.safetensors") }, []string{"no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.path(t)
			_, err := Open(p)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, e := range c.expect {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not mention %q", err, e)
				}
			}
			if c.name != "directory" && !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	// The good header with all its data opens.
	f, err := Open(rawFile(t, good, uint64(len(good)), 16))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if names := f.Names(); len(names) != 2 || names[0] != "a" || names[1] != "b" {
		t.Errorf("names %v", names)
	}
}

func TestReadHeaderDoesNotMapData(t *testing.T) {
	good := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	f, err := ReadHeader(rawFile(t, good, uint64(len(good)), 8))
	if err != nil {
		t.Fatal(err)
	}
	if ti, ok := f.Info("a"); !ok || ti.NumElements() != 2 {
		t.Errorf("info %+v %v", ti, ok)
	}
	if _, err := f.Bytes("a"); err == nil {
		t.Error("Bytes on a header-only File must fail")
	}
}

func TestBF16Rounding(t *testing.T) {
	cases := []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above tie
		{0x7f7fffff, 0x7f80}, // max float rounds to inf
		{0xff800000, 0xff80}, // -inf
	}
	for _, c := range cases {
		if got := Float32ToBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("Float32ToBF16(%#x) = %#x, want %#x", c.in, got, c.want)
		}
	}
	if nan := BF16ToFloat32(Float32ToBF16(float32(math.NaN()))); !math.IsNaN(float64(nan)) {
		t.Error("NaN must stay NaN")
	}
}

func TestF16ToFloat32(t *testing.T) {
	cases := []struct {
		in   uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 5.9604645e-08}, {0x03ff, 6.097555e-05},
		{0x8000, float32(math.Copysign(0, -1))}, {0x7c00, float32(math.Inf(1))},
	}
	for _, c := range cases {
		if got := F16ToFloat32(c.in); got != c.want || math.Signbit(float64(got)) != math.Signbit(float64(c.want)) {
			t.Errorf("F16ToFloat32(%#x) = %v, want %v", c.in, got, c.want)
		}
	}
}
