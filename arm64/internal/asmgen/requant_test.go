package asmgen

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
)

// Every instruction's encoding decodes to its GNU syntax (arm64asm's
// spelling differs only in case and spaces). words_test.go in package arm64
// checks the generated files the same way and with GNU objdump.
func TestEncodings(t *testing.T) {
	var is []Ins
	for _, r := range [][3]int{{0, 1, 2}, {31, 30, 29}, {16, 4, 15}} {
		d, n, m := r[0], r[1], r[2]
		is = append(is, Sqshl(d, n, m), Sqrdmulh(d, n, m), Srshl(d, n, m), Sqadd(d, n, m), SqaddH(d, n, m), Smax(d, n, m),
			Neg(d, n), SqxtnH(d, n), Sqxtn2H(d, n), SqxtnB(d, n), Sqxtn2B(d, n))
	}
	norm := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "")) }
	for _, in := range is {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], in.Enc)
		got, err := arm64asm.Decode(b[:])
		if err != nil {
			t.Errorf("%s: %#08x does not decode: %v", in.GNU, in.Enc, err)
			continue
		}
		if norm(got.String()) != norm(in.GNU) {
			t.Errorf("%#08x is %q, not %q", in.Enc, got, in.GNU)
		}
	}
}

func gnu(is []Ins) []string {
	var out []string
	for _, in := range is {
		out = append(out, in.GNU)
	}
	return out
}

func TestOrders(t *testing.T) {
	lanes := []Lane{{Acc: 1, Mult: 5, RShift: 6, LShift: 7, ZP: 8}, {Acc: 2, Mult: 5, RShift: 6, LShift: 7, ZP: NoZP}}
	for _, c := range []struct {
		order Order
		want  []string
	}{
		{ByStep, []string{
			"sqrdmulh v1.4s, v1.4s, v5.4s", "sqrdmulh v2.4s, v2.4s, v5.4s",
			"srshl v1.4s, v1.4s, v6.4s", "srshl v2.4s, v2.4s, v6.4s",
			"sqadd v1.4s, v1.4s, v8.4s"}},
		{ByLane, []string{
			"sqrdmulh v1.4s, v1.4s, v5.4s", "srshl v1.4s, v1.4s, v6.4s", "sqadd v1.4s, v1.4s, v8.4s",
			"sqrdmulh v2.4s, v2.4s, v5.4s", "srshl v2.4s, v2.4s, v6.4s"}},
	} {
		if got := gnu(Scale(lanes, c.order)); !slices.Equal(got, c.want) {
			t.Errorf("Scale order %d:\n got %q\nwant %q", c.order, got, c.want)
		}
	}
	got := gnu(Requant16(Quarters(20, Regs(0), Bcast(4), Regs(8), Bcast(9)), 30, true))
	want := []string{
		"sqshl v20.4s, v20.4s, v8.4s", "sqshl v21.4s, v21.4s, v9.4s", "sqshl v22.4s, v22.4s, v10.4s", "sqshl v23.4s, v23.4s, v11.4s",
		"sqrdmulh v20.4s, v20.4s, v0.4s", "sqrdmulh v21.4s, v21.4s, v1.4s", "sqrdmulh v22.4s, v22.4s, v2.4s", "sqrdmulh v23.4s, v23.4s, v3.4s",
		"srshl v20.4s, v20.4s, v4.4s", "srshl v21.4s, v21.4s, v4.4s", "srshl v22.4s, v22.4s, v4.4s", "srshl v23.4s, v23.4s, v4.4s",
		"sqadd v20.4s, v20.4s, v9.4s", "sqadd v21.4s, v21.4s, v9.4s", "sqadd v22.4s, v22.4s, v9.4s", "sqadd v23.4s, v23.4s, v9.4s",
		"sqxtn v30.4h, v20.4s", "sqxtn2 v30.8h, v21.4s", "sqxtn v31.4h, v22.4s", "sqxtn2 v31.8h, v23.4s",
		"sqxtn v30.8b, v30.8h", "sqxtn2 v30.16b, v31.8h",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Requant16:\n got %q\nwant %q", got, want)
	}
	if got, want := gnu(append(LeftShift(3, 2, 5), RightShift(2, 2, 5)...)), []string{
		"neg v3.4s, v2.4s", "smax v3.4s, v3.4s, v5.4s", "smax v2.4s, v2.4s, v5.4s", "neg v2.4s, v2.4s",
	}; !slices.Equal(got, want) {
		t.Errorf("shift amounts: got %q, want %q", got, want)
	}
}

// Narrow16ZP's reordering gives the bytes of Scale's SQADD and Narrow16:
// sat8(sat16(sat16(a) + zp)) = sat8(sat16(sat32(a + zp))) for zero points
// up to 32640 in magnitude and a spread of int32 values around each
// saturation edge, and differs just beyond.
func TestNarrow16ZPIdentity(t *testing.T) {
	sat := func(v, lo, hi int64) int64 { return min(max(v, lo), hi) }
	s16 := func(v int64) int64 { return sat(v, -1<<15, 1<<15-1) }
	s8 := func(v int64) int64 { return sat(v, -128, 127) }
	s32 := func(v int64) int64 { return sat(v, -1<<31, 1<<31-1) }
	var as []int64
	for _, edge := range []int64{0, 127, 128, 1<<15 - 1, 1 << 15, 1<<31 - 1} {
		for d := int64(-300); d <= 300; d++ {
			for _, a := range []int64{edge + d, -edge + d} {
				if a >= -1<<31 && a < 1<<31 {
					as = append(as, a)
				}
			}
		}
	}
	var zps []int64
	for zp := int64(-300); zp <= 300; zp++ {
		zps = append(zps, zp, 32640-zp, zp-32640)
	}
	for _, zp := range zps {
		if zp < -32640 || zp > 32640 {
			continue
		}
		for _, a := range as {
			if got, want := s8(s16(s16(a)+zp)), s8(s16(s32(a+zp))); got != want {
				t.Fatalf("a %d zp %d: %d, want %d", a, zp, got, want)
			}
		}
	}
	if a, zp := int64(-32769), int64(32641); s8(s16(s16(a)+zp)) == s8(s16(s32(a+zp))) {
		t.Errorf("a %d zp %d: the bound 32640 is not tight", a, zp)
	}
	got := gnu(Narrow16ZP(14, 20, 13))
	want := []string{
		"sqxtn v14.4h, v20.4s", "sqxtn2 v14.8h, v21.4s", "sqxtn v15.4h, v22.4s", "sqxtn2 v15.8h, v23.4s",
		"sqadd v14.8h, v14.8h, v13.8h", "sqadd v15.8h, v15.8h, v13.8h",
		"sqxtn v14.8b, v14.8h", "sqxtn2 v14.16b, v15.8h",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Narrow16ZP:\n got %q\nwant %q", got, want)
	}
}
