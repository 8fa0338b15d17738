//go:build !nogocv

package camera

func openCapture(spec string, loop bool) (Source, error) { return OpenCapture(spec, loop) }
