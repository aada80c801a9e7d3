package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	st "github.com/nlpodyssey/safetensors"

	"github.com/sensenova/studio/internal/atomicfile"
)

// Tensor is a named tensor to be written.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64
	Data  []byte // little-endian elements
}

// view adapts Tensor to the writer library's View interface.
type view struct{ t Tensor }

func (v view) DType() DType { return v.t.DType }
func (v view) Shape() []uint64 {
	s := make([]uint64, len(v.t.Shape))
	for i, d := range v.t.Shape {
		s[i] = uint64(d)
	}
	return s
}
func (v view) Data() []byte    { return v.t.Data }
func (v view) DataLen() uint64 { return uint64(len(v.t.Data)) }

// FromFloat32 builds an F32 tensor.
func FromFloat32(name string, shape []int64, values []float32) Tensor {
	data := make([]byte, 4*len(values))
	for i, x := range values {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: shape, Data: data}
}

// FromBF16 builds a BF16 tensor, rounding each value to nearest even.
func FromBF16(name string, shape []int64, values []float32) Tensor {
	data := make([]byte, 2*len(values))
	for i, x := range values {
		binary.LittleEndian.PutUint16(data[2*i:], Float32ToBF16(x))
	}
	return Tensor{Name: name, DType: BF16, Shape: shape, Data: data}
}

// Write stores tensors in a new safetensors file at path. The file is written
// beside its destination and renamed into place, so a reader never sees a
// partial file.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	byName := make(map[string]view, len(tensors))
	for _, t := range tensors {
		want := uint64(1)
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("safetensors %s: tensor %q has negative dimension in shape %v", path, t.Name, t.Shape)
			}
			want *= uint64(d)
		}
		if want*t.DType.Size() != uint64(len(t.Data)) {
			return fmt.Errorf("safetensors %s: tensor %q (%s %v) has %d data bytes, want %d", path, t.Name, t.DType, t.Shape, len(t.Data), want*t.DType.Size())
		}
		if _, dup := byName[t.Name]; dup {
			return fmt.Errorf("safetensors %s: tensor %q given twice", path, t.Name)
		}
		byName[t.Name] = view{t}
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := st.SerializeToWriter(byName, metadata, w); err != nil {
		return fmt.Errorf("safetensors %s: writing: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("safetensors %s: writing: %w", path, err)
	}
	return f.Commit()
}

// WriteSparse writes a safetensors file with a complete header for the
// given tensors (their Name, DType and Shape; Start and End are ignored and
// assigned in order) but never writes the data section: the file is
// extended to its full size with Truncate. On file systems with sparse files
// (ext4, XFS, btrfs, APFS, tmpfs) it then costs only the header's disk
// blocks, and every tensor reads as zeros. It serves layout tests and demo
// folders at the real model's size (≈35 GB of headers-only bf16). On
// Windows (NTFS without the sparse flag) the space may be reserved.
func WriteSparse(path string, tensors []TensorInfo, metadata map[string]string) error {
	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var offset int64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" {
			return fmt.Errorf("safetensors %s: invalid tensor name %q", path, t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors %s: tensor %q given twice", path, t.Name)
		}
		if t.DType > st.U64 {
			return fmt.Errorf("safetensors %s: tensor %q has invalid dtype %d", path, t.Name, uint8(t.DType))
		}
		n := int64(t.DType.Size())
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("safetensors %s: tensor %q has negative dimension in shape %v", path, t.Name, t.Shape)
			}
			if d > 0 && n > math.MaxInt64/d {
				return fmt.Errorf("safetensors %s: tensor %q has shape %v, too many elements", path, t.Name, t.Shape)
			}
			n *= d
		}
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		header[t.Name] = map[string]any{
			"dtype":        t.DType.String(),
			"shape":        shape,
			"data_offsets": [2]int64{offset, offset + n},
		}
		offset += n
	}
	hdr, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors %s: encoding header: %w", path, err)
	}
	for len(hdr)%8 != 0 { // pad with spaces to 8-byte alignment, as writers do
		hdr = append(hdr, ' ')
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	defer f.Abort()
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
	if _, err := f.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("safetensors %s: writing: %w", path, err)
	}
	if _, err := f.Write(hdr); err != nil {
		return fmt.Errorf("safetensors %s: writing: %w", path, err)
	}
	if err := f.Truncate(8 + int64(len(hdr)) + offset); err != nil {
		return fmt.Errorf("safetensors %s: extending to %d bytes: %w", path, 8+int64(len(hdr))+offset, err)
	}
	return f.Commit()
}
