// Package checkpoint reads timm/PyTorch checkpoints into float32 tensors, so
// that the converter can start from the files people actually have: a
// safetensors file or a torch.save file (zip, or the legacy pre-1.6 format).
//
// Checkpoints are untrusted input. Every length and offset is checked against
// the file before it is used, and a malformed file gives an error, never a
// panic: the safetensors parser is our own, and PyTorch pickles are first
// walked by a bounded opcode scanner before gopickle's unpickler sees them,
// because gopickle allocates whatever sizes a file claims (a crafted frame
// length kills the process with an out-of-memory fault no recover() can catch).
package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Tensor is one entry of a state dict. Data holds float tensors converted to
// float32 in row-major (contiguous) order; it is nil for integer/bool tensors,
// whose DType still says what they were.
type Tensor struct {
	DType string // safetensors dtype names: "F32","F16","BF16","F64","I64","I32","I16","I8","U8","BOOL"
	Shape []int
	Data  []float32
}

// DefaultMaxBytes is the limit Read puts on the float32 data a checkpoint
// decodes to: 8 GiB, twice the weights of timm's largest CoAtNet
// (coatnet_5, about 690 M parameters, 2.8 GB). Callers that know the
// architecture pass a tighter bound to ReadLimit.
const DefaultMaxBytes = 8 << 30

// ErrTooLarge reports a checkpoint whose tensors decode to more float32
// data than the limit it is read under.
var ErrTooLarge = errors.New("checkpoint too large")

// Read loads a checkpoint, choosing the format from the file's content (not
// its extension, since .pth, .pt, .bin and .ckpt are all used for both):
// safetensors, or a PyTorch torch.save file (zip format, or the legacy
// pickle format). It is ReadLimit with DefaultMaxBytes.
func Read(path string) (map[string]Tensor, error) {
	return ReadLimit(path, DefaultMaxBytes)
}

// ReadLimit is Read with a bound on the bytes of float32 data the tensors
// decode to, views copied out of a storage included. The sizes are known
// before anything is decoded or inflated, so a compressed storage cannot
// expand past the bound: a file that would is refused with ErrTooLarge.
func ReadLimit(path string, maxBytes int64) (map[string]Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var head [9]byte
	n, err := io.ReadFull(f, head[:])
	f.Close()
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	b := head[:n]
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return readFile(path, maxBytes, readPyTorchFrom)
	case len(b) == 9 && b[8] == '{':
		// A safetensors header is a JSON object right after its 8-byte length.
		return readFile(path, maxBytes, readSafetensors)
	case len(b) > 0 && b[0] == 0x80:
		// Pickle protocol 2+ opens with PROTO: a legacy torch.save file.
		return readFile(path, maxBytes, readPyTorchFrom)
	}
	return nil, fmt.Errorf("checkpoint: %s: unrecognised format: not safetensors, not a PyTorch zip archive, not a legacy PyTorch pickle", path)
}

// readFile opens path and hands it to a format reader, naming the file in
// any error.
func readFile(path string, maxBytes int64, read func(r io.ReaderAt, size, maxBytes int64) (map[string]Tensor, error)) (map[string]Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	m, err := read(f, st.Size(), maxBytes)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	return m, nil
}

// dtypeInfo describes a dtype by its safetensors name.
type dtypeInfo struct {
	size  int  // bytes per element
	float bool // converted to float32; integer and bool tensors keep no data
}

var dtypes = map[string]dtypeInfo{
	"F32":  {4, true},
	"F16":  {2, true},
	"BF16": {2, true},
	"F64":  {8, true},
	"I64":  {8, false},
	"I32":  {4, false},
	"I16":  {2, false},
	"I8":   {1, false},
	"U8":   {1, false},
	"BOOL": {1, false},
}

var (
	errOverflow = errors.New("size overflows")
)

// numel returns the element count of shape, rejecting negative dimensions and
// counts whose byte size (at elemSize bytes each) would overflow an int.
func numel(shape []int, elemSize int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d == 0 {
			n = 0
		}
	}
	if n == 0 {
		return 0, nil
	}
	limit := math.MaxInt / elemSize
	for _, d := range shape {
		if n > limit/d {
			return 0, fmt.Errorf("shape %v: %w", shape, errOverflow)
		}
		n *= d
	}
	return n, nil
}

// decodeFloats converts little-endian elements of dtype from src into dst;
// len(src) must be len(dst) times the element size.
func decodeFloats(dtype string, dst []float32, src []byte) {
	switch dtype {
	case "F32":
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case "F16":
		for i := range dst {
			dst[i] = halfToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case "BF16":
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case "F64":
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	default:
		panic("checkpoint: decodeFloats: not a float dtype")
	}
}

// halfToFloat32 converts IEEE binary16 to float32. Every half value is exact
// in float32, NaN payloads included.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half (mant * 2^-24) is a normal float32: shift the leading one
	// into the implicit bit.
	e := uint32(127 - 14)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// decodeStream reads numel elements of dtype from r into a new float32 slice,
// in chunks, so a large tensor never sits in memory as raw bytes and floats at
// once.
func decodeStream(dtype string, r io.Reader, n int) ([]float32, error) {
	size := dtypes[dtype].size
	dst := make([]float32, n)
	const chunk = 1 << 16 // elements
	buf := make([]byte, min(n, chunk)*size)
	for i := 0; i < n; i += chunk {
		m := min(chunk, n-i)
		b := buf[:m*size]
		if _, err := io.ReadFull(r, b); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		decodeFloats(dtype, dst[i:i+m], b)
	}
	return dst, nil
}
