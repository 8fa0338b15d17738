package kerneltest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing, so
// that a test can see the checks fail.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) {
	r.errs = append(r.errs, fmt.Sprint(args...))
	panic(r)
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(r)
}

// failures runs check with a recorder and returns what it reported.
func failures(t *testing.T, check func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		check(r)
	}()
	return r.errs
}

type testCtx struct {
	Src   *int8
	N     int
	Lanes [8]int32
	Pairs [2]int64
}

type narrowCtx struct {
	Src *int8
	N   int32
}

func TestCheckOffsets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.s", "#define tc_src 0\n#define tc_n 8\n#define tc_lanes 16\n#define tc_pairs 48\n#define other_x 3\n")
	typ := reflect.TypeFor[testCtx]()
	for _, c := range []struct {
		name string
		ctx  Ctx
		want []string // substrings of the failures, in order
	}{
		{"good", Ctx{File: good, Prefix: "tc_", Type: typ}, nil},
		{"wrong offset", Ctx{File: write("off.s", "#define tc_src 0\n#define tc_n 16\n#define tc_lanes 16\n#define tc_pairs 48\n"), Prefix: "tc_", Type: typ},
			[]string{"testCtx.N is at 8, " + dir + "/off.s says 16"}},
		{"missing", Ctx{File: write("miss.s", "#define tc_src 0\n#define tc_lanes 16\n#define tc_pairs 48\n"), Prefix: "tc_", Type: typ},
			[]string{"has no offset for kerneltest.testCtx.N"}},
		{"unknown", Ctx{File: write("unk.s", "#define tc_src 0\n#define tc_n 8\n#define tc_lanes 16\n#define tc_pairs 48\n#define tc_m 56\n"), Prefix: "tc_", Type: typ},
			[]string{"kerneltest.testCtx has no field m"}},
		{"not a number", Ctx{File: write("nan.s", "#define tc_src zero\n"), Prefix: "tc_", Type: typ},
			[]string{"tc_src: strconv.Atoi"}},
		{"vector", Ctx{File: good, Prefix: "tc_", Type: typ, Vector: reflect.TypeFor[[8]int32]()},
			[]string{"testCtx.Pairs is a 16-byte [2]int64, the kernel loads 8 bytes or a [8]int32"}},
		{"narrow", Ctx{File: write("narrow.s", "#define nc_src 0\n#define nc_n 8\n"), Prefix: "nc_", Type: reflect.TypeFor[narrowCtx]()},
			[]string{"narrowCtx.N is a 4-byte int32"}},
		{"no file", Ctx{File: filepath.Join(dir, "none.s"), Prefix: "tc_", Type: typ}, []string{"no such file"}},
	} {
		got := failures(t, func(tb testing.TB) { CheckOffsets(tb, c.ctx) })
		if len(got) != len(c.want) {
			t.Errorf("%s: failures %q, want %d", c.name, got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: failure %q does not say %q", c.name, got[i], w)
			}
		}
	}
}

func TestEncodings(t *testing.T) {
	t.Chdir(t.TempDir())
	src := "\tWORD $0x4E829420 // SDOT V0.4S, V1.16B, V2.16B\n\tADD R1, R2\n\tWORD $0x1234\n"
	if err := os.WriteFile("a.s", []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\s*WORD\s+\$0x([0-9A-F]{8})\s*//\s*(\S.*?)\s*$`)
	var got []Encoded
	errs := failures(t, func(tb testing.TB) { got = Encodings(tb, "WORD", re, "WORD $0x%08X // MNEMONIC") })
	if len(got) != 1 || got[0].Pos != "a.s:1" || got[0].Match[1] != "4E829420" || got[0].Match[2] != "SDOT V0.4S, V1.16B, V2.16B" {
		t.Errorf("Encodings = %q", got)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "a.s:3: WORD without the form WORD $0x%08X // MNEMONIC") {
		t.Errorf("failures %q", errs)
	}
}

func TestCheckGenerated(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.s"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := failures(t, func(tb testing.TB) { CheckGenerated(tb, dir, map[string][]byte{"a.s": []byte("old")}, "regenerate") }); len(errs) != 0 {
		t.Errorf("up to date: failures %q", errs)
	}
	errs := failures(t, func(tb testing.TB) { CheckGenerated(tb, dir, map[string][]byte{"a.s": []byte("new")}, "regenerate") })
	if len(errs) != 1 || errs[0] != "a.s is stale: regenerate" {
		t.Errorf("stale: failures %q", errs)
	}
	if errs := failures(t, func(tb testing.TB) { CheckGenerated(tb, dir, map[string][]byte{"b.s": nil}, "regenerate") }); len(errs) != 1 {
		t.Errorf("missing: failures %q", errs)
	}
}
