//go:build !nogocv

package camera

// GoCV reports whether this build opens what OpenCV opens (not only
// folders of pictures).
const GoCV = true

func openCapture(spec string, fps float64, loop bool) (Source, error) {
	return OpenCapture(spec, fps, loop)
}
