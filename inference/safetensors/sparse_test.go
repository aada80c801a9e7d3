package safetensors

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteSparseHeaderOnly(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sparse.safetensors")
	infos := []TensorInfo{
		{Name: "big", DType: BF16, Shape: []int64{4096, 4096}},
		{Name: "bias", DType: F32, Shape: []int64{3}},
		{Name: "scalar", DType: F16, Shape: nil},
	}
	if err := WriteSparse(p, infos, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want int64
	for _, in := range infos {
		got, ok := f.Info(in.Name)
		if !ok || got.DType != in.DType || len(got.Shape) != len(in.Shape) {
			t.Fatalf("%s: got %+v, want %+v", in.Name, got, in)
		}
		want += got.End - got.Start
	}
	if want != 4096*4096*2+12+2 || f.Size < want {
		t.Errorf("data bytes %d, file size %d", want, f.Size)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	vals, _, err := f.Float32("bias")
	if err != nil || len(vals) != 3 || vals[0] != 0 || vals[2] != 0 {
		t.Errorf("bias reads %v, %v; want zeros", vals, err)
	}
	for _, bad := range [][]TensorInfo{
		{{Name: "x", DType: F32, Shape: []int64{-1}}},
		{{Name: "x", DType: F32}, {Name: "x", DType: F32}},
		{{Name: "__metadata__", DType: F32}},
	} {
		if err := WriteSparse(filepath.Join(t.TempDir(), "bad.safetensors"), bad, nil); err == nil || !strings.Contains(err.Error(), `"`) {
			t.Errorf("%v: error %v, want one naming the tensor", bad, err)
		}
	}
}
