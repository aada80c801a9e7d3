package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// BF16ToFloat32 widens one bfloat16 value (its 16 bits) exactly.
func BF16ToFloat32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// Float32ToBF16 rounds a float32 to the nearest bfloat16, ties to even, as
// PyTorch does (NaN stays NaN).
func Float32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 { // NaN: keep it quiet and non-zero
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// RoundBF16 returns f rounded to bfloat16 precision, as a float32.
func RoundBF16(f float32) float32 { return BF16ToFloat32(Float32ToBF16(f)) }

// F16ToFloat32 widens one IEEE half-precision value exactly.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// subnormal half: value = mant * 2^-24
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// DecodeFloat32 converts raw tensor bytes of a floating dtype to float32.
// dst must have room for every element; it is returned for convenience.
func DecodeFloat32(dt DType, raw []byte, dst []float32) ([]float32, error) {
	size := int(dt.Size())
	if len(raw)%size != 0 || len(dst) < len(raw)/size {
		return nil, fmt.Errorf("decode %s: %d bytes for %d elements", dt, len(raw), len(dst))
	}
	n := len(raw) / size
	switch dt {
	case F32:
		for i := 0; i < n; i++ {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case BF16:
		for i := 0; i < n; i++ {
			dst[i] = BF16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case F16:
		for i := 0; i < n; i++ {
			dst[i] = F16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case F64:
		for i := 0; i < n; i++ {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	default:
		return nil, fmt.Errorf("decode: dtype %s is not a floating type (want F32, BF16, F16 or F64)", dt)
	}
	return dst[:n], nil
}

// Float32 reads a floating tensor (F32, BF16, F16 or F64) as float32 values
// and returns them with the tensor's shape.
func (f *File) Float32(name string) ([]float32, []int64, error) {
	ti, raw, err := f.infoAndBytes(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := DecodeFloat32(ti.DType, raw, make([]float32, ti.NumElements()))
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors %s: tensor %q: %w", f.Path, name, err)
	}
	return out, ti.Shape, nil
}

// Int64 reads an integer tensor (I64, I32 or U8) as int64 values and returns
// them with the tensor's shape.
func (f *File) Int64(name string) ([]int64, []int64, error) {
	ti, raw, err := f.infoAndBytes(name)
	if err != nil {
		return nil, nil, err
	}
	n := ti.NumElements()
	out := make([]int64, n)
	switch ti.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	case U8:
		for i := range out {
			out[i] = int64(raw[i])
		}
	default:
		return nil, nil, fmt.Errorf("safetensors %s: tensor %q has dtype %s, want an integer type (I64, I32, U8)", f.Path, name, ti.DType)
	}
	return out, ti.Shape, nil
}

// infoAndBytes returns a tensor's description and its mapped bytes.
func (f *File) infoAndBytes(name string) (TensorInfo, []byte, error) {
	ti, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("safetensors %s: no tensor %q", f.Path, name)
	}
	raw, err := f.Bytes(name)
	return ti, raw, err
}
