// Package demo makes the video that the agent classifies when no camera is
// configured: Fashion-MNIST test images as frames, so that `make run` shows
// real labels on any machine, with the ground truth beside the video to
// check them against.
package demo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/dataset"
)

const (
	// DefaultCount is how many frames a caller asks for when it has no
	// reason to choose: 200 s of video at FPS, 100 images of each class.
	DefaultCount = 1000
	// FPS is the frame rate stored in the video: slow enough to read the
	// labels as they scroll by.
	FPS = 5
	// DefaultName is a file name the video can be given; the extension
	// picks the container, and only .mkv and .avi hold FFV1.
	DefaultName = "fashion-mnist-demo.mkv"
	// LabelsSuffix is added to the video's path to name its ground truth.
	LabelsSuffix = ".labels"
)

// ErrNoGoCV is EnsureVideo's error in a build without OpenCV (-tags
// nogocv), which can neither write the video nor play it.
var ErrNoGoCV = errors.New("demo video: this coatnet was built with -tags nogocv, without OpenCV; " +
	"build it without that tag (needs libopencv-dev) or configure a camera")

// Video is a demo video and the class of each of its frames.
type Video struct {
	Path   string
	Labels []int // Labels[i] is the Fashion-MNIST class of frame i
	FPS    float64
}

// LoadLabels reads a ground-truth file: one class index per line, line i
// for frame i. A file that does not end in a newline was cut short and is
// an error, as is anything that is not a Fashion-MNIST class.
func LoadLabels(path string) ([]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("%s: truncated (no newline at the end)", path)
	}
	var labels []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		c, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil || c < 0 || c >= len(dataset.FashionMNISTLabels) {
			return nil, fmt.Errorf("%s:%d: %q is not a class index 0-%d", path, line, sc.Text(), len(dataset.FashionMNISTLabels)-1)
		}
		labels = append(labels, c)
	}
	return labels, sc.Err()
}

// checkRequest validates EnsureVideo's arguments before any work, and
// fills in the defaults: count 0 is DefaultCount, an empty datasetDir is
// where Debian installs Fashion-MNIST.
func checkRequest(path, datasetDir string, count int) (string, int, error) {
	if count == 0 {
		count = DefaultCount
	}
	if count < 0 {
		return "", 0, fmt.Errorf("demo video: %d frames asked for", count)
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".mkv" && ext != ".avi" {
		return "", 0, fmt.Errorf("demo video %s: the name must end in .mkv or .avi, the containers that hold lossless FFV1", path)
	}
	if datasetDir == "" {
		datasetDir = dataset.FashionMNISTDir
	}
	return datasetDir, count, nil
}

// loadTestSet reads the first count images of the Fashion-MNIST test split.
func loadTestSet(dir string, count int) (*dataset.Set, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("demo video: no Fashion-MNIST at %s; install it with: sudo apt-get install dataset-fashion-mnist", dir)
	}
	set, err := dataset.FashionMNIST(dir, "test")
	if err != nil {
		return nil, fmt.Errorf("demo video: %w", err)
	}
	if count > set.Len() {
		return nil, fmt.Errorf("demo video: %d frames asked for, but %s has %d test images", count, dir, set.Len())
	}
	return set, nil
}

// writeLabels replaces path with labels (see writeFileSynced).
func writeLabels(path string, labels []int) error {
	var b bytes.Buffer
	for _, l := range labels {
		b.WriteString(strconv.Itoa(l))
		b.WriteByte('\n')
	}
	if err := writeFileSynced(path, b.Bytes()); err != nil {
		return fmt.Errorf("demo video labels: %w", err)
	}
	return nil
}

// writeFileSynced replaces path with data through a synced temporary
// file, so that a reader sees the old file or the whole new one.
func writeFileSynced(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// removeLabels deletes the ground truth before its video is replaced, so
// that a run interrupted between the two never pairs a new video with old
// labels: a video without labels is remade.
func removeLabels(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("demo video: %w", err)
	}
	return nil
}
