// Package picture turns camera frames into small annotated JPEGs: a crop,
// scaled down to a bounded size, with boxes and labels drawn, encoded
// within a byte bound. Snapshots of regions, a live MJPEG view and the
// CLI's annotated pictures all go through it; an Encoder reuses its
// buffers so a stream of frames allocates next to nothing.
package picture

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// DefaultQuality is the JPEG quality of Options without one: snapshots
// stay readable for a person checking a state, at a third of quality
// 95's bytes.
const DefaultQuality = 80

// MinQuality is the lowest quality a byte bound lowers a picture to
// before it scales it down instead: below it blocks and ringing make a
// picture harder to read than a smaller one.
const MinQuality = 30

// Steps by which a byte bound reduces a picture: the quality in steps of
// qualityStep down to MinQuality, then the longer side to sideStep
// quarters of itself at a time, down to minBoundSide.
const (
	qualityStep  = 15
	sideStep     = 3
	minBoundSide = 16
)

// maxPixels bounds a crop and a picture (8192 x 8192): far above any
// camera a board reads, well below what would exhaust its memory.
const maxPixels = 1 << 26

// Box is a rectangle drawn on a picture with an optional label.
type Box struct {
	// Rect is in the source's coordinates (a frame's pixels), outside
	// the crop or not: what falls outside the picture is clipped. An
	// empty Rect draws nothing.
	Rect image.Rectangle
	// Label is drawn on a filled box at Rect's top-left corner, above it
	// where there is room; "" for none.
	Label string
	// Color of the outline and of the label's box; the zero value
	// stands for Palette(i), i being the box's index in Options.Boxes.
	Color color.RGBA
}

// Options say what to make of a source.
type Options struct {
	// Crop is the part of the source to keep, in its coordinates,
	// clipped to its bounds; the zero Rectangle keeps all of it.
	Crop image.Rectangle
	// MaxSide bounds the longer side of the picture in pixels (the crop
	// is scaled down, keeping its aspect ratio, never up); 0: no bound.
	MaxSide int
	// Quality is the JPEG quality, 1 to 100; 0 is DefaultQuality.
	Quality int
	// MaxBytes bounds the encoded JPEG; 0: no bound. Over it, the
	// picture is made again with a lower quality, then smaller (see
	// MinQuality), until it fits.
	MaxBytes int
	// Boxes are drawn on the picture, in order.
	Boxes []Box
	// Caption lines are drawn as labels down the picture's top-left
	// corner, after the boxes.
	Caption []string
	// Scale of the text and the outlines' width: 1 is the font's 13
	// pixel lines and 1 pixel outlines; 0 picks one from the picture's
	// size (1 up to 479 pixels on the shorter side, 2 from 480, ...).
	Scale int
}

// Result tells what the JPEG became.
type Result struct {
	Width, Height int
	Quality       int
	// Reduced is true when MaxBytes made the quality lower or the
	// picture smaller than asked.
	Reduced bool
	// Attempts is how many encodings it took (1 without reduction).
	Attempts int
}

// ErrTooLarge is the error when even the smallest picture the steps
// allow is over MaxBytes.
var ErrTooLarge = errors.New("picture: over the byte bound at the lowest quality and size")

// Encoder makes pictures, reusing its buffers from one to the next. It is
// not safe for concurrent use: use one per goroutine.
type Encoder struct {
	canvas image.RGBA
	row    []byte
	cols   []int
	sums   []uint64
	out    jpegBuffer
	bgr    BGR
}

// Encode makes a JPEG of src as o says. The bytes are the Encoder's and
// valid until its next call: copy them to keep them.
func (e *Encoder) Encode(src image.Image, o Options) ([]byte, Result, error) {
	crop, err := check(src, o)
	if err != nil {
		return nil, Result{}, err
	}
	q := o.Quality
	if q == 0 {
		q = DefaultQuality
	}
	side := o.MaxSide
	if side == 0 {
		side = max(crop.Dx(), crop.Dy())
	}
	res := Result{Quality: q}
	pic := e.render(src, crop, side, o)
	for {
		res.Attempts++
		res.Width, res.Height = pic.Rect.Dx(), pic.Rect.Dy()
		e.out.reset(o.MaxBytes)
		err := jpeg.Encode(&e.out, pic, &jpeg.Options{Quality: res.Quality})
		switch {
		case err == nil:
			return e.out.b, res, nil
		case !errors.Is(err, errOverBound):
			return nil, res, fmt.Errorf("picture: %w", err)
		}
		res.Reduced = true
		if res.Quality > MinQuality {
			res.Quality = max(MinQuality, res.Quality-qualityStep)
			continue
		}
		side = max(res.Width, res.Height) * sideStep / 4
		if side < minBoundSide {
			return nil, res, fmt.Errorf("%w (%d bytes, %dx%d at quality %d)", ErrTooLarge, o.MaxBytes, res.Width,
				res.Height, res.Quality)
		}
		pic = e.render(src, crop, side, o)
	}
}

// EncodeFrame is Encode of a camera frame, read from its own buffer
// (f stays the caller's to release, after the call).
func (e *Encoder) EncodeFrame(f camera.Frame, o Options) ([]byte, Result, error) {
	src, err := e.frameImage(f)
	if err != nil {
		return nil, Result{}, err
	}
	return e.Encode(src, o)
}

// Render draws the picture Encode would encode, before any byte bound:
// the crop, scaled, with boxes and caption. The image is the Encoder's
// and valid until its next call.
func (e *Encoder) Render(src image.Image, o Options) (*image.RGBA, error) {
	crop, err := check(src, o)
	if err != nil {
		return nil, err
	}
	side := o.MaxSide
	if side == 0 {
		side = max(crop.Dx(), crop.Dy())
	}
	return e.render(src, crop, side, o), nil
}

// RenderFrame is Render of a camera frame.
func (e *Encoder) RenderFrame(f camera.Frame, o Options) (*image.RGBA, error) {
	src, err := e.frameImage(f)
	if err != nil {
		return nil, err
	}
	return e.Render(src, o)
}

func (e *Encoder) frameImage(f camera.Frame) (image.Image, error) {
	if f.Image != nil {
		return f.Image, nil
	}
	if err := e.bgr.set(f.BGR, f.Width, f.Height, f.Stride); err != nil {
		return nil, err
	}
	return &e.bgr, nil
}

// check validates src and o and returns the crop.
func check(src image.Image, o Options) (image.Rectangle, error) {
	switch {
	case src == nil:
		return image.Rectangle{}, errors.New("picture: no source image")
	case o.Quality < 0 || o.Quality > 100:
		return image.Rectangle{}, fmt.Errorf("picture: quality %d is not 1 to 100 (or 0 for %d)", o.Quality,
			DefaultQuality)
	case o.MaxSide < 0:
		return image.Rectangle{}, fmt.Errorf("picture: max side %d is negative", o.MaxSide)
	case o.MaxBytes < 0:
		return image.Rectangle{}, fmt.Errorf("picture: max bytes %d is negative", o.MaxBytes)
	case o.Scale < 0 || o.Scale > MaxScale:
		return image.Rectangle{}, fmt.Errorf("picture: scale %d is not 1 to %d (or 0 for one from the size)", o.Scale,
			MaxScale)
	}
	b := src.Bounds()
	crop := b
	if o.Crop != (image.Rectangle{}) {
		crop = o.Crop.Intersect(b)
	}
	if crop.Empty() {
		return image.Rectangle{}, fmt.Errorf("picture: crop %v of a picture of %v: %w", o.Crop, b, ErrEmpty)
	}
	if crop.Dx() <= 0 || crop.Dy() <= 0 || crop.Dx() > maxSide || crop.Dy() > maxSide || // <= 0: overflowed
		crop.Dx()*crop.Dy() > maxPixels {
		return image.Rectangle{}, fmt.Errorf("picture: a crop of %dx%d is larger than %d pixels or %d a side",
			crop.Dx(), crop.Dy(), maxPixels, maxSide)
	}
	return crop, nil
}

// render makes the picture of crop of src, at most side pixels on its
// longer side, with o's boxes and caption drawn.
func (e *Encoder) render(src image.Image, crop image.Rectangle, side int, o Options) *image.RGBA {
	ow, oh := scaledSize(crop.Dx(), crop.Dy(), side)
	e.canvas.Pix = grow(e.canvas.Pix, 4*ow*oh)
	e.canvas.Stride, e.canvas.Rect = 4*ow, image.Rect(0, 0, ow, oh)
	pic := &e.canvas
	e.scaleInto(pic, src, crop)
	scale := o.Scale
	if scale == 0 {
		scale = 1 + min(ow, oh)/480
	}
	for i, b := range o.Boxes {
		if b.Rect.Empty() {
			continue
		}
		r := image.Rect(mapCoord(b.Rect.Min.X, crop.Min.X, crop.Dx(), ow), mapCoord(b.Rect.Min.Y, crop.Min.Y, crop.Dy(), oh),
			mapCoord(b.Rect.Max.X, crop.Min.X, crop.Dx(), ow), mapCoord(b.Rect.Max.Y, crop.Min.Y, crop.Dy(), oh))
		// A rectangle scaled below a pixel still shows.
		r.Max.X, r.Max.Y = max(r.Max.X, r.Min.X+1), max(r.Max.Y, r.Min.Y+1)
		vis := r.Intersect(pic.Rect)
		if vis.Empty() {
			continue
		}
		c := b.Color
		if c == (color.RGBA{}) {
			c = Palette(i)
		}
		StrokeRect(pic, r, c, scale)
		if b.Label != "" {
			text := fitText(b.Label, ow, scale)
			DrawLabel(pic, labelAt(pic.Rect, vis, LabelSize(text, scale)), text, c, scale)
		}
	}
	y := 0
	for _, line := range o.Caption {
		text := fitText(line, ow, scale)
		y = DrawLabel(pic, image.Pt(0, y), text, color.RGBA{A: 0xff}, scale).Max.Y
	}
	return pic
}

// mapCoord maps v on a source axis whose crop starts at from and is n
// long to a picture axis m long, rounding to the nearest pixel.
// Coordinates far outside the crop are first clamped, so nothing
// overflows; they stay outside.
func mapCoord(v, from, n, m int) int {
	v = min(max(v-from, -2*n), 3*n)
	num, den := 2*v*m+n, 2*n
	if num < 0 {
		return -((-num + den - 1) / den)
	}
	return num / den
}

// errOverBound stops an encoding that went over its byte bound.
var errOverBound = errors.New("over the byte bound")

// jpegBuffer collects an encoding; image/jpeg writes to it directly (it
// has Flush and WriteByte), without a bufio.Writer of its own.
type jpegBuffer struct {
	b     []byte
	limit int // 0: none
}

func (w *jpegBuffer) reset(limit int) { w.b, w.limit = w.b[:0], limit }

func (w *jpegBuffer) Write(p []byte) (int, error) {
	if w.limit > 0 && len(w.b)+len(p) > w.limit {
		return 0, errOverBound
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *jpegBuffer) WriteByte(c byte) error {
	if w.limit > 0 && len(w.b) >= w.limit {
		return errOverBound
	}
	w.b = append(w.b, c)
	return nil
}

func (w *jpegBuffer) Flush() error { return nil }
