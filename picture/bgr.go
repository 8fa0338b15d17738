package picture

import (
	"errors"
	"fmt"
	"image"
	"image/color"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// BGR is an image of 8-bit BGR pixels as OpenCV stores them, so that a
// camera frame is cropped, scaled and drawn from its own buffer without a
// copy into another image type first.
type BGR struct {
	// Pix holds the rows of Rect, Stride bytes apart, 3 bytes (B, G, R) a
	// pixel.
	Pix    []byte
	Stride int
	Rect   image.Rectangle
}

// maxSide bounds either side of any picture: JPEG's own limit is 65535.
const maxSide = 1<<16 - 1

// NewBGR checks that pix holds height rows of width BGR pixels, stride
// bytes apart, and returns them as an image.
func NewBGR(pix []byte, width, height, stride int) (*BGR, error) {
	b := &BGR{}
	if err := b.set(pix, width, height, stride); err != nil {
		return nil, err
	}
	return b, nil
}

func (p *BGR) set(pix []byte, width, height, stride int) error {
	switch {
	case width <= 0 || height <= 0:
		return fmt.Errorf("picture: a %dx%d BGR frame: %w", width, height, ErrEmpty)
	case width > maxSide || height > maxSide:
		return fmt.Errorf("picture: a %dx%d BGR frame is larger than %d pixels a side", width, height, maxSide)
	case stride < 3*width:
		return fmt.Errorf("picture: BGR stride %d is less than 3 x width %d", stride, width)
	case stride > len(pix) && height > 1, (height-1)*stride+3*width > len(pix):
		return fmt.Errorf("picture: %d bytes cannot hold %d rows of %d BGR pixels %d bytes apart", len(pix), height,
			width, stride)
	}
	*p = BGR{Pix: pix, Stride: stride, Rect: image.Rect(0, 0, width, height)}
	return nil
}

// FrameImage is f as an image: its decoded Image, or its BGR pixels
// (valid until f.Release).
func FrameImage(f camera.Frame) (image.Image, error) {
	if f.Image != nil {
		return f.Image, nil
	}
	return NewBGR(f.BGR, f.Width, f.Height, f.Stride)
}

func (p *BGR) ColorModel() color.Model { return color.RGBAModel }
func (p *BGR) Bounds() image.Rectangle { return p.Rect }

func (p *BGR) At(x, y int) color.Color { return p.RGBAAt(x, y) }

// RGBAAt is the pixel at (x, y), opaque black outside the image.
func (p *BGR) RGBAAt(x, y int) color.RGBA {
	if !(image.Point{x, y}.In(p.Rect)) {
		return color.RGBA{A: 0xff}
	}
	i := (y-p.Rect.Min.Y)*p.Stride + (x-p.Rect.Min.X)*3
	return color.RGBA{R: p.Pix[i+2], G: p.Pix[i+1], B: p.Pix[i], A: 0xff}
}

// ErrEmpty is the error for a picture, crop or frame without pixels.
var ErrEmpty = errors.New("no pixels")
