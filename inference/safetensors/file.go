package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"

	st "github.com/nlpodyssey/safetensors"
)

// DType is the element type of a tensor, as named in safetensors headers.
type DType = st.DType

// Element types the engine works with.
const (
	BF16 = st.BF16
	F16  = st.F16
	F32  = st.F32
	F64  = st.F64
	I64  = st.I64
	I32  = st.I32
	U8   = st.U8
)

// maxHeaderBytes bounds the JSON header. The real 8B checkpoint's shards have
// headers of about 100 kB; anything near this limit is a corrupt length field.
const maxHeaderBytes = 100 << 20

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int64
	// Start and End are byte offsets relative to the start of the data
	// section (right after the header), as stored in the file.
	Start, End int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (ti TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range ti.Shape {
		n *= d
	}
	return n
}

// File is an open safetensors file. Its tensors alias a read-only memory
// mapping that stays valid until Close.
type File struct {
	Path     string
	Size     int64
	Metadata map[string]string

	dataStart int64 // 8 + header length
	tensors   map[string]TensorInfo
	names     []string // in data-offset order
	mapping   []byte
	closer    func() error
}

// ReadHeader parses and checks a file's header without mapping its data.
// The checks are the same as Open's.
func ReadHeader(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("safetensors %s: is a directory, want a .safetensors file", path)
	}
	size := fi.Size()
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("safetensors %s: file is %d bytes, too short for the 8-byte header length", path, size)
	}
	if _, err := f.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors %s: reading header length: %w", path, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if err := checkHeaderLength(path, n, size); err != nil {
		return nil, err
	}
	header := make([]byte, n)
	if _, err := f.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("safetensors %s: reading %d-byte header: %w", path, n, err)
	}
	return parse(path, size, header)
}

// Open maps the file and checks its header.
func Open(path string) (*File, error) {
	hdr, err := ReadHeader(path)
	if err != nil {
		return nil, err
	}
	if hdr.Size == 0 {
		return hdr, nil
	}
	data, closer, err := mapFile(path, hdr.Size)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: memory-mapping %d bytes: %w", path, hdr.Size, err)
	}
	hdr.mapping = data
	hdr.closer = closer
	return hdr, nil
}

func checkHeaderLength(path string, n uint64, size int64) error {
	if n > maxHeaderBytes {
		return fmt.Errorf("safetensors %s: header length field says %d bytes (limit %d): not a safetensors file or corrupt", path, n, maxHeaderBytes)
	}
	if int64(n) > size-8 {
		return fmt.Errorf("safetensors %s: header length field says %d bytes but only %d bytes follow it: file truncated or not a safetensors file", path, n, size-8)
	}
	return nil
}

func parse(path string, size int64, header []byte) (*File, error) {
	if !json.Valid(header) {
		return nil, fmt.Errorf("safetensors %s: header is not valid JSON (first bytes %q)", path, clip(header, 40))
	}
	var md st.Metadata
	if err := json.Unmarshal(header, &md); err != nil {
		return nil, fmt.Errorf("safetensors %s: header: %w", path, err)
	}
	f := &File{
		Path:      path,
		Size:      size,
		Metadata:  md.Metadata(),
		dataStart: 8 + int64(len(header)),
		tensors:   make(map[string]TensorInfo),
	}
	dataLen := size - f.dataStart
	infos := make([]TensorInfo, 0, len(md.Tensors()))
	for name, ti := range md.Tensors() {
		info := TensorInfo{Name: name, DType: ti.DType}
		numel := uint64(1)
		for _, d := range ti.Shape {
			if d > math.MaxInt32 {
				return nil, fmt.Errorf("safetensors %s: tensor %q has dimension %d, larger than any real tensor", path, name, d)
			}
			info.Shape = append(info.Shape, int64(d))
			numel *= d
			if numel > math.MaxInt64/8 {
				return nil, fmt.Errorf("safetensors %s: tensor %q has shape %v, too many elements", path, name, ti.Shape)
			}
		}
		if ti.DataOffsets[0] > ti.DataOffsets[1] {
			return nil, fmt.Errorf("safetensors %s: tensor %q has data_offsets [%d, %d]: start after end", path, name, ti.DataOffsets[0], ti.DataOffsets[1])
		}
		if ti.DataOffsets[1] > math.MaxInt64 {
			return nil, fmt.Errorf("safetensors %s: tensor %q ends at offset %d, beyond any file", path, name, ti.DataOffsets[1])
		}
		info.Start, info.End = int64(ti.DataOffsets[0]), int64(ti.DataOffsets[1])
		want := int64(numel * ti.DType.Size())
		if got := info.End - info.Start; got != want {
			return nil, fmt.Errorf("safetensors %s: tensor %q (%s %v) spans %d bytes, want %d", path, name, ti.DType, info.Shape, got, want)
		}
		if info.End > dataLen {
			return nil, fmt.Errorf("safetensors %s: tensor %q ends at data byte %d but the file holds only %d data bytes: file truncated (incomplete download?)", path, name, info.End, dataLen)
		}
		infos = append(infos, info)
	}
	sort.Slice(infos, func(i, j int) bool {
		if infos[i].Start != infos[j].Start {
			return infos[i].Start < infos[j].Start
		}
		return infos[i].End < infos[j].End
	})
	for i, info := range infos {
		if i > 0 && info.Start < infos[i-1].End {
			prev := infos[i-1]
			return nil, fmt.Errorf("safetensors %s: tensors %q [%d, %d) and %q [%d, %d) overlap", path, prev.Name, prev.Start, prev.End, info.Name, info.Start, info.End)
		}
		f.tensors[info.Name] = info
		f.names = append(f.names, info.Name)
	}
	return f, nil
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// Names returns the tensor names in the order their data is stored.
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Info returns a tensor's description.
func (f *File) Info(name string) (TensorInfo, bool) {
	ti, ok := f.tensors[name]
	return ti, ok
}

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.tensors) }

// ErrNotMapped is returned when tensor data is asked of a file opened with
// ReadHeader or already closed.
var ErrNotMapped = errors.New("file data is not mapped")

// Bytes returns the raw little-endian bytes of a tensor. The slice aliases the
// read-only mapping: do not write to it or keep it after Close.
func (f *File) Bytes(name string) ([]byte, error) {
	ti, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors %s: no tensor %q", f.Path, name)
	}
	if ti.End == ti.Start {
		return []byte{}, nil
	}
	if f.mapping == nil {
		return nil, fmt.Errorf("safetensors %s: tensor %q: %w", f.Path, name, ErrNotMapped)
	}
	return f.mapping[f.dataStart+ti.Start : f.dataStart+ti.End], nil
}

// Close releases the mapping. Tensor bytes obtained before must not be used
// afterwards.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer()
	f.closer = nil
	f.mapping = nil
	return err
}
