package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/ckptbomb"
)

// allocated is the number of bytes the process allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestSafetensorsOverlapBomb: thousands of tensors over the same bytes are
// refused from the header, before anything is decoded. Each would otherwise
// decode the shared bytes again: here 4000 x 32 KiB.
func TestSafetensorsOverlapBomb(t *testing.T) {
	const tensors, numel = 4000, 8192
	var hdr strings.Builder
	hdr.WriteString("{")
	for i := range tensors {
		if i > 0 {
			hdr.WriteString(",")
		}
		fmt.Fprintf(&hdr, `"w%d":{"dtype":"F32","shape":[%d],"data_offsets":[0,%d]}`, i, numel, 4*numel)
	}
	hdr.WriteString("}")
	p := writeTemp(t, "bomb.safetensors", rawSafetensors(hdr.String(), make([]byte, 4*numel)))
	var err error
	n := allocated(func() { _, err = Read(p) })
	if err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("error %v, want an overlap", err)
	}
	if n > 32<<20 {
		t.Errorf("allocated %d MiB reading a %d KiB file", n>>20, (hdr.Len()+4*numel)>>10)
	}
}

// TestReadLimit: a checkpoint decoding to more float32 data than the limit
// is refused before its storages are inflated, whatever the compression
// ratio; one that fits is read.
func TestReadLimit(t *testing.T) {
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.pth")
	f, err := os.Create(bomb)
	if err != nil {
		t.Fatal(err)
	}
	if err := ckptbomb.PyTorchZip(f, 4<<20); err != nil { // 8 MiB inflated, 16 MiB as float32
		t.Fatal(err)
	}
	f.Close()
	if st, err := os.Stat(bomb); err != nil || st.Size() > 1<<20 {
		t.Fatalf("bomb: %v, %v", st, err)
	}
	n := allocated(func() { _, err = ReadLimit(bomb, 1<<20) })
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), bomb) || !strings.Contains(err.Error(), "1048576-byte limit") {
		t.Errorf("error %v, want ErrTooLarge naming the file and the limit", err)
	}
	if n > 4<<20 {
		t.Errorf("allocated %d KiB before refusing", n>>10)
	}
	m, err := ReadLimit(bomb, 16<<20)
	if err != nil || len(m["w"].Data) != 4<<20 {
		t.Errorf("at the limit: %d elements, error %v", len(m["w"].Data), err)
	}

	// Views copied out of a storage count too.
	views := filepath.Join(dir, "views.pth")
	p := new(pk).op(0x80, 2, '}')
	for i := range 3 {
		p.str(fmt.Sprint("w", i)).tensor("FloatStorage", "0", 6, 0, []int64{6}, []int64{1}).op('s')
	}
	os.WriteFile(views, zipFile(t, [2]string{"archive/data.pkl", p.op('.').String()}, [2]string{"archive/data/0", sixFloats}), 0o644)
	if _, err := ReadLimit(views, 3*24); err != nil {
		t.Errorf("3 views of 24 bytes under a 72-byte limit: %v", err)
	}
	if _, err := ReadLimit(views, 3*24-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("3 views of 24 bytes under a 71-byte limit: %v, want ErrTooLarge", err)
	}

	// Safetensors: the header says it all, so nothing is decoded.
	st := writeTemp(t, "m.safetensors", buildSafetensors(nil,
		stTensor{"a", "F16", []int{4}, make([]byte, 8)},
		stTensor{"b", "I64", []int{4}, make([]byte, 32)},
		stTensor{"c", "BF16", []int{2}, make([]byte, 4)},
	))
	if _, err := ReadLimit(st, 24); err != nil {
		t.Errorf("safetensors of 24 float32 bytes, limit 24: %v", err)
	}
	if _, err := ReadLimit(st, 23); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "24 bytes as float32") {
		t.Errorf("safetensors of 24 float32 bytes, limit 23: %v, want ErrTooLarge", err)
	}
}
