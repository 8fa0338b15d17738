//go:build !nogocv && matprofile

package demo

import (
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// TestEnsureVideoClosesEveryMat (-tags matprofile): writing the video,
// then finding it already there, leaves no Mat open.
func TestEnsureVideoClosesEveryMat(t *testing.T) {
	testSet(t)
	before := gocv.MatProfile.Count()
	path := filepath.Join(t.TempDir(), "demo.mkv")
	for range 2 {
		if _, err := EnsureVideo(path, "", 30); err != nil {
			t.Fatal(err)
		}
	}
	if after := gocv.MatProfile.Count(); after != before {
		var b strings.Builder
		gocv.MatProfile.WriteTo(&b, 1)
		t.Fatalf("%d Mats open before, %d after:\n%s", before, after, b.String())
	}
}

// TestWriteSceneClosesEveryMat (-tags matprofile): writing a scene leaves
// no Mat open.
func TestWriteSceneClosesEveryMat(t *testing.T) {
	sceneSet(t)
	before := gocv.MatProfile.Count()
	if _, err := WriteScene(filepath.Join(t.TempDir(), "scene.mkv"), twoRegions(20), ""); err != nil {
		t.Fatal(err)
	}
	if after := gocv.MatProfile.Count(); after != before {
		var b strings.Builder
		gocv.MatProfile.WriteTo(&b, 1)
		t.Fatalf("%d Mats open before, %d after:\n%s", before, after, b.String())
	}
}
