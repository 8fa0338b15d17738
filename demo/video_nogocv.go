//go:build nogocv

package demo

// EnsureVideo cannot write the video without OpenCV, and such a build
// could not play it either; bad arguments are still reported as such.
func EnsureVideo(path, datasetDir string, count int) (Video, error) {
	if _, _, err := checkRequest(path, datasetDir, count); err != nil {
		return Video{}, err
	}
	return Video{}, ErrNoGoCV
}

// Write cannot write the video without OpenCV; rendering frames works.
func (r *SceneRenderer) Write(path string) (SceneVideo, error) {
	if err := checkSceneName(path); err != nil {
		return SceneVideo{}, err
	}
	return SceneVideo{}, ErrNoGoCV
}

// EnsureScene cannot write the video without OpenCV; bad arguments are
// still reported as such.
func EnsureScene(path string, sc Scene, datasetDir string) (SceneVideo, error) {
	if err := checkSceneName(path); err != nil {
		return SceneVideo{}, err
	}
	return SceneVideo{}, ErrNoGoCV
}
