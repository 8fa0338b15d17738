package preprocess

import (
	"errors"
	"fmt"
	"image"
	"math"
)

var (
	// ErrDstLen reports a destination slice whose length is not Spec.Len().
	ErrDstLen = errors.New("destination has the wrong length")
	// ErrEmptyImage reports a picture with no pixels.
	ErrEmptyImage = errors.New("empty image")
	// ErrTooLarge reports a picture with a side longer than MaxSide.
	ErrTooLarge = errors.New("image too large")
	// ErrBadBuffer reports an RGB buffer that does not match its geometry.
	ErrBadBuffer = errors.New("bad pixel buffer")
)

// Preprocessor applies a Spec. It owns the scratch buffers and resize
// weights, so repeated calls on pictures of the same size do not allocate
// (the weights are recomputed only when the input size changes). A
// Preprocessor is not safe for concurrent use; give each goroutine its own.
type Preprocessor struct {
	spec Spec
	c    int
	// lut maps an 8-bit value of channel c to its normalised float, computed
	// in float32 step by step as ToTensor and Normalize do.
	lut [3][256]float32
	src []uint8
	rs  resampler
}

// New validates spec and returns a Preprocessor for it.
func New(spec Spec) (*Preprocessor, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("preprocess: invalid spec: %w", err)
	}
	spec.Mean = append([]float32(nil), spec.Mean...)
	spec.Std = append([]float32(nil), spec.Std...)
	p := &Preprocessor{spec: spec, c: spec.Channels()}
	for c := range p.c {
		for v := range 256 {
			x := float32(v) / 255
			x -= spec.Mean[c]
			p.lut[c][v] = x / spec.Std[c]
		}
	}
	p.rs.c = p.c
	p.rs.kern = bicubicKernel
	if spec.Interpolation == Bilinear {
		p.rs.kern = bilinearKernel
	}
	return p, nil
}

// Spec returns a copy of the recipe.
func (p *Preprocessor) Spec() Spec {
	s := p.spec
	s.Mean = append([]float32(nil), s.Mean...)
	s.Std = append([]float32(nil), s.Std...)
	return s
}

// Len is the length Apply and ApplyRGB want for dst.
func (p *Preprocessor) Len() int { return p.spec.Len() }

// Apply preprocesses img into dst, Channels() x Size x Size float32 values
// in CHW order. Alpha is ignored, as PIL's convert("RGB") ignores it.
// *image.NRGBA, *image.RGBA, *image.Gray and *image.YCbCr are read
// directly; other types go through color.NRGBAModel, which is slower and
// allocates.
func (p *Preprocessor) Apply(img image.Image, dst []float32) error {
	b := img.Bounds()
	if err := p.check(b.Dx(), b.Dy(), dst); err != nil {
		return err
	}
	w := p.writer(b.Dx(), b.Dy())
	w.convertImage(img)
	p.finish(b.Dx(), b.Dy(), dst)
	return nil
}

// ApplyRGB is Apply for an interleaved 8-bit RGB buffer (BGR when bgr is
// set, as OpenCV delivers frames): pixel (x, y) starts at pix[y*stride+3*x].
// It gives the same result as Apply on the equivalent image.
func (p *Preprocessor) ApplyRGB(pix []byte, width, height, stride int, bgr bool, dst []float32) error {
	if len(dst) != p.Len() {
		return fmt.Errorf("preprocess: dst has %d values, want %d: %w", len(dst), p.Len(), ErrDstLen)
	}
	crop, err := p.CropRGB(pix, width, height, stride, bgr)
	if err != nil {
		return err
	}
	p.normalise(crop, dst)
	return nil
}

// CropRGB does ApplyRGB's colour conversion, resize and crop but not the
// normalisation: it returns the Size x Size crop as interleaved 8-bit
// levels (RGB, or one grey channel), which Level maps to the values Apply
// writes. An int8 engine quantizes the 256 levels once instead of every
// pixel. The slice is reused by the next call.
func (p *Preprocessor) CropRGB(pix []byte, width, height, stride int, bgr bool) ([]uint8, error) {
	if err := checkSize(width, height); err != nil {
		return nil, err
	}
	if stride < 3*width {
		return nil, fmt.Errorf("preprocess: stride %d is less than 3 x width %d: %w", stride, width, ErrBadBuffer)
	}
	if need := (height-1)*stride + 3*width; len(pix) < need {
		return nil, fmt.Errorf("preprocess: %dx%d pixels with stride %d need %d bytes, have %d: %w",
			width, height, stride, need, len(pix), ErrBadBuffer)
	}
	w := p.writer(width, height)
	w.convertRGB(pix, width, height, stride, bgr)
	return p.crop(width, height), nil
}

// Level is the normalised value that 8-bit level v of channel c (after
// inversion) becomes in Apply's output.
func (p *Preprocessor) Level(c int, v uint8) float32 { return p.lut[c][v] }

// check validates the picture size and the destination length.
func (p *Preprocessor) check(width, height int, dst []float32) error {
	if err := checkSize(width, height); err != nil {
		return err
	}
	if len(dst) != p.Len() {
		return fmt.Errorf("preprocess: dst has %d values, want %d: %w", len(dst), p.Len(), ErrDstLen)
	}
	return nil
}

// checkSize rejects empty and oversized pictures.
func checkSize(width, height int) error {
	if width <= 0 || height <= 0 {
		return fmt.Errorf("preprocess: %dx%d: %w", width, height, ErrEmptyImage)
	}
	if width > MaxSide || height > MaxSide {
		return fmt.Errorf("preprocess: %dx%d: side over %d: %w", width, height, MaxSide, ErrTooLarge)
	}
	return nil
}

// writer sizes the source buffer for a width x height picture.
func (p *Preprocessor) writer(width, height int) pixelWriter {
	p.src = grow(p.src, width*height*p.c)
	var flip uint8
	if p.spec.Invert {
		flip = 0xff
	}
	return pixelWriter{dst: p.src, grey: p.c == 1, flip: flip}
}

// finish resizes and crops p.src and normalises the crop into dst.
func (p *Preprocessor) finish(width, height int, dst []float32) {
	p.normalise(p.crop(width, height), dst)
}

// crop resizes and crops p.src, a width x height picture.
func (p *Preprocessor) crop(width, height int) []uint8 {
	outW, outH, win := p.geometry(width, height)
	p.rs.plan(width, height, outW, outH, win)
	return p.rs.run(p.src, width*p.c)
}

// normalise maps the interleaved crop to CHW normalised floats.
func (p *Preprocessor) normalise(crop []uint8, dst []float32) {
	c, plane := p.c, p.spec.Size*p.spec.Size
	if c == 1 {
		lut := &p.lut[0]
		for i, v := range crop[:plane] {
			dst[i] = lut[v]
		}
		return
	}
	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	for i := range plane {
		px := crop[3*i : 3*i+3]
		r[i], g[i], b[i] = p.lut[0][px[0]], p.lut[1][px[1]], p.lut[2][px[2]]
	}
}

// geometry returns the resized size of a width x height picture and the
// Size x Size window the centre crop keeps.
//
// CropCenter follows torchvision's Resize(int): the short side becomes the
// target and the long side int(target * long / short), truncated. The
// crop offset is int(round(d / 2.0)) as in torchvision's center_crop, and
// Python's round sends halves to even: d = 9 gives 4, d = 11 gives 6.
func (p *Preprocessor) geometry(width, height int) (outW, outH int, win image.Rectangle) {
	t := p.spec.ResizeTarget()
	switch {
	case p.spec.CropMode == CropSquash:
		outW, outH = t, t
	case width <= height:
		outW, outH = t, int(float64(t*height)/float64(width))
	default:
		outW, outH = int(float64(t*width)/float64(height)), t
	}
	s := p.spec.Size
	left := int(math.RoundToEven(float64(outW-s) / 2))
	top := int(math.RoundToEven(float64(outH-s) / 2))
	return outW, outH, image.Rect(left, top, left+s, top+s)
}
