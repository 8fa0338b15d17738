package checkpoint

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// wrapperKeys are the keys under which training scripts (timm's among them)
// nest the state dict, in the order we prefer them: the trained weights
// before their EMA copy.
var wrapperKeys = []string{"state_dict", "model", "state_dict_ema", "model_ema"}

var errTorchScript = errors.New("TorchScript archive (torch.jit.save), not a state dict: " +
	"save the weights with torch.save(model.state_dict(), path)")

// ReadPyTorch loads a torch.save file: the zip format of PyTorch 1.6 and
// later, or the legacy pickle format before it. The file may hold the state
// dict itself or a dict that wraps it under "state_dict", "model",
// "state_dict_ema" or "model_ema", tried in that order (timm's training
// checkpoints keep both the weights and their EMA; the weights win). A
// leading "module." is stripped when every key has it (nn.DataParallel).
//
// Only the storages of the chosen state dict are read: optimizer state and
// EMA copies cost nothing but their pickle. Tensors that are whole,
// contiguous storages take the decoded storage as their Data; views into a
// storage (transposes, slices, tied weights) are copied out in row-major
// order.
//
// The pickle is read with gopickle's unpickler but not its pytorch.Load,
// which cannot resolve the classes timm checkpoints hold (argparse.Namespace)
// and trusts every size in the file.
func ReadPyTorch(path string) (map[string]Tensor, error) {
	return readFile(path, DefaultMaxBytes, readPyTorchFrom)
}

// parsePyTorch decodes a whole torch.save file held in memory; it is the fuzz
// target's entry point.
func parsePyTorch(b []byte) (map[string]Tensor, error) {
	return readPyTorchFrom(bytes.NewReader(b), int64(len(b)), DefaultMaxBytes)
}

func readPyTorchFrom(r io.ReaderAt, size, maxBytes int64) (map[string]Tensor, error) {
	l := &torchLoader{file: r, size: size, maxBytes: maxBytes, storages: make(map[string]*storageRef)}
	var head [4]byte
	n, _ := r.ReadAt(head[:], 0)
	var root any
	var err error
	if n == 4 && (string(head[:]) == "PK\x03\x04" || string(head[:]) == "PK\x05\x06") {
		root, err = l.loadZip()
	} else {
		root, err = l.loadLegacy()
	}
	if err != nil {
		return nil, err
	}
	items, err := selectStateDict(root)
	if err != nil {
		return nil, err
	}
	return l.tensors(items)
}

// storageRef is a storage the pickle refers to. Its bytes are located when
// the pickle is read and decoded only if a chosen tensor needs them.
type storageRef struct {
	key   string
	class *storageClass
	numel int
	pos   int64 // legacy format: offset of the raw bytes in the file

	floats []float32 // decoded, once
	given  bool      // floats became some Tensor's Data; copy for the next
}

// torchLoader holds what one file's storages are read from.
type torchLoader struct {
	file     io.ReaderAt
	size     int64
	storages map[string]*storageRef

	// zip format
	prefix  string // the archive's folder, "archive/" in recent PyTorch
	records map[string]*zip.File

	legacy bool

	decoded, copied int64 // float elements decoded from storages, and copied out of them for views
	maxBytes        int64 // bound on (decoded+copied)*4
}

// Bound on the elements copied for views: maxCopyFactor times the storages'
// own elements, plus copySlack.
const (
	maxCopyFactor = 4
	copySlack     = 1 << 20
)

// storage returns the one storageRef for key, so tensors sharing a storage
// share it here too.
func (l *torchLoader) storage(key string, cls *storageClass, numel int) (*storageRef, error) {
	if numel < 0 {
		return nil, fmt.Errorf("storage %q: negative size %d", key, numel)
	}
	if s, ok := l.storages[key]; ok {
		if s.class.dtype != cls.dtype || s.numel != numel {
			return nil, fmt.Errorf("storage %q is referred to as both %s[%d] and %s[%d]", key, s.class.name, s.numel, cls.name, numel)
		}
		return s, nil
	}
	s := &storageRef{key: key, class: cls, numel: numel}
	l.storages[key] = s
	return s, nil
}

func (l *torchLoader) loadZip() (any, error) {
	zr, err := zip.NewReader(l.file, l.size)
	if err != nil {
		return nil, fmt.Errorf("reading zip archive: %w", err)
	}
	l.records = make(map[string]*zip.File, len(zr.File))
	var pkl *zip.File
	for _, f := range zr.File {
		if _, dup := l.records[f.Name]; !dup {
			l.records[f.Name] = f
		}
		if path.Base(f.Name) == "constants.pkl" || strings.Contains(f.Name, "/code/") {
			return nil, errTorchScript
		}
		// torch.save writes <folder>/data.pkl and <folder>/data/<key>.
		if dir, base := path.Split(f.Name); pkl == nil && base == "data.pkl" && strings.Count(dir, "/") <= 1 {
			pkl, l.prefix = f, dir
		}
	}
	if pkl == nil {
		return nil, errors.New("zip archive without data.pkl: not a torch.save file")
	}
	if bo := l.records[l.prefix+"byteorder"]; bo != nil {
		b, err := readRecord(bo, 16)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", bo.Name, err)
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("byte order %q not supported", s)
		}
	}
	data, err := readRecord(pkl, maxPickle)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", pkl.Name, err)
	}
	p, err := scanPickle(bufio.NewReader(bytes.NewReader(data)), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("corrupt PyTorch file: %s: %w", pkl.Name, err)
	}
	root, err := unpickle(p, l.zipPersistentLoad)
	if err != nil {
		return nil, fmt.Errorf("unpickling %s: %w", pkl.Name, err)
	}
	return root, nil
}

// readRecord reads a whole zip record of at most limit bytes; reading to the
// end makes archive/zip check its CRC.
func readRecord(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("record of %d bytes exceeds the %d-byte limit", f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("record exceeds the %d-byte limit", limit)
	}
	return b, nil
}

// zipPersistentLoad resolves ('storage', class, key, location, numel).
func (l *torchLoader) zipPersistentLoad(id any) (any, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() != 5 {
		return nil, fmt.Errorf("persistent id is %s, want a 5-tuple", describe(id))
	}
	if kind, _ := t.Get(0).(string); kind != "storage" {
		return nil, fmt.Errorf("persistent id of kind %s, want 'storage'", describe(t.Get(0)))
	}
	cls, ok1 := t.Get(1).(*storageClass)
	key, ok2 := t.Get(2).(string)
	numel, ok3 := t.Get(4).(int)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("storage reference (%s, %s, %s, %s) is not (storage type, str, str, int)",
			describe(t.Get(1)), describe(t.Get(2)), describe(t.Get(3)), describe(t.Get(4)))
	}
	return l.storage(key, cls, numel)
}

func (l *torchLoader) loadLegacy() (any, error) {
	l.legacy = true
	var blk [262]byte
	if n, _ := l.file.ReadAt(blk[:], 0); n == len(blk) && string(blk[257:262]) == "ustar" {
		return nil, errors.New("legacy tar checkpoint (PyTorch 0.3 and older) not supported: " +
			"re-save it with a current PyTorch, torch.save(torch.load(path), new_path)")
	}
	br := bufio.NewReader(io.NewSectionReader(l.file, 0, l.size))
	var pos int64
	next := func(what string, persistentLoad func(any) (any, error)) (any, error) {
		p, err := scanPickle(br, min(l.size-pos, maxPickle))
		if err != nil {
			return nil, fmt.Errorf("corrupt PyTorch file: %s: %w", what, err)
		}
		pos += int64(len(p))
		v, err := unpickle(p, persistentLoad)
		if err != nil {
			return nil, fmt.Errorf("unpickling %s: %w", what, err)
		}
		return v, nil
	}
	const unknown = "unrecognised format: not safetensors, not a PyTorch zip archive, not a legacy PyTorch pickle"
	magic, err := next("magic number", nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", unknown, err)
	}
	if m, ok := magic.(*big.Int); !ok || m.Text(16) != "1950a86a20f9469cfc6c" {
		return nil, errors.New(unknown + ": no PyTorch magic number")
	}
	proto, err := next("protocol version", nil)
	if err != nil {
		return nil, err
	}
	if v, ok := proto.(int); !ok || v != 1001 {
		return nil, fmt.Errorf("legacy PyTorch protocol version %v not supported", proto)
	}
	sys, err := next("system info", nil)
	if err != nil {
		return nil, err
	}
	if items, ok := dictItems(sys); ok {
		if v, ok := lookup(items, "little_endian"); ok && v != true {
			return nil, errors.New("big-endian checkpoint not supported")
		}
	}
	root, err := next("data", l.legacyPersistentLoad)
	if err != nil {
		return nil, err
	}
	keys, err := next("storage keys", nil)
	if err != nil {
		return nil, err
	}
	list, ok := keys.(*types.List)
	if !ok {
		return nil, fmt.Errorf("storage keys are %s, not a list", describe(keys))
	}
	// The storages follow in the listed order, each an int64 element count
	// and the raw bytes.
	for i := range list.Len() {
		key, ok := list.Get(i).(string)
		if !ok {
			return nil, fmt.Errorf("storage key %d is %s, not a str", i, describe(list.Get(i)))
		}
		s, ok := l.storages[key]
		if !ok {
			return nil, fmt.Errorf("storage %q is listed but no tensor uses it", key)
		}
		var nb [8]byte
		if _, err := l.file.ReadAt(nb[:], pos); err != nil {
			return nil, fmt.Errorf("storage %q: truncated file: %w", key, err)
		}
		pos += 8
		if n := binary.LittleEndian.Uint64(nb[:]); n != uint64(s.numel) {
			return nil, fmt.Errorf("storage %q holds %d elements, its reference says %d", key, n, s.numel)
		}
		size, err := storageBytes(s)
		if err != nil {
			return nil, err
		}
		if size > l.size-pos {
			return nil, fmt.Errorf("storage %q: truncated file: %d bytes at offset %d, file ends at %d", key, size, pos, l.size)
		}
		s.pos = pos
		pos += size
	}
	return root, nil
}

// legacyPersistentLoad resolves ('storage', class, root_key, location,
// numel, view_metadata) and ('module', class, source_file, source).
func (l *torchLoader) legacyPersistentLoad(id any) (any, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() == 0 {
		return nil, fmt.Errorf("persistent id is %s, want a tuple", describe(id))
	}
	switch kind, _ := t.Get(0).(string); {
	case kind == "module" && t.Len() >= 2:
		return t.Get(1), nil
	case kind != "storage" || t.Len() != 6:
		return nil, errors.New("persistent id is not ('storage', ...) or ('module', ...)")
	}
	cls, ok1 := t.Get(1).(*storageClass)
	key, ok2 := t.Get(2).(string)
	numel, ok3 := t.Get(4).(int)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("storage reference (%s, %s, %s, %s) is not (storage type, str, str, int)",
			describe(t.Get(1)), describe(t.Get(2)), describe(t.Get(3)), describe(t.Get(4)))
	}
	if t.Get(5) != nil {
		return nil, fmt.Errorf("storage %q is a storage view (PyTorch 0.3 and older), not supported", key)
	}
	return l.storage(key, cls, numel)
}

// storageBytes is a storage's size in bytes.
func storageBytes(s *storageRef) (int64, error) {
	if s.class.dtype == "" {
		return 0, fmt.Errorf("storage %q: %s not supported", s.key, s.class.name)
	}
	size := int64(dtypes[s.class.dtype].size)
	if int64(s.numel) > math.MaxInt64/size {
		return 0, fmt.Errorf("storage %q: %d elements: %w", s.key, s.numel, errOverflow)
	}
	return int64(s.numel) * size, nil
}

// open returns a reader of a storage's raw bytes, after checking that the
// file really holds them, so a lying size cannot make us allocate more than
// the file could decompress to.
func (l *torchLoader) open(s *storageRef) (io.ReadCloser, error) {
	size, err := storageBytes(s)
	if err != nil {
		return nil, err
	}
	if l.legacy {
		return io.NopCloser(io.NewSectionReader(l.file, s.pos, size)), nil
	}
	rec := l.records[l.prefix+"data/"+s.key]
	if rec == nil {
		return nil, fmt.Errorf("storage %q: record %sdata/%s missing", s.key, l.prefix, s.key)
	}
	if rec.UncompressedSize64 != uint64(size) {
		return nil, fmt.Errorf("storage %q: record holds %d bytes, %s[%d] needs %d", s.key, rec.UncompressedSize64, s.class.name, s.numel, size)
	}
	off, err := rec.DataOffset()
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", s.key, err)
	}
	const maxRatio = 1032 // deflate's best compression ratio
	if c := rec.CompressedSize64; off < 0 || off > l.size || c > uint64(l.size-off) ||
		(rec.Method == zip.Store && c != rec.UncompressedSize64) ||
		rec.UncompressedSize64/maxRatio > c {
		return nil, fmt.Errorf("storage %q: record sizes (%d compressed, %d uncompressed at offset %d) do not fit the %d-byte file",
			s.key, c, rec.UncompressedSize64, off, l.size)
	}
	rc, err := rec.Open()
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", s.key, err)
	}
	return rc, nil
}

// check makes sure a storage's bytes are in the file even when they are not
// read (integer tensors).
func (l *torchLoader) check(s *storageRef) error {
	rc, err := l.open(s)
	if err != nil {
		return err
	}
	return rc.Close()
}

// decode reads a float storage once.
func (l *torchLoader) decode(s *storageRef) ([]float32, error) {
	if s.floats != nil {
		return s.floats, nil
	}
	rc, err := l.open(s)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if err := l.grow(s.numel); err != nil {
		return nil, fmt.Errorf("storage %q: %w", s.key, err)
	}
	data, err := decodeStream(s.class.dtype, rc, s.numel)
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", s.key, err)
	}
	if !l.legacy {
		// Read to the end so archive/zip verifies the CRC.
		var one [1]byte
		if _, err := io.ReadFull(rc, one[:]); err != io.EOF {
			if err == nil {
				err = errors.New("record longer than its storage")
			}
			return nil, fmt.Errorf("storage %q: %w", s.key, err)
		}
	}
	s.floats = data
	l.decoded += int64(len(data))
	return data, nil
}

// grow checks that n more float32 elements keep the decoded and copied data
// within maxBytes. It runs before the storage is inflated, whose size the
// record has already been checked to match.
func (l *torchLoader) grow(n int) error {
	used := l.decoded + l.copied
	if int64(n) > l.maxBytes/4-used {
		return fmt.Errorf("%w: %d more bytes as float32, after %d, pass the %d-byte limit",
			ErrTooLarge, 4*int64(n), 4*used, l.maxBytes)
	}
	return nil
}

// item is a dict entry in pickle order.
type item struct {
	key, value any
}

// dictItems lists a pickled dict's entries; ok is false if v is not a dict.
func dictItems(v any) (items []item, ok bool) {
	switch d := v.(type) {
	case *types.Dict:
		for _, e := range *d {
			items = append(items, item{e.Key, e.Value})
		}
		return items, true
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			if en, ok := e.Value.(*types.OrderedDictEntry); ok {
				items = append(items, item{en.Key, en.Value})
			}
		}
		return items, true
	}
	return nil, false
}

// lookup finds a str key; the last entry wins, as in Python.
func lookup(items []item, key string) (v any, ok bool) {
	for _, it := range items {
		if k, isStr := it.key.(string); isStr && k == key {
			v, ok = it.value, true
		}
	}
	return v, ok
}

// selectStateDict finds the state dict in what torch.save stored.
func selectStateDict(root any) ([]item, error) {
	items, ok := dictItems(root)
	if !ok {
		if o, isObj := root.(*opaqueObject); isObj {
			return nil, fmt.Errorf("file holds %s, not a state dict: save one with torch.save(model.state_dict(), path)", o)
		}
		return nil, fmt.Errorf("file holds %s, not a state dict", describe(root))
	}
	for _, w := range wrapperKeys {
		if v, ok := lookup(items, w); ok {
			if sub, ok := dictItems(v); ok {
				return sub, nil
			}
		}
	}
	return items, nil
}

// tensors converts the chosen state dict.
func (l *torchLoader) tensors(items []item) (map[string]Tensor, error) {
	keys := make([]string, len(items))
	strip := len(items) > 0
	for i, it := range items {
		k, ok := it.key.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key is %s, not a str", describe(it.key))
		}
		keys[i] = k
		strip = strip && strings.HasPrefix(k, "module.")
	}
	out := make(map[string]Tensor, len(items))
	for i, it := range items {
		t, ok := it.value.(*torchTensor)
		if !ok {
			return nil, fmt.Errorf("key %q: value is %s, not a tensor", keys[i], describe(it.value))
		}
		tt, err := l.tensor(t)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", keys[i], err)
		}
		k := keys[i]
		if strip {
			k = strings.TrimPrefix(k, "module.")
		}
		out[k] = tt
	}
	return out, nil
}

// tensor copies one tensor out of its storage in row-major order, after
// checking that the view stays inside the storage.
func (l *torchLoader) tensor(t *torchTensor) (Tensor, error) {
	s := t.storage
	if s.class.dtype == "" {
		return Tensor{}, fmt.Errorf("%s not supported", s.class.name)
	}
	info := dtypes[s.class.dtype]
	if len(t.size) != len(t.stride) {
		return Tensor{}, fmt.Errorf("size %v and stride %v differ in rank", t.size, t.stride)
	}
	n, err := numel(t.size, info.size)
	if err != nil {
		return Tensor{}, err
	}
	if t.offset < 0 {
		return Tensor{}, fmt.Errorf("negative storage offset %d", t.offset)
	}
	contiguous := t.offset == 0 && n == s.numel
	if n > 0 {
		last, want := t.offset, 1
		for i := len(t.size) - 1; i >= 0; i-- {
			d, st := t.size[i], t.stride[i]
			if st < 0 {
				return Tensor{}, fmt.Errorf("negative stride in %v", t.stride)
			}
			if st != 0 && d-1 > (math.MaxInt-last)/st {
				return Tensor{}, fmt.Errorf("view (offset %d, size %v, stride %v): %w", t.offset, t.size, t.stride, errOverflow)
			}
			last += (d - 1) * st
			if d != 1 && st != want {
				contiguous = false
			}
			want *= d
		}
		if last >= s.numel {
			return Tensor{}, fmt.Errorf("view (offset %d, size %v, stride %v) reaches element %d of a %d-element storage",
				t.offset, t.size, t.stride, last, s.numel)
		}
		if n > s.numel {
			// Only a broadcast (expanded) view has more elements than its
			// storage; refusing it bounds what a small file can make us
			// allocate.
			return Tensor{}, fmt.Errorf("view (size %v, stride %v) repeats elements of its %d-element storage; expanded tensors are not supported",
				t.size, t.stride, s.numel)
		}
	}
	out := Tensor{DType: s.class.dtype, Shape: t.size}
	if !info.float {
		return out, l.check(s)
	}
	src, err := l.decode(s)
	if err != nil {
		return Tensor{}, err
	}
	if contiguous && !s.given {
		s.given = true
		out.Data = src
		return out, nil
	}
	// Views may copy a storage many times over; a few tensors sharing one
	// (tied weights, flat parameter buffers) are normal, thousands of
	// copies are a file built to exhaust memory.
	if l.copied+int64(n) > maxCopyFactor*l.decoded+copySlack {
		return Tensor{}, fmt.Errorf("views copy more than %d times the checkpoint's float data; refusing", maxCopyFactor)
	}
	if err := l.grow(n); err != nil {
		return Tensor{}, err
	}
	l.copied += int64(n)
	out.Data = make([]float32, n)
	gather(out.Data, src, t.offset, t.size, t.stride)
	return out, nil
}

// gather copies the strided view (offset, size, stride) of src into dst in
// row-major order. The view must lie inside src.
func gather(dst, src []float32, offset int, size, stride []int) {
	if len(dst) == 0 {
		return
	}
	nd := len(size)
	if nd == 0 {
		dst[0] = src[offset]
		return
	}
	inner, is := size[nd-1], stride[nd-1]
	idx := make([]int, nd)
	pos := offset
	for o := 0; o < len(dst); o += inner {
		p := pos
		for j := range inner {
			dst[o+j] = src[p]
			p += is
		}
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			pos += stride[d]
			if idx[d] < size[d] {
				break
			}
			pos -= stride[d] * size[d]
			idx[d] = 0
		}
	}
}
