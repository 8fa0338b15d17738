package preprocess

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register JPEG for image.Decode
	_ "image/png"  // register PNG for image.Decode
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	_ "golang.org/x/image/bmp"  // register BMP for image.Decode
	_ "golang.org/x/image/tiff" // register TIFF for image.Decode
	_ "golang.org/x/image/webp" // register WebP for image.Decode

	"github.com/coatnet-edge/coatnet-edge/internal/boundedio"
)

// ErrUnsupportedFormat reports a file in none of the formats LoadImage reads.
var ErrUnsupportedFormat = errors.New("unsupported image format (want PNG, JPEG, BMP, TIFF or WebP)")

// PictureExts are the file name endings of the formats LoadImage reads.
var PictureExts = []string{".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

// IsPicture reports whether name's extension is one of a format LoadImage
// reads, for whatever takes every picture of a folder (classify, the
// folder camera, calibration, folder datasets).
func IsPicture(name string) bool {
	return slices.Contains(PictureExts, strings.ToLower(filepath.Ext(name)))
}

// MaxPictureBytes bounds the files LoadImage and DecodeImage read, 200 MiB:
// an uncompressed 8-bit RGBA picture of MaxImagePixels (191 MiB) and its
// metadata. TIFF's decoder reads as far as any offset the file names, so
// the file itself must be bounded, not only the pixels it declares.
const MaxPictureBytes = 200 << 20

// MaxImagePixels bounds the pictures LoadImage decodes: 50 megapixels,
// above any camera this agent reads (8192x6104 fits; the largest phone
// sensors are 48-50 MP) yet small enough that the decoded picture, 200 MB
// as RGBA, fits a small board's memory. A header declaring more is
// refused before any pixel is allocated: a few hundred bytes of PNG can
// declare 100000x100000.
const MaxImagePixels = 50_000_000

// ErrImageTooLarge reports a picture whose header declares more than
// MaxImagePixels pixels.
var ErrImageTooLarge = errors.New("picture too large")

// LoadImage decodes the PNG, JPEG, BMP, TIFF or WebP file at path with the
// standard library and golang.org/x/image, after reading its header to
// refuse one larger than MaxImagePixels. Every picture the commands and the
// folder camera read goes through it.
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
	// A directory would read as an unknown format, a device for ever.
	st, err := f.Stat()
	if err == nil {
		err = boundedio.CheckMode(path, st.Mode())
	}
	if err == nil && st.Size() > MaxPictureBytes {
		err = fmt.Errorf("%s: %w: %d bytes, the limit is %d MiB", path, ErrImageTooLarge, st.Size(), MaxPictureBytes>>20)
	}
	if err != nil {
		return nil, fmt.Errorf("preprocess: load: %w", err)
	}
	return DecodeImage(f, path)
}

// DecodeImage decodes the picture r holds (at most MaxPictureBytes, which
// the caller bounds) as LoadImage decodes a file's; name names it in
// errors. It is how a picture read from standard input is decoded.
func DecodeImage(r io.ReadSeeker, name string) (image.Image, error) {
	cfg, _, err := image.DecodeConfig(bufio.NewReader(r))
	if err == nil {
		err = checkImageSize(cfg.Width, cfg.Height)
	}
	var img image.Image
	if err == nil {
		if _, err = r.Seek(0, io.SeekStart); err == nil {
			img, _, err = image.Decode(bufio.NewReader(r))
		}
	}
	if errors.Is(err, image.ErrFormat) {
		return nil, fmt.Errorf("preprocess: load %s: %w", name, ErrUnsupportedFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("preprocess: load %s: %w", name, err)
	}
	return img, nil
}

// checkImageSize refuses sizes that are not positive or exceed
// MaxImagePixels, without overflowing.
func checkImageSize(w, h int) error {
	if w <= 0 || h <= 0 || w > MaxImagePixels/h {
		return fmt.Errorf("%w: %dx%d pixels, the limit is %d megapixels", ErrImageTooLarge, w, h, MaxImagePixels/1_000_000)
	}
	return nil
}
