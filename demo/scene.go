package demo

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/dataset"
)

// SceneFPS is a scene's frame rate when it names none: a slow camera's.
const SceneFPS = 10

// Codecs a scene video can be written with: FFV1 gives back exactly the
// rendered pixels; MJPG is lossy, as many cameras are.
const (
	CodecFFV1 = "FFV1"
	CodecMJPG = "MJPG"
)

// Scene is a camera's view made up for tests and the demo: a grey
// background with regions, each showing a Fashion-MNIST test item that is
// replaced by another at the frames its schedule names, under sensor noise
// and a camera that shakes by a pixel or so. Every frame follows from the
// scene and its Seed alone.
type Scene struct {
	Width, Height int
	Frames        int
	FPS           float64 // 0: SceneFPS
	// Background is the grey level outside the regions.
	Background uint8
	// Noise is the standard deviation, in grey levels, of the noise added
	// to each channel of each pixel of each frame.
	Noise float64
	// Jitter: each frame is shifted by up to this many pixels each way
	// (uniformly, whole pixels); what the shift uncovers is Background.
	Jitter int
	Seed   uint64
	// Codec is CodecFFV1 (also when empty) or CodecMJPG.
	Codec   string
	Regions []SceneRegion
}

// SceneRegion is a named rectangle of a scene and what it shows when.
type SceneRegion struct {
	Name string
	Rect image.Rectangle
	// Items is the schedule: Items[0] from frame 0, each next one from
	// its From on, in increasing order. An item lies in the largest square
	// centred in Rect, as its Placement says.
	Items []Item
}

// Item is one Fashion-MNIST test image shown in a region from frame From.
type Item struct {
	From  int
	Index int // into the test split
	Placement
}

// Placement is how an item shows in its region's square. The zero value
// is the dataset's view: the item fills the square, on black, as items'
// own background is. The other values show it as a camera would show a
// light object lying on a grey surface.
type Placement struct {
	// Scale is the item's side as a part of the square's, 0.25 to 1 (0: 1).
	Scale float64
	// X and Y say where the item lies in the room its Scale leaves: 0 at
	// the left or top, 1 at the right or bottom.
	X, Y float64
	// Background is the surface's grey level. The item is a white object
	// of the dataset's level a: v = s + a/255*(255-s) over the surface s,
	// so 0 gives the dataset's picture.
	Background uint8
	// Texture is the standard deviation, in grey levels, of the surface's
	// still pattern: as much per-pixel grain and 1.5 times as much smooth
	// variation over the square (0: a flat surface).
	Texture float64
	// Blur is the standard deviation, in frame pixels, of a Gaussian blur
	// of the square (0: sharp), an out-of-focus lens.
	Blur float64
}

// RegionTruth is what a region of a rendered scene shows: Changes[0] from
// frame 0, then each change at its Frame.
type RegionTruth struct {
	Name    string
	Rect    image.Rectangle
	Changes []Change
}

// Change is a region starting to show an item, of class Label.
type Change struct {
	Frame, Index, Label int
}

// LabelAt is the class shown at frame i.
func (r RegionTruth) LabelAt(i int) int {
	k, _ := slices.BinarySearchFunc(r.Changes, i+1, func(c Change, t int) int { return c.Frame - t })
	return r.Changes[max(k-1, 0)].Label
}

// validate says what is wrong with p, if anything.
func (p Placement) validate() error {
	var errs []error
	if p.Scale != 0 && !(p.Scale >= 0.25 && p.Scale <= 1) {
		errs = append(errs, fmt.Errorf("scale %v is not 0.25 to 1", p.Scale))
	}
	if !(p.X >= 0 && p.X <= 1) || !(p.Y >= 0 && p.Y <= 1) {
		errs = append(errs, fmt.Errorf("position %v, %v is not 0 to 1 each way", p.X, p.Y))
	}
	if !(p.Texture >= 0 && p.Texture <= 64) {
		errs = append(errs, fmt.Errorf("texture %v is not 0 to 64 grey levels", p.Texture))
	}
	if !(p.Blur >= 0 && p.Blur <= 8) {
		errs = append(errs, fmt.Errorf("blur %v is not 0 to 8 pixels", p.Blur))
	}
	return errors.Join(errs...)
}

// maxSceneSide bounds a scene's frames (and their memory).
const maxSceneSide = 4096

// validate reports every problem of sc against a test split of n images.
func (sc *Scene) validate(n int) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("demo scene: "+format, a...)) }
	if sc.Width <= 0 || sc.Height <= 0 || sc.Width > maxSceneSide || sc.Height > maxSceneSide {
		bad("%dx%d frames: each side must be 1 to %d pixels", sc.Width, sc.Height, maxSceneSide)
	}
	if sc.Frames <= 0 {
		bad("%d frames", sc.Frames)
	}
	if !(sc.FPS >= 0) || math.IsInf(sc.FPS, 0) {
		bad("frame rate %v", sc.FPS)
	}
	if !(sc.Noise >= 0 && sc.Noise <= 100) {
		bad("noise %v is not 0 to 100 grey levels", sc.Noise)
	}
	if sc.Jitter < 0 || sc.Jitter > 16 {
		bad("jitter %d is not 0 to 16 pixels", sc.Jitter)
	}
	if sc.Codec != "" && sc.Codec != CodecFFV1 && sc.Codec != CodecMJPG {
		bad("codec %q: want %s or %s", sc.Codec, CodecFFV1, CodecMJPG)
	}
	frame := image.Rect(0, 0, sc.Width, sc.Height)
	names := map[string]bool{}
	for _, r := range sc.Regions {
		if r.Name == "" || strings.ContainsAny(r.Name, "/+#") {
			bad("region %q: a name, without / + #", r.Name)
		}
		if names[r.Name] {
			bad("region %q twice", r.Name)
		}
		names[r.Name] = true
		if r.Rect.Empty() || !r.Rect.In(frame) {
			bad("region %q: %v is not a rectangle inside the %v frame", r.Name, r.Rect, frame)
		}
		if len(r.Items) == 0 || r.Items[0].From != 0 {
			bad("region %q: the schedule must start at frame 0", r.Name)
		}
		for k, it := range r.Items {
			if k > 0 && it.From <= r.Items[k-1].From {
				bad("region %q: item %d starts at frame %d, not after %d", r.Name, k, it.From, r.Items[k-1].From)
			}
			if it.Index < 0 || it.Index >= n {
				bad("region %q: item %d is test image %d, not 0 to %d", r.Name, k, it.Index, n-1)
			}
			if err := it.Placement.validate(); err != nil {
				bad("region %q: item %d: %v", r.Name, k, err)
			}
		}
	}
	return errors.Join(errs...)
}

// SceneRenderer draws a scene's frames, in any order.
type SceneRenderer struct {
	sc      Scene
	set     *dataset.Set
	truth   []RegionTruth
	canvas  []byte    // the still scene, grey, its current items drawn
	shown   []int     // per region: the schedule position on canvas, -1 none
	region  []float64 // the region being drawn, before rounding
	blurred []float64 // blur's first pass over region
	frame   []byte    // BGR
	noise   []int16   // sensor noise by 16 random bits
	rng     *rand.PCG
}

// NewSceneRenderer checks sc against set (the Fashion-MNIST test split)
// and readies it for drawing.
func NewSceneRenderer(sc Scene, set *dataset.Set) (*SceneRenderer, error) {
	if err := sc.validate(set.Len()); err != nil {
		return nil, err
	}
	if sc.FPS == 0 {
		sc.FPS = SceneFPS
	}
	if sc.Codec == "" {
		sc.Codec = CodecFFV1
	}
	sc.Regions = slices.Clone(sc.Regions)
	r := &SceneRenderer{sc: sc, set: set, rng: rand.NewPCG(0, 0),
		canvas: make([]byte, sc.Width*sc.Height), frame: make([]byte, 3*sc.Width*sc.Height),
		shown: make([]int, len(sc.Regions))}
	for k, reg := range sc.Regions {
		t := RegionTruth{Name: reg.Name, Rect: reg.Rect}
		for _, it := range reg.Items {
			if it.From < sc.Frames {
				t.Changes = append(t.Changes, Change{Frame: it.From, Index: it.Index, Label: set.Labels[it.Index]})
			}
		}
		r.truth = append(r.truth, t)
		r.shown[k] = -1
	}
	for i := range r.canvas {
		r.canvas[i] = sc.Background
	}
	// Normal noise through its quantiles: one table look-up a sample.
	r.noise = make([]int16, 1<<16)
	for k := range r.noise {
		q := (float64(k) + 0.5) / (1 << 16)
		r.noise[k] = int16(math.Round(math.Sqrt2 * math.Erfinv(2*q-1) * sc.Noise))
	}
	return r, nil
}

// OpenScene is a renderer of sc with the Fashion-MNIST test split from
// datasetDir (empty: Debian's location).
func OpenScene(sc Scene, datasetDir string) (*SceneRenderer, error) {
	if datasetDir == "" {
		datasetDir = dataset.FashionMNISTDir
	}
	set, err := loadTestSet(datasetDir, 0)
	if err != nil {
		return nil, err
	}
	return NewSceneRenderer(sc, set)
}

// Scene is the scene drawn, its defaults filled in.
func (r *SceneRenderer) Scene() Scene { return r.sc }

// Truth is what each region shows when, in the scene's region order.
func (r *SceneRenderer) Truth() []RegionTruth { return r.truth }

// Render draws frame i as BGR rows of 3*Width bytes. The buffer is the
// renderer's, valid until its next Render.
func (r *SceneRenderer) Render(i int) []byte {
	for k := range r.sc.Regions {
		r.draw(k, r.itemAt(k, i))
	}
	r.rng.Seed(r.sc.Seed, uint64(i))
	dx, dy := 0, 0
	if j := r.sc.Jitter; j > 0 {
		dx, dy = int(r.rng.Uint64()%uint64(2*j+1))-j, int(r.rng.Uint64()%uint64(2*j+1))-j
	}
	w, h := r.sc.Width, r.sc.Height
	var bits uint64
	left := 0 // 16-bit noise samples left in bits
	bg := int(r.sc.Background)
	for y := range h {
		sy := y - dy
		out := r.frame[3*y*w : 3*(y+1)*w]
		for x := range w {
			v, sx := bg, x-dx
			if sx >= 0 && sx < w && sy >= 0 && sy < h {
				v = int(r.canvas[sy*w+sx])
			}
			p := out[3*x : 3*x+3]
			if r.sc.Noise == 0 {
				p[0], p[1], p[2] = uint8(v), uint8(v), uint8(v)
				continue
			}
			for c := range p {
				if left == 0 {
					bits, left = r.rng.Uint64(), 4
				}
				p[c] = uint8(min(max(v+int(r.noise[bits&0xffff]), 0), 255))
				bits >>= 16
				left--
			}
		}
	}
	return r.frame
}

// itemAt is the position in region k's schedule of what it shows at
// frame i.
func (r *SceneRenderer) itemAt(k, i int) int {
	items := r.sc.Regions[k].Items
	n, _ := slices.BinarySearchFunc(items, i+1, func(it Item, t int) int { return it.From - t })
	return max(n-1, 0)
}

// draw puts item n of region k's schedule on the canvas: the surface over
// the whole region, the item scaled bilinearly into its square, the blur.
func (r *SceneRenderer) draw(k, n int) {
	if r.shown[k] == n {
		return
	}
	r.shown[k] = n
	reg := r.sc.Regions[k]
	it, rect, w := reg.Items[n], reg.Rect, r.sc.Width
	rw, rh := rect.Dx(), rect.Dy()
	r.surface(k, n, rw, rh)
	side := min(rw, rh)
	scale := it.Scale
	if scale == 0 {
		scale = 1
	}
	size := max(int(math.Round(scale*float64(side))), 1)
	ox := (rw-side)/2 + int(math.Round(it.X*float64(side-size)))
	oy := (rh-side)/2 + int(math.Round(it.Y*float64(side-size)))
	img := r.set.Image(it.Index)
	iw, ih := r.set.Width, r.set.Height
	at := func(x, y int) float64 { return float64(img.Pix[min(max(y, 0), ih-1)*iw+min(max(x, 0), iw-1)]) }
	for v := range size {
		fy := (float64(v)+0.5)*float64(ih)/float64(size) - 0.5
		y0 := int(math.Floor(fy))
		ty := fy - float64(y0)
		for u := range size {
			fx := (float64(u)+0.5)*float64(iw)/float64(size) - 0.5
			x0 := int(math.Floor(fx))
			tx := fx - float64(x0)
			p := (at(x0, y0)*(1-tx)+at(x0+1, y0)*tx)*(1-ty) + (at(x0, y0+1)*(1-tx)+at(x0+1, y0+1)*tx)*ty
			q := &r.region[(oy+v)*rw+ox+u]
			*q = p + *q*(1-p/255)
		}
	}
	if it.Blur > 0 {
		r.blur(rw, rh, it.Blur)
	}
	for y := range rh {
		row := r.canvas[(rect.Min.Y+y)*w+rect.Min.X:]
		for x := range rw {
			row[x] = uint8(min(max(math.Round(r.region[y*rw+x]), 0), 255))
		}
	}
}

// surface fills r.region (rw x rh) with item n of region k's surface: its
// Background level and, with a Texture, a still pattern drawn from the
// scene's Seed, the region and the item alone.
func (r *SceneRenderer) surface(k, n, rw, rh int) {
	it := r.sc.Regions[k].Items[n]
	if cap(r.region) < rw*rh {
		r.region = make([]float64, rw*rh)
	}
	r.region = r.region[:rw*rh]
	bg := float64(it.Background)
	if it.Texture == 0 {
		for i := range r.region {
			r.region[i] = bg
		}
		return
	}
	rng := rand.New(rand.NewPCG(r.sc.Seed^0x5ce1e, uint64(k)<<32|uint64(n)))
	// The smooth part: a 5x5 grid of values spread bilinearly.
	const grid = 5
	var knots [grid * grid]float64
	for i := range knots {
		knots[i] = 1.5 * it.Texture * rng.NormFloat64()
	}
	for y := range rh {
		gy := float64(y) * (grid - 1) / float64(max(rh-1, 1))
		y0 := min(int(gy), grid-2)
		ty := gy - float64(y0)
		for x := range rw {
			gx := float64(x) * (grid - 1) / float64(max(rw-1, 1))
			x0 := min(int(gx), grid-2)
			tx := gx - float64(x0)
			smooth := (knots[y0*grid+x0]*(1-tx)+knots[y0*grid+x0+1]*tx)*(1-ty) +
				(knots[(y0+1)*grid+x0]*(1-tx)+knots[(y0+1)*grid+x0+1]*tx)*ty
			r.region[y*rw+x] = min(max(bg+smooth+it.Texture*rng.NormFloat64(), 0), 255)
		}
	}
}

// blur applies a separable Gaussian of sigma pixels to r.region (rw x rh),
// the region's edge pixels repeated beyond it.
func (r *SceneRenderer) blur(rw, rh int, sigma float64) {
	rad := int(math.Ceil(3 * sigma))
	kern := make([]float64, 2*rad+1)
	sum := 0.0
	for i := range kern {
		d := float64(i - rad)
		kern[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += kern[i]
	}
	for i := range kern {
		kern[i] /= sum
	}
	if cap(r.blurred) < rw*rh {
		r.blurred = make([]float64, rw*rh)
	}
	tmp := r.blurred[:rw*rh]
	for y := range rh {
		for x := range rw {
			acc := 0.0
			for i, c := range kern {
				acc += c * r.region[y*rw+min(max(x+i-rad, 0), rw-1)]
			}
			tmp[y*rw+x] = acc
		}
	}
	for y := range rh {
		for x := range rw {
			acc := 0.0
			for i, c := range kern {
				acc += c * tmp[min(max(y+i-rad, 0), rh-1)*rw+x]
			}
			r.region[y*rw+x] = acc
		}
	}
}

// SceneVideo is a written scene: the file, its format, and what each
// region shows when.
type SceneVideo struct {
	Path          string
	Width, Height int
	Frames        int
	FPS           float64
	Codec         string
	Regions       []RegionTruth
}

func (r *SceneRenderer) video(path string) SceneVideo {
	sc := r.sc
	return SceneVideo{Path: path, Width: sc.Width, Height: sc.Height, Frames: sc.Frames, FPS: sc.FPS,
		Codec: sc.Codec, Regions: r.truth}
}

// WriteScene renders sc with the Fashion-MNIST test split from datasetDir
// (empty: Debian's location) and writes it to path (see
// SceneRenderer.Write).
func WriteScene(path string, sc Scene, datasetDir string) (SceneVideo, error) {
	if err := checkSceneName(path); err != nil {
		return SceneVideo{}, err
	}
	r, err := OpenScene(sc, datasetDir)
	if err != nil {
		return SceneVideo{}, err
	}
	return r.Write(path)
}

// checkSceneName: OpenCV picks the container by the extension, and .mkv
// and .avi hold both codecs.
func checkSceneName(path string) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".mkv" && ext != ".avi" {
		return fmt.Errorf("demo scene %s: the name must end in .mkv or .avi", path)
	}
	return nil
}
