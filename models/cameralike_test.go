//go:build !nogocv

package models_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/agent"
	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
	"github.com/coatnet-edge/coatnet-edge/model"
)

// minCameraLike is the top-1 every shipped model must reach on the whole
// camera-like test set, as the card (models/README.md) says.
const minCameraLike = 0.90

// cameraLikeModels are the shipped models in the order figures are logged.
var cameraLikeModels = []string{"fmnist-pre.coatnet", "fmnist-pre-int8.coatnet", "fmnist-post.coatnet",
	"fmnist-post-int8.coatnet"}

// TestCameraLikeInt8MatchesFloat renders the first evalImages test items
// as a camera would show them lying on a surface (demo.CameraLike:
// scaled, placed, on flat and textured grey, blurred, sensor noise and
// shake, MJPG), reads the video back through GoCV and classifies each
// region as the agent does (agent.CropFrame, then the classifier's
// LogitsBGR). It logs each shipped model's top-1 there, the card's
// camera-like figure, checks it against minCameraLike and that int8 is at
// most 0.5 points below its float model (with the sampling slack on a
// sample), as on the clean set.
func TestCameraLikeInt8MatchesFloat(t *testing.T) {
	set := testSet(t)
	n := evalImages(set)
	sc, err := demo.CameraLike(n)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "camera-like.avi")
	video, err := demo.WriteScene(path, sc, dataset.FashionMNISTDir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := camera.OpenCapture(path, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	classifiers := make([]*model.Classifier, len(cameraLikeModels))
	for i, file := range cameraLikeModels {
		m, err := model.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if classifiers[i], err = model.NewClassifier(m, 1); err != nil {
			t.Fatal(err)
		}
		defer classifiers[i].Close()
	}
	correct := make([]int, len(classifiers))
	errs := make([]error, len(classifiers))
	frames := 0
	for ; ; frames++ {
		f, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i, c := range classifiers {
			wg.Go(func() {
				for _, reg := range video.Regions {
					crop, err := agent.CropFrame(f, reg.Rect)
					if err == nil {
						var logits []float32
						if logits, err = c.LogitsBGR(crop.BGR, crop.Width, crop.Height, crop.Stride); err == nil {
							if slices.Index(logits, slices.Max(logits)) == reg.LabelAt(int(f.Index)) {
								correct[i]++
							}
							continue
						}
					}
					errs[i] = err
					return
				}
			})
		}
		wg.Wait()
		f.Release()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	if frames != sc.Frames {
		t.Fatalf("read %d frames of %d", frames, sc.Frames)
	}
	acc := func(i int) float64 { return float64(correct[i]) / float64(n) }
	for i, file := range cameraLikeModels {
		t.Logf("%s: top-1 %.2f%% on %d camera-like test items", file, 100*acc(i), n)
		if tol := slack(minCameraLike, n, set); acc(i) < minCameraLike-tol {
			t.Errorf("%s: camera-like top-1 %.2f%% is below %.0f%% (less %.2f points of slack)", file, 100*acc(i),
				100*minCameraLike, 100*tol)
		}
	}
	for i := 0; i < len(cameraLikeModels); i += 2 {
		if d, tol := acc(i)-acc(i+1), slack(0.01, n, set); d > 0.005+tol {
			t.Errorf("%s: camera-like top-1 %.2f points below float's, want at most %.2f", cameraLikeModels[i+1],
				100*d, 100*(0.005+tol))
		}
	}
}
