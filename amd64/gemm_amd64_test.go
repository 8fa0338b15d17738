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

// The #define ctx_* offsets of gemm_amd64.s are those of GemmCtx.
func TestGemmCtxOffsets(t *testing.T) {
	f, err := os.Open("gemm_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	typ := reflect.TypeFor[GemmCtx]()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || fields[0] != "#define" || !strings.HasPrefix(fields[1], "ctx_") {
			continue
		}
		name := strings.TrimPrefix(fields[1], "ctx_")
		off, err := strconv.Atoi(fields[2])
		if err != nil {
			t.Fatalf("%s: %v", fields[1], err)
		}
		sf, ok := typ.FieldByNameFunc(func(f string) bool { return strings.EqualFold(f, name) })
		if !ok {
			t.Errorf("GemmCtx has no field %s", name)
			continue
		}
		if int(sf.Offset) != off {
			t.Errorf("GemmCtx.%s is at %d, gemm_amd64.s says %d", name, sf.Offset, off)
		}
		if sf.Type.Size() != 8 && sf.Type.Kind() != reflect.Array {
			t.Errorf("GemmCtx.%s is %d bytes, the kernels load 8", name, sf.Type.Size())
		}
		seen[sf.Name] = true
	}
	for i := range typ.NumField() {
		if name := typ.Field(i).Name; !seen[name] {
			t.Errorf("gemm_amd64.s has no offset for GemmCtx.%s", name)
		}
	}
}
