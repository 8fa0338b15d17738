package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-v1.bin")

// meta is a metadata document like the one the model package writes.
type meta struct {
	Arch   string   `json:"arch"`
	Labels []string `json:"labels"`
}

func f16Tensor(name string, shape []int, bits []uint16) Tensor {
	b := make([]byte, 2*len(bits))
	for i, v := range bits {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return Tensor{Name: name, DType: F16, Shape: shape, Data: b}
}

// rawTensor is a tensor of any dtype with its bytes counting up from seed.
func rawTensor(name string, dt DType, shape []int, seed byte) Tensor {
	n, ok := byteLen(shape, dt.Size())
	if !ok {
		panic("bad shape")
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return Tensor{Name: name, DType: dt, Shape: shape, Data: b}
}

// sample is a small file with every dtype, a scalar, empty tensors and
// padding between tensors.
func sample() (meta, []Tensor) {
	return meta{Arch: "coatnet_0_rw_224", Labels: []string{"cat", "dog"}}, []Tensor{
		Float32Tensor("stem.weight", []int{2, 3}, []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.25}),
		Int8Tensor("q.weight", []int{5}, []int8{-128, -1, 0, 1, 127}),
		Int32Tensor("q.bias", nil, []int32{-7}), // scalar
		rawTensor("empty", F32, []int{3, 0, 2}, 0),
		f16Tensor("half", []int{2}, []uint16{0x3c00, 0xc000}),
		rawTensor("bytes", U8, []int{1, 1, 3}, 200),
		rawTensor("short", I16, []int{2, 2}, 10),
		rawTensor("long", I64, []int{1}, 20),
	}
}

func encode(t testing.TB, metadata any, tensors []Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, metadata, tensors); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleFile(t testing.TB) []byte {
	m, ts := sample()
	return encode(t, m, ts)
}

// addSat and align64Sat saturate instead of wrapping, for reseal.
func addSat(a, b uint64) uint64 {
	if a+b < a {
		return math.MaxUint64
	}
	return a + b
}

func align64Sat(n uint64) uint64 {
	if n > math.MaxUint64-63 {
		return math.MaxUint64
	}
	return align64(n)
}

// reseal recomputes the three checksums of b in place from whatever its
// header says, so that a test (or the fuzzer) can reach the checks behind
// them. It accepts any bytes.
func reseal(b []byte) {
	if len(b) < headerSize {
		return
	}
	le := binary.LittleEndian
	n := uint64(len(b))
	d := align64Sat(addSat(addSat(headerSize, le.Uint64(b[offMetaLen:])), le.Uint64(b[offIndexLen:])))
	end := addSat(d, le.Uint64(b[offDataLen:]))
	d, end = min(d, n), min(end, n)
	le.PutUint32(b[offCRCMeta:], crc32.Checksum(b[headerSize:d], castagnoli))
	le.PutUint32(b[offCRCData:], crc32.Checksum(b[d:end], castagnoli))
	le.PutUint32(b[offCRCHeader:], crc32.Checksum(b[:offCRCHeader], castagnoli))
}

// assemble builds a file from its parts by the letter of the format
// documentation, independently of Write.
func assemble(metadata, index string, data []byte) []byte {
	b := make([]byte, headerSize)
	copy(b, "COATNET\x00")
	le := binary.LittleEndian
	le.PutUint32(b[8:], 1)
	le.PutUint64(b[16:], uint64(len(metadata)))
	le.PutUint64(b[24:], uint64(len(index)))
	le.PutUint64(b[32:], uint64(len(data)))
	b = append(b, metadata...)
	b = append(b, index...)
	for len(b)%64 != 0 {
		b = append(b, 0)
	}
	b = append(b, data...)
	reseal(b)
	return b
}

func TestWriteMatchesSpec(t *testing.T) {
	data := make([]byte, 64+8)
	copy(data, []byte{1, 2, 3, 4})
	copy(data[64:], []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0})
	want := assemble(`{"arch":"x"}`,
		`[{"name":"a","dtype":"u8","shape":[2,2],"offset":0,"length":4},{"name":"b","dtype":"f32","shape":[2],"offset":64,"length":8}]`,
		data)
	got := encode(t, map[string]string{"arch": "x"}, []Tensor{
		rawTensor("a", U8, []int{2, 2}, 1),
		Float32Tensor("b", []int{2}, []float32{1, -2}),
	})
	if !bytes.Equal(got, want) {
		t.Errorf("Write does not follow the documented layout:\ngot  %q\nwant %q", got, want)
	}
}

// TestGolden pins the bytes of a version 1 file so that a change to the
// writer that would change the format cannot go unnoticed, and checks that
// the pinned file still parses.
func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "golden-v1.bin")
	got := sampleFile(t)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Write's output differs from %s (run with -update only if the format is meant to change)", path)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, ts := sample()
	checkTensors(t, f, ts)
}

// checkTensors checks that f holds exactly ts, in order, without copies.
func checkTensors(t *testing.T, f *File, ts []Tensor) {
	t.Helper()
	infos := f.Tensors()
	if len(infos) != len(ts) {
		t.Fatalf("%d tensors, want %d", len(infos), len(ts))
	}
	for i, want := range ts {
		info := infos[i]
		wantShape := cloneShape(want.Shape)
		if info.Name != want.Name || info.DType != want.DType || !slices.Equal(info.Shape, wantShape) || info.Length != int64(len(want.Data)) {
			t.Errorf("tensor %d: %+v, want %s %s %v of %d bytes", i, info, want.Name, want.DType, wantShape, len(want.Data))
		}
		got, ok := f.Tensor(want.Name)
		if !ok {
			t.Fatalf("tensor %q missing", want.Name)
		}
		if got.Name != want.Name || got.DType != want.DType || !slices.Equal(got.Shape, wantShape) || got.Shape == nil || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tensor %q: got %+v, want %+v", want.Name, got, want)
		}
		if info.Offset%64 != 0 || info.Offset+info.Length > f.Size() {
			t.Errorf("tensor %q at offset %d, length %d, in a file of %d bytes", want.Name, info.Offset, info.Length, f.Size())
		}
		// Zero copy: Data is the file's own bytes.
		if len(got.Data) > 0 && &got.Data[0] != &f.img[info.Offset] {
			t.Errorf("tensor %q: Data does not alias the file", want.Name)
		}
		if cap(got.Data) != len(got.Data) {
			t.Errorf("tensor %q: cap %d > len %d: an append would overwrite the next tensor", want.Name, cap(got.Data), len(got.Data))
		}
		if f.Mapped() && len(got.Data) > 0 && uintptr(unsafe.Pointer(&got.Data[0]))%64 != 0 {
			t.Errorf("tensor %q is not 64-byte aligned in memory", want.Name)
		}
		// The caller's shape is its own.
		if len(got.Shape) > 0 {
			got.Shape[0] = -1
			if again, _ := f.Tensor(want.Name); again.Shape[0] == -1 {
				t.Errorf("tensor %q: Shape aliases the File", want.Name)
			}
		}
	}
	if _, ok := f.Tensor("no such tensor"); ok {
		t.Error("Tensor found a tensor that does not exist")
	}
}

func TestRoundTrip(t *testing.T) {
	m, ts := sample()
	for _, tc := range []struct {
		name     string
		metadata any
		tensors  []Tensor
		wantMeta string
	}{
		{"sample", m, ts, `{"arch":"coatnet_0_rw_224","labels":["cat","dog"]}`},
		{"no tensors", m, nil, `{"arch":"coatnet_0_rw_224","labels":["cat","dog"]}`},
		{"nil metadata", nil, ts[:1], `null`},
		{"raw metadata", json.RawMessage(` [1, "x" , {"a":null}] `), ts[2:3], `[1,"x",{"a":null}]`},
		{"scalar only", 3, []Tensor{Int32Tensor("s", []int{}, []int32{42})}, `3`},
		{"empty only", "e", []Tensor{rawTensor("z", I8, []int{0}, 0), rawTensor("zz", I64, []int{4, 0}, 0)}, `"e"`},
		{"empty between", "e", []Tensor{rawTensor("a", U8, []int{3}, 1), rawTensor("z", I8, []int{0}, 0), rawTensor("b", U8, []int{3}, 9)}, `"e"`},
		{"64-byte tensors", "e", []Tensor{rawTensor("a", U8, []int{64}, 1), rawTensor("b", F32, []int{16}, 7), rawTensor("c", U8, []int{65}, 3)}, `"e"`},
		{"unicode names", "é", []Tensor{rawTensor("blocks.0.ß/µ", U8, []int{1}, 1), rawTensor("日本", I16, []int{1}, 2)}, `"é"`},
		{"max dims", nil, []Tensor{rawTensor("d8", U8, []int{1, 2, 1, 2, 1, 2, 1, 2}, 5)}, `null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.coatnet")
			if err := WriteFile(path, tc.metadata, tc.tensors); err != nil {
				t.Fatal(err)
			}
			img, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if streamed := encode(t, tc.metadata, tc.tensors); !bytes.Equal(img, streamed) {
				t.Error("WriteFile and Write differ")
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", fi.Mode().Perm())
			}
			opened, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer opened.Close()
			if runtime.GOOS == "linux" && !opened.Mapped() {
				t.Error("Open did not map the file")
			}
			if opened.Mapped() && uintptr(unsafe.Pointer(&opened.img[0]))%4096 != 0 {
				t.Error("mapping is not page-aligned")
			}
			parsed, err := Parse(img)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Mapped() {
				t.Error("Parse says Mapped")
			}
			for _, f := range []*File{opened, parsed} {
				if f.Version() != 1 {
					t.Errorf("Version %d", f.Version())
				}
				if f.Size() != int64(len(img)) {
					t.Errorf("Size %d, want %d", f.Size(), len(img))
				}
				if string(f.Metadata()) != tc.wantMeta {
					t.Errorf("Metadata %s, want %s", f.Metadata(), tc.wantMeta)
				}
				checkTensors(t, f, tc.tensors)
			}
		})
	}
}

func TestTypedViews(t *testing.T) {
	floats := []float32{1, -2, 3.5, float32(math.NaN()), float32(math.Inf(-1)), math.SmallestNonzeroFloat32}
	ints := []int32{math.MinInt32, -1, 0, 1, math.MaxInt32}
	int8s := []int8{-128, -1, 0, 1, 127}
	img := encode(t, nil, []Tensor{
		Float32Tensor("f", []int{2, 3}, floats),
		Int32Tensor("i", []int{5}, ints),
		Int8Tensor("b", []int{5}, int8s),
		Float32Tensor("f0", []int{0}, nil),
		Int32Tensor("i0", []int{2, 0}, nil),
		Int8Tensor("b0", []int{0}, nil),
	})
	f, err := Parse(img)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) Tensor {
		tt, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("no tensor %q", name)
		}
		return tt
	}
	same := func(a, b any) bool { // bitwise, so that NaN equals NaN
		return fmt.Sprintf("%x", a) == fmt.Sprintf("%x", b) && reflect.TypeOf(a) == reflect.TypeOf(b)
	}
	aliases := func(v any, data []byte) bool {
		return len(data) > 0 && reflect.ValueOf(v).Pointer() == uintptr(unsafe.Pointer(&data[0]))
	}
	for _, copying := range []bool{false, true} {
		t.Run(fmt.Sprintf("forceCopy=%v", copying), func(t *testing.T) {
			forceCopy = copying
			defer func() { forceCopy = false }()
			alias := hostLittleEndian && !copying

			ft := get("f")
			fv, err := ft.Float32()
			if err != nil || !same(fv, floats) {
				t.Errorf("Float32: %v, %v", fv, err)
			}
			if aliases(fv, ft.Data) != alias {
				t.Errorf("Float32 aliases: %v, want %v", !alias, alias)
			}
			it := get("i")
			iv, err := it.Int32()
			if err != nil || !same(iv, ints) {
				t.Errorf("Int32: %v, %v", iv, err)
			}
			if aliases(iv, it.Data) != alias {
				t.Errorf("Int32 aliases: %v, want %v", !alias, alias)
			}
			bt := get("b")
			bv, err := bt.Int8()
			if err != nil || !same(bv, int8s) || !aliases(bv, bt.Data) {
				t.Errorf("Int8: %v, %v (Int8 always aliases)", bv, err)
			}
			if v, err := get("f0").Float32(); err != nil || v == nil || len(v) != 0 {
				t.Errorf("empty Float32: %#v, %v", v, err)
			}
			if v, err := get("i0").Int32(); err != nil || v == nil || len(v) != 0 {
				t.Errorf("empty Int32: %#v, %v", v, err)
			}
			if v, err := get("b0").Int8(); err != nil || v == nil || len(v) != 0 {
				t.Errorf("empty Int8: %#v, %v", v, err)
			}
		})
	}

	t.Run("misaligned", func(t *testing.T) {
		buf := make([]byte, 4*len(floats)+1)
		copy(buf[1:], Float32Tensor("", nil, floats).Data)
		mis := Tensor{Name: "m", DType: F32, Shape: []int{len(floats)}, Data: buf[1:]}
		v, err := mis.Float32()
		if err != nil || !same(v, floats) || aliases(v, mis.Data) {
			t.Errorf("misaligned Float32: %v, %v", v, err)
		}
		ibuf := make([]byte, 4*len(ints)+2)
		copy(ibuf[2:], Int32Tensor("", nil, ints).Data)
		imis := Tensor{Name: "m", DType: I32, Shape: []int{len(ints)}, Data: ibuf[2:]}
		iv, err := imis.Int32()
		if err != nil || !same(iv, ints) || aliases(iv, imis.Data) {
			t.Errorf("misaligned Int32: %v, %v", iv, err)
		}
	})

	for _, tc := range []struct {
		name string
		t    Tensor
		view func(Tensor) error
		want string
	}{
		{"f32 as int8", get("f"), func(t Tensor) error { _, err := t.Int8(); return err }, `tensor "f" is f32, not i8`},
		{"i8 as f32", get("b"), func(t Tensor) error { _, err := t.Float32(); return err }, `tensor "b" is i8, not f32`},
		{"f32 as int32", get("f"), func(t Tensor) error { _, err := t.Int32(); return err }, `tensor "f" is f32, not i32`},
		{"short data", Tensor{Name: "s", DType: F32, Shape: []int{2}, Data: make([]byte, 7)}, func(t Tensor) error { _, err := t.Float32(); return err }, "does not match its 7 bytes"},
		{"ragged data", Tensor{Name: "s", DType: I32, Shape: []int{2}, Data: make([]byte, 9)}, func(t Tensor) error { _, err := t.Int32(); return err }, "does not match its 9 bytes"},
		{"negative dim", Tensor{Name: "s", DType: I8, Shape: []int{-1}, Data: nil}, func(t Tensor) error { _, err := t.Int8(); return err }, "does not match"},
		{"overflow", Tensor{Name: "s", DType: I8, Shape: []int{math.MaxInt / 2, 3}, Data: nil}, func(t Tensor) error { _, err := t.Int8(); return err }, "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.view(tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// region classifies a byte of a file written by Write: which sentinel a
// change to it produces, and whether it must be zero.
func region(t *testing.T, b []byte, off int) (sentinel error, zero bool, what string) {
	le := binary.LittleEndian
	metaEnd := headerSize + int(le.Uint64(b[offMetaLen:]))
	indexEnd := metaEnd + int(le.Uint64(b[offIndexLen:]))
	dataStart := int(align64(uint64(indexEnd)))
	switch {
	case off < offVersion:
		return ErrNotModelFile, false, "magic"
	case off < offFlags:
		return ErrUnsupportedVersion, false, "version"
	case off < offMetaLen:
		return ErrCorrupt, true, "flags" // header checksum first
	case off >= offReserved && off < offCRCHeader:
		return ErrCorrupt, true, "reserved"
	case off < headerSize:
		return ErrCorrupt, false, "header"
	case off < metaEnd:
		return ErrCorrupt, false, "metadata"
	case off < indexEnd:
		return ErrCorrupt, false, "index"
	case off < dataStart:
		return ErrCorrupt, true, "padding"
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range f.Tensors() {
		if int64(off) >= info.Offset && int64(off) < info.Offset+info.Length {
			return ErrCorrupt, false, "tensor " + info.Name
		}
	}
	return ErrCorrupt, true, "gap"
}

// TestEveryBitFlip flips every bit of a small file in turn. Each must be
// rejected: every byte is covered by a checksum.
func TestEveryBitFlip(t *testing.T) {
	b := sampleFile(t)
	seen := map[string]bool{}
	for off := range b {
		want, _, what := region(t, b, off)
		seen[strings.Fields(what)[0]] = true
		for bit := range 8 {
			c := bytes.Clone(b)
			c[off] ^= 1 << bit
			_, err := Parse(c)
			if !errors.Is(err, want) {
				t.Fatalf("bit %d of byte %d (%s) flipped: error %v, want %v", bit, off, what, err, want)
			}
		}
	}
	// Make sure the file has every kind of region, so that all are tested.
	for _, r := range []string{"magic", "version", "flags", "header", "reserved", "metadata", "index", "padding", "tensor", "gap"} {
		if !seen[r] {
			t.Errorf("the sample file has no %s bytes", r)
		}
	}
}

// TestMustBeZero sets each byte that must be zero, with the checksums
// recomputed: the zero rules hold on their own, not only through the
// checksums.
func TestMustBeZero(t *testing.T) {
	b := sampleFile(t)
	n := 0
	for off := range b {
		_, zero, what := region(t, b, off)
		if !zero {
			continue
		}
		n++
		for _, v := range []byte{1, 0x80, 0xff} {
			c := bytes.Clone(b)
			c[off] = v
			reseal(c)
			_, err := Parse(c)
			want := ErrCorrupt
			if what == "flags" {
				want = ErrUnsupportedVersion
			}
			if !errors.Is(err, want) {
				t.Fatalf("byte %d (%s) set to %#x: error %v, want %v", off, what, v, err, want)
			}
		}
	}
	if n < 3*12 {
		t.Errorf("only %d bytes must be zero; the sample is too small to test this", n)
	}
}

func TestTruncation(t *testing.T) {
	b := sampleFile(t)
	dir := t.TempDir()
	for n := range len(b) {
		_, err := Parse(b[:n])
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("Parse of the first %d of %d bytes: %v", n, len(b), err)
		}
		if n >= headerSize {
			want := fmt.Sprintf("the header describes %d bytes, the file has %d", len(b), n)
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("Parse of the first %d bytes: %v, want it to say %q", n, err, want)
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("t%d", n))
		if err := os.WriteFile(path, b[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = Open(path)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Fatalf("Open of the first %d bytes: %v", n, err)
		}
	}
}

func TestTrailingBytes(t *testing.T) {
	b := sampleFile(t)
	for _, extra := range [][]byte{{0}, {1}, make([]byte, 63), make([]byte, 64), bytes.Repeat([]byte("garbage"), 100), b} {
		_, err := Parse(append(bytes.Clone(b), extra...))
		want := fmt.Sprintf("%d trailing bytes", len(extra))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) {
			t.Errorf("%d bytes appended: %v, want %q", len(extra), err, want)
		}
	}
}

func TestNotModelFile(t *testing.T) {
	safetensors := binary.LittleEndian.AppendUint64(nil, 30)
	safetensors = append(safetensors, `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`...)
	for _, tc := range []struct {
		name string
		b    []byte
		want []string
	}{
		{"text", []byte("hello, world\n"), []string{`it starts with "hello, w"`}},
		{"short", []byte("hi"), []string{`it starts with "hi"`}},
		{"zeros", make([]byte, 1000), []string{`\x00\x00`}},
		{"safetensors", safetensors, []string{"safetensors", "`coatnet convert`"}},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00data"), []string{"PyTorch", "zip", "`coatnet convert`"}},
		{"zip header only", []byte("PK\x03\x04"), []string{"PyTorch", "`coatnet convert`"}},
		{"lower-case magic", []byte("coatnet\x00" + strings.Repeat("\x00", 100)), []string{"not a coatnet model file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "weights.bin")
			if err := os.WriteFile(path, tc.b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, perr := Parse(tc.b)
			_, oerr := Open(path)
			for _, err := range []error{perr, oerr} {
				if !errors.Is(err, ErrNotModelFile) || errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v, want ErrNotModelFile", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
			if !strings.Contains(oerr.Error(), path) {
				t.Errorf("error %q does not name %s", oerr, path)
			}
		})
	}
}

func TestUnsupportedVersion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		off    int
		val    uint32
		reseal bool
		want   []string
	}{
		{"version 2", offVersion, 2, true, []string{"format version 2", "reads version 1"}},
		{"version 2 unsealed", offVersion, 2, false, []string{"format version 2"}},
		{"version 0", offVersion, 0, true, []string{"format version 0"}},
		{"flag", offFlags, 1, true, []string{"flags 0x1"}},
		{"high flag", offFlags, 1 << 31, true, []string{"flags 0x80000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := sampleFile(t)
			binary.LittleEndian.PutUint32(b[tc.off:], tc.val)
			if tc.reseal {
				reseal(b)
			}
			_, err := Parse(b)
			if !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("error %v, want ErrUnsupportedVersion", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestInvalid covers the checks behind the checksums, on files with correct
// checksums.
func TestInvalid(t *testing.T) {
	data := make([]byte, 128+16)
	for i := range 8 {
		data[i] = byte(i + 1)
	}
	entry := func(name, dtype, shape string, offset, length any) string {
		return fmt.Sprintf(`{"name":%q,"dtype":%q,"shape":%s,"offset":%v,"length":%v}`, name, dtype, shape, offset, length)
	}
	good := entry("a", "u8", "[8]", 0, 8)
	header := func(off int, v uint64) func([]byte) {
		return func(b []byte) { binary.LittleEndian.PutUint64(b[off:], v) }
	}
	for _, tc := range []struct {
		name        string
		meta, index string
		data        []byte
		edit        func([]byte) // applied before the checksums are recomputed
		want        string       // "" for a valid file
	}{
		{name: "valid", meta: `{}`, index: "[" + good + "]", data: data},
		{name: "valid no data", meta: `{}`, index: `[]`},
		{name: "valid whitespace", meta: " {\n} ", index: " [ " + good + " ]\n", data: data},
		{name: "valid key order", meta: `1`, index: `[{"length":8,"offset":0,"shape":[8],"dtype":"u8","name":"a"}]`, data: data},
		{name: "valid empty at start of another", meta: `1`, index: "[" + entry("z", "f32", "[0]", 0, 0) + "," + good + "]", data: data},
		{name: "valid empty at end", meta: `1`, index: "[" + good + "," + entry("z", "f32", "[0]", 128, 0) + "]", data: data[:128]},
		{name: "valid huge dims times zero", meta: `1`, index: "[" + good + "," + entry("z", "i64", "[2147483647,2147483647,0,2147483647]", 64, 0) + "]", data: data},
		{name: "huger dim times zero", meta: `1`, index: "[" + good + "," + entry("z", "i64", "[0,9223372036854775807]", 64, 0) + "]", data: data, want: on32("", "dimension 9223372036854775807 in shape [0 9223372036854775807] is too large for this platform")},
		{name: "valid escaped name", meta: `1`, index: `[{"name":"\u0061\n","dtype":"u8","shape":[8],"offset":0,"length":8}]`, data: data},

		{name: "metadata not JSON", meta: `{`, index: "[]", want: "metadata is not valid JSON"},
		{name: "metadata two values", meta: `1 2`, index: "[]", want: "metadata is not valid JSON"},
		{name: "metadata not UTF-8", meta: "\"\xff\"", index: "[]", want: "metadata is not valid UTF-8"},
		{name: "metadata empty", meta: "", index: "[]", want: "metadata length 0"},
		{name: "metadata too long", meta: "1", index: "[]", edit: header(offMetaLen, MaxMetadataLen+1), want: "metadata length 67108865"},
		{name: "index too short", meta: "1", index: "[", want: "tensor index length 1"},
		{name: "index too long", meta: "1", index: "[]", edit: header(offIndexLen, 1<<62), want: "tensor index length 4611686018427387904"},
		{name: "data absurd", meta: "1", index: "[]", edit: header(offDataLen, math.MaxUint64-100), want: "absurd"},
		{name: "data max int64", meta: "1", index: "[]", edit: header(offDataLen, math.MaxInt64), want: "absurd"},
		{name: "data huge", meta: "1", index: "[]", edit: header(offDataLen, math.MaxInt64-128), want: "truncated: the header describes 9223372036854775807 bytes"},
		{name: "index not UTF-8", meta: "1", index: "[\"\xff\"]", want: "tensor index is not valid UTF-8"},
		{name: "index not JSON", meta: "1", index: "[}", want: "tensor index"},
		{name: "index object", meta: "1", index: "{}", want: "found { where [ was expected"},
		{name: "index null", meta: "1", index: "null", want: "found null where [ was expected"},
		{name: "index entry not object", meta: "1", index: "[1]", want: "entry 0: found 1 where { was expected"},
		{name: "index entry array", meta: "1", index: "[[]]", want: "entry 0: found [ where { was expected"},
		{name: "index trailing", meta: "1", index: "[] []", want: "data after the array"},
		{name: "index trailing garbage", meta: "1", index: "[]x", want: "data after the array"},
		{name: "index unclosed", meta: "1", index: "[" + good, want: "tensor index"},
		{name: "unknown key", meta: "1", index: `[{"name":"a","dtype":"u8","shape":[8],"offset":0,"length":8,"x":1}]`, data: data, want: `unknown key "x"`},
		{name: "key case", meta: "1", index: `[{"Name":"a","dtype":"u8","shape":[8],"offset":0,"length":8}]`, data: data, want: `unknown key "Name"`},
		{name: "duplicate key", meta: "1", index: `[{"name":"a","name":"b","dtype":"u8","shape":[8],"offset":0,"length":8}]`, data: data, want: `duplicate key "name"`},
		{name: "missing name", meta: "1", index: `[{"dtype":"u8","shape":[8],"offset":0,"length":8}]`, data: data, want: `missing or null key "name"`},
		{name: "missing dtype", meta: "1", index: `[{"name":"a","shape":[8],"offset":0,"length":8}]`, data: data, want: `missing or null key "dtype"`},
		{name: "missing shape", meta: "1", index: `[{"name":"a","dtype":"u8","offset":0,"length":8}]`, data: data, want: `missing or null key "shape"`},
		{name: "missing offset", meta: "1", index: `[{"name":"a","dtype":"u8","shape":[8],"length":8}]`, data: data, want: `missing or null key "offset"`},
		{name: "missing length", meta: "1", index: `[{"name":"a","dtype":"u8","shape":[8],"offset":0}]`, data: data, want: `missing or null key "length"`},
		{name: "null shape", meta: "1", index: "[" + entry("a", "u8", "null", 0, 1) + "]", data: data, want: `missing or null key "shape"`},
		{name: "null name", meta: "1", index: `[{"name":null,"dtype":"u8","shape":[8],"offset":0,"length":8}]`, data: data, want: `missing or null key "name"`},
		{name: "empty name", meta: "1", index: "[" + entry("", "u8", "[8]", 0, 8) + "]", data: data, want: "empty name"},
		{name: "number name", meta: "1", index: `[{"name":1,"dtype":"u8","shape":[8],"offset":0,"length":8}]`, data: data, want: `key "name"`},
		{name: "duplicate names", meta: "1", index: "[" + good + "," + entry("a", "u8", "[8]", 64, 8) + "]", data: data, want: `entries 0 and 1 are both named "a"`},
		{name: "duplicate escaped names", meta: "1", index: "[" + good + `,{"name":"\u0061","dtype":"u8","shape":[8],"offset":64,"length":8}]`, data: data, want: `both named "a"`},
		{name: "unknown dtype", meta: "1", index: "[" + entry("a", "f64", "[1]", 0, 8) + "]", data: data, want: `unknown dtype "f64"`},
		{name: "upper-case dtype", meta: "1", index: "[" + entry("a", "U8", "[8]", 0, 8) + "]", data: data, want: `unknown dtype "U8"`},
		{name: "nine dims", meta: "1", index: "[" + entry("a", "u8", "[1,1,1,1,1,1,1,1,8]", 0, 8) + "]", data: data, want: "9 dimensions"},
		{name: "negative dim", meta: "1", index: "[" + entry("a", "u8", "[-8]", 0, 8) + "]", data: data, want: "negative dimension -8"},
		{name: "fractional dim", meta: "1", index: "[" + entry("a", "u8", "[8.5]", 0, 8) + "]", data: data, want: `key "shape"`},
		{name: "dim too big", meta: "1", index: "[" + entry("a", "u8", "[9223372036854775808]", 0, 8) + "]", data: data, want: `key "shape"`},
		{name: "shape string", meta: "1", index: "[" + entry("a", "u8", `"8"`, 0, 8) + "]", data: data, want: `key "shape"`},
		{name: "numel overflow", meta: "1", index: "[" + entry("a", "f32", "[4294967296,4294967296]", 0, 0) + "]", data: data, want: on32("overflows", "too large for this platform")},
		{name: "numel overflow by size", meta: "1", index: "[" + entry("a", "i64", "[1152921504606846976]", 0, 0) + "]", data: data, want: on32("overflows", "too large for this platform")},
		{name: "numel overflow 32", meta: "1", index: "[" + entry("a", "i16", "[65536,16384]", 0, 0) + "]", data: data, want: on32("needs 2147483648 bytes, the length is 0", "overflows")},
		{name: "length mismatch", meta: "1", index: "[" + entry("a", "u8", "[8]", 0, 7) + "]", data: data, want: "needs 8 bytes, the length is 7"},
		{name: "length for wrong dtype", meta: "1", index: "[" + entry("a", "f32", "[8]", 0, 8) + "]", data: data, want: "needs 32 bytes"},
		{name: "negative offset", meta: "1", index: "[" + entry("a", "u8", "[8]", -64, 8) + "]", data: data, want: `key "offset"`},
		{name: "fractional offset", meta: "1", index: "[" + entry("a", "u8", "[8]", "0.0", 8) + "]", data: data, want: `key "offset"`},
		{name: "exponent offset", meta: "1", index: "[" + entry("a", "u8", "[8]", "0e0", 8) + "]", data: data, want: `key "offset"`},
		{name: "string offset", meta: "1", index: "[" + entry("a", "u8", "[8]", `"0"`, 8) + "]", data: data, want: `key "offset"`},
		{name: "unaligned offset", meta: "1", index: "[" + entry("a", "u8", "[8]", 8, 8) + "]", data: data, want: "offset 8 is not a multiple of 64"},
		{name: "beyond data", meta: "1", index: "[" + entry("a", "u8", "[32]", 128, 32) + "]", data: data, want: "outside the data section of 144 bytes"},
		{name: "offset beyond data", meta: "1", index: "[" + entry("a", "u8", "[0]", 192, 0) + "]", data: data, want: "outside the data section"},
		{name: "offset wraps", meta: "1", index: "[" + entry("a", "u8", "[64]", uint64(math.MaxUint64-63), 64) + "]", data: data, want: "outside the data section"},
		{name: "overlap", meta: "1", index: "[" + entry("a", "u8", "[65]", 0, 65) + "," + entry("b", "u8", "[8]", 64, 8) + "]", data: data, want: `tensors "a" and "b" overlap`},
		{name: "same place", meta: "1", index: "[" + good + "," + entry("b", "i8", "[8]", 0, 8) + "]", data: data, want: "overlap"},
		{name: "empty inside another", meta: "1", index: "[" + entry("a", "u8", "[65]", 0, 65) + "," + entry("z", "u8", "[0]", 64, 0) + "]", data: data, want: `tensors "a" and "z" overlap`},
		{name: "nonzero gap", meta: "1", index: "[" + entry("a", "u8", "[4]", 0, 4) + "]", data: data, want: "data byte 4, between tensors, is 0x05"},
		{name: "nonzero tail", meta: "1", index: "[" + good + "]", data: append(bytes.Clone(data), 9), want: "data byte 144, between tensors, is 0x09"},
		{name: "no tensors but data", meta: "1", index: "[]", data: data, want: "data byte 0"},
		{name: "nonzero padding", meta: "1", index: "[]", edit: func(b []byte) { b[100] = 1 }, want: "padding byte at offset 100 is 0x01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := assemble(tc.meta, tc.index, tc.data)
			if tc.edit != nil {
				tc.edit(b)
				reseal(b)
			}
			f, err := Parse(b)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid file rejected: %v", err)
				}
				for _, info := range f.Tensors() {
					if tt, ok := f.Tensor(info.Name); !ok || int64(len(tt.Data)) != info.Length {
						t.Errorf("tensor %q: %v, %v", info.Name, tt, ok)
					}
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrCorrupt saying %q", err, tc.want)
			}
		})
	}
}

// on32 returns what64 on a 64-bit platform and what32 on a 32-bit one.
func on32(what64, what32 string) string {
	if strconv.IntSize == 32 {
		return what32
	}
	return what64
}

func TestTooManyTensors(t *testing.T) {
	defer func(n int) { maxTensors = n }(maxTensors)
	maxTensors = 3
	ts := []Tensor{rawTensor("a", U8, []int{0}, 0), rawTensor("b", U8, []int{0}, 0), rawTensor("c", U8, []int{0}, 0)}
	if _, err := Parse(encode(t, nil, ts)); err != nil {
		t.Fatalf("%d tensors: %v", len(ts), err)
	}
	ts = append(ts, rawTensor("d", U8, []int{0}, 0))
	_, err := Parse(encode(t, nil, ts))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "more than 3 tensors") {
		t.Fatalf("%d tensors: %v", len(ts), err)
	}
}

// TestErrorsName checks that every error from Open names the file, and that
// errors from Parse and Write say where they come from.
func TestErrorsName(t *testing.T) {
	dir := t.TempDir()
	good := sampleFile(t)
	future := bytes.Clone(good)
	future[offVersion] = 7
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"not model", []byte("GIF89a"), ErrNotModelFile},
		{"future", future, ErrUnsupportedVersion},
		{"corrupt", good[:100], ErrCorrupt},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, tc.b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "modelfile: "+path+": ") {
			t.Errorf("Open(%s): %v", tc.name, err)
		}
		_, err = Parse(tc.b)
		if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "modelfile: ") {
			t.Errorf("Parse(%s): %v", tc.name, err)
		}
	}
	missing := filepath.Join(dir, "missing")
	if _, err := Open(missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open of a missing file: %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open of a directory: %v", err)
	}
}

func TestDecodeMetadata(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m")
	if err := WriteFile(path, map[string]any{"arch": "a", "labels": []string{"x"}, "extra": 1}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var loose struct {
		meta
		Extra int `json:"extra"`
	}
	if err := f.DecodeMetadata(&loose); err != nil || loose.Arch != "a" || loose.Extra != 1 || !slices.Equal(loose.Labels, []string{"x"}) {
		t.Errorf("DecodeMetadata: %+v, %v", loose, err)
	}
	var strict meta
	err = f.DecodeMetadata(&strict)
	if err == nil || !strings.Contains(err.Error(), `unknown field "extra"`) || !strings.Contains(err.Error(), path) {
		t.Errorf("DecodeMetadata with an unknown field: %v", err)
	}
}

func TestClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m")
	m, ts := sample()
	if err := WriteFile(path, m, ts); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mapped := f.Mapped()
	for range 3 {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := f.Tensor(ts[0].Name); ok {
		t.Error("Tensor after Close")
	}
	if f.Metadata() != nil {
		t.Error("Metadata after Close")
	}
	if f.Mapped() != mapped {
		t.Error("Mapped changed on Close")
	}
	if f.Size() != int64(len(sampleFile(t))) {
		t.Error("Size changed on Close")
	}
	if err := f.DecodeMetadata(new(any)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("DecodeMetadata after Close: %v", err)
	}
	p, err := Parse(sampleFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.Close() != nil || p.Close() != nil {
		t.Error("Close of a parsed file failed")
	}
}

// endless yields its prefix, then the byte fill for ever.
type endless struct {
	prefix []byte
	fill   byte
	read   int
}

func (r *endless) Read(p []byte) (int, error) {
	n := copy(p, r.prefix)
	r.prefix = r.prefix[n:]
	for i := n; i < len(p); i++ {
		p[i] = r.fill
	}
	r.read += len(p)
	return len(p), nil
}

// TestReadImage covers the path that reads a file into memory: it reads a
// good file exactly, and never reads far past the size the header states.
func TestReadImage(t *testing.T) {
	good := sampleFile(t)
	b, err := readImage(bytes.NewReader(good), -1)
	if err != nil || !bytes.Equal(b, good) {
		t.Fatalf("readImage of a good file: %d bytes, %v", len(b), err)
	}
	for _, tc := range []struct {
		name string
		r    *endless
		want error
	}{
		{"trailing zeros", &endless{prefix: good}, ErrCorrupt},
		{"not a model file", &endless{fill: 'x'}, ErrNotModelFile},
		{"bad header", &endless{prefix: good[:50]}, ErrCorrupt},
	} {
		b, err := readImage(tc.r, -1)
		if err != nil {
			t.Fatal(err)
		}
		if tc.r.read > len(good)+1<<16 {
			t.Errorf("%s: read %d bytes", tc.name, tc.r.read)
		}
		if _, err := Parse(b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for n := range len(good) {
		b, err := readImage(bytes.NewReader(good[:n]), int64(n))
		if err != nil || !bytes.Equal(b, good[:n]) {
			t.Fatalf("readImage of %d bytes: %d bytes, %v", n, len(b), err)
		}
	}
	// A header that states the largest size there is.
	huge := assemble("1", "[]", nil)
	binary.LittleEndian.PutUint64(huge[offDataLen:], math.MaxInt64-uint64(len(huge)))
	reseal(huge)
	for _, size := range []int64{int64(len(huge))} {
		b, err := readImage(bytes.NewReader(huge), size)
		if err != nil || !bytes.Equal(b, huge) {
			t.Fatalf("readImage of a file stating %d bytes: %d bytes, %v", int64(math.MaxInt64), len(b), err)
		}
		if _, err := Parse(b); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("Parse of a file stating %d bytes: %v", int64(math.MaxInt64), err)
		}
	}
	// Of unknown size (a pipe), more than MaxReadLen is refused from the
	// header, before the rest is read.
	r := bytes.NewReader(huge)
	if _, err := readImage(r, -1); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprint("at most ", maxReadLen)) || r.Len() != len(huge)-headerSize {
		t.Errorf("readImage of a pipe stating %d bytes: %v, %d bytes left unread", int64(math.MaxInt64), err, r.Len())
	}
	if _, err := readImage(iotestErr{}, -1); err == nil {
		t.Error("readImage ignored a read error")
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("device on fire") }

func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "the file has 0 bytes") {
		t.Errorf("Open of an empty file: %v", err)
	}
}

func TestWriteErrors(t *testing.T) {
	ok := Float32Tensor("ok", []int{1}, []float32{1})
	for _, tc := range []struct {
		name     string
		metadata any
		tensors  []Tensor
		want     string
	}{
		{"unmarshalable metadata", make(chan int), nil, "metadata: json: unsupported type"},
		{"invalid raw metadata", json.RawMessage(`{`), nil, "metadata"},
		{"invalid UTF-8 raw metadata", json.RawMessage("\"\xff\""), nil, "metadata: invalid UTF-8"},
		{"empty name", nil, []Tensor{{DType: U8, Shape: []int{0}}}, "tensor 0: empty name"},
		{"invalid UTF-8 name", nil, []Tensor{{Name: "\xff", DType: U8, Shape: []int{0}}}, "not valid UTF-8"},
		{"duplicate names", nil, []Tensor{ok, ok}, `tensors 0 and 1 are both named "ok"`},
		{"unknown dtype", nil, []Tensor{{Name: "x", DType: "f64", Data: make([]byte, 8)}}, `unknown dtype "f64"`},
		{"no dtype", nil, []Tensor{{Name: "x"}}, `unknown dtype ""`},
		{"nine dims", nil, []Tensor{{Name: "x", DType: U8, Shape: []int{1, 1, 1, 1, 1, 1, 1, 1, 1}, Data: []byte{0}}}, "9 dimensions"},
		{"negative dim", nil, []Tensor{{Name: "x", DType: U8, Shape: []int{-1}}}, "invalid shape [-1]"},
		{"overflow", nil, []Tensor{{Name: "x", DType: F32, Shape: []int{math.MaxInt / 2, 2, 4}}}, "invalid shape"},
		{"short data", nil, []Tensor{{Name: "x", DType: F32, Shape: []int{2}, Data: make([]byte, 7)}}, "needs 8 bytes, Data has 7"},
		{"long data", nil, []Tensor{Float32Tensor("x", []int{2}, []float32{1, 2, 3})}, "needs 8 bytes, Data has 12"},
		{"scalar without data", nil, []Tensor{{Name: "x", DType: I8}}, "needs 1 bytes, Data has 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.metadata, tc.tensors)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "modelfile: write: ") {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

// failingWriter fails after n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteFailingWriter(t *testing.T) {
	m, ts := sample()
	ts = append(ts, rawTensor("big", U8, []int{1 << 17}, 1))
	size := len(encode(t, m, ts))
	for _, n := range []int{0, 1, 63, 64, 100, 1 << 16, size - 1} {
		err := Write(&failingWriter{n: n}, m, ts)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("writer failing after %d bytes: %v", n, err)
		}
	}
	if err := Write(&failingWriter{n: size}, m, ts); err != nil {
		t.Errorf("writer failing after %d bytes, the size: %v", size, err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.coatnet")
	m, ts := sample()
	if err := WriteFile(path, m, ts); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	listing := func() []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	unchanged := func(what string) {
		t.Helper()
		now, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(now, old) {
			t.Errorf("after %s the file changed", what)
		}
		if l := listing(); !slices.Equal(l, []string{"model.coatnet"}) {
			t.Errorf("after %s the directory holds %v", what, l)
		}
	}

	// Failures before anything is written leave the old file.
	err = WriteFile(path, make(chan int), ts)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("WriteFile with unmarshalable metadata: %v", err)
	}
	unchanged("a failing metadata marshal")
	if err := WriteFile(path, m, []Tensor{ts[0], ts[0]}); err == nil {
		t.Error("WriteFile with duplicate tensors succeeded")
	}
	unchanged("duplicate tensors")

	// Hold the old file open and mapped while it is replaced.
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	newTensors := []Tensor{Int8Tensor("new", []int{2}, []int8{1, 2})}
	if err := WriteFile(path, "new", newTensors); err != nil {
		t.Fatal(err)
	}
	if l := listing(); !slices.Equal(l, []string{"model.coatnet"}) {
		t.Errorf("after a successful write the directory holds %v", l)
	}
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	checkTensors(t, g, newTensors)
	if runtime.GOOS != "windows" {
		checkTensors(t, f, ts) // the old mapping still reads the old file
	}

	if err := WriteFile(filepath.Join(dir, "missing", "m"), nil, nil); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestWriteFileReadOnlyDir(t *testing.T) {
	if runtime.GOOS == "windows" || os.Getuid() == 0 {
		t.Skip("needs unix permissions and a non-root user")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	if err := WriteFile(filepath.Join(dir, "m"), nil, nil); err == nil {
		t.Error("WriteFile into a read-only directory succeeded")
	}
}

func TestSentinelsDistinct(t *testing.T) {
	errs := []error{ErrNotModelFile, ErrUnsupportedVersion, ErrCorrupt}
	for i, a := range errs {
		for j, b := range errs {
			if errors.Is(a, b) != (i == j) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, i != j)
			}
		}
	}
	_, err := Parse([]byte("x"))
	var target interface{ Unwrap() error }
	if !errors.As(err, &target) {
		t.Errorf("%v does not wrap", err)
	}
}

func TestDTypeSize(t *testing.T) {
	for dt, want := range map[DType]int{F32: 4, F16: 2, I8: 1, U8: 1, I16: 2, I32: 4, I64: 8, "f64": 0, "": 0, "F32": 0} {
		if got := dt.Size(); got != want {
			t.Errorf("%q.Size() = %d, want %d", dt, got, want)
		}
	}
}

// TestCRCCheckValue pins the checksum the documentation describes.
func TestCRCCheckValue(t *testing.T) {
	if got := crc32.Checksum([]byte("123456789"), castagnoli); got != 0xe3069283 {
		t.Errorf("CRC-32C check value %#08x", got)
	}
}
