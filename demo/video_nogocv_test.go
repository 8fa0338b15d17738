//go:build nogocv

package demo

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureVideoWithoutGoCV(t *testing.T) {
	_, err := EnsureVideo(filepath.Join(t.TempDir(), DefaultName), "", 10)
	if !errors.Is(err, ErrNoGoCV) || !strings.Contains(err.Error(), "nogocv") {
		t.Fatalf("EnsureVideo = %v, want ErrNoGoCV", err)
	}
}

func TestWriteSceneWithoutGoCV(t *testing.T) {
	sceneSet(t)
	_, err := WriteScene(filepath.Join(t.TempDir(), "scene.mkv"), twoRegions(5), "")
	if !errors.Is(err, ErrNoGoCV) {
		t.Fatalf("WriteScene = %v, want ErrNoGoCV", err)
	}
}
