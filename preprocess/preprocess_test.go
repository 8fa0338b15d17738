package preprocess

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/imagebomb"
)

// The golden data in testdata comes from testdata/gen.py, which runs the
// transform through PIL (see its docstring).

type goldenCase struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Spec  Spec   `json:"spec"`
	Out   string `json:"out"`
	Crop8 string `json:"crop8"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// maxDiff returns the largest absolute difference and where it is.
func maxDiff(got, want []float32) (float64, int) {
	worst, at := 0.0, -1
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	return worst, at
}

func TestGolden(t *testing.T) {
	var cases []goldenCase
	readJSON(t, "testdata/cases.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			img, err := LoadImage(filepath.Join("testdata", tc.Image))
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(tc.Spec)
			if err != nil {
				t.Fatal(err)
			}
			want := readF32(t, filepath.Join("testdata", tc.Out))
			if len(want) != p.Len() {
				t.Fatalf("golden has %d values, spec wants %d", len(want), p.Len())
			}
			got := make([]float32, p.Len())
			if err := p.Apply(img, got); err != nil {
				t.Fatal(err)
			}
			d, at := maxDiff(got, want)
			if strings.HasSuffix(tc.Image, ".jpg") {
				// Go's JPEG decoder differs from libjpeg by a few levels;
				// only the plumbing is checked here.
				if lim := 8.0 / 255 / 0.5; d > lim {
					t.Errorf("JPEG max diff %g at %d, want <= %g", d, at, lim)
				}
				return
			}
			if d > 1e-6 {
				t.Errorf("max diff %g at %d: got %v, want %v", d, at, got[at], want[at])
			}
			if tc.Crop8 != "" {
				want8, err := os.ReadFile(filepath.Join("testdata", tc.Crop8))
				if err != nil {
					t.Fatal(err)
				}
				got8 := p.rs.out[:len(want8)]
				if i := firstDiff(got8, want8); i >= 0 {
					t.Errorf("8-bit crop differs at byte %d: got %d, want %d", i, got8[i], want8[i])
				}
			}
		})
	}
}

func firstDiff(a, b []uint8) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// pixels returns img as tightly packed 8-bit samples: 3 per pixel for
// colour, 1 for grey.
func pixels(img image.Image) (pix []uint8, c int) {
	b := img.Bounds()
	if g, ok := img.(*image.Gray); ok {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			pix = append(pix, g.Pix[g.PixOffset(b.Min.X, y):][:b.Dx()]...)
		}
		return pix, 1
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			n := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			pix = append(pix, n.R, n.G, n.B)
		}
	}
	return pix, 3
}

// resizeFull resizes a whole picture with the resampler, as PIL's
// Image.resize would.
func resizeFull(src []uint8, w, h, c, outW, outH int, kern kernel) []uint8 {
	r := resampler{kern: kern, c: c}
	r.plan(w, h, outW, outH, image.Rect(0, 0, outW, outH))
	return append([]uint8(nil), r.run(src, w*c)...)
}

var kernels = map[Interpolation]kernel{Bicubic: bicubicKernel, Bilinear: bilinearKernel}

// TestResizeTable compares whole resized pictures with PIL's Image.resize
// for many target sizes: 1-pixel outputs, one unchanged axis, down- and
// upscaling.
func TestResizeTable(t *testing.T) {
	var table []struct {
		Image         string        `json:"image"`
		Interpolation Interpolation `json:"interpolation"`
		Width         int           `json:"width"`
		Height        int           `json:"height"`
		Offset        int           `json:"offset"`
		Length        int           `json:"length"`
	}
	readJSON(t, "testdata/resize.json", &table)
	blob, err := os.ReadFile("testdata/resize.bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range table {
		img, err := LoadImage(filepath.Join("testdata", e.Image))
		if err != nil {
			t.Fatal(err)
		}
		src, c := pixels(img)
		b := img.Bounds()
		got := resizeFull(src, b.Dx(), b.Dy(), c, e.Width, e.Height, kernels[e.Interpolation])
		want := blob[e.Offset : e.Offset+e.Length]
		if i := firstDiff(got, want); i >= 0 {
			t.Errorf("%s %s %dx%d -> %dx%d: byte %d differs from PIL", e.Image, e.Interpolation,
				b.Dx(), b.Dy(), e.Width, e.Height, i)
		}
	}
}

// TestPILSweep resizes random pictures to random sizes and compares with
// PIL run live. It needs a Python with Pillow and numpy:
//
//	PREPROCESS_PYTHON=/usr/bin/python3 PREPROCESS_SWEEP=2000 go test -run PILSweep ./preprocess/
func TestPILSweep(t *testing.T) {
	py := os.Getenv("PREPROCESS_PYTHON")
	if py == "" {
		t.Skip("set PREPROCESS_PYTHON to a Python with Pillow and numpy to run")
	}
	count := "300"
	if n := os.Getenv("PREPROCESS_SWEEP"); n != "" {
		count = n
	}
	dir := t.TempDir()
	cmd := exec.Command(py, "testdata/gen.py", "--sweep", dir, "--count", count, "--seed", "7")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.py: %v\n%s", err, out)
	}
	var table []struct {
		Width, Height, Channels int
		Interpolation           Interpolation
		OutWidth                int `json:"out_width"`
		OutHeight               int `json:"out_height"`
		SrcOffset               int `json:"src_offset"`
		OutOffset               int `json:"out_offset"`
	}
	readJSON(t, filepath.Join(dir, "sweep.json"), &table)
	src, err := os.ReadFile(filepath.Join(dir, "src.bin"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out.bin"))
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, e := range table {
		n := e.Width * e.Height * e.Channels
		got := resizeFull(src[e.SrcOffset:e.SrcOffset+n], e.Width, e.Height, e.Channels,
			e.OutWidth, e.OutHeight, kernels[e.Interpolation])
		want := out[e.OutOffset : e.OutOffset+len(got)]
		if i := firstDiff(got, want); i >= 0 {
			bad++
			t.Errorf("%dx%dx%d %s -> %dx%d: byte %d: got %d, want %d", e.Width, e.Height, e.Channels,
				e.Interpolation, e.OutWidth, e.OutHeight, i, got[i], want[i])
		}
	}
	t.Logf("%d resizes, %d differ from PIL", len(table), bad)
}

// TestWindowMatchesFull checks that producing only a window of the resized
// picture equals resizing everything and cutting the window out.
func TestWindowMatchesFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		w, h, c := 1+rng.IntN(90), 1+rng.IntN(90), 1+2*rng.IntN(2)
		ow, oh := 1+rng.IntN(90), 1+rng.IntN(90)
		src := make([]uint8, w*h*c)
		for i := range src {
			src[i] = uint8(rng.UintN(256))
		}
		kern := bicubicKernel
		if rng.IntN(2) == 0 {
			kern = bilinearKernel
		}
		full := resizeFull(src, w, h, c, ow, oh, kern)
		x0, y0 := rng.IntN(ow), rng.IntN(oh)
		win := image.Rect(x0, y0, x0+1+rng.IntN(ow-x0), y0+1+rng.IntN(oh-y0))
		r := resampler{kern: kern, c: c}
		r.plan(w, h, ow, oh, win)
		got := r.run(src, w*c)
		for y := win.Min.Y; y < win.Max.Y; y++ {
			a := got[(y-win.Min.Y)*win.Dx()*c:][:win.Dx()*c]
			b := full[(y*ow+win.Min.X)*c:][:win.Dx()*c]
			if i := firstDiff(a, b); i >= 0 {
				t.Fatalf("%dx%dx%d -> %dx%d window %v: row %d byte %d differs", w, h, c, ow, oh, win, y, i)
			}
		}
	}
}

// hidden hides an image's concrete type so Apply takes the generic path.
type hidden struct{ image.Image }

func randomNRGBA(rng *rand.Rand, r image.Rectangle) *image.NRGBA {
	m := image.NewNRGBA(r)
	for i := range m.Pix {
		m.Pix[i] = uint8(rng.UintN(256))
	}
	return m
}

// fastPathImages returns one picture of each type Apply reads directly,
// with bounds that do not start at the origin.
func fastPathImages() map[string]image.Image {
	rng := rand.New(rand.NewPCG(3, 4))
	r := image.Rect(5, 7, 5+83, 7+61)
	nrgba := randomNRGBA(rng, r)
	rgba := image.NewRGBA(r)
	draw.Draw(rgba, r, nrgba, r.Min, draw.Src)
	gray := image.NewGray(r)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(rng.UintN(256))
	}
	ycc := image.NewYCbCr(image.Rect(0, 0, 100, 80), image.YCbCrSubsampleRatio420)
	for _, p := range [][]uint8{ycc.Y, ycc.Cb, ycc.Cr} {
		for i := range p {
			p[i] = uint8(rng.UintN(256))
		}
	}
	return map[string]image.Image{
		"nrgba":     nrgba,
		"nrgba-sub": nrgba.SubImage(image.Rect(10, 10, 70, 60)),
		"rgba":      rgba,
		"gray":      gray,
		"ycbcr":     ycc.SubImage(image.Rect(3, 5, 97, 71)),
	}
}

var recipes = []Spec{
	TimmDefault(32, 0.875),
	{Size: 24, CropPct: 0.9, CropMode: CropSquash, Interpolation: Bilinear, Colour: Grey, Invert: true,
		Mean: []float32{0.5}, Std: []float32{0.5}},
	{Size: 40, CropPct: 1, CropMode: CropCenter, Interpolation: Bicubic, Colour: RGB, Invert: true,
		Mean: ImageNetMean, Std: ImageNetStd},
	{Size: 96, CropPct: 0.95, CropMode: CropCenter, Interpolation: Bilinear, Colour: Grey,
		Mean: []float32{0.2}, Std: []float32{0.3}},
}

func apply(t *testing.T, s Spec, img image.Image) []float32 {
	t.Helper()
	p, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, p.Len())
	if err := p.Apply(img, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func equalF32(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestFastPathsMatchGeneric(t *testing.T) {
	for name, img := range fastPathImages() {
		for i, s := range recipes {
			got, want := apply(t, s, img), apply(t, s, hidden{img})
			if j := equalF32(got, want); j >= 0 {
				t.Errorf("%s recipe %d: fast path differs from generic at %d", name, i, j)
			}
		}
	}
}

func TestApplyRGBMatchesApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const w, h, pad = 71, 53, 5
	img := randomNRGBA(rng, image.Rect(0, 0, w, h))
	for _, bgr := range []bool{false, true} {
		stride := 3*w + pad
		buf := make([]byte, (h-1)*stride+3*w) // no padding after the last row
		for y := range h {
			for x := range w {
				p := img.Pix[img.PixOffset(x, y):]
				q := buf[y*stride+3*x:]
				q[0], q[1], q[2] = p[0], p[1], p[2]
				if bgr {
					q[0], q[2] = p[2], p[0]
				}
			}
		}
		for i, s := range recipes {
			p, err := New(s)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, p.Len())
			if err := p.ApplyRGB(buf, w, h, stride, bgr, got); err != nil {
				t.Fatal(err)
			}
			if j := equalF32(got, apply(t, s, img)); j >= 0 {
				t.Errorf("bgr=%v recipe %d: ApplyRGB differs from Apply at %d", bgr, i, j)
			}
		}
	}
}

func TestGreyAndInvert(t *testing.T) {
	// PIL's rgb2l rounds: (r*19595 + g*38470 + b*7471 + 0x8000) >> 16.
	for _, c := range []struct{ r, g, b, want uint8 }{
		{255, 255, 255, 255}, {0, 0, 0, 0}, {255, 0, 0, 76}, {0, 255, 0, 150}, {0, 0, 255, 29},
		{1, 0, 0, 0}, {2, 0, 0, 1}, {10, 20, 30, 18}, {200, 100, 50, 124},
	} {
		if got := luma(c.r, c.g, c.b); got != c.want {
			t.Errorf("luma(%d, %d, %d) = %d, want %d", c.r, c.g, c.b, got, c.want)
		}
	}
	// A 1x1 picture resized to itself: only the colour step and the LUT.
	s := Spec{Size: 1, CropPct: 1, CropMode: CropCenter, Interpolation: Bicubic, Colour: Grey,
		Invert: true, Mean: []float32{0}, Std: []float32{1}}
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Pix = []uint8{200, 100, 50, 0}
	if got, want := apply(t, s, img)[0], float32(255-124)/255; got != want {
		t.Errorf("inverted grey = %v, want %v", got, want)
	}
}

func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		w, h, size        int
		pct               float64
		mode              CropMode
		outW, outH, l, tp int
	}{
		{37, 23, 19, 1, CropCenter, 30, 19, 6, 0}, // d = 11: round(5.5) = 6
		{37, 23, 22, 1, CropCenter, 35, 22, 6, 0}, // d = 13: round(6.5) = 6
		{23, 37, 22, 1, CropCenter, 22, 35, 0, 6}, // the same, portrait
		{640, 480, 224, 0.875, CropCenter, 341, 256, 58, 16},
		{640, 480, 224, 0.9, CropSquash, 248, 248, 12, 12},
		{28, 28, 64, 0.875, CropCenter, 73, 73, 4, 4},      // d = 9: round(4.5) = 4
		{300, 200, 224, 0.95, CropCenter, 352, 235, 64, 6}, // int(352.5)
	} {
		s := TimmDefault(c.size, c.pct)
		s.CropMode = c.mode
		p, err := New(s)
		if err != nil {
			t.Fatal(err)
		}
		ow, oh, win := p.geometry(c.w, c.h)
		if ow != c.outW || oh != c.outH || win.Min != image.Pt(c.l, c.tp) || win.Dx() != c.size || win.Dy() != c.size {
			t.Errorf("%dx%d size %d pct %v %s: got %dx%d window %v, want %dx%d at (%d,%d)",
				c.w, c.h, c.size, c.pct, c.mode, ow, oh, win, c.outW, c.outH, c.l, c.tp)
		}
	}
}

func TestUpscaleTiny(t *testing.T) {
	// A 1x1 picture upscaled stays flat; a 2x1 one keeps its ends.
	for _, s := range []Spec{TimmDefault(64, 0.875), {Size: 64, CropPct: 1, CropMode: CropSquash,
		Interpolation: Bilinear, Colour: RGB, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.5, 0.5, 0.5}}} {
		img := image.NewGray(image.Rect(0, 0, 1, 1))
		img.Pix[0] = 77
		for i, v := range apply(t, s, img) {
			if want := (float32(77)/255 - 0.5) / 0.5; v != want {
				t.Fatalf("%s: value %d = %v, want %v", s.Interpolation, i, v, want)
			}
		}
	}
}

func TestAllocs(t *testing.T) {
	imgs := fastPathImages()
	delete(imgs, "nrgba-sub")
	for name, img := range imgs {
		for i, s := range recipes {
			p, err := New(s)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]float32, p.Len())
			if err := p.Apply(img, dst); err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(5, func() { _ = p.Apply(img, dst) }); n != 0 {
				t.Errorf("%s recipe %d: %v allocations per Apply", name, i, n)
			}
		}
	}
	p, err := New(TimmDefault(224, 0.875))
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 640*480*3)
	dst := make([]float32, p.Len())
	if err := p.ApplyRGB(frame, 640, 480, 640*3, true, dst); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() { _ = p.ApplyRGB(frame, 640, 480, 640*3, true, dst) }); n != 0 {
		t.Errorf("%v allocations per ApplyRGB", n)
	}
}

func TestErrors(t *testing.T) {
	p, err := New(TimmDefault(32, 0.875))
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 10, 10))
	if err := p.Apply(img, make([]float32, 32*32)); !errors.Is(err, ErrDstLen) {
		t.Errorf("short dst: got %v, want ErrDstLen", err)
	}
	if err := p.Apply(img, make([]float32, 3*32*32+1)); !errors.Is(err, ErrDstLen) {
		t.Errorf("long dst: got %v, want ErrDstLen", err)
	}
	dst := make([]float32, p.Len())
	if err := p.Apply(image.NewGray(image.Rect(0, 0, 0, 5)), dst); !errors.Is(err, ErrEmptyImage) {
		t.Errorf("empty image: got %v, want ErrEmptyImage", err)
	}
	if err := p.ApplyRGB(nil, 0, 0, 0, false, dst); !errors.Is(err, ErrEmptyImage) {
		t.Errorf("empty buffer: got %v, want ErrEmptyImage", err)
	}
	if err := p.ApplyRGB(make([]byte, 100), 10, 10, 30, false, dst); !errors.Is(err, ErrBadBuffer) {
		t.Errorf("short buffer: got %v, want ErrBadBuffer", err)
	}
	if err := p.ApplyRGB(make([]byte, 300), 10, 10, 20, false, dst); !errors.Is(err, ErrBadBuffer) {
		t.Errorf("small stride: got %v, want ErrBadBuffer", err)
	}
	if err := p.Apply(image.NewGray(image.Rect(0, 0, MaxSide+1, 1)), dst); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge image: got %v, want ErrTooLarge", err)
	}
}

func TestValidateJoinsProblems(t *testing.T) {
	bad := Spec{Size: 0, CropPct: 1.5, CropMode: "zoom", Interpolation: "nearest", Colour: "cmyk",
		Mean: []float32{float32(math.NaN())}, Std: []float32{0, -1, 1, 2}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad spec validated")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("error is not joined: %v", err)
	}
	for _, want := range []string{"size 0", "crop_pct 1.5", `crop_mode "zoom"`, `interpolation "nearest"`,
		`colour "cmyk"`, "mean has 1 values", "std has 4 values", "mean[0]", "std[0]", "std[1]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := len(joined.Unwrap()); n != 10 {
		t.Errorf("got %d problems, want 10:\n%v", n, err)
	}
	if _, err := New(bad); err == nil {
		t.Error("New accepted a bad spec")
	}

	huge := TimmDefault(224, 1e-9)
	if err := huge.Validate(); err == nil || !strings.Contains(err.Error(), "resize target") {
		t.Errorf("tiny crop_pct: got %v", err)
	}
	for _, s := range []Spec{TimmDefault(1, 1), TimmDefault(224, 0.875), TimmDefault(MaxSide, 1)} {
		if err := s.Validate(); err != nil {
			t.Errorf("size %d crop_pct %v: %v", s.Size, s.CropPct, err)
		}
	}
}

func TestLoadImage(t *testing.T) {
	dir := t.TempDir()
	gif := filepath.Join(dir, "x.gif")
	if err := os.WriteFile(gif, []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadImage(gif)
	if !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), gif) {
		t.Errorf("GIF: got %v, want ErrUnsupportedFormat naming the file", err)
	}
	if _, err := LoadImage(filepath.Join(dir, "missing.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
	for name, want := range map[string]string{
		"rgb_37x23.png": "*image.RGBA", "rgba_300x200.png": "*image.NRGBA",
		"grey_28x28.png": "*image.Gray", "photo_64x48.jpg": "*image.YCbCr",
	} {
		img, err := LoadImage(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", img); got != want {
			t.Errorf("%s decodes to %s, want %s", name, got, want)
		}
	}
}

// BenchmarkApply preprocesses a 640x480 camera frame.
func BenchmarkApply(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	frame := make([]byte, 640*480*3)
	for i := range frame {
		frame[i] = uint8(rng.UintN(256))
	}
	ycc := image.NewYCbCr(image.Rect(0, 0, 640, 480), image.YCbCrSubsampleRatio420)
	for _, s := range []struct {
		name string
		spec Spec
	}{
		{"out=224/rgb-bicubic", TimmDefault(224, 0.875)},
		{"out=64/grey-bilinear", Spec{Size: 64, CropPct: 0.875, CropMode: CropCenter, Interpolation: Bilinear,
			Colour: Grey, Mean: []float32{0.5}, Std: []float32{0.5}}},
	} {
		p, err := New(s.spec)
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]float32, p.Len())
		b.Run("in=bgr24-640x480/"+s.name, func(b *testing.B) {
			for b.Loop() {
				if err := p.ApplyRGB(frame, 640, 480, 640*3, true, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
		b.Run("in=ycbcr420-640x480/"+s.name, func(b *testing.B) {
			for b.Loop() {
				if err := p.Apply(ycc, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// TestLoadImageBombs: pictures whose headers declare more than
// MaxImagePixels are refused before any pixel memory is allocated.
func TestLoadImageBombs(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"bomb.png":      imagebomb.PNG(100000, 100000),
		"wide.png":      imagebomb.PNG(1<<31-1, 1),
		"bomb.jpg":      imagebomb.JPEG(65500, 65500),
		"just-over.png": imagebomb.PNG(MaxImagePixels/1000+1, 1000),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadImage(path)
		if !errors.Is(err, ErrImageTooLarge) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s (%d bytes): %v, want ErrImageTooLarge naming the file", name, len(data), err)
		}
	}
	// Exactly the limit is not refused for its size.
	if err := checkImageSize(MaxImagePixels/1000, 1000); err != nil {
		t.Errorf("MaxImagePixels pixels: %v", err)
	}
	for _, wh := range [][2]int{{MaxImagePixels/1000 + 1, 1000}, {0, 10}, {10, -1}, {1 << 62, 1 << 62}} {
		if err := checkImageSize(wh[0], wh[1]); err == nil {
			t.Errorf("%dx%d: no error", wh[0], wh[1])
		}
	}
}
