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
	// its From on, in increasing order. An item fills the largest square
	// centred in Rect; the rest of Rect is black, as items' own
	// background is.
	Items []Item
}

// Item is one Fashion-MNIST test image shown in a region from frame From.
type Item struct {
	From  int
	Index int // into the test split
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
		}
	}
	return errors.Join(errs...)
}

// SceneRenderer draws a scene's frames, in any order.
type SceneRenderer struct {
	sc     Scene
	set    *dataset.Set
	truth  []RegionTruth
	canvas []byte  // the still scene, grey, its current items drawn
	shown  []int   // per region: the item index on canvas, -1 none
	frame  []byte  // BGR
	noise  []int16 // sensor noise by 16 random bits
	rng    *rand.PCG
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

// itemAt is the test image region k shows at frame i.
func (r *SceneRenderer) itemAt(k, i int) int {
	items := r.sc.Regions[k].Items
	n, _ := slices.BinarySearchFunc(items, i+1, func(it Item, t int) int { return it.From - t })
	return items[max(n-1, 0)].Index
}

// draw puts test image idx on the canvas in region k, scaled bilinearly.
func (r *SceneRenderer) draw(k, idx int) {
	if r.shown[k] == idx {
		return
	}
	r.shown[k] = idx
	rect, w := r.sc.Regions[k].Rect, r.sc.Width
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		clear(r.canvas[y*w+rect.Min.X : y*w+rect.Max.X])
	}
	side := min(rect.Dx(), rect.Dy())
	ox, oy := rect.Min.X+(rect.Dx()-side)/2, rect.Min.Y+(rect.Dy()-side)/2
	img := r.set.Image(idx)
	iw, ih := r.set.Width, r.set.Height
	at := func(x, y int) float64 { return float64(img.Pix[min(max(y, 0), ih-1)*iw+min(max(x, 0), iw-1)]) }
	for v := range side {
		fy := (float64(v)+0.5)*float64(ih)/float64(side) - 0.5
		y0 := int(math.Floor(fy))
		ty := fy - float64(y0)
		for u := range side {
			fx := (float64(u)+0.5)*float64(iw)/float64(side) - 0.5
			x0 := int(math.Floor(fx))
			tx := fx - float64(x0)
			p := (at(x0, y0)*(1-tx)+at(x0+1, y0)*tx)*(1-ty) + (at(x0, y0+1)*(1-tx)+at(x0+1, y0+1)*tx)*ty
			r.canvas[(oy+v)*w+ox+u] = uint8(math.Round(p))
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
