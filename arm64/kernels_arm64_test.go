//go:build !purego

package arm64

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The #define offsets of every generated kernel file are those of its Go
// context struct, and every field has one.
func TestKernelCtxOffsets(t *testing.T) {
	for _, k := range []struct {
		file, prefix string
		typ          reflect.Type
	}{
		{"depthwise_arm64.s", "dw_", reflect.TypeFor[dwCtx]()},
		{"add_arm64.s", "add_", reflect.TypeFor[addCtx]()},
		{"affine_arm64.s", "af_", reflect.TypeFor[affineCtx]()},
		{"mean_arm64.s", "mn_", reflect.TypeFor[meanCtx]()},
		{"pool_arm64.s", "pl_", reflect.TypeFor[poolCtx]()},
		{"im2col_arm64.s", "ic_", reflect.TypeFor[im2colCtx]()},
		{"pack_arm64.s", "pk_", reflect.TypeFor[packCtx]()},
		{"softmax_arm64.s", "sm_", reflect.TypeFor[smCtx]()},
		{"layernorm_arm64.s", "ln_", reflect.TypeFor[lnCtx]()},
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
			sf, ok := k.typ.FieldByName(name)
			if !ok {
				t.Errorf("%s has no field %s", k.typ, name)
				continue
			}
			if int(sf.Offset) != off {
				t.Errorf("%s.%s is at %d, %s says %d", k.typ, name, sf.Offset, k.file, off)
			}
			if sf.Type.Size() != 8 && sf.Type.Kind() != reflect.Array {
				t.Errorf("%s.%s is %d bytes, the kernel loads 8", k.typ, name, sf.Type.Size())
			}
			seen[name] = true
		}
		f.Close()
		for i := range k.typ.NumField() {
			if name := k.typ.Field(i).Name; !seen[name] {
				t.Errorf("%s has no offset for %s.%s", k.file, k.typ, name)
			}
		}
	}
}
