package preprocess

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register JPEG for image.Decode
	_ "image/png"  // register PNG for image.Decode
	"os"
)

// ErrUnsupportedFormat reports a file that is neither PNG nor JPEG.
var ErrUnsupportedFormat = errors.New("unsupported image format (want PNG or JPEG)")

// LoadImage decodes the PNG or JPEG file at path with the standard library.
//
// Go's JPEG decoder is not libjpeg, so a JPEG's pixels (and hence the
// model input) can differ from PIL's by a level or two; PNGs decode
// identically. Neither side applies EXIF orientation, as timm does not.
func LoadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("preprocess: load: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if errors.Is(err, image.ErrFormat) {
		return nil, fmt.Errorf("preprocess: load %s: %w", path, ErrUnsupportedFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("preprocess: load %s: %w", path, err)
	}
	return img, nil
}
