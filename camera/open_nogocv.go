//go:build nogocv

package camera

import "fmt"

// GoCV reports whether this build opens what OpenCV opens (not only
// folders of pictures).
const GoCV = false

func openCapture(spec string, _ float64, _ bool) (Source, error) {
	return nil, fmt.Errorf("camera: %q: this coatnet was built without GoCV (-tags nogocv) and reads folders of pictures only", spec)
}
