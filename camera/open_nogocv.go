//go:build nogocv

package camera

import "fmt"

func openCapture(spec string, _ float64, _ bool) (Source, error) {
	return nil, fmt.Errorf("camera: %q: this coatnet was built without GoCV (-tags nogocv) and reads folders of pictures only", spec)
}
