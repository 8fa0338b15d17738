package camera

import (
	"os"
)

// Open opens the source a configuration names: a folder of pictures or a
// video file (played at rate frames a second), or what else OpenCV opens
// (see OpenCapture), where this build has GoCV.
func Open(spec string, rate float64, loop bool) (Source, error) {
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		return OpenFolder(spec, rate, loop)
	}
	return openCapture(spec, rate, loop)
}
