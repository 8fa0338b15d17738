package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// maxSafetensorsHeader is the header size the reference implementation
// accepts; anything larger is a corrupt length, not a real header.
const maxSafetensorsHeader = 100 << 20

// stEntry is one tensor of a safetensors header, validated against the data
// area.
type stEntry struct {
	name       string
	dtype      string
	shape      []int
	numel      int
	begin, end int64 // byte range in the data area
}

// ReadSafetensors loads a safetensors file. It reads the header, then each
// float tensor straight into its float32 slice, so the file's bytes are never
// held in full next to the converted tensors.
func ReadSafetensors(path string) (map[string]Tensor, error) {
	return readFile(path, readSafetensors)
}

// parseSafetensors decodes a whole safetensors file held in memory. It is the
// fuzz target's entry point and shares every check with ReadSafetensors.
func parseSafetensors(b []byte) (map[string]Tensor, error) {
	return readSafetensors(bytes.NewReader(b), int64(len(b)))
}

func readSafetensors(r io.ReaderAt, size int64) (map[string]Tensor, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("safetensors: truncated: file is %d bytes, the header length alone takes 8", size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxSafetensorsHeader {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", n, maxSafetensorsHeader)
	}
	if int64(n) > size-8 {
		return nil, fmt.Errorf("safetensors: truncated: header length %d exceeds the %d bytes after it", n, size-8)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	dataStart := 8 + int64(n)
	entries, err := parseSafetensorsHeader(hdr, size-dataStart)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}

	// Read in file order; reuse one buffer for the raw bytes.
	slices.SortFunc(entries, func(a, b stEntry) int {
		switch {
		case a.begin < b.begin:
			return -1
		case a.begin > b.begin:
			return 1
		}
		return 0
	})
	out := make(map[string]Tensor, len(entries))
	var buf []byte
	for _, e := range entries {
		t := Tensor{DType: e.dtype, Shape: e.shape}
		if dtypes[e.dtype].float {
			nb := int(e.end - e.begin)
			if cap(buf) < nb {
				buf = make([]byte, nb)
			}
			raw := buf[:nb]
			if _, err := r.ReadAt(raw, dataStart+e.begin); err != nil && nb > 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: reading data: %w", e.name, err)
			}
			t.Data = make([]float32, e.numel)
			decodeFloats(e.dtype, t.Data, raw)
		}
		out[e.name] = t
	}
	return out, nil
}

// stRawEntry is a header entry as written; pointers tell missing from empty.
type stRawEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parseSafetensorsHeader validates the JSON header against a data area of
// dataLen bytes. Tensors may overlap or leave gaps (the format allows it for
// readers); they may not reach outside the data area.
func parseSafetensorsHeader(hdr []byte, dataLen int64) ([]stEntry, error) {
	if i := bytes.IndexFunc(hdr, func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' && r != '\r' }); i < 0 || hdr[i] != '{' {
		return nil, errors.New("bad header: not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{', checked above
		return nil, fmt.Errorf("bad header JSON: %w", err)
	}
	var entries []stEntry
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bad header JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("bad header JSON: key %v is not a string", tok)
		}
		if seen[name] {
			return nil, fmt.Errorf("bad header: duplicate key %q", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil {
				return nil, fmt.Errorf("bad header: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var raw stRawEntry
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("bad header JSON: tensor %q: %w", name, err)
		}
		e, err := checkEntry(name, raw, dataLen)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, fmt.Errorf("bad header JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("bad header JSON: data after the header object")
	}
	return entries, nil
}

func checkEntry(name string, raw stRawEntry, dataLen int64) (stEntry, error) {
	e := stEntry{name: name}
	switch {
	case raw.DType == nil:
		return e, errors.New("missing dtype")
	case raw.Shape == nil:
		return e, errors.New("missing shape")
	case raw.DataOffsets == nil:
		return e, errors.New("missing data_offsets")
	}
	e.dtype = *raw.DType
	info, ok := dtypes[e.dtype]
	if !ok {
		return e, fmt.Errorf("unknown dtype %q", e.dtype)
	}
	e.shape = make([]int, len(*raw.Shape))
	for i, d := range *raw.Shape {
		if d < 0 {
			return e, fmt.Errorf("negative dimension %d in shape %v", d, *raw.Shape)
		}
		if d > math.MaxInt {
			return e, fmt.Errorf("shape %v: %w", *raw.Shape, errOverflow)
		}
		e.shape[i] = int(d)
	}
	n, err := numel(e.shape, info.size)
	if err != nil {
		return e, err
	}
	e.numel = n
	off := *raw.DataOffsets
	if len(off) != 2 {
		return e, fmt.Errorf("data_offsets %v: want [begin, end]", off)
	}
	e.begin, e.end = off[0], off[1]
	if e.begin < 0 || e.end < e.begin || e.end > dataLen {
		return e, fmt.Errorf("data_offsets [%d, %d] out of range of the %d-byte data area", e.begin, e.end, dataLen)
	}
	if want := int64(n) * int64(info.size); e.end-e.begin != want {
		return e, fmt.Errorf("data_offsets [%d, %d] hold %d bytes, but %s %v needs %d", e.begin, e.end, e.end-e.begin, e.dtype, e.shape, want)
	}
	return e, nil
}
