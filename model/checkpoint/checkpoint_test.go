package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nlpodyssey/gopickle/types"
)

// conformanceCase returns the folder of the tiny_nano_rw_64_s3 case, which
// ships the same weights as model.safetensors and model.pth.
func conformanceCase(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COATNET_CONFORMANCE")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "conformance", "timm")
	}
	dir = filepath.Join(dir, "tiny_nano_rw_64_s3")
	if _, err := os.Stat(filepath.Join(dir, "case.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance case missing in CI: %v", err)
		}
		t.Skipf("conformance case not found (%v); set COATNET_CONFORMANCE to the shared timm folder", err)
	}
	return dir
}

// caseValue is element i of a generated conformance tensor (splitmix64, as
// ../shared/conformance/README.md describes).
func caseValue(seed uint64, i int, offset, scale float64) float32 {
	z := seed + uint64(i+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	u := float64(z>>11)*0x1p-53*2 - 1
	// The conversion keeps arm64 from fusing the multiply-add.
	return float32(offset + float64(scale*u))
}

// sameTensor reports how got differs from want, comparing floats by bits.
func sameTensor(got, want Tensor) error {
	if got.DType != want.DType {
		return fmt.Errorf("dtype %s, want %s", got.DType, want.DType)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	if (got.Data == nil) != (want.Data == nil) {
		return fmt.Errorf("data nil is %v, want %v", got.Data == nil, want.Data == nil)
	}
	if len(got.Data) != len(want.Data) {
		return fmt.Errorf("%d elements, want %d", len(got.Data), len(want.Data))
	}
	for i := range got.Data {
		if g, w := math.Float32bits(got.Data[i]), math.Float32bits(want.Data[i]); g != w {
			return fmt.Errorf("element %d = %v (%#08x), want %v (%#08x)", i, got.Data[i], g, want.Data[i], w)
		}
	}
	return nil
}

func sameStateDict(t *testing.T, got, want map[string]Tensor) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing %q", k)
			continue
		}
		if err := sameTensor(g, w); err != nil {
			t.Errorf("%q: %v", k, err)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %q", k)
		}
	}
}

func TestConformanceCheckpoints(t *testing.T) {
	dir := conformanceCase(t)
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Params []struct {
			Key    string  `json:"key"`
			Shape  []int   `json:"shape"`
			Seed   string  `json:"seed"`
			Offset float64 `json:"offset"`
			Scale  float64 `json:"scale"`
		} `json:"params"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	want := make(map[string]Tensor, len(c.Params))
	for _, p := range c.Params {
		seed, err := strconv.ParseUint(p.Seed, 10, 64)
		if err != nil {
			t.Fatalf("%s: seed: %v", p.Key, err)
		}
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		d := make([]float32, n)
		for i := range d {
			d[i] = caseValue(seed, i, p.Offset, p.Scale)
		}
		want[p.Key] = Tensor{DType: "F32", Shape: p.Shape, Data: d}
	}

	got := make(map[string]map[string]Tensor)
	for _, tc := range []struct {
		file string
		read func(string) (map[string]Tensor, error)
	}{
		{"model.safetensors", ReadSafetensors},
		{"model.pth", ReadPyTorch},
		{"model.safetensors", Read},
		{"model.pth", Read},
	} {
		m, err := tc.read(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if prev, ok := got[tc.file]; ok {
			sameStateDict(t, m, prev) // Read agrees with the format's own reader
			continue
		}
		got[tc.file] = m
		// Every float tensor is a generated parameter; the rest are the
		// int64 num_batches_tracked counters, which keep no data.
		sd := make(map[string]Tensor)
		for k, v := range m {
			if v.DType == "I64" && strings.HasSuffix(k, "num_batches_tracked") {
				if v.Data != nil || len(v.Shape) != 0 {
					t.Errorf("%s: %q: shape %v data %v, want a 0-d I64 with no data", tc.file, k, v.Shape, v.Data)
				}
				continue
			}
			sd[k] = v
		}
		if len(sd) == len(m) {
			t.Errorf("%s: no num_batches_tracked entries", tc.file)
		}
		t.Run(tc.file, func(t *testing.T) { sameStateDict(t, sd, want) })
	}
	t.Run("safetensors=pth", func(t *testing.T) { sameStateDict(t, got["model.pth"], got["model.safetensors"]) })
}

// stTensor is a tensor for buildSafetensors, with its raw little-endian bytes.
type stTensor struct {
	name, dtype string
	shape       []int
	raw         []byte
}

// buildSafetensors lays tensors out back to back after a header padded to 8
// bytes, as the reference writer does.
func buildSafetensors(meta map[string]string, ts ...stTensor) []byte {
	hdr := make(map[string]any)
	if meta != nil {
		hdr["__metadata__"] = meta
	}
	var data []byte
	for _, t := range ts {
		hdr[t.name] = map[string]any{"dtype": t.dtype, "shape": t.shape, "data_offsets": []int{len(data), len(data) + len(t.raw)}}
		data = append(data, t.raw...)
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		panic(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	return rawSafetensors(string(h), data)
}

func rawSafetensors(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func le[T uint16 | uint32 | uint64](vs ...T) []byte {
	var b []byte
	for _, v := range vs {
		switch v := any(v).(type) {
		case uint16:
			b = binary.LittleEndian.AppendUint16(b, v)
		case uint32:
			b = binary.LittleEndian.AppendUint32(b, v)
		case uint64:
			b = binary.LittleEndian.AppendUint64(b, v)
		}
	}
	return b
}

func f32s(bits ...uint32) []float32 {
	out := make([]float32, len(bits))
	for i, b := range bits {
		out[i] = math.Float32frombits(b)
	}
	return out
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSafetensors(t *testing.T) {
	third := 1.0 / 3
	file := buildSafetensors(map[string]string{"format": "pt", "note": "x"},
		stTensor{"f32", "F32", []int{2, 2}, le[uint32](0x3f800000, 0xbf000000, 0x7f800000, 0x00000001)},
		stTensor{"f16", "F16", []int{7}, le[uint16](0x3c00, 0xc000, 0x7bff, 0x0001, 0x8400, 0x7c00, 0x7e01)},
		stTensor{"bf16", "BF16", []int{4}, le[uint16](0x3fc0, 0xc040, 0x7f80, 0x0001)},
		stTensor{"f64", "F64", []int{3}, le(math.Float64bits(third), math.Float64bits(1e300), math.Float64bits(math.Copysign(0, -1)))},
		stTensor{"i64", "I64", []int{2}, le[uint64](1, 2)},
		stTensor{"i32", "I32", []int{1}, le[uint32](3)},
		stTensor{"i16", "I16", []int{1}, le[uint16](4)},
		stTensor{"i8", "I8", []int{1}, []byte{5}},
		stTensor{"u8", "U8", []int{1, 1}, []byte{6}},
		stTensor{"bool", "BOOL", []int{2}, []byte{1, 0}},
		stTensor{"scalar", "F32", []int{}, le[uint32](0x40600000)},
		stTensor{"empty", "F32", []int{0, 4}, nil},
	)
	want := map[string]Tensor{
		"f32":    {"F32", []int{2, 2}, f32s(0x3f800000, 0xbf000000, 0x7f800000, 0x00000001)},
		"f16":    {"F16", []int{7}, f32s(0x3f800000, 0xc0000000, 0x477fe000, 0x33800000, 0xb8800000, 0x7f800000, 0x7fc02000)},
		"bf16":   {"BF16", []int{4}, f32s(0x3fc00000, 0xc0400000, 0x7f800000, 0x00010000)},
		"f64":    {"F64", []int{3}, []float32{float32(third), float32(math.Inf(1)), float32(math.Copysign(0, -1))}},
		"i64":    {"I64", []int{2}, nil},
		"i32":    {"I32", []int{1}, nil},
		"i16":    {"I16", []int{1}, nil},
		"i8":     {"I8", []int{1}, nil},
		"u8":     {"U8", []int{1, 1}, nil},
		"bool":   {"BOOL", []int{2}, nil},
		"scalar": {"F32", []int{}, []float32{3.5}},
		"empty":  {"F32", []int{0, 4}, []float32{}},
	}
	// Tensors in any header order, empty ones anywhere in the sequence.
	unordered := rawSafetensors(`{"c":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},`+
		`"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}`, le[uint16](0, 0x3f80, 0x3c00, 0x4000, 0x4040))
	unorderedWant := map[string]Tensor{
		"a": {"F32", []int{1}, f32s(0x3f800000)},
		"b": {"F16", []int{2}, []float32{1, 2}},
		"c": {"BF16", []int{1}, []float32{3}},
		"e": {"F32", []int{0}, []float32{}},
	}
	for _, tc := range []struct {
		name string
		file []byte
		want map[string]Tensor
	}{
		{"dtypes", file, want},
		{"unordered", unordered, unorderedWant},
		{"emptyHeader", rawSafetensors("{}      ", nil), map[string]Tensor{}},
		{"metadataOnly", rawSafetensors(`{"__metadata__":{"a":"b"}}`, nil), map[string]Tensor{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSafetensors(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			sameStateDict(t, got, tc.want)
			p := writeTemp(t, "m.safetensors", tc.file)
			for name, read := range map[string]func(string) (map[string]Tensor, error){"ReadSafetensors": ReadSafetensors, "Read": Read} {
				got, err := read(p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				sameStateDict(t, got, tc.want)
			}
		})
	}
}

func TestSafetensorsErrors(t *testing.T) {
	one := le[uint32](0x3f800000)
	entry := func(dtype, shape, offsets string) []byte {
		return rawSafetensors(`{"w":{"dtype":`+dtype+`,"shape":`+shape+`,"data_offsets":`+offsets+`}}`, one)
	}
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "truncated: file is 0 bytes"},
		{"shortLength", []byte{1, 0, 0}, "truncated: file is 3 bytes"},
		{"headerPastEnd", append(le[uint64](100), "{}"...), "truncated: header length 100 exceeds the 2 bytes"},
		{"headerAbsurd", append(le[uint64](1<<40), "{}"...), "exceeds the 104857600-byte limit"},
		{"headerMax", append(le[uint64](math.MaxUint64), "{}"...), "byte limit"},
		{"notObject", rawSafetensors(`[1]`, nil), "not a JSON object"},
		{"badJSON", rawSafetensors(`{"w":{"dtype":"F32",`, nil), "bad header JSON"},
		{"trailing", rawSafetensors(`{} x`, nil), "data after the header"},
		{"trailingObject", rawSafetensors(`{}{}`, nil), "data after the header"},
		{"entryNotObject", rawSafetensors(`{"w":5}`, nil), "bad header JSON"},
		{"duplicate", rawSafetensors(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, one), `duplicate key "w"`},
		{"metadataNotStrings", rawSafetensors(`{"__metadata__":{"a":1}}`, nil), "__metadata__ must map strings to strings"},
		{"unknownDType", entry(`"F8_E4M3"`, `[1]`, `[0,4]`), `tensor "w": unknown dtype "F8_E4M3"`},
		{"dtypeNotString", entry(`4`, `[1]`, `[0,4]`), "bad header JSON"},
		{"missingDType", rawSafetensors(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, one), "missing dtype"},
		{"missingShape", rawSafetensors(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, one), "missing shape"},
		{"missingOffsets", rawSafetensors(`{"w":{"dtype":"F32","shape":[1]}}`, one), "missing data_offsets"},
		{"negativeDim", entry(`"F32"`, `[-1]`, `[0,4]`), "negative dimension -1"},
		{"fractionalDim", entry(`"F32"`, `[1.5]`, `[0,4]`), "bad header JSON"},
		{"hugeDim", entry(`"F32"`, `[1e30]`, `[0,4]`), "bad header JSON"},
		{"overflowShape", entry(`"F32"`, `[4294967296,4294967296]`, `[0,4]`), "overflows"},
		{"overflowBytes", entry(`"F64"`, `[2305843009213693952]`, `[0,4]`), "overflows"},
		{"offsetsPastEnd", entry(`"F32"`, `[1]`, `[4,8]`), "out of range of the 4-byte data area"},
		{"offsetsReversed", entry(`"F32"`, `[1]`, `[4,0]`), "out of range"},
		{"offsetsNegative", entry(`"F32"`, `[1]`, `[-4,0]`), "out of range"},
		{"offsetsHuge", entry(`"F32"`, `[1]`, `[0,18446744073709551615]`), "bad header JSON"},
		{"offsetsThree", entry(`"F32"`, `[1]`, `[0,4,8]`), "want [begin, end]"},
		{"offsetsSizeMismatch", entry(`"F32"`, `[2]`, `[0,4]`), "hold 4 bytes, but F32 [2] needs 8"},
		{"zeroSizeMismatch", entry(`"F32"`, `[0,7]`, `[0,4]`), "needs 0"},
		// The format requires tensors to tile the data area: no overlap
		// (a small file could make every tensor decode the same bytes
		// again), no hole, no byte after the last one.
		{"overlap", rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}`, make([]byte, 8)),
			`tensors "a" and "b" overlap`},
		{"sameBytes", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, one),
			"overlap"},
		{"hole", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[1],"data_offsets":[6,8]}}`, make([]byte, 8)),
			`bytes [4, 6) before tensor "b" belong to no tensor`},
		{"holeFirst", entry(`"F16"`, `[1]`, `[2,4]`), `bytes [0, 2) before tensor "w" belong to no tensor`},
		{"trailingData", entry(`"F16"`, `[1]`, `[0,2]`), "bytes [2, 4) after the last tensor belong to no tensor"},
		{"dataNoTensor", rawSafetensors(`{}`, one), "bytes [0, 4) after the last tensor belong to no tensor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSafetensors(tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseSafetensors: error %v, want one containing %q", err, tc.want)
			}
			p := writeTemp(t, "bad.safetensors", tc.file)
			_, err = ReadSafetensors(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("ReadSafetensors: error %v, want one naming the file and containing %q", err, tc.want)
			}
		})
	}
}

// TestHalfToFloat32 checks every half against its definition.
func TestHalfToFloat32(t *testing.T) {
	for h := range 1 << 16 {
		got := halfToFloat32(uint16(h))
		sign, exp, mant := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 0x1f && mant != 0:
			bits := math.Float32bits(got)
			if !math.IsNaN(float64(got)) || bits>>31 != uint32(sign) || bits&0x7fffff != uint32(mant)<<13 {
				t.Fatalf("half %#04x -> %#08x, want NaN with the same sign and payload", h, bits)
			}
			continue
		case exp == 0x1f:
			want = math.Inf(1)
		case exp == 0:
			want = math.Ldexp(float64(mant), -24)
		default:
			want = math.Ldexp(float64(1024+mant), exp-25)
		}
		if sign == 1 {
			want = -want
		}
		if math.Float32bits(got) != math.Float32bits(float32(want)) {
			t.Fatalf("half %#04x -> %v, want %v", h, got, want)
		}
	}
}

// fixtureStateDict is what gen.py saves (with the "module." prefix stripped):
// base[i, j] = i*5 + j + 0.25 and views of it, plus one tensor per dtype.
func fixtureStateDict() map[string]Tensor {
	base := make([]float32, 20)
	for i := range base {
		base[i] = float32(i) + 0.25
	}
	tr := make([]float32, 20)
	for i := range 5 {
		for j := range 4 {
			tr[i*4+j] = base[j*5+i]
		}
	}
	return map[string]Tensor{
		"base":                   {"F32", []int{4, 5}, base},
		"transposed":             {"F32", []int{5, 4}, tr},
		"slice":                  {"F32", []int{2, 3}, []float32{7.25, 8.25, 9.25, 12.25, 13.25, 14.25}},
		"scalar":                 {"F32", []int{}, []float32{-1.5}},
		"empty":                  {"F32", []int{0, 3}, []float32{}},
		"half":                   {"F16", []int{4}, []float32{0.5, -2, 65504, 0x1p-14}},
		"bf16":                   {"BF16", []int{3}, []float32{1.5, -3, 256}},
		"double":                 {"F64", []int{2}, []float32{float32(1.0 / 3), -2.5}},
		"bn.num_batches_tracked": {"I64", []int{}, nil},
		"i32":                    {"I32", []int{2}, nil},
		"i16":                    {"I16", []int{1}, nil},
		"i8":                     {"I8", []int{1}, nil},
		"u8":                     {"U8", []int{1}, nil},
		"mask":                   {"BOOL", []int{2}, nil},
	}
}

func TestPyTorchFixtures(t *testing.T) {
	for _, file := range []string{
		"wrapped.pth", // zip; timm training layout, "module." keys, EMA copy, argparse args
		"legacy.pth",  // pre-1.6 format
		"proto4.pth",  // pickle protocol 4: frames, memoize, stack_global
	} {
		t.Run(file, func(t *testing.T) {
			for name, read := range map[string]func(string) (map[string]Tensor, error){"ReadPyTorch": ReadPyTorch, "Read": Read} {
				got, err := read(filepath.Join("testdata", file))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				sameStateDict(t, got, fixtureStateDict())
				// Views of one storage must not share memory.
				if &got["base"].Data[0] == &got["transposed"].Data[0] || &got["base"].Data[7] == &got["slice"].Data[0] {
					t.Errorf("%s: views share Data with their base", name)
				}
			}
		})
	}
}

func TestPyTorchErrors(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"nontensor.pth", `key "step": value is an int, not a tensor`},
		{"module.pth", "file holds a torch.nn.modules.linear.Linear object, not a state dict: save one with torch.save(model.state_dict(), path)"},
		{"torchscript.pt", "TorchScript archive"},
		{"gen.py", "unrecognised format"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join("testdata", tc.file)
			for name, read := range map[string]func(string) (map[string]Tensor, error){"ReadPyTorch": ReadPyTorch, "Read": Read} {
				_, err := read(p)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
					t.Errorf("%s: error %v, want one naming the file and containing %q", name, err, tc.want)
				}
			}
		})
	}
}

// TestTruncated cuts every fixture short at many points: each cut must give
// an error, never a panic or a partial state dict.
func TestTruncated(t *testing.T) {
	for _, file := range []string{"wrapped.pth", "legacy.pth", "proto4.pth"} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		for cut := 0; cut < len(b); cut += 1 + cut/16 {
			p := filepath.Join(dir, fmt.Sprint(file, cut))
			if err := os.WriteFile(p, b[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			if m, err := Read(p); err == nil {
				t.Errorf("%s cut at %d of %d: no error, %d tensors", file, cut, len(b), len(m))
			}
		}
	}
}

// pk assembles pickles by opcode, for files torch.save would never write.
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }

func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	p.Write(le[uint32](uint32(len(s))))
	p.WriteString(s)
	return p
}

func (p *pk) int(v int64) *pk {
	if v == int64(int32(v)) {
		p.WriteByte('J')
		p.Write(le[uint32](uint32(int32(v))))
		return p
	}
	p.op(0x8a, 8) // LONG1
	p.Write(le[uint64](uint64(v)))
	return p
}

func (p *pk) global(module, name string) *pk {
	p.WriteString("c" + module + "\n" + name + "\n")
	return p
}

func (p *pk) tuple(vs ...int64) *pk {
	p.op('(')
	for _, v := range vs {
		p.int(v)
	}
	return p.op('t')
}

// tensor pushes _rebuild_tensor_v2(storage(class, key, numel), offset,
// size, stride, False, OrderedDict()).
func (p *pk) tensor(class, key string, numel, offset int64, size, stride []int64) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", class).str(key).str("cpu").int(numel).op('t', 'Q')
	p.int(offset).tuple(size...).tuple(stride...)
	p.op(0x89).global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

// zipFile stores records, like torch.save; a record named with a "!crc"
// suffix gets a wrong CRC.
func zipFile(t testing.TB, records ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, r := range records {
		name, data := r[0], []byte(r[1])
		crc := crc32.ChecksumIEEE(data)
		if n, ok := strings.CutSuffix(name, "!crc"); ok {
			name, crc = n, crc+1
		}
		fw, err := w.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc,
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var sixFloats = string(le[uint32](0, 0x3f800000, 0x40000000, 0x40400000, 0x40800000, 0x40a00000))

// oneTensor is a zip checkpoint {"w": tensor} over a 6-float storage "0".
func oneTensor(t testing.TB, class string, numel, offset int64, size, stride []int64) []byte {
	p := new(pk).op(0x80, 2, '}').str("w").tensor(class, "0", numel, offset, size, stride).op('s', '.')
	return zipFile(t, [2]string{"archive/data.pkl", p.String()}, [2]string{"archive/data/0", sixFloats})
}

func TestPyTorchHostile(t *testing.T) {
	withPickle := func(p *pk) []byte {
		return zipFile(t, [2]string{"archive/data.pkl", p.String()}, [2]string{"archive/data/0", sixFloats})
	}
	// Cases whose sizes do not fit a 32-bit int.
	needs64 := map[string]bool{"expandedHuge": true, "stridesOverflow": true, "shapeOverflow": true}
	marks := new(pk).op(0x80, 2)
	for range 5000 {
		marks.op('(')
	}
	for _, tc := range []struct {
		name string
		file []byte
		want string // "" for success
	}{
		{"ok", oneTensor(t, "FloatStorage", 6, 0, []int64{2, 3}, []int64{3, 1}), ""},
		{"okView", oneTensor(t, "FloatStorage", 6, 1, []int64{2, 2}, []int64{1, 3}), ""},
		{"viewPastEnd", oneTensor(t, "FloatStorage", 6, 1, []int64{2, 3}, []int64{3, 1}), "reaches element 6 of a 6-element storage"},
		{"negativeOffset", oneTensor(t, "FloatStorage", 6, -1, []int64{2}, []int64{1}), "negative storage offset"},
		{"negativeStride", oneTensor(t, "FloatStorage", 6, 5, []int64{2}, []int64{-1}), "negative stride"},
		{"negativeSize", oneTensor(t, "FloatStorage", 6, 0, []int64{-2}, []int64{1}), "negative dimension"},
		{"rank", oneTensor(t, "FloatStorage", 6, 0, []int64{2, 3}, []int64{1}), "differ in rank"},
		{"expanded", oneTensor(t, "FloatStorage", 6, 0, []int64{12}, []int64{0}), "expanded tensors are not supported"},
		{"expandedHuge", oneTensor(t, "FloatStorage", 6, 0, []int64{1 << 30, 1 << 30}, []int64{0, 0}), "expanded tensors are not supported"},
		{"stridesOverflow", oneTensor(t, "FloatStorage", 6, 0, []int64{2, 2}, []int64{1 << 62, 1 << 62}), "overflows"},
		{"shapeOverflow", oneTensor(t, "FloatStorage", 6, 0, []int64{1 << 40, 1 << 40}, []int64{1, 1}), "overflows"},
		{"numelMismatch", oneTensor(t, "FloatStorage", 7, 0, []int64{7}, []int64{1}), "record holds 24 bytes, torch.FloatStorage[7] needs 28"},
		{"numelHuge", oneTensor(t, "FloatStorage", 1<<40, 0, []int64{1 << 40}, []int64{1}), "record holds 24 bytes"},
		{"numelNegative", oneTensor(t, "FloatStorage", -1, 0, []int64{}, []int64{}), "negative size -1"},
		{"intNumelMismatch", oneTensor(t, "LongStorage", 4, 0, []int64{4}, []int64{1}), "record holds 24 bytes"},
		{"complex", oneTensor(t, "ComplexFloatStorage", 3, 0, []int64{3}, []int64{1}), "torch.ComplexFloatStorage not supported"},
		{"missingRecord", withPickle(new(pk).op(0x80, 2, '}').str("w").tensor("FloatStorage", "9", 6, 0, []int64{6}, []int64{1}).op('s', '.')), "record archive/data/9 missing"},
		{"twoTypes", withPickle(new(pk).op(0x80, 2, '}').
			str("a").tensor("FloatStorage", "0", 6, 0, []int64{6}, []int64{1}).op('s').
			str("b").tensor("IntStorage", "0", 6, 0, []int64{6}, []int64{1}).op('s', '.')), "referred to as both"},
		{"notStorageClass", withPickle(new(pk).op(0x80, 2, '}').str("w").
			op('(').str("storage").global("os", "system").str("0").str("cpu").int(6).op('t', 'Q', 's', '.')), "is not (storage type, str, str, int)"},
		{"persidNotTuple", withPickle(new(pk).op(0x80, 2).str("x").op('Q', '.')), "persistent id is a str"},
		{"rebuildArgs", withPickle(new(pk).op(0x80, 2, '}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(').int(1).op('t', 'R', 's', '.')), "1 arguments, want 6 or 7"},
		{"rebuildNoStorage", withPickle(new(pk).op(0x80, 2, '}').str("w").global("torch._utils", "_rebuild_tensor_v2").
			op('(').int(1).int(0).tuple(1).tuple(1).op(0x89, 'N', 't', 'R', 's', '.')), "storage is an int"},
		{"keyNotStr", withPickle(new(pk).op(0x80, 2, '}').int(1).tensor("FloatStorage", "0", 6, 0, []int64{6}, []int64{1}).op('s', '.')), "state dict key is an int"},
		{"topList", withPickle(new(pk).op(0x80, 2, ']', '.')), "file holds a list, not a state dict"},
		{"frameHuge", withPickle(new(pk).op(0x80, 4, 0x95).op(le[uint64](1<<40)...).op('}', '.')), "frame of 1099511627776 bytes"},
		{"unicode8Huge", withPickle(new(pk).op(0x80, 4, 0x8d).op(le[uint64](1 << 62)...).op('.')), "runs past the end"},
		{"binbytesHuge", withPickle(new(pk).op(0x80, 3, 'B').op(le[uint32](1 << 31)...).op('.')), "runs past the end"},
		{"unknownOpcode", withPickle(new(pk).op(0x80, 2, 0xff, '.')), "unknown pickle opcode 0xff"},
		{"noStop", withPickle(new(pk).op(0x80, 2, '}')), "pickle truncated"},
		{"deepMarks", withPickle(marks), "nests more than 4096 marks"},
		{"gopicklePanics", withPickle(new(pk).op(0x80, 3).global("collections", "OrderedDict").op(')', 'R', '(', 'C', 1, 'x', 'N', 'u', '.')), "corrupt PyTorch file: unpickler panicked"},
		{"badCRC", zipFile(t, [2]string{"archive/data.pkl", new(pk).op(0x80, 2, '}').str("w").tensor("FloatStorage", "0", 6, 0, []int64{6}, []int64{1}).op('s', '.').String()},
			[2]string{"archive/data/0!crc", sixFloats}), "checksum error"},
		{"noDataPkl", zipFile(t, [2]string{"archive/other.pkl", "."}), "without data.pkl"},
		{"bigEndian", zipFile(t, [2]string{"archive/data.pkl", "\x80\x02}."}, [2]string{"archive/byteorder", "big"}), `byte order "big" not supported`},
		{"legacyNoMagic", new(pk).op(0x80, 2).int(5).op('.').Bytes(), "no PyTorch magic number"},
		{"legacyGarbage", []byte{0x80, 2, 0xfe}, "unrecognised format"},
		{"notZip", []byte("PK\x03\x04garbage"), "reading zip archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strconv.IntSize == 32 && needs64[tc.name] {
				t.Skip("gopickle truncates pickled ints to 32 bits on this platform")
			}
			p := writeTemp(t, "hostile.pth", tc.file)
			m, err := ReadPyTorch(p)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(m) != 1 || m["w"].Data == nil {
					t.Fatalf("got %v", m)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestCopyBound: many views of one storage may not multiply its size without
// limit.
func TestCopyBound(t *testing.T) {
	const numel = 1 << 19
	build := func(views int) []byte {
		p := new(pk).op(0x80, 2, '}')
		for i := range views {
			p.str(fmt.Sprint("w", i)).tensor("FloatStorage", "0", numel, 0, []int64{numel}, []int64{1}).op('s')
		}
		return zipFile(t, [2]string{"archive/data.pkl", p.op('.').String()}, [2]string{"archive/data/0", string(make([]byte, 4*numel))})
	}
	// The first view takes the storage itself; six copies fit 4*numel+2*numel.
	if m, err := parsePyTorch(build(7)); err != nil || len(m) != 7 {
		t.Errorf("7 views: %d tensors, error %v", len(m), err)
	}
	if _, err := parsePyTorch(build(8)); err == nil || !strings.Contains(err.Error(), "views copy more than 4 times") {
		t.Errorf("8 views: error %v, want the copy bound", err)
	}
}

// TestOneTensorView checks the strided copy on the hand-built file.
func TestOneTensorView(t *testing.T) {
	m, err := ReadPyTorch(writeTemp(t, "v.pth", oneTensor(t, "FloatStorage", 6, 1, []int64{2, 2}, []int64{1, 3})))
	if err != nil {
		t.Fatal(err)
	}
	if err := sameTensor(m["w"], Tensor{"F32", []int{2, 2}, []float32{1, 4, 2, 5}}); err != nil {
		t.Error(err)
	}
}

func TestSelectStateDict(t *testing.T) {
	tensor := &torchTensor{}
	sd := func(tag string) *types.OrderedDict {
		d := types.NewOrderedDict()
		d.Set(tag, tensor)
		return d
	}
	dict := func(kv ...any) *types.Dict {
		d := types.NewDict()
		for i := 0; i < len(kv); i += 2 {
			d.Set(kv[i], kv[i+1])
		}
		return d
	}
	for _, tc := range []struct {
		name string
		root any
		want string // the single key of the chosen dict, or an error substring
	}{
		{"plain", sd("w"), "w"},
		{"all", dict("model_ema", sd("model_ema"), "state_dict_ema", sd("state_dict_ema"), "model", sd("model"), "state_dict", sd("state_dict"), "epoch", 3), "state_dict"},
		{"model", dict("model_ema", sd("model_ema"), "state_dict_ema", sd("state_dict_ema"), "model", sd("model")), "model"},
		{"ema", dict("model_ema", sd("model_ema"), "state_dict_ema", sd("state_dict_ema")), "state_dict_ema"},
		{"modelEma", dict("model_ema", sd("model_ema"), "optimizer", dict()), "model_ema"},
		{"plainDict", dict("x", tensor), "x"},
		{"modelIsTensor", dict("model", tensor), "model"},
		{"modelIsObject", dict("model", &opaqueObject{class: "timm.Net"}), "model"},
		{"lastWins", dict("state_dict", sd("first"), "state_dict", sd("second")), "second"},
		{"object", &opaqueObject{class: "timm.Net"}, "file holds a timm.Net object, not a state dict"},
		{"list", types.NewList(), "file holds a list"},
		{"none", nil, "file holds None"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, err := selectStateDict(tc.root)
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %v, want %q", err, tc.want)
				}
				return
			}
			if len(items) != 1 || items[0].key != tc.want {
				t.Errorf("chose %v, want the dict holding %q", items, tc.want)
			}
		})
	}
}

func TestModulePrefix(t *testing.T) {
	s := &storageRef{key: "0", class: &storageClass{"torch.FloatStorage", "F32"}, numel: 1, floats: []float32{1}}
	tensor := &torchTensor{storage: s, size: []int{1}, stride: []int{1}}
	for _, tc := range []struct {
		keys, want []string
	}{
		{[]string{"module.a", "module.b.c"}, []string{"a", "b.c"}},
		{[]string{"module.a", "b"}, []string{"b", "module.a"}},
		{[]string{"module.module.a"}, []string{"module.a"}},
		{[]string{"modules.a"}, []string{"modules.a"}},
		{nil, nil},
	} {
		var items []item
		for _, k := range tc.keys {
			items = append(items, item{k, tensor})
		}
		m, err := (&torchLoader{maxBytes: DefaultMaxBytes}).tensors(items)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for k := range m {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("keys %v -> %v, want %v", tc.keys, got, tc.want)
		}
	}
}

func TestGather(t *testing.T) {
	src := make([]float32, 24)
	for i := range src {
		src[i] = float32(i)
	}
	for _, tc := range []struct {
		offset       int
		size, stride []int
		want         []float32
	}{
		{0, []int{}, []int{}, []float32{0}},
		{5, []int{}, []int{}, []float32{5}},
		{0, []int{0, 3}, []int{3, 1}, []float32{}},
		{0, []int{2, 3, 4}, []int{12, 4, 1}, src},
		{0, []int{4, 3, 2}, []int{1, 4, 12}, []float32{0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23}},
		{1, []int{2, 1, 2}, []int{12, 7, 2}, []float32{1, 3, 13, 15}},
		{3, []int{3}, []int{0}, []float32{3, 3, 3}},
	} {
		got := make([]float32, len(tc.want))
		gather(got, src, tc.offset, tc.size, tc.stride)
		if !slices.Equal(got, tc.want) {
			t.Errorf("gather(offset %d, size %v, stride %v) = %v, want %v", tc.offset, tc.size, tc.stride, got, tc.want)
		}
	}
}

func TestReadFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "unrecognised format"},
		{"text", []byte("hello world"), "unrecognised format"},
		{"safetensorsLike", append(le[uint64](5), "{"...), "safetensors: truncated: header length 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(writeTemp(t, "x.bin", tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error %v, want a wrapped not-exist error", err)
	}
}

func FuzzReadSafetensors(f *testing.F) {
	f.Add(buildSafetensors(map[string]string{"format": "pt"},
		stTensor{"a", "F32", []int{2}, le[uint32](1, 2)},
		stTensor{"b", "F16", []int{1, 1}, le[uint16](0x3c00)},
		stTensor{"c", "I64", []int{}, le[uint64](7)},
	))
	f.Add(rawSafetensors(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(rawSafetensors(`{"__metadata__":{"k":"v"}}`, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseSafetensors(b)
		if err != nil {
			return
		}
		for k, v := range m {
			info, ok := dtypes[v.DType]
			if !ok {
				t.Fatalf("%q: dtype %q", k, v.DType)
			}
			n, err := numel(v.Shape, info.size)
			if err != nil || info.float != (v.Data != nil) || (info.float && len(v.Data) != n) {
				t.Fatalf("%q: %s %v with %d elements of data (nil %v)", k, v.DType, v.Shape, len(v.Data), v.Data == nil)
			}
		}
	})
}

func FuzzReadPyTorch(f *testing.F) {
	for _, file := range []string{"proto4.pth", "legacy.pth", "nontensor.pth"} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(oneTensor(f, "FloatStorage", 6, 1, []int64{2, 2}, []int64{1, 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic: %v", r)
			}
		}()
		m, err := parsePyTorch(b)
		if err != nil {
			return
		}
		for k, v := range m {
			info, ok := dtypes[v.DType]
			if !ok {
				t.Fatalf("%q: dtype %q", k, v.DType)
			}
			n, err := numel(v.Shape, info.size)
			if err != nil || info.float != (v.Data != nil) || (info.float && len(v.Data) != n) {
				t.Fatalf("%q: %s %v with %d elements of data", k, v.DType, v.Shape, len(v.Data))
			}
		}
	})
}

// FuzzPyTorchPickle fuzzes the pickle inside a zip checkpoint. Mutating a
// whole zip mostly trips the CRC of data.pkl; this rebuilds the archive
// around each input, with wrapped.pth's storage records beside it.
func FuzzPyTorchPickle(f *testing.F) {
	var records [][2]string
	for _, file := range []string{"wrapped.pth", "proto4.pth"} {
		zr, err := zip.OpenReader(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		for _, rec := range zr.File {
			rc, err := rec.Open()
			if err != nil {
				f.Fatal(err)
			}
			var b bytes.Buffer
			if _, err := b.ReadFrom(rc); err != nil {
				f.Fatal(err)
			}
			rc.Close()
			name := "archive/" + rec.Name[strings.Index(rec.Name, "/")+1:]
			if strings.HasSuffix(name, "/data.pkl") {
				f.Add(b.Bytes())
			} else if file == "wrapped.pth" {
				records = append(records, [2]string{name, b.String()})
			}
		}
		zr.Close()
	}
	f.Add(new(pk).op(0x80, 2, '}').str("w").tensor("FloatStorage", "0", 20, 1, []int64{2, 2}, []int64{1, 3}).op('s', '.').Bytes())
	f.Fuzz(func(t *testing.T, pkl []byte) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic: %v", r)
			}
		}()
		m, err := parsePyTorch(zipFile(t, append([][2]string{{"archive/data.pkl", string(pkl)}}, records...)...))
		if err != nil {
			return
		}
		for k, v := range m {
			info, ok := dtypes[v.DType]
			if !ok {
				t.Fatalf("%q: dtype %q", k, v.DType)
			}
			n, err := numel(v.Shape, info.size)
			if err != nil || info.float != (v.Data != nil) || (info.float && len(v.Data) != n) {
				t.Fatalf("%q: %s %v with %d elements of data", k, v.DType, v.Shape, len(v.Data))
			}
		}
	})
}
