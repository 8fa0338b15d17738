//go:build !nogocv

package camera

func openCapture(spec string, rate float64, loop bool) (Source, error) {
	return OpenCapture(spec, rate, loop)
}
