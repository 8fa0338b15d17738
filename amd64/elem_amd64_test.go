//go:build !purego

package amd64

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The #define offsets of every element-wise kernel file are those of its
// Go context struct, and every field has one. A #define names its field in
// lower camel case (add_zeroA is AddCtx.ZeroA).
func TestElemCtxOffsets(t *testing.T) {
	for _, k := range []struct {
		file, prefix string
		typ          reflect.Type
	}{
		{"add_amd64.s", "add_", reflect.TypeFor[AddCtx]()},
		{"affine_amd64.s", "af_", reflect.TypeFor[AffineCtx]()},
		{"layernorm_amd64.s", "ln_", reflect.TypeFor[LayerNormCtx]()},
		{"softmax_amd64.s", "sm_", reflect.TypeFor[SoftmaxCtx]()},
	} {
		f, err := os.Open(k.file)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 3 || fields[0] != "#define" || !strings.HasPrefix(fields[1], k.prefix) {
				continue
			}
			name := strings.TrimPrefix(fields[1], k.prefix)
			off, err := strconv.Atoi(fields[2])
			if err != nil {
				t.Fatalf("%s: %s: %v", k.file, fields[1], err)
			}
			sf, ok := k.typ.FieldByNameFunc(func(f string) bool { return strings.EqualFold(f, name) })
			if !ok {
				t.Errorf("%s has no field %s", k.typ, name)
				continue
			}
			if int(sf.Offset) != off {
				t.Errorf("%s.%s is at %d, %s says %d", k.typ, name, sf.Offset, k.file, off)
			}
			if sf.Type.Size() != 8 && sf.Type != reflect.TypeFor[[8]int32]() {
				t.Errorf("%s.%s is %d bytes, the kernel loads 8 (or 8 int32 lanes)", k.typ, name, sf.Type.Size())
			}
			seen[sf.Name] = true
		}
		f.Close()
		for i := range k.typ.NumField() {
			if name := k.typ.Field(i).Name; !seen[name] {
				t.Errorf("%s has no offset for %s.%s", k.file, k.typ, name)
			}
		}
	}
}
