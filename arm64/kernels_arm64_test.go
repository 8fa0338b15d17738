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
// context struct, and every field has one. A #define names its field in
// lower camel case (add_zeroA is AddCtx.ZeroA).
func TestKernelCtxOffsets(t *testing.T) {
	for _, k := range []struct {
		file, prefix string
		typ          reflect.Type
	}{
		{"depthwise_arm64.s", "dw_", reflect.TypeFor[DepthwiseCtx]()},
		{"depthwise_sdot_arm64.s", "dw_", reflect.TypeFor[DepthwiseCtx]()},
		{"add_arm64.s", "add_", reflect.TypeFor[AddCtx]()},
		{"affine_arm64.s", "af_", reflect.TypeFor[AffineCtx]()},
		{"mean_arm64.s", "mn_", reflect.TypeFor[MeanCtx]()},
		{"pool_arm64.s", "pl_", reflect.TypeFor[PoolCtx]()},
		{"im2col_arm64.s", "ic_", reflect.TypeFor[Im2colCtx]()},
		{"pack_arm64.s", "pk_", reflect.TypeFor[PackCtx]()},
		{"softmax_arm64.s", "sm_", reflect.TypeFor[SoftmaxCtx]()},
		{"layernorm_arm64.s", "ln_", reflect.TypeFor[LayerNormCtx]()},
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
			sf, ok := fieldOf(k.typ, name)
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

// fieldOf is typ's field called name, ignoring case: the .s files spell
// the exported fields in lower camel case.
func fieldOf(typ reflect.Type, name string) (reflect.StructField, bool) {
	return typ.FieldByNameFunc(func(f string) bool { return strings.EqualFold(f, name) })
}
