//go:build !nogocv

package camera

func openCapture(spec string, fps float64, loop bool) (Source, error) {
	return OpenCapture(spec, fps, loop)
}
