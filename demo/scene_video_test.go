//go:build !nogocv

package demo

import (
	"bytes"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"
)

// readBack decodes every frame of path as the camera opens files.
func readBack(t *testing.T, path string, each func(i int, bgr []byte, w, h int)) (frames int, fps float64) {
	t.Helper()
	vc, err := gocv.OpenVideoCaptureWithAPI(path, gocv.VideoCaptureAny)
	if err != nil || !vc.IsOpened() {
		t.Fatalf("open %s: %v", path, err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	for ; vc.Read(&m) && !m.Empty(); frames++ {
		if m.Type() != gocv.MatTypeCV8UC3 {
			t.Fatalf("frame %d has type %v, want BGR", frames, m.Type())
		}
		each(frames, m.ToBytes(), m.Cols(), m.Rows())
	}
	return frames, vc.Get(gocv.VideoCaptureFPS)
}

// TestWriteScene: an FFV1 scene reads back frame for frame as rendered (so
// each region changes where its truth says); an MJPG one has every frame,
// near the rendered pixels.
func TestWriteScene(t *testing.T) {
	set := sceneSet(t)
	for _, c := range []struct {
		codec, name string
		maxMean     float64 // mean absolute difference per byte
	}{
		{CodecFFV1, "scene.mkv", 0},
		{CodecMJPG, "scene.avi", 8},
	} {
		t.Run(c.codec, func(t *testing.T) {
			sc := twoRegions(60)
			sc.Codec = c.codec
			r, err := NewSceneRenderer(sc, set)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			v, err := r.Write(filepath.Join(dir, c.name))
			if err != nil {
				t.Fatal(err)
			}
			if v.Frames != 60 || v.FPS != SceneFPS || v.Codec != c.codec || v.Width != 160 || len(v.Regions) != 2 ||
				len(v.Regions[0].Changes) != 3 || v.Regions[0].Changes[2].Frame != 40 {
				t.Fatalf("SceneVideo = %+v", v)
			}
			onlyFiles(t, dir, c.name)
			frames, fps := readBack(t, v.Path, func(i int, got []byte, w, h int) {
				if w != 160 || h != 120 {
					t.Fatalf("frame %d is %dx%d", i, w, h)
				}
				want := r.Render(i)
				if c.maxMean == 0 {
					if !bytes.Equal(got, want) {
						t.Fatalf("frame %d differs from the rendered one", i)
					}
					return
				}
				sum := 0
				for p := range want {
					sum += abs(int(got[p]) - int(want[p]))
				}
				if mean := float64(sum) / float64(len(want)); mean > c.maxMean {
					t.Fatalf("frame %d: mean difference %.1f", i, mean)
				}
			})
			if frames != 60 || fps != SceneFPS {
				t.Fatalf("read %d frames at %v fps, want 60 at %v", frames, fps, SceneFPS)
			}
		})
	}
}

func TestWriteSceneUnwritable(t *testing.T) {
	sceneSet(t)
	if _, err := WriteScene(filepath.Join(t.TempDir(), "no", "scene.mkv"), twoRegions(5), ""); err == nil {
		t.Error("wrote into a missing folder")
	}
}
