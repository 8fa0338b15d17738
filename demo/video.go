//go:build !nogocv

package demo

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"gocv.io/x/gocv"
)

// fourcc is FFV1, FFmpeg's lossless intra-frame codec: with OpenCV 4.6's
// FFmpeg backend (Debian 12) it gives back exactly the pixels written, in
// .mkv and .avi, and decodes anywhere FFmpeg or GStreamer's libav does.
// MJPG changes pixels by up to 116 levels, FFVH by up to 5 (tested).
const fourcc = "FFV1"

// EnsureVideo returns the demo video at path, making it first unless it
// is already there with ground truth for count frames (count 0 is
// DefaultCount). Frame i is Fashion-MNIST test image i from datasetDir
// (empty: Debian's location), grey written as BGR, stored losslessly at
// FPS, so classifying the frames read back is classifying the test set.
// The video and its labels (path + LabelsSuffix) are written under
// temporary names and renamed, so an interrupted run leaves no half file.
func EnsureVideo(path, datasetDir string, count int) (Video, error) {
	datasetDir, count, err := checkRequest(path, datasetDir, count)
	if err != nil {
		return Video{}, err
	}
	labelsPath := path + LabelsSuffix
	labels, lerr := LoadLabels(labelsPath)
	if lerr == nil && len(labels) == count {
		frames, fps, perr := probe(path)
		if perr == nil && frames == count {
			return Video{Path: path, Labels: labels, FPS: fps}, nil
		}
		if perr == nil {
			perr = fmt.Errorf("%d frames, not %d", frames, count)
		}
		slog.Info("remaking the demo video", "path", path, "reason", perr)
	} else if lerr == nil {
		slog.Info("remaking the demo video", "path", path, "frames", count, "had", len(labels))
	} else if !errors.Is(lerr, os.ErrNotExist) {
		slog.Info("remaking the demo video", "path", path, "reason", lerr)
	}

	set, err := loadTestSet(datasetDir, count)
	if err != nil {
		return Video{}, err
	}
	start := time.Now()
	tmp, err := writeVideo(path, videoFormat{set.Width, set.Height, 1, FPS, fourcc}, count,
		func(i int) []byte { return set.Image(i).Pix })
	if err != nil {
		return Video{}, err
	}
	if err := removeLabels(labelsPath); err != nil {
		os.Remove(tmp)
		return Video{}, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return Video{}, fmt.Errorf("demo video: %w", err)
	}
	labels = append([]int(nil), set.Labels[:count]...)
	if err := writeLabels(labelsPath, labels); err != nil {
		return Video{}, err
	}
	slog.Info("wrote the demo video", "path", path, "frames", count, "fps", FPS, "codec", fourcc,
		"dataset", datasetDir, "took", time.Since(start).Round(time.Millisecond))
	return Video{Path: path, Labels: labels, FPS: FPS}, nil
}

// videoFormat is what writeVideo writes: w x h frames of 1 (grey, stored
// as BGR) or 3 (BGR) channels, at fps, with a codec's fourcc.
type videoFormat struct {
	w, h, channels int
	fps            float64
	fourcc         string
}

// writeVideo writes count frames (tightly packed rows, as vf says) into a
// synced temporary file beside path, with path's extension (OpenCV picks
// the container by it), checks that it reads back whole, and returns its
// name.
func writeVideo(path string, vf videoFormat, count int, pixels func(int) []byte) (name string, err error) {
	ext := filepath.Ext(path)
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path[:len(path)-len(ext)])+".*.tmp"+ext)
	if err != nil {
		return "", fmt.Errorf("demo video: %w", err)
	}
	name = f.Name()
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(name)
		}
	}()

	w, h := vf.w, vf.h
	vw, err := gocv.VideoWriterFile(name, vf.fourcc, vf.fps, w, h, true)
	if err != nil {
		return "", fmt.Errorf("demo video %s: %w", path, err)
	}
	if !vw.IsOpened() {
		vw.Close()
		return "", fmt.Errorf("demo video %s: OpenCV cannot write %s video (it needs its FFmpeg backend, as Debian's libopencv-videoio406 has)", path, vf.fourcc)
	}
	typ := gocv.MatTypeCV8UC3
	if vf.channels == 1 {
		typ = gocv.MatTypeCV8U
	}
	bgr := gocv.NewMat()
	defer bgr.Close()
	for i := range count {
		m, err := gocv.NewMatFromBytes(h, w, typ, pixels(i))
		if err != nil {
			vw.Close()
			return "", fmt.Errorf("demo video frame %d: %w", i, err)
		}
		out := m
		if vf.channels == 1 {
			gocv.CvtColor(m, &bgr, gocv.ColorGrayToBGR)
			out = bgr
		}
		err = vw.Write(out)
		m.Close()
		if err != nil {
			vw.Close()
			return "", fmt.Errorf("demo video frame %d: %w", i, err)
		}
	}
	if err := vw.Close(); err != nil {
		return "", fmt.Errorf("demo video %s: %w", path, err)
	}
	// OpenCV reports no write errors (a full disk included): read it back.
	if frames, _, err := probe(name); err != nil || frames != count {
		if err == nil {
			err = fmt.Errorf("%d of %d frames written", frames, count)
		}
		return "", fmt.Errorf("demo video %s: %w", path, err)
	}
	if err := syncFile(name); err != nil {
		return "", fmt.Errorf("demo video: %w", err)
	}
	return name, nil
}

// Write writes the scene's frames to path (.mkv or .avi) with its codec,
// through a temporary file renamed into place, and returns the video and
// what each region shows when.
func (r *SceneRenderer) Write(path string) (SceneVideo, error) {
	if err := checkSceneName(path); err != nil {
		return SceneVideo{}, err
	}
	sc := r.sc
	tmp, err := writeVideo(path, videoFormat{sc.Width, sc.Height, 3, sc.FPS, sc.Codec}, sc.Frames, r.Render)
	if err != nil {
		return SceneVideo{}, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return SceneVideo{}, fmt.Errorf("demo video: %w", err)
	}
	return r.video(path), nil
}

// probe opens a video as the camera does and returns how many frames it
// decodes (the container's count survives truncation) and its rate.
func probe(path string) (frames int, fps float64, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, err
	}
	vc, err := gocv.OpenVideoCaptureWithAPI(path, gocv.VideoCaptureAny)
	if err != nil {
		return 0, 0, err
	}
	defer vc.Close()
	if !vc.IsOpened() {
		return 0, 0, fmt.Errorf("OpenCV cannot open %s", path)
	}
	m := gocv.NewMat()
	defer m.Close()
	for vc.Read(&m) && !m.Empty() {
		frames++
	}
	return frames, vc.Get(gocv.VideoCaptureFPS), nil
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// EnsureScene returns the video of sc at path, writing it first unless it
// is there, whole, with an info file (path + SceneInfoSuffix) for the same
// scene. The info file goes first and comes back last, so an interrupted
// write is remade.
func EnsureScene(path string, sc Scene, datasetDir string) (SceneVideo, error) {
	if err := checkSceneName(path); err != nil {
		return SceneVideo{}, err
	}
	r, err := OpenScene(sc, datasetDir)
	if err != nil {
		return SceneVideo{}, err
	}
	infoPath, info := path+SceneInfoSuffix, r.info()
	if old, err := os.ReadFile(infoPath); err == nil && bytes.Equal(old, info) {
		frames, _, perr := probe(path)
		if perr == nil && frames == r.sc.Frames {
			return r.video(path), nil
		}
		slog.Info("remaking the demo scene", "path", path, "frames", frames, "err", perr)
	}
	if err := removeLabels(infoPath); err != nil {
		return SceneVideo{}, err
	}
	start := time.Now()
	v, err := r.Write(path)
	if err != nil {
		return SceneVideo{}, err
	}
	if err := writeFileSynced(infoPath, info); err != nil {
		return SceneVideo{}, fmt.Errorf("demo scene: %w", err)
	}
	slog.Info("wrote the demo scene", "path", path, "frames", v.Frames, "fps", v.FPS, "codec", v.Codec,
		"took", time.Since(start).Round(time.Millisecond))
	return v, nil
}
