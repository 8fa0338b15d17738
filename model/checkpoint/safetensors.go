package checkpoint

import (
	"bytes"
	"cmp"
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
	return readFile(path, DefaultMaxBytes, readSafetensors)
}

// parseSafetensors decodes a whole safetensors file held in memory. It is the
// fuzz target's entry point and shares every check with ReadSafetensors.
func parseSafetensors(b []byte) (map[string]Tensor, error) {
	return readSafetensors(bytes.NewReader(b), int64(len(b)), DefaultMaxBytes)
}

func readSafetensors(r io.ReaderAt, size, maxBytes int64) (map[string]Tensor, error) {
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
	if err := checkTiling(entries, size-dataStart); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var floats int64 // bytes as float32; at most twice the data area
	for _, e := range entries {
		if dtypes[e.dtype].float {
			floats += 4 * int64(e.numel)
		}
	}
	if floats > maxBytes {
		return nil, fmt.Errorf("safetensors: %w: the tensors take %d bytes as float32, past the %d-byte limit", ErrTooLarge, floats, maxBytes)
	}

	// Read in file order (checkTiling sorted them); reuse one buffer for
	// the raw bytes.
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
// dataLen bytes: each tensor on its own, inside the data area.
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

// checkTiling sorts entries by offset and checks that they tile the data
// area of dataLen bytes, as the format requires: no overlap, no hole, no
// byte after the last tensor (empty tensors take no bytes). Overlaps would
// let a small file decode the same bytes once per tensor, without bound.
func checkTiling(entries []stEntry, dataLen int64) error {
	slices.SortFunc(entries, func(a, b stEntry) int {
		if c := cmp.Compare(a.begin, b.begin); c != 0 {
			return c
		}
		return cmp.Compare(a.end, b.end)
	})
	var pos int64
	for i, e := range entries {
		switch {
		case e.begin < pos:
			return fmt.Errorf("tensors %q and %q overlap: data_offsets [%d, %d] and [%d, %d]",
				entries[i-1].name, e.name, entries[i-1].begin, entries[i-1].end, e.begin, e.end)
		case e.begin > pos:
			return fmt.Errorf("bytes [%d, %d) before tensor %q belong to no tensor", pos, e.begin, e.name)
		}
		pos = e.end
	}
	if pos != dataLen {
		return fmt.Errorf("bytes [%d, %d) after the last tensor belong to no tensor", pos, dataLen)
	}
	return nil
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
