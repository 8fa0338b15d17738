package modelfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/coatnet-edge/coatnet-edge/internal/boundedio"
)

// File is an open, fully verified model file. Its methods may be called
// concurrently, except Close, which must not run while others do.
type File struct {
	path    string
	img     []byte // the whole file
	meta    []byte
	entries []entry
	byName  map[string]int
	size    int64
	version uint32
	mapped  bool

	mu sync.Mutex // serialises Close
}

// entry is a verified index entry; off and n locate its data in img.
type entry struct {
	name   string
	dtype  DType
	shape  []int
	off, n int
}

// Open opens and verifies a model file. On unix it maps the file read-only;
// elsewhere, or when the file cannot be mapped (an empty file, a pipe, a
// file system without mmap), it reads it into memory, a pipe up to
// MaxReadLen bytes. Devices and directories are refused. Either way every
// check, both checksums included, passes before Open returns. Call Close to
// release the mapping.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("modelfile: %w", err)
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("modelfile: %w", err)
	}
	// A device or a directory cannot be mapped, and reading one either
	// never ends (/dev/zero) or waits for input (a terminal).
	if err := boundedio.CheckMode(path, fi.Mode()); err != nil {
		return nil, fmt.Errorf("modelfile: %w", err)
	}
	var img []byte
	mapped := false
	if size := fi.Size(); fi.Mode().IsRegular() && size > 0 && size <= math.MaxInt {
		img, err = mmap(fd, int(size))
		switch {
		case err == nil:
			mapped = true
		case !canReadInstead(err):
			return nil, fmt.Errorf("modelfile: map %s: %w", path, err)
		}
	}
	if !mapped {
		size := fi.Size()
		if !fi.Mode().IsRegular() {
			size = -1
		}
		if img, err = readImage(fd, size); err != nil {
			if errors.Is(err, ErrCorrupt) {
				return nil, fmt.Errorf("modelfile: %s: %w", path, err)
			}
			return nil, fmt.Errorf("modelfile: read %s: %w", path, err)
		}
	}
	f, err := parse(img)
	if err != nil {
		if mapped {
			munmap(img)
		}
		return nil, fmt.Errorf("modelfile: %s: %w", path, err)
	}
	f.path = path
	f.mapped = mapped
	return f, nil
}

// readImage reads a model file from r, whose size is size bytes, or unknown
// if size < 0. Once it has a valid header it reads no more than the header
// describes plus one byte (enough for parse to report trailing data), so
// that a pipe cannot make it read without end; of unknown size, a header
// describing more than MaxReadLen bytes is an error before anything more is
// read. Whatever else is wrong with the bytes is left to parse to report.
func readImage(r io.Reader, size int64) ([]byte, error) {
	hdr := make([]byte, headerSize)
	n, err := io.ReadFull(r, hdr)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return hdr[:n], nil
	}
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(hdr, []byte(Magic)) {
		return hdr, nil
	}
	h, err := parseHeader(hdr)
	if err != nil {
		return hdr, nil
	}
	if size < 0 && h.size > maxReadLen {
		return nil, corrupt("the header describes %d bytes; a model file read rather than mapped (a pipe) may have at most %d", h.size, maxReadLen)
	}
	// Trust the size the header states only as far as the file's own size
	// confirms it, so that a lying header cannot make a pipe allocate much.
	want := min(h.size, 1<<20)
	if size > 0 {
		want = min(h.size, uint64(size))
	}
	buf := make([]byte, headerSize, want+1)
	copy(buf, hdr)
	lr := io.LimitReader(r, int64(h.size-headerSize+1))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// maxReadLen is MaxReadLen where an int can hold it.
const maxReadLen = uint64(min(MaxReadLen, math.MaxInt))

// Parse verifies a model file held in memory, with the same checks as Open.
// The File aliases b, which must not be modified while the File is in use.
func Parse(b []byte) (*File, error) {
	f, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("modelfile: %w", err)
	}
	return f, nil
}

// header is a decoded, verified header.
type header struct {
	version                    uint32
	metaLen, indexLen, dataLen uint64
	crcMeta, crcData           uint32
	dataStart, size            uint64 // D and D+L
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// identify checks the magic, explaining what b is if it is not a model file.
func identify(b []byte) error {
	if bytes.HasPrefix(b, []byte(Magic)) {
		return nil
	}
	if len(b) < len(Magic) && bytes.HasPrefix([]byte(Magic), b) {
		return corrupt("truncated: the file has %d bytes; a model file has at least %d", len(b), headerSize)
	}
	start := b[:min(len(b), len(Magic))]
	err := fmt.Errorf("%w (it starts with %q)", ErrNotModelFile, start)
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return fmt.Errorf("%w: it looks like a PyTorch checkpoint (a zip archive); convert it with `coatnet convert`", err)
	case looksLikeSafetensors(b):
		return fmt.Errorf("%w: it looks like a safetensors file; convert it with `coatnet convert`", err)
	}
	return err
}

// looksLikeSafetensors reports whether b starts as a safetensors file does:
// a little-endian uint64 header length, then a JSON object.
func looksLikeSafetensors(b []byte) bool {
	if len(b) < 9 || b[8] != '{' {
		return false
	}
	n := binary.LittleEndian.Uint64(b)
	return n >= 2 && n <= 100<<20
}

// parseHeader decodes and verifies the header at the start of b, which has
// at least headerSize bytes and starts with Magic.
func parseHeader(b []byte) (header, error) {
	var h header
	le := binary.LittleEndian
	h.version = le.Uint32(b[offVersion:])
	if h.version != Version {
		return h, fmt.Errorf("%w: the file is format version %d; this build reads version %d", ErrUnsupportedVersion, h.version, Version)
	}
	if got, want := le.Uint32(b[offCRCHeader:]), crc32.Checksum(b[:offCRCHeader], castagnoli); got != want {
		return h, corrupt("header checksum mismatch (stored %#08x, computed %#08x)", got, want)
	}
	for i, c := range b[offReserved:offCRCHeader] {
		if c != 0 {
			return h, corrupt("reserved header byte %d is %#02x, not zero", offReserved+i, c)
		}
	}
	if flags := le.Uint32(b[offFlags:]); flags != 0 {
		return h, fmt.Errorf("%w: the file uses flags %#x, which this build (format version %d) does not know", ErrUnsupportedVersion, flags, Version)
	}
	h.metaLen = le.Uint64(b[offMetaLen:])
	h.indexLen = le.Uint64(b[offIndexLen:])
	h.dataLen = le.Uint64(b[offDataLen:])
	h.crcMeta = le.Uint32(b[offCRCMeta:])
	h.crcData = le.Uint32(b[offCRCData:])
	if h.metaLen == 0 || h.metaLen > MaxMetadataLen {
		return h, corrupt("metadata length %d is outside 1 to %d", h.metaLen, MaxMetadataLen)
	}
	if h.indexLen < 2 || h.indexLen > MaxIndexLen {
		return h, corrupt("tensor index length %d is outside 2 to %d", h.indexLen, MaxIndexLen)
	}
	h.dataStart = align64(headerSize + h.metaLen + h.indexLen)
	if h.dataLen > math.MaxInt64-h.dataStart {
		return h, corrupt("data length %d is absurd", h.dataLen)
	}
	h.size = h.dataStart + h.dataLen
	return h, nil
}

// parse verifies b and builds a File aliasing it. Its errors do not say
// "modelfile:"; Parse and Open add that and the path.
func parse(b []byte) (*File, error) {
	if err := identify(b); err != nil {
		return nil, err
	}
	if len(b) < headerSize {
		return nil, corrupt("truncated: the file has %d bytes; a model file has at least %d", len(b), headerSize)
	}
	h, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	if have := uint64(len(b)); have < h.size {
		return nil, corrupt("truncated: the header describes %d bytes, the file has %d (%d missing)", h.size, have, h.size-have)
	} else if have > h.size {
		return nil, corrupt("%d trailing bytes after the data section: the header describes %d bytes, the file has %d", have-h.size, h.size, have)
	}
	// Every offset now fits in an int: they are at most len(b).
	metaEnd := headerSize + int(h.metaLen)
	indexEnd := metaEnd + int(h.indexLen)
	dataStart := int(h.dataStart)

	if got := crc32.Checksum(b[headerSize:dataStart], castagnoli); got != h.crcMeta {
		return nil, corrupt("metadata and index checksum mismatch (stored %#08x, computed %#08x)", h.crcMeta, got)
	}
	for i, c := range b[indexEnd:dataStart] {
		if c != 0 {
			return nil, corrupt("padding byte at offset %d is %#02x, not zero", indexEnd+i, c)
		}
	}
	meta := b[headerSize:metaEnd:metaEnd]
	if !utf8.Valid(meta) {
		return nil, corrupt("metadata is not valid UTF-8")
	}
	if !json.Valid(meta) {
		return nil, corrupt("metadata is not valid JSON")
	}
	entries, err := parseIndex(b[metaEnd:indexEnd], h.dataLen)
	if err != nil {
		return nil, err
	}
	data := b[dataStart:]
	if got := crc32.Checksum(data, castagnoli); got != h.crcData {
		return nil, corrupt("data checksum mismatch (stored %#08x, computed %#08x)", h.crcData, got)
	}
	if err := checkLayout(entries, data); err != nil {
		return nil, err
	}
	f := &File{img: b, meta: meta, entries: entries, byName: make(map[string]int, len(entries)), size: int64(len(b)), version: h.version}
	for i := range entries {
		entries[i].off += dataStart
		f.byName[entries[i].name] = i
	}
	return f, nil
}

// maxTensors is MaxTensors, lowered by tests.
var maxTensors = MaxTensors

// parseIndex decodes and checks the tensor index. Offsets in the entries it
// returns are relative to the data section, of length dataLen.
func parseIndex(idx []byte, dataLen uint64) ([]entry, error) {
	if !utf8.Valid(idx) {
		return nil, corrupt("tensor index is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(idx))
	bad := func(format string, args ...any) error {
		return corrupt("tensor index: "+format, args...)
	}
	if err := expectDelim(dec, '['); err != nil {
		return nil, bad("%v", err)
	}
	var entries []entry
	names := make(map[string]int)
	for dec.More() {
		i := len(entries)
		if i == maxTensors {
			return nil, bad("more than %d tensors", maxTensors)
		}
		e, err := parseEntry(dec, dataLen)
		if err != nil {
			if e.name != "" {
				return nil, bad("entry %d (%q): %v", i, e.name, err)
			}
			return nil, bad("entry %d: %v", i, err)
		}
		if j, dup := names[e.name]; dup {
			return nil, bad("entries %d and %d are both named %q", j, i, e.name)
		}
		names[e.name] = i
		entries = append(entries, e)
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, bad("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("data after the array")
	}
	return entries, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("found %v where %v was expected", tokenString(tok), want)
	}
	return nil
}

func tokenString(tok json.Token) string {
	switch tok := tok.(type) {
	case string:
		return fmt.Sprintf("string %q", tok)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// parseEntry decodes one index object and checks it on its own.
func parseEntry(dec *json.Decoder, dataLen uint64) (entry, error) {
	var e entry
	if err := expectDelim(dec, '{'); err != nil {
		return e, err
	}
	var (
		name, dtype    *string
		shape          *[]int64
		offset, length *uint64
	)
	keys := [...]string{"name", "dtype", "shape", "offset", "length"}
	dsts := [...]any{&name, &dtype, &shape, &offset, &length}
	var seen [len(keys)]bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return e, err
		}
		key, _ := tok.(string) // object keys are always strings
		k := slices.Index(keys[:], key)
		if k < 0 {
			return e, fmt.Errorf("unknown key %q", key)
		}
		if seen[k] {
			return e, fmt.Errorf("duplicate key %q", key)
		}
		seen[k] = true
		if err := dec.Decode(dsts[k]); err != nil {
			return e, fmt.Errorf("key %q: %v", key, err)
		}
		if name != nil {
			e.name = *name
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return e, err
	}
	for k, p := range []bool{name == nil, dtype == nil, shape == nil, offset == nil, length == nil} {
		if p {
			return e, fmt.Errorf("missing or null key %q", keys[k])
		}
	}
	if e.name == "" {
		return e, errors.New("empty name")
	}
	e.dtype = DType(*dtype)
	size := e.dtype.Size()
	if size == 0 {
		return e, fmt.Errorf("unknown dtype %q", *dtype)
	}
	if len(*shape) > MaxDims {
		return e, fmt.Errorf("%d dimensions, more than %d", len(*shape), MaxDims)
	}
	e.shape = make([]int, len(*shape))
	for i, d := range *shape {
		if d < 0 {
			return e, fmt.Errorf("negative dimension %d in shape %v", d, *shape)
		}
		if uint64(d) > math.MaxInt {
			return e, fmt.Errorf("dimension %d in shape %v is too large for this platform", d, *shape)
		}
		e.shape[i] = int(d)
	}
	n, ok := byteLen(e.shape, size)
	if !ok {
		return e, fmt.Errorf("shape %v of %s overflows", e.shape, e.dtype)
	}
	if uint64(n) != *length {
		return e, fmt.Errorf("shape %v of %s needs %d bytes, the length is %d", e.shape, e.dtype, n, *length)
	}
	if *offset%align != 0 {
		return e, fmt.Errorf("offset %d is not a multiple of %d", *offset, align)
	}
	if *offset > dataLen || *length > dataLen-*offset {
		return e, fmt.Errorf("bytes [%d, %d+%d) lie outside the data section of %d bytes", *offset, *offset, *length, dataLen)
	}
	e.off, e.n = int(*offset), n
	return e, nil
}

// checkLayout checks that no two tensors overlap and that the bytes of the
// data section outside every tensor are zero.
func checkLayout(entries []entry, data []byte) error {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ea, eb := &entries[a], &entries[b]
		if ea.off != eb.off {
			return ea.off - eb.off
		}
		return ea.n - eb.n
	})
	end, last := 0, -1
	for _, i := range order {
		e := &entries[i]
		if e.off < end {
			return corrupt("tensor index: tensors %q and %q overlap", entries[last].name, e.name)
		}
		if err := zeroGap(data, end, e.off); err != nil {
			return err
		}
		end, last = e.off+e.n, i
	}
	return zeroGap(data, end, len(data))
}

func zeroGap(data []byte, from, to int) error {
	for i := from; i < to; i++ {
		if data[i] != 0 {
			return corrupt("data byte %d, between tensors, is %#02x, not zero", i, data[i])
		}
	}
	return nil
}

// Version is the file's format version.
func (f *File) Version() uint32 { return f.version }

// Size is the file's length in bytes.
func (f *File) Size() int64 { return f.size }

// SHA256 is the checksum of the whole file as it was verified and is in
// use (the mapped or read bytes, not the path, which may change since).
func (f *File) SHA256() [32]byte { return sha256.Sum256(f.img) }

// Mapped reports whether the file is memory-mapped rather than read into
// memory.
func (f *File) Mapped() bool { return f.mapped }

// Metadata returns the metadata JSON. It aliases the file: do not modify it;
// it is invalid after Close.
func (f *File) Metadata() []byte { return f.meta }

// DecodeMetadata decodes the metadata into v strictly: an object key that
// matches no field of v is an error.
func (f *File) DecodeMetadata(v any) error {
	if f.img == nil {
		return fmt.Errorf("modelfile: %s: metadata: %w", f.name(), os.ErrClosed)
	}
	dec := json.NewDecoder(bytes.NewReader(f.meta))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("modelfile: %s: metadata: %w", f.name(), err)
	}
	return nil
}

func (f *File) name() string {
	if f.path == "" {
		return "(in memory)"
	}
	return f.path
}

// Tensors describes the tensors, in the order of the index.
func (f *File) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(f.entries))
	for i, e := range f.entries {
		out[i] = TensorInfo{Name: e.name, DType: e.dtype, Shape: cloneShape(e.shape), Offset: int64(e.off), Length: int64(e.n)}
	}
	return out
}

// Tensor returns the named tensor. Its Data aliases the file, with no copy:
// it is read-only and invalid after Close. Its Shape is the caller's.
func (f *File) Tensor(name string) (Tensor, bool) {
	i, ok := f.byName[name]
	if !ok || f.img == nil {
		return Tensor{}, false
	}
	e := &f.entries[i]
	return Tensor{Name: e.name, DType: e.dtype, Shape: cloneShape(e.shape), Data: f.img[e.off : e.off+e.n : e.off+e.n]}, true
}

// Close releases the file; it unmaps a mapped file. Every slice obtained
// from f becomes invalid: reading a tensor of a closed mapped file faults.
// Close is idempotent.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	img := f.img
	if img == nil {
		return nil
	}
	f.img, f.meta = nil, nil
	if f.mapped {
		if err := munmap(img); err != nil {
			return fmt.Errorf("modelfile: %s: unmap: %w", f.name(), err)
		}
	}
	return nil
}
