package modelfile

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// indexEntry is one object of the tensor index, as written.
type indexEntry struct {
	Name   string `json:"name"`
	DType  DType  `json:"dtype"`
	Shape  []int  `json:"shape"`
	Offset uint64 `json:"offset"`
	Length uint64 `json:"length"`
}

// plan is a validated, encoded file, short of the tensor data.
type plan struct {
	header  [headerSize]byte
	head    []byte // metadata, index and padding: bytes [64, D)
	offsets []uint64
	dataLen uint64
	tensors []Tensor
}

var zeros [align]byte

func align64(n uint64) uint64 { return (n + align - 1) &^ (align - 1) }

// newPlan validates the arguments of Write and encodes everything but the
// tensor data.
func newPlan(metadata any, tensors []Tensor) (*plan, error) {
	meta, err := json.Marshal(metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if !utf8.Valid(meta) {
		return nil, errors.New("metadata: invalid UTF-8")
	}
	if len(meta) > MaxMetadataLen {
		return nil, fmt.Errorf("metadata is %d bytes, more than the limit of %d", len(meta), MaxMetadataLen)
	}
	if len(tensors) > MaxTensors {
		return nil, fmt.Errorf("%d tensors, more than the limit of %d", len(tensors), MaxTensors)
	}
	p := &plan{offsets: make([]uint64, len(tensors)), tensors: tensors}
	index := make([]indexEntry, len(tensors))
	seen := make(map[string]int, len(tensors))
	var off uint64
	for i, t := range tensors {
		if t.Name == "" {
			return nil, fmt.Errorf("tensor %d: empty name", i)
		}
		if !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("tensor %d (%q): name is not valid UTF-8", i, t.Name)
		}
		if j, dup := seen[t.Name]; dup {
			return nil, fmt.Errorf("tensors %d and %d are both named %q", j, i, t.Name)
		}
		seen[t.Name] = i
		size := t.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		if len(t.Shape) > MaxDims {
			return nil, fmt.Errorf("tensor %q: %d dimensions, more than %d", t.Name, len(t.Shape), MaxDims)
		}
		n, ok := byteLen(t.Shape, size)
		if !ok {
			return nil, fmt.Errorf("tensor %q: invalid shape %v", t.Name, t.Shape)
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, Data has %d", t.Name, t.Shape, t.DType, n, len(t.Data))
		}
		off = align64(off)
		p.offsets[i] = off
		index[i] = indexEntry{t.Name, t.DType, cloneShape(t.Shape), off, uint64(n)}
		off += uint64(n)
	}
	p.dataLen = off
	idx, err := json.Marshal(index)
	if err != nil {
		return nil, fmt.Errorf("tensor index: %w", err)
	}
	if len(idx) > MaxIndexLen {
		return nil, fmt.Errorf("tensor index is %d bytes, more than the limit of %d", len(idx), MaxIndexLen)
	}

	end := uint64(headerSize + len(meta) + len(idx))
	p.head = make([]byte, 0, align64(end)-headerSize)
	p.head = append(p.head, meta...)
	p.head = append(p.head, idx...)
	p.head = append(p.head, zeros[:align64(end)-end]...)

	var dataCRC uint32
	for i, t := range tensors {
		dataCRC = crc32.Update(dataCRC, castagnoli, zeros[:p.offsets[i]-p.end(i)])
		dataCRC = crc32.Update(dataCRC, castagnoli, t.Data)
	}

	h := p.header[:]
	copy(h, Magic)
	binary.LittleEndian.PutUint32(h[offVersion:], Version)
	binary.LittleEndian.PutUint32(h[offFlags:], 0)
	binary.LittleEndian.PutUint64(h[offMetaLen:], uint64(len(meta)))
	binary.LittleEndian.PutUint64(h[offIndexLen:], uint64(len(idx)))
	binary.LittleEndian.PutUint64(h[offDataLen:], p.dataLen)
	binary.LittleEndian.PutUint32(h[offCRCMeta:], crc32.Checksum(p.head, castagnoli))
	binary.LittleEndian.PutUint32(h[offCRCData:], dataCRC)
	binary.LittleEndian.PutUint32(h[offCRCHeader:], crc32.Checksum(h[:offCRCHeader], castagnoli))
	return p, nil
}

// end returns where the data of the tensor before tensor i ends.
func (p *plan) end(i int) uint64 {
	if i == 0 {
		return 0
	}
	return p.offsets[i-1] + uint64(len(p.tensors[i-1].Data))
}

// size is the length of the file.
func (p *plan) size() uint64 { return headerSize + uint64(len(p.head)) + p.dataLen }

func (p *plan) writeTo(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(p.header[:])
	bw.Write(p.head)
	for i, t := range p.tensors {
		bw.Write(zeros[:p.offsets[i]-p.end(i)])
		if _, err := bw.Write(t.Data); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Write writes a model file to w: metadata marshalled with encoding/json
// (pass a json.RawMessage to write JSON as it is), and the tensors in the
// order given. It checks everything before it writes anything: names
// non-empty, unique and valid UTF-8, known dtypes, shapes that match the
// data, and the limits. Write buffers its small writes but not the tensor
// data; it does not flush or close w beyond that.
func Write(w io.Writer, metadata any, tensors []Tensor) error {
	p, err := newPlan(metadata, tensors)
	if err != nil {
		return fmt.Errorf("modelfile: write: %w", err)
	}
	if err := p.writeTo(w); err != nil {
		return fmt.Errorf("modelfile: write: %w", err)
	}
	return nil
}

// WriteFile writes a model file atomically: it writes a temporary file in
// the destination's directory, syncs it, makes it mode 0644 and renames it
// over path, then syncs the directory. path therefore holds either its old
// content or the complete new file, never a part; a process that has the
// old file open or mapped keeps reading the old file. If path is a symbolic
// link, the link is replaced, not its target.
func WriteFile(path string, metadata any, tensors []Tensor) (err error) {
	p, err := newPlan(metadata, tensors)
	if err != nil {
		return fmt.Errorf("modelfile: write %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("modelfile: write %s: %w", path, err)
	}
	renamed := false
	defer func() {
		if err != nil {
			if !renamed {
				tmp.Close()
				os.Remove(tmp.Name())
			}
			err = fmt.Errorf("modelfile: write %s: %w", path, err)
		}
	}()
	if err := p.writeTo(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	renamed = true
	return syncDir(dir)
}
