package modelfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"
	"unsafe"
)

// Version is the format version this package writes and reads.
const Version uint32 = 1

// Magic is the first 8 bytes of every model file.
const Magic = "COATNET\x00"

// Limits. A file beyond them is rejected as corrupt, and Write refuses to
// produce one.
const (
	MaxMetadataLen = 64 << 20 // bytes of metadata JSON
	MaxIndexLen    = 64 << 20 // bytes of tensor-index JSON
	MaxTensors     = 1 << 20  // tensors in one file
	MaxDims        = 8        // dimensions of one tensor
)

// MaxReadLen bounds a model file that Open reads into memory because its
// size is unknown (a pipe): 4 GiB, above the float32 weights of timm's
// largest CoAtNet (coatnet_5, 2.75 GB). A larger header is refused before
// its data is read; a regular file is mapped, whatever its size.
const MaxReadLen = 4 << 30

const (
	headerSize = 64
	align      = 64
)

// Header field offsets; see the package documentation.
const (
	offVersion   = 8
	offFlags     = 12
	offMetaLen   = 16
	offIndexLen  = 24
	offDataLen   = 32
	offCRCMeta   = 40
	offCRCData   = 44
	offReserved  = 48
	offCRCHeader = 60
)

// Sentinel errors, for errors.Is. Errors from Parse and Open wrap exactly one
// of them and say more.
var (
	// ErrNotModelFile: the file does not start with Magic.
	ErrNotModelFile = errors.New("not a coatnet model file")
	// ErrUnsupportedVersion: the file is a model file of a version, or
	// with flags, that this build cannot read.
	ErrUnsupportedVersion = errors.New("unsupported model file version")
	// ErrCorrupt: the file is damaged or malformed: a checksum mismatch, a
	// truncated file, trailing bytes, an invalid index, sizes beyond the
	// limits.
	ErrCorrupt = errors.New("corrupt model file")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DType is a tensor's element type. Elements are stored little-endian.
type DType string

// The element types.
const (
	F32 DType = "f32" // IEEE 754 binary32
	F16 DType = "f16" // IEEE 754 binary16
	I8  DType = "i8"
	U8  DType = "u8"
	I16 DType = "i16"
	I32 DType = "i32"
	I64 DType = "i64"
)

// Size is the size of one element in bytes, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case I8, U8:
		return 1
	case F16, I16:
		return 2
	case F32, I32:
		return 4
	case I64:
		return 8
	}
	return 0
}

// Tensor is a named tensor. Data holds the elements in row-major order as
// raw little-endian bytes; its length is the product of Shape times the
// element size. An empty (or nil) Shape is a scalar.
//
// A Tensor from a File aliases the file's mapping: Data must not be
// modified and is invalid after File.Close.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// TensorInfo describes a tensor of a File without its data.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	// Offset is where the tensor's data starts, counted from the start of
	// the file; Length is its length in bytes.
	Offset int64
	Length int64
}

// byteLen returns numel(shape) * size, or false if a dimension is negative,
// there are more than MaxDims dimensions, or the product overflows an int. A
// shape with a 0 dimension has 0 elements whatever the other dimensions.
func byteLen(shape []int, size int) (int, bool) {
	if len(shape) > MaxDims || size <= 0 {
		return 0, false
	}
	empty := false
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		empty = empty || d == 0
	}
	if empty {
		return 0, true
	}
	n := uint64(size)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, false
		}
		n = lo
	}
	return int(n), true
}

// hostLittleEndian says whether typed views can alias tensor data.
var hostLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// forceCopy makes the typed views decode even where they could alias, so
// that tests on little-endian hosts cover the big-endian path.
var forceCopy = false

// elems checks t against want and returns its number of elements.
func (t Tensor) elems(want DType) (int, error) {
	if t.DType != want {
		return 0, fmt.Errorf("modelfile: tensor %q is %s, not %s", t.Name, t.DType, want)
	}
	n, ok := byteLen(t.Shape, want.Size())
	if !ok || n != len(t.Data) {
		return 0, fmt.Errorf("modelfile: tensor %q: shape %v of %s does not match its %d bytes", t.Name, t.Shape, want, len(t.Data))
	}
	return n / want.Size(), nil
}

// view returns data as a []T of n elements without copying, when the host is
// little-endian and data is aligned for T.
func view[T int32 | float32](data []byte, n int) ([]T, bool) {
	if !hostLittleEndian || forceCopy || n == 0 {
		return nil, false
	}
	p := unsafe.SliceData(data)
	if uintptr(unsafe.Pointer(p))%unsafe.Alignof(T(0)) != 0 {
		return nil, false
	}
	return unsafe.Slice((*T)(unsafe.Pointer(p)), n), true
}

// Float32 returns the elements of an f32 tensor. On a little-endian host
// with aligned data (always the case for a tensor of a mapped File) the
// slice aliases t.Data and is read-only; otherwise it is a decoded copy.
func (t Tensor) Float32() ([]float32, error) {
	n, err := t.elems(F32)
	if err != nil {
		return nil, err
	}
	if v, ok := view[float32](t.Data, n); ok {
		return v, nil
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Int32 returns the elements of an i32 tensor, aliasing t.Data where it
// can, as Float32 does.
func (t Tensor) Int32() ([]int32, error) {
	n, err := t.elems(I32)
	if err != nil {
		return nil, err
	}
	if v, ok := view[int32](t.Data, n); ok {
		return v, nil
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Int8 returns the elements of an i8 tensor. The slice always aliases
// t.Data (bytes have no byte order and no alignment) and is read-only for a
// tensor of a File.
func (t Tensor) Int8() ([]int8, error) {
	n, err := t.elems(I8)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []int8{}, nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(t.Data))), n), nil
}

// cloneShape copies shape, turning nil into an empty (scalar) shape.
func cloneShape(shape []int) []int {
	return append(make([]int, 0, len(shape)), shape...)
}

// Float32Tensor builds an f32 tensor for Write from a copy of data.
func Float32Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: cloneShape(shape), Data: b}
}

// Int8Tensor builds an i8 tensor for Write from a copy of data.
func Int8Tensor(name string, shape []int, data []int8) Tensor {
	b := make([]byte, len(data))
	for i, v := range data {
		b[i] = byte(v)
	}
	return Tensor{Name: name, DType: I8, Shape: cloneShape(shape), Data: b}
}

// Int32Tensor builds an i32 tensor for Write from a copy of data.
func Int32Tensor(name string, shape []int, data []int32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return Tensor{Name: name, DType: I32, Shape: cloneShape(shape), Data: b}
}
