//go:build linux

package kernels

import (
	"math/rand/v2"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// guardedBytes returns n bytes that end exactly where an inaccessible page
// begins (atEnd) or start exactly where one ends, so that a kernel reading
// one byte outside them faults.
func guardedBytes(t *testing.T, n int, atEnd bool) []int8 {
	t.Helper()
	page := os.Getpagesize()
	size := (n + page - 1) / page * page
	mem, err := unix.Mmap(-1, 0, size+2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	if err := unix.Mprotect(mem[:page], unix.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	if err := unix.Mprotect(mem[page+size:], unix.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	b := bytesAsInt8(mem[page : page+size])
	if atEnd {
		return b[size-n:]
	}
	return b[:n:n]
}

func bytesAsInt8(b []byte) []int8 { return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b)) }

// Nothing before or after src is read: src lies against inaccessible
// pages, for shapes whose K tail and last rows need the scratch copies.
func TestGemmReadsOnlySrc(t *testing.T) {
	forEachGemm(t, func(t *testing.T, impl string) {
		rng := rand.New(rand.NewPCG(20, 21))
		calls := countGemmCalls(t)
		for _, rows := range []int{1, 2, 3, 4, 5, 9} {
			for _, k := range []int{1, 3, 15, 16, 17, 33, 47, 196} {
				for _, pad := range []int{0, 1, 5} {
					for _, atEnd := range []bool{true, false} {
						m := 1 + rng.IntN(40)
						ld := k + pad
						src := guardedBytes(t, (rows-1)*ld+k, atEnd)
						randInt8s(rng, src)
						w := make([]int8, m*k)
						randWeights(rng, w)
						pw := PackWeights(w, m, k)
						dst := make([]int32, rows*m)
						GemmInt32(dst, m, src, ld, rows, pw)
						for r := range rows {
							for c := range m {
								if want := naiveGemmAcc(src, ld, w, k, nil, r, c); int64(dst[r*m+c]) != want {
									t.Fatalf("rows=%d k=%d ld=%d: [%d][%d] = %d, want %d", rows, k, ld, r, c, dst[r*m+c], want)
								}
							}
						}
						rq := randRequant(rng, m, false, 1e3)
						d8 := make([]int8, rows*m)
						GemmRequant(d8, m, src, ld, rows, pw, nil, rq)
					}
				}
			}
		}
		checkReachedKernel(t, calls, "guarded src", true)
	})
}
