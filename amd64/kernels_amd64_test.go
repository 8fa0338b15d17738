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

// The #define offsets of every kernel file are those of its Go context
// struct, and every field has one. A #define names its field in lower
// camel case (dw_bMult is DepthwiseCtx.BMult).
func TestConvCtxOffsets(t *testing.T) {
	for _, k := range []struct {
		file, prefix string
		typ          reflect.Type
	}{
		{"depthwise_amd64.s", "dw_", reflect.TypeFor[DepthwiseCtx]()},
		{"pool_amd64.s", "pl_", reflect.TypeFor[PoolCtx]()},
		{"mean_amd64.s", "mn_", reflect.TypeFor[MeanCtx]()},
		{"im2col_amd64.s", "ic_", reflect.TypeFor[Im2colCtx]()},
		{"pack_amd64.s", "pk_", reflect.TypeFor[PackCtx]()},
		{"pack_amd64.s", "pt_", reflect.TypeFor[PackTCtx]()},
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
