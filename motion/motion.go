// Package motion finds what moves in a fixed camera's frames, cheaply, so
// that regions nothing touched need not be classified: each frame is
// shrunk to a small grey picture, blurred, and compared with a running
// background; changed pixels are grown into boxes, and small ones dropped.
// It is pure Go and allocates nothing per frame once it has seen a frame
// of the camera's size.
package motion

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// Result is what one frame showed.
type Result struct {
	// Boxes are this frame's motion, in the frame's pixels. The slice is
	// the Detector's: valid until its next Detect.
	Boxes []image.Rectangle
	// Motion is the camera's motion state: on from the first frame with a
	// box, off once no box was seen for Hold.
	Motion bool
	// Changed says Motion differs from the frame before's: the time to
	// publish it.
	Changed bool
	// Reset says this frame started a new background, the first frame or
	// the first at a new size.
	Reset bool
	// Warming says the background has not yet averaged Warmup frames
	// (this one included): no boxes until it has.
	Warming bool
}

// Warmup is how many frames a new background averages before Detect looks
// for motion against it: fewer frames of a shaking camera make edges that
// moved look like motion.
const Warmup = 10

// shake is how far, in working pixels, the background is searched for a
// pixel's value: a camera that shakes by up to about shake*f/2 pixels
// each way (2 at 320x240, 24 at 1080p) sees no motion at edges.
const shake = 2

// Detector finds motion in the frames of one camera, one frame at a time
// (it is not safe for concurrent use).
type Detector struct {
	cfg Config

	w, h   int // the frame size the background is for; 0 before any
	f      int // block side: w/f x h/f working pixels
	sw, sh int
	minPix int // MinArea in working pixels

	accB, accG, accR []uint32 // per working column: block sums
	row              []byte   // a grey row of an image.Image frame
	cur, blur, bg    []float32
	lo, hi, tmp, tm2 []float32
	mask, dil, tmpU  []uint8
	stack            []int32
	boxes            []image.Rectangle

	seen   int // frames since the background started
	motion bool
	last   time.Time // the last frame with a box
}

// New is a detector with cfg, which must Validate.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Detector{cfg: cfg}, nil
}

// Config is the detector's configuration.
func (d *Detector) Config() Config { return d.cfg }

// Touches says whether any of boxes overlaps r (a region's rectangle in
// the same frame's pixels).
func Touches(boxes []image.Rectangle, r image.Rectangle) bool {
	for _, b := range boxes {
		if b.Overlaps(r) {
			return true
		}
	}
	return false
}

// ErrBadFrame wraps the errors of frames Detect cannot read.
var ErrBadFrame = errors.New("motion: bad frame")

// Detect looks for motion in f, a frame of the detector's camera, and
// learns it into the background. A frame of another size than the last
// (the camera reopened) starts a new background. The frame is only read,
// and may be released after Detect returns.
func (d *Detector) Detect(f camera.Frame) (Result, error) {
	w, h, err := frameSize(f)
	if err != nil {
		return Result{}, err
	}
	var res Result
	if w != d.w || h != d.h {
		d.resize(w, h)
		res.Reset = true
	}
	d.shrink(f)
	blur5(d.blur, d.cur, d.tmp, d.sw, d.sh)
	if res.Reset {
		d.seen = 0
		res.Changed = d.motion
		d.motion = false
	}
	d.seen++
	if d.seen <= Warmup {
		d.learn()
		res.Warming = true
		return res, nil
	}

	// Changed: outside the background of the pixel and its neighbours by
	// Threshold, so that a shift of a pixel or two is not motion.
	minMax(d.lo, d.hi, d.bg, d.tmp, d.tm2, d.sw, d.sh, shake)
	t := float32(d.cfg.Threshold)
	for i, v := range d.blur {
		c := uint8(0)
		if v > d.hi[i]+t || v < d.lo[i]-t {
			c = 1
		}
		d.mask[i] = c
	}
	d.learn()

	dilate3(d.dil, d.mask, d.tmpU, d.sw, d.sh)
	d.components()
	res.Boxes = d.boxes

	was := d.motion
	if len(d.boxes) > 0 {
		d.motion, d.last = true, f.Time
	} else if d.motion && f.Time.Sub(d.last) >= d.cfg.Hold {
		d.motion = false
	}
	res.Motion, res.Changed = d.motion, d.motion != was
	return res, nil
}

// learn blends the frame (d.blur) into the background, the d.seen-th
// frame of it: a plain average of the frames so far until that gives each
// less weight than Adapt, so that the background soon stops being one
// noisy frame.
func (d *Detector) learn() {
	a := float32(max(d.cfg.Adapt, 1/float64(d.seen)))
	for i, v := range d.blur {
		d.bg[i] += a * (v - d.bg[i])
	}
}

// frameSize checks that f holds the pixels it says it does.
func frameSize(f camera.Frame) (w, h int, err error) {
	if f.Image != nil {
		b := f.Image.Bounds()
		if b.Empty() {
			return 0, 0, fmt.Errorf("%w: an empty picture", ErrBadFrame)
		}
		return b.Dx(), b.Dy(), nil
	}
	w, h = f.Width, f.Height
	if w <= 0 || h <= 0 || f.Stride < 3*w || len(f.BGR) < (h-1)*f.Stride+3*w {
		return 0, 0, fmt.Errorf("%w: %dx%d BGR pixels with stride %d in %d bytes", ErrBadFrame, w, h, f.Stride, len(f.BGR))
	}
	return w, h, nil
}

// resize makes the buffers fit frames of w x h, reusing what is big enough.
func (d *Detector) resize(w, h int) {
	d.w, d.h = w, h
	d.f = max(1, (w+d.cfg.Width-1)/d.cfg.Width)
	d.sw, d.sh = max(1, w/d.f), max(1, h/d.f)
	n := d.sw * d.sh
	d.minPix = max(1, int(math.Ceil(d.cfg.MinArea*float64(n))))
	d.accB, d.accG, d.accR = grow(d.accB, d.sw), grow(d.accG, d.sw), grow(d.accR, d.sw)
	d.row = grow(d.row, w)
	for _, p := range []*[]float32{&d.cur, &d.blur, &d.bg, &d.lo, &d.hi, &d.tmp, &d.tm2} {
		*p = grow(*p, n)
	}
	d.mask, d.dil, d.tmpU = grow(d.mask, n), grow(d.dil, n), grow(d.tmpU, n)
	d.stack = grow(d.stack, n)
	if cap(d.boxes) < 16 {
		d.boxes = make([]image.Rectangle, 0, 16)
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Luma weights of ITU-R 601 in 16-bit fixed point (they sum to 65536).
const (
	wR = 19595
	wG = 38470
	wB = 7471
)

// shrink averages f's grey value over each f x f block into d.cur. The
// last f-1 columns and rows at most are left out.
func (d *Detector) shrink(fr camera.Frame) {
	bs := d.f
	scale := float32(1 / (float64(bs*bs) * 65536))
	for sy := range d.sh {
		clear(d.accB)
		clear(d.accG)
		clear(d.accR)
		for y := sy * bs; y < (sy+1)*bs; y++ {
			if fr.Image == nil {
				d.sumBGR(fr.BGR[y*fr.Stride : y*fr.Stride+3*d.sw*bs])
			} else {
				d.sumGrey(greyRow(fr.Image, y, d.row)[:d.sw*bs])
			}
		}
		out := d.cur[sy*d.sw : (sy+1)*d.sw]
		for x := range out {
			s := uint64(d.accR[x])*wR + uint64(d.accG[x])*wG + uint64(d.accB[x])*wB
			out[x] = float32(s) * scale
		}
	}
}

// sumBGR adds a row of BGR pixels into the block sums.
func (d *Detector) sumBGR(row []byte) {
	bs := d.f
	for x := range d.sw {
		var b, g, r uint32
		for px := row[3*x*bs : 3*(x+1)*bs]; len(px) >= 3; px = px[3:] {
			b += uint32(px[0])
			g += uint32(px[1])
			r += uint32(px[2])
		}
		d.accB[x] += b
		d.accG[x] += g
		d.accR[x] += r
	}
}

// sumGrey adds a row of grey pixels into the block sums, as if each were
// BGR with three equal channels.
func (d *Detector) sumGrey(row []byte) {
	bs := d.f
	for x := range d.sw {
		var g uint32
		for _, v := range row[x*bs : (x+1)*bs] {
			g += uint32(v)
		}
		d.accB[x] += g
		d.accG[x] += g
		d.accR[x] += g
	}
}

// greyRow is row y (from the top of its bounds) of img in grey, in buf or
// aliasing img. Pictures (a folder source) are slow anyway: any type
// other than these reads through color.GrayModel, allocating.
func greyRow(img image.Image, y int, buf []byte) []byte {
	b := img.Bounds()
	w := b.Dx()
	switch m := img.(type) {
	case *image.Gray:
		i := m.PixOffset(b.Min.X, b.Min.Y+y)
		return m.Pix[i : i+w]
	case *image.YCbCr:
		i := m.YOffset(b.Min.X, b.Min.Y+y)
		return m.Y[i : i+w]
	case *image.RGBA:
		// Premultiplied: the grey of the colour over black.
		p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := range w {
			buf[x] = uint8((uint32(p[4*x])*wR + uint32(p[4*x+1])*wG + uint32(p[4*x+2])*wB + 1<<15) >> 16)
		}
	case *image.NRGBA:
		p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := range w {
			buf[x] = uint8((uint32(p[4*x])*wR + uint32(p[4*x+1])*wG + uint32(p[4*x+2])*wB + 1<<15) >> 16)
		}
	default:
		for x := range w {
			buf[x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
		}
	}
	return buf[:w]
}

// components finds the 8-connected blobs of d.dil and keeps the boxes of
// those of at least minPix pixels, in frame pixels, in d.boxes.
func (d *Detector) components() {
	d.boxes = d.boxes[:0]
	sw, sh := d.sw, d.sh
	m := d.dil
	for start := range m {
		if m[start] != 1 {
			continue
		}
		m[start] = 2 // seen
		stack := append(d.stack[:0], int32(start))
		n := 0
		x0, y0, x1, y1 := sw, sh, -1, -1
		for len(stack) > 0 {
			p := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			n++
			x, y := p%sw, p/sw
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			for ny := max(0, y-1); ny <= min(sh-1, y+1); ny++ {
				for nx := max(0, x-1); nx <= min(sw-1, x+1); nx++ {
					if q := ny*sw + nx; m[q] == 1 {
						m[q] = 2
						stack = append(stack, int32(q))
					}
				}
			}
		}
		if n >= d.minPix {
			d.boxes = append(d.boxes, d.frameRect(x0, y0, x1+1, y1+1))
		}
	}
}

// frameRect maps working pixels [x0, x1) x [y0, y1) to the frame's; a box
// at the last working column or row takes in the columns or rows that
// shrink left out.
func (d *Detector) frameRect(x0, y0, x1, y1 int) image.Rectangle {
	r := image.Rect(x0*d.f, y0*d.f, x1*d.f, y1*d.f)
	if x1 == d.sw {
		r.Max.X = d.w
	}
	if y1 == d.sh {
		r.Max.Y = d.h
	}
	return r
}
