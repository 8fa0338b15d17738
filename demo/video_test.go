//go:build !nogocv

package demo

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"gocv.io/x/gocv"
)

// testSet is Debian's Fashion-MNIST test split, or a skip without it.
func testSet(t *testing.T) *dataset.Set {
	t.Helper()
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		t.Skip("dataset-fashion-mnist is not installed")
	}
	s, err := dataset.FashionMNIST(dataset.FashionMNISTDir, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkVideo reads v back as the camera opens files and compares every
// pixel of every channel, and the labels, with the first count images.
func checkVideo(t *testing.T, v Video, set *dataset.Set, count int) {
	t.Helper()
	if want := set.Labels[:count]; !reflect.DeepEqual(v.Labels, want) {
		t.Fatalf("Labels = %v, want %v", v.Labels, want)
	}
	if side, err := LoadLabels(v.Path + LabelsSuffix); err != nil || !reflect.DeepEqual(side, v.Labels) {
		t.Fatalf("sidecar: %v, %v", side, err)
	}
	if v.FPS != FPS {
		t.Errorf("FPS = %v, want %v", v.FPS, FPS)
	}
	vc, err := gocv.OpenVideoCaptureWithAPI(v.Path, gocv.VideoCaptureAny)
	if err != nil || !vc.IsOpened() {
		t.Fatalf("open %s: %v", v.Path, err)
	}
	defer vc.Close()
	if fps := vc.Get(gocv.VideoCaptureFPS); fps != FPS {
		t.Errorf("the file says %v fps, want %v", fps, FPS)
	}
	m := gocv.NewMat()
	defer m.Close()
	n := 0
	for ; vc.Read(&m) && !m.Empty(); n++ {
		if n >= count {
			continue
		}
		if m.Rows() != set.Height || m.Cols() != set.Width || m.Type() != gocv.MatTypeCV8UC3 {
			t.Fatalf("frame %d is %dx%d type %v, want %dx%d BGR", n, m.Cols(), m.Rows(), m.Type(), set.Width, set.Height)
		}
		got, want := m.ToBytes(), set.Image(n).Pix
		for p, g := range want {
			if b := got[3*p : 3*p+3]; b[0] != g || b[1] != g || b[2] != g {
				t.Fatalf("frame %d pixel (%d,%d): BGR %v, dataset %d", n, p%set.Width, p/set.Width, b, g)
			}
		}
	}
	if n != count {
		t.Fatalf("read %d frames back, want %d", n, count)
	}
}

// onlyFiles fails if dir holds anything but the video and its labels: an
// orphaned temporary file, say.
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, names) {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}

func TestEnsureVideoPixelsExact(t *testing.T) {
	set := testSet(t)
	for _, name := range []string{"demo.mkv", "demo.avi"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			v, err := EnsureVideo(path, "", 50)
			if err != nil {
				t.Fatal(err)
			}
			if v.Path != path {
				t.Errorf("Path = %s, want %s", v.Path, path)
			}
			checkVideo(t, v, set, 50)
			onlyFiles(t, dir, name, name+LabelsSuffix)
		})
	}
}

var past = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// age sets the files' modification times to past, so that a rewrite shows.
func age(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}
}

func modified(t *testing.T, p string) bool {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return !st.ModTime().Equal(past)
}

func TestEnsureVideoReuses(t *testing.T) {
	set := testSet(t)
	path := filepath.Join(t.TempDir(), DefaultName)
	if _, err := EnsureVideo(path, dataset.FashionMNISTDir, 20); err != nil {
		t.Fatal(err)
	}
	age(t, path, path+LabelsSuffix)
	v, err := EnsureVideo(path, dataset.FashionMNISTDir, 20)
	if err != nil {
		t.Fatal(err)
	}
	if modified(t, path) || modified(t, path+LabelsSuffix) {
		t.Error("a second call with the same count rewrote the video")
	}
	checkVideo(t, v, set, 20)
}

func TestEnsureVideoRemakes(t *testing.T) {
	set := testSet(t)
	const count = 20
	for _, c := range []struct {
		name   string
		count  int
		damage func(t *testing.T, path string)
	}{
		{"more frames", count + 10, nil},
		{"fewer frames", count - 10, nil},
		{"labels cut at a line", count, func(t *testing.T, path string) {
			cut(t, path+LabelsSuffix, func(b []byte) []byte { return b[:len(b)-2] })
		}},
		{"labels cut in a line", count, func(t *testing.T, path string) {
			cut(t, path+LabelsSuffix, func(b []byte) []byte { return b[:len(b)-1] })
		}},
		{"labels garbage", count, func(t *testing.T, path string) {
			cut(t, path+LabelsSuffix, func(b []byte) []byte { return []byte(strings.Repeat("x\n", count)) })
		}},
		{"labels gone", count, func(t *testing.T, path string) {
			os.Remove(path + LabelsSuffix)
		}},
		{"video cut in half", count, func(t *testing.T, path string) {
			cut(t, path, func(b []byte) []byte { return b[:len(b)/2] })
		}},
		{"video empty", count, func(t *testing.T, path string) {
			cut(t, path, func(b []byte) []byte { return nil })
		}},
		{"video gone", count, func(t *testing.T, path string) {
			os.Remove(path)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "demo.mkv")
			if _, err := EnsureVideo(path, "", count); err != nil {
				t.Fatal(err)
			}
			if c.damage != nil {
				c.damage(t, path)
			}
			for _, p := range []string{path, path + LabelsSuffix} {
				if _, err := os.Stat(p); err == nil {
					age(t, p)
				}
			}
			v, err := EnsureVideo(path, "", c.count)
			if err != nil {
				t.Fatal(err)
			}
			if !modified(t, path) || !modified(t, path+LabelsSuffix) {
				t.Error("the video was not remade")
			}
			checkVideo(t, v, set, c.count)
			onlyFiles(t, dir, "demo.mkv", "demo.mkv"+LabelsSuffix)
		})
	}
}

// cut rewrites a file with change applied to its contents.
func cut(t *testing.T, path string, change func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, change(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureVideoDatasetProblems(t *testing.T) {
	testSet(t)
	dir := t.TempDir()
	_, err := EnsureVideo(filepath.Join(dir, "demo.mkv"), filepath.Join(dir, "none"), 10)
	if err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("no dataset: %v, want the package to install", err)
	}
	_, err = EnsureVideo(filepath.Join(dir, "demo.mkv"), t.TempDir(), 10)
	if err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") || !strings.Contains(err.Error(), "t10k-images") {
		t.Errorf("empty dataset folder: %v, want the file and the package named", err)
	}
	_, err = EnsureVideo(filepath.Join(dir, "demo.mkv"), "", 10001)
	if err == nil || !strings.Contains(err.Error(), "10000 test images") {
		t.Errorf("10001 frames: %v", err)
	}
	onlyFiles(t, dir)
}

func TestEnsureVideoUnwritable(t *testing.T) {
	testSet(t)
	_, err := EnsureVideo(filepath.Join(t.TempDir(), "no", "such", "dir", "demo.mkv"), "", 10)
	if err == nil || !strings.Contains(err.Error(), "demo video") {
		t.Errorf("missing folder: %v", err)
	}
}
