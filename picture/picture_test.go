package picture

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
)

// gradientFrame is a w x h BGR frame (stride padded by 5 bytes, as
// OpenCV's may be) whose red is x, green y and blue 40: any offset,
// flipped axis or swapped channel shows in a comparison.
func gradientFrame(w, h int) camera.Frame {
	stride := 3*w + 5
	pix := make([]byte, stride*h)
	for y := range h {
		for x := range w {
			i := y*stride + 3*x
			pix[i], pix[i+1], pix[i+2] = 40, byte(y), byte(x)
		}
	}
	return camera.NewFrame(pix, w, h, stride, time.Time{}, 0, nil)
}

func noiseFrame(w, h int, seed uint64) camera.Frame {
	r := rand.New(rand.NewPCG(seed, 1))
	pix := make([]byte, 3*w*h)
	for i := range pix {
		pix[i] = byte(r.Uint32())
	}
	return camera.NewFrame(pix, w, h, 3*w, time.Time{}, 0, nil)
}

func uniformFrame(w, h int, c color.RGBA) camera.Frame {
	pix := make([]byte, 3*w*h)
	for i := 0; i < len(pix); i += 3 {
		pix[i], pix[i+1], pix[i+2] = c.B, c.G, c.R
	}
	return camera.NewFrame(pix, w, h, 3*w, time.Time{}, 0, nil)
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the JPEG does not decode: %v", err)
	}
	return img
}

// compare checks got against want(x, y) channel by channel. The
// tolerance is JPEG's on a smooth picture at quality 95: no pixel off by
// more than maxAbs, and the mean signed error within meanSigned, which
// catches a one pixel shift of the 1-per-pixel gradient (a mean error of
// 1) that a per-pixel tolerance cannot.
func compare(t *testing.T, got image.Image, want func(x, y int) [3]float64, maxAbs, meanSigned float64) {
	t.Helper()
	b := got.Bounds()
	var sum [3]float64
	worst := 0.0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := got.At(x, y).RGBA()
			w := want(x-b.Min.X, y-b.Min.Y)
			for c, v := range [3]uint32{r, g, bl} {
				d := float64(v>>8) - w[c]
				sum[c] += d
				worst = max(worst, math.Abs(d))
			}
		}
	}
	n := float64(b.Dx() * b.Dy())
	for c := range sum {
		if m := sum[c] / n; math.Abs(m) > meanSigned {
			t.Errorf("channel %d: mean error %.2f, more than %.2f", c, m, meanSigned)
		}
	}
	if worst > maxAbs {
		t.Errorf("a pixel is off by %.0f, more than %.0f", worst, maxAbs)
	}
}

func TestCropDecodesToTheCrop(t *testing.T) {
	var e Encoder
	f := gradientFrame(640, 480)
	crop := image.Rect(40, 50, 240, 230) // red stays below 256
	b, res, err := e.EncodeFrame(f, Options{Crop: crop, Quality: 95})
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 200 || res.Height != 180 || res.Reduced || res.Attempts != 1 || res.Quality != 95 {
		t.Errorf("result %+v, want 200x180 at quality 95 in one attempt", res)
	}
	img := decode(t, b)
	if img.Bounds().Dx() != 200 || img.Bounds().Dy() != 180 {
		t.Fatalf("decoded %v", img.Bounds())
	}
	compare(t, img, func(x, y int) [3]float64 { return [3]float64{float64(40 + x), float64(50 + y), 40} }, 6, 0.5)
}

func TestScaledCropIsTheAverage(t *testing.T) {
	var e Encoder
	f := gradientFrame(640, 480)
	// 240x200 to at most 120 a side: 2x2 source pixels an output pixel,
	// whose red is the mean of 2x and 2x+1.
	b, res, err := e.EncodeFrame(f, Options{Crop: image.Rect(10, 20, 250, 220), MaxSide: 120, Quality: 95})
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 120 || res.Height != 100 {
		t.Fatalf("result %+v, want 120x100", res)
	}
	compare(t, decode(t, b), func(x, y int) [3]float64 {
		return [3]float64{10 + 2*float64(x) + 0.5, 20 + 2*float64(y) + 0.5, 40}
	}, 6, 0.75)
}

// TestSourcesAgree: a frame as BGR, as RGBA, as YCbCr-free generic image
// and through FrameImage render the same pixels.
func TestSourcesAgree(t *testing.T) {
	f := gradientFrame(64, 48)
	rgba := image.NewRGBA(image.Rect(0, 0, 64, 48))
	nrgba := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			c := color.RGBA{byte(x), byte(y), 40, 0xff}
			rgba.SetRGBA(x, y, c)
			nrgba.Set(x, y, c)
		}
	}
	o := Options{Crop: image.Rect(3, 5, 50, 40), MaxSide: 20}
	var e Encoder
	want, err := e.RenderFrame(f, o)
	if err != nil {
		t.Fatal(err)
	}
	want = clone(want)
	fi, err := FrameImage(f)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]image.Image{"rgba": rgba, "nrgba": nrgba, "frameimage": fi} {
		got, err := e.Render(src, o)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Pix, want.Pix) || got.Rect != want.Rect {
			t.Errorf("%s renders differently from the BGR frame", name)
		}
	}
	gray := image.NewGray(image.Rect(0, 0, 4, 4))
	gray.Pix[5] = 200
	got, err := e.Render(gray, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.RGBAAt(1, 1); c != (color.RGBA{200, 200, 200, 255}) {
		t.Errorf("grey pixel became %v", c)
	}
}

func clone(m *image.RGBA) *image.RGBA {
	c := *m
	c.Pix = bytes.Clone(m.Pix)
	return &c
}

var grey = color.RGBA{0x80, 0x80, 0x80, 0xff}

// TestBoxesLandWhereAsked checks every pixel of rendered outlines: the
// outline's band is inside the rectangle asked for, everything else is
// the background, with and without scaling and clipping.
func TestBoxesLandWhereAsked(t *testing.T) {
	red := color.RGBA{0xff, 0, 0, 0xff}
	for _, tc := range []struct {
		name   string
		o      Options
		outer  image.Rectangle // where the outline is, in the picture
		stroke int
	}{
		{"unscaled", Options{Scale: 1, Boxes: []Box{{Rect: image.Rect(10, 20, 50, 40), Color: red}}},
			image.Rect(10, 20, 50, 40), 1},
		{"thick", Options{Scale: 3, Boxes: []Box{{Rect: image.Rect(10, 20, 50, 40), Color: red}}},
			image.Rect(10, 20, 50, 40), 3},
		{"cropped", Options{Scale: 1, Crop: image.Rect(5, 5, 100, 80),
			Boxes: []Box{{Rect: image.Rect(10, 20, 50, 40), Color: red}}}, image.Rect(5, 15, 45, 35), 1},
		{"scaled", Options{Scale: 1, MaxSide: 80, Boxes: []Box{{Rect: image.Rect(10, 20, 50, 40), Color: red}}},
			image.Rect(5, 10, 25, 20), 1},
		{"clipped", Options{Scale: 2, Boxes: []Box{{Rect: image.Rect(-10, 100, 60, 200), Color: red}}},
			image.Rect(-10, 100, 60, 200), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Encoder
			pic, err := e.RenderFrame(uniformFrame(160, 120, grey), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			inner := tc.outer.Inset(tc.stroke)
			bad := 0
			for y := pic.Rect.Min.Y; y < pic.Rect.Max.Y; y++ {
				for x := pic.Rect.Min.X; x < pic.Rect.Max.X; x++ {
					p := image.Pt(x, y)
					want := grey
					if p.In(tc.outer) && !p.In(inner) {
						want = red
					}
					if got := pic.RGBAAt(x, y); got != want {
						if bad++; bad <= 5 {
							t.Errorf("pixel %v is %v, want %v", p, got, want)
						}
					}
				}
			}
		})
	}
}

// TestLabelDrawnInItsBoxOnly: a label changes pixels only inside its box,
// and there both the box's colour and the text's.
func TestLabelDrawnInItsBoxOnly(t *testing.T) {
	blue := color.RGBA{0x20, 0x40, 0xc0, 0xff}
	for _, tc := range []struct {
		name string
		rect image.Rectangle
	}{
		{"above", image.Rect(30, 60, 200, 110)},
		{"inside at the top edge", image.Rect(30, 0, 200, 110)},
		{"moved left at the right edge", image.Rect(300, 60, 320, 110)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Encoder
			f := uniformFrame(320, 240, grey)
			plain, err := e.RenderFrame(f, Options{Boxes: []Box{{Rect: tc.rect, Color: blue}}})
			if err != nil {
				t.Fatal(err)
			}
			plain = clone(plain)
			text := "gate: open 0.97"
			pic, err := e.RenderFrame(f, Options{Boxes: []Box{{Rect: tc.rect, Color: blue, Label: text}}})
			if err != nil {
				t.Fatal(err)
			}
			box := image.Rectangle{Max: LabelSize(text, 1)}
			box = box.Add(labelAt(pic.Rect, tc.rect.Intersect(pic.Rect), box.Size()))
			if !box.In(pic.Rect) {
				t.Fatalf("label box %v is not inside the picture", box)
			}
			counts := map[color.RGBA]int{}
			for y := range pic.Rect.Dy() {
				for x := range pic.Rect.Dx() {
					got, was := pic.RGBAAt(x, y), plain.RGBAAt(x, y)
					if !image.Pt(x, y).In(box) {
						if got != was {
							t.Fatalf("pixel (%d,%d) outside the label box %v changed", x, y, box)
						}
						continue
					}
					counts[got]++
				}
			}
			white := color.RGBA{0xff, 0xff, 0xff, 0xff}
			if len(counts) != 2 || counts[blue] == 0 || counts[white] < 10*len(text) {
				t.Errorf("label box %v holds %v, want blue background and white text", box, counts)
			}
		})
	}
}

func TestDrawTextStaysInItsCell(t *testing.T) {
	for _, scale := range []int{1, 2, 5} {
		dst := image.NewRGBA(image.Rect(0, 0, 300, 100))
		at := image.Pt(7, 9)
		r := DrawText(dst, at, "Ab9/x", color.RGBA{A: 0xff}, scale)
		if r != (image.Rectangle{Min: at, Max: at.Add(TextSize("Ab9/x", scale))}) {
			t.Errorf("scale %d: DrawText says %v", scale, r)
		}
		ink := 0
		for y := range 100 {
			for x := range 300 {
				if dst.RGBAAt(x, y).A != 0 {
					ink++
					if !image.Pt(x, y).In(r) {
						t.Fatalf("scale %d: ink at (%d,%d), outside %v", scale, x, y, r)
					}
				}
			}
		}
		if ink%(scale*scale) != 0 || ink < 5*10*scale*scale {
			t.Errorf("scale %d: %d pixels of ink", scale, ink)
		}
	}
}

func TestCaption(t *testing.T) {
	var e Encoder
	f := uniformFrame(200, 100, grey)
	pic, err := e.RenderFrame(f, Options{Caption: []string{"T-shirt/top 0.91", "Shirt 0.05"}})
	if err != nil {
		t.Fatal(err)
	}
	h := LabelSize("x", 1).Y
	if pic.RGBAAt(0, 0) != (color.RGBA{A: 0xff}) || pic.RGBAAt(0, 2*h-1) != (color.RGBA{A: 0xff}) ||
		pic.RGBAAt(0, 2*h) != grey || pic.RGBAAt(199, 0) != grey {
		t.Error("the caption's two lines are not at the top-left corner")
	}
}

// TestByteBound: a noisy frame, the worst case for JPEG, within bounds
// that need a lower quality and a smaller picture; deterministic.
func TestByteBound(t *testing.T) {
	f := noiseFrame(640, 480, 7)
	var e Encoder
	full, res, err := e.EncodeFrame(f, Options{Quality: 90})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("unbounded: %d bytes, %+v", len(full), res)
	for _, limit := range []int{len(full) - 1, len(full) / 3, 20000, 3000} {
		b, res, err := e.EncodeFrame(f, Options{Quality: 90, MaxBytes: limit})
		if err != nil {
			t.Fatalf("bound %d: %v", limit, err)
		}
		if len(b) > limit || !res.Reduced || res.Attempts < 2 {
			t.Errorf("bound %d: %d bytes, %+v", limit, len(b), res)
		}
		img := decode(t, b)
		if img.Bounds().Dx() != res.Width || img.Bounds().Dy() != res.Height {
			t.Errorf("bound %d: decoded %v, result says %dx%d", limit, img.Bounds(), res.Width, res.Height)
		}
		again, res2, err := e.EncodeFrame(f, Options{Quality: 90, MaxBytes: limit})
		if err != nil || !bytes.Equal(b, again) || res2 != res {
			t.Errorf("bound %d: a second encoding differs (%v)", limit, err)
		}
		t.Logf("bound %d: %d bytes, %+v", limit, len(b), res)
	}
	_, _, err = e.EncodeFrame(f, Options{MaxBytes: 300})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("a bound below any JPEG: %v, want ErrTooLarge", err)
	}
	// A bound met at once changes nothing.
	b, res, err := e.EncodeFrame(f, Options{Quality: 90, MaxBytes: len(full)})
	if err != nil || !bytes.Equal(b, full) || res.Reduced {
		t.Errorf("a bound the picture meets: %v, %+v", err, res)
	}
}

func TestBadInput(t *testing.T) {
	var e Encoder
	f := gradientFrame(32, 24)
	for _, tc := range []struct {
		name string
		f    camera.Frame
		o    Options
		want error
	}{
		{"crop outside", f, Options{Crop: image.Rect(100, 100, 200, 200)}, ErrEmpty},
		{"zero-size crop", f, Options{Crop: image.Rect(5, 5, 5, 20)}, ErrEmpty},
		{"inverted crop", f, Options{Crop: image.Rectangle{Min: image.Pt(20, 20), Max: image.Pt(5, 5)}}, ErrEmpty},
		{"zero-size frame", camera.NewFrame(nil, 0, 0, 0, time.Time{}, 0, nil), Options{}, ErrEmpty},
		{"short buffer", camera.NewFrame(make([]byte, 100), 32, 24, 96, time.Time{}, 0, nil), Options{}, nil},
		{"short stride", camera.NewFrame(make([]byte, 3000), 32, 24, 90, time.Time{}, 0, nil), Options{}, nil},
		{"negative size", camera.NewFrame(make([]byte, 3000), -3, 24, 90, time.Time{}, 0, nil), Options{}, ErrEmpty},
		{"huge size", camera.NewFrame(make([]byte, 3000), 1<<40, 1<<40, 1<<42, time.Time{}, 0, nil), Options{}, nil},
		{"quality", f, Options{Quality: 101}, nil},
		{"negative quality", f, Options{Quality: -1}, nil},
		{"negative side", f, Options{MaxSide: -1}, nil},
		{"negative bytes", f, Options{MaxBytes: -1}, nil},
		{"scale", f, Options{Scale: MaxScale + 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _, err := e.EncodeFrame(tc.f, tc.o)
			if err == nil || b != nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("got %d bytes, %v; want an error (%v)", len(b), err, tc.want)
			}
			if _, err := e.RenderFrame(tc.f, tc.o); err == nil {
				t.Error("Render: no error")
			}
		})
	}
	if _, _, err := e.Encode(nil, Options{}); err == nil {
		t.Error("a nil image: no error")
	}
	if _, err := NewBGR(make([]byte, 10), 2, 2, 6); err == nil {
		t.Error("NewBGR of a short buffer: no error")
	}
}

// TestOddBoxesDoNotPanic: boxes of every awkward shape and place, and
// labels of every awkward length, draw or are skipped without a panic.
func TestOddBoxesDoNotPanic(t *testing.T) {
	rects := []image.Rectangle{
		{}, image.Rect(5, 5, 5, 5), image.Rect(5, 5, 6, 6), image.Rect(5, 5, 5, 50),
		image.Rect(-100, -100, -50, -50), image.Rect(1000, 1000, 2000, 2000), image.Rect(-1000, -1000, 1000, 1000),
		{Min: image.Pt(20, 20), Max: image.Pt(3, 3)}, image.Rect(math.MinInt, math.MinInt, math.MaxInt, math.MaxInt),
		{Min: image.Pt(math.MaxInt-1, 0), Max: image.Pt(math.MaxInt, 5)}, image.Rect(31, 23, 32, 24),
	}
	labels := []string{"", "x", strings.Repeat("long label ", 40), "Tür: zu ✓ 0.99", "\x00\xff"}
	var e Encoder
	for _, side := range []int{0, 7, 1} {
		for _, crop := range []image.Rectangle{{}, image.Rect(3, 3, 10, 30), image.Rect(31, 0, 32, 1)} {
			for _, r := range rects {
				for _, l := range labels {
					o := Options{Crop: crop, MaxSide: side, Boxes: []Box{{Rect: r, Label: l}}, Caption: []string{l, l}}
					if _, _, err := e.EncodeFrame(gradientFrame(32, 24), o); err != nil {
						t.Errorf("%+v: %v", o, err)
					}
				}
			}
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for _, s := range []int{math.MinInt, -1, 0, 1 << 20, math.MaxInt} {
		DrawText(dst, image.Pt(-5, -5), "abc", color.RGBA{A: 1}, s)
		DrawLabel(dst, image.Pt(math.MaxInt-3, 8), "abc", color.RGBA{A: 1}, s)
		StrokeRect(dst, image.Rect(-3, -3, 30, 30), color.RGBA{A: 1}, s)
		FillRect(dst, image.Rect(math.MinInt, 0, math.MaxInt, 1), color.RGBA{A: 1})
		_ = Palette(s)
	}
}

func FuzzEncode(f *testing.F) {
	f.Add(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "")
	f.Add(1, 1, 30, 20, 10, 5, 50, 40, 80, 2000, "gate: open 0.97")
	f.Add(-5, -5, 100, 100, -20, -20, 200, 200, 1, 700, "x")
	f.Fuzz(func(t *testing.T, cx0, cy0, cx1, cy1, bx0, by0, bx1, by1, side, limit int, label string) {
		var e Encoder
		o := Options{Crop: image.Rect(cx0, cy0, cx1, cy1), MaxSide: side % 100, MaxBytes: limit % 100000,
			Boxes: []Box{{Rect: image.Rect(bx0, by0, bx1, by1), Label: label}}}
		b, res, err := e.EncodeFrame(gradientFrame(40, 30), o)
		if err != nil {
			return
		}
		if o.MaxBytes > 0 && len(b) > o.MaxBytes {
			t.Fatalf("%d bytes over the bound %d", len(b), o.MaxBytes)
		}
		img := decode(t, b)
		if img.Bounds().Dx() != res.Width || img.Bounds().Dy() != res.Height {
			t.Fatalf("decoded %v, result %+v", img.Bounds(), res)
		}
	})
}

// BenchmarkEncode: one 640x480 BGR frame a call, as the MJPEG stream
// and the snapshots use the Encoder.
func BenchmarkEncode(b *testing.B) {
	f := noiseFrame(640, 480, 3)
	// A camera frame is smoother than noise: blur it with a scene.
	for i := range f.BGR {
		f.BGR[i] = f.BGR[i]/8 + byte(i/3%640/3)
	}
	boxes := []Box{
		{Rect: image.Rect(40, 60, 240, 260), Label: "gate: open 0.97"},
		{Rect: image.Rect(300, 200, 600, 460), Label: "bins: out 0.88"},
	}
	for _, bc := range []struct {
		name string
		o    Options
	}{
		{"frame=640x480/boxes=2", Options{Boxes: boxes}},
		{"frame=640x480/boxes=0", Options{}},
		{"region=200x200/side=160", Options{Crop: boxes[0].Rect, MaxSide: 160}},
		{"frame=640x480/side=320/boxes=2", Options{MaxSide: 320, Boxes: boxes}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var e Encoder
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				out, _, err := e.EncodeFrame(f, bc.o)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "bytes/jpeg")
		})
	}
}

// TestEncoderAllocs: after its first picture, an Encoder allocates only
// what image/jpeg itself does per encoding (5 small objects in Go 1.27),
// not a frame-sized buffer.
func TestEncoderAllocs(t *testing.T) {
	f := noiseFrame(640, 480, 3)
	o := Options{MaxSide: 320, Boxes: []Box{{Rect: image.Rect(40, 60, 240, 260), Label: "gate: open 0.97"}}}
	var e Encoder
	if _, _, err := e.EncodeFrame(f, o); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(10, func() { e.EncodeFrame(f, o) })
	runtime.ReadMemStats(&after)
	perRun := float64(after.TotalAlloc-before.TotalAlloc) / 11
	t.Logf("%.0f allocations, %.0f bytes a picture", allocs, perRun)
	if allocs > 8 || perRun > 4096 {
		t.Errorf("%.0f allocations, %.0f bytes a picture: more than image/jpeg's own", allocs, perRun)
	}
}
