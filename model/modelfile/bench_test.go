package modelfile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOpen opens a 16 MiB file: mapped (Open), from memory (Parse) and
// read into memory (the fallback Open uses where it cannot map). The time is
// dominated by the two checksums over every byte.
func BenchmarkOpen(b *testing.B) {
	var ts []Tensor
	for i := range 16 {
		ts = append(ts, rawTensor(fmt.Sprintf("blocks.%d.weight", i), F32, []int{256, 1024}, byte(i)))
	}
	path := filepath.Join(b.TempDir(), "bench.coatnet")
	if err := WriteFile(path, map[string]string{"arch": "bench"}, ts); err != nil {
		b.Fatal(err)
	}
	img, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=mmap", func(b *testing.B) {
		b.SetBytes(int64(len(img)))
		for b.Loop() {
			f, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("impl=parse", func(b *testing.B) {
		b.SetBytes(int64(len(img)))
		for b.Loop() {
			if _, err := Parse(img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=read", func(b *testing.B) {
		b.SetBytes(int64(len(img)))
		for b.Loop() {
			fd, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			buf, err := readImage(fd, int64(len(img)))
			fd.Close()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Parse(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
