package motion

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
)

var testSet *dataset.Set

// renderer draws sc, or skips without Debian's Fashion-MNIST.
func renderer(t testing.TB, sc demo.Scene) *demo.SceneRenderer {
	t.Helper()
	if testSet == nil {
		if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
			t.Skip("dataset-fashion-mnist is not installed")
		}
		s, err := dataset.FashionMNIST(dataset.FashionMNISTDir, "test")
		if err != nil {
			t.Fatal(err)
		}
		testSet = s
	}
	r, err := demo.NewSceneRenderer(sc, testSet)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	gate = image.Rect(20, 40, 120, 140)
	bins = image.Rect(190, 40, 290, 140)
	step = image.Rect(110, 160, 190, 230)
)

// yard is a 320x240 scene with three regions, noisy and shaking by up to
// two pixels each way; bins changes at binsAt (0: never).
func yard(frames, binsAt int) demo.Scene {
	b := []demo.Item{{From: 0, Index: 1}} // a pullover
	if binsAt > 0 {
		b = append(b, demo.Item{From: binsAt, Index: 0}) // an ankle boot
	}
	return demo.Scene{Width: 320, Height: 240, Frames: frames, Background: 128, Noise: 8, Jitter: 2, Seed: 7,
		Regions: []demo.SceneRegion{
			{Name: "gate", Rect: gate, Items: []demo.Item{{From: 0, Index: 2}}},
			{Name: "bins", Rect: bins, Items: b},
			{Name: "step", Rect: step, Items: []demo.Item{{From: 0, Index: 8}}},
		}}
}

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// frame i of pix at 10 frames a second.
func frame(pix []byte, w, h, i int) camera.Frame {
	return camera.NewFrame(pix, w, h, 3*w, t0.Add(time.Duration(i)*100*time.Millisecond), int64(i), nil)
}

func detector(t testing.TB) *Detector {
	t.Helper()
	d, err := New(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestStillSceneNoMotion(t *testing.T) {
	const n = 500
	r := renderer(t, yard(n, 0))
	d := detector(t)
	for i := range n {
		res, err := d.Detect(frame(r.Render(i), 320, 240, i))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reset != (i == 0) || res.Warming != (i < Warmup) {
			t.Fatalf("frame %d: Reset %v, Warming %v", i, res.Reset, res.Warming)
		}
		if len(res.Boxes) > 0 || res.Motion {
			t.Fatalf("frame %d of a still scene: boxes %v, motion %v", i, res.Boxes, res.Motion)
		}
	}
}

func TestMotionAroundChangingRegion(t *testing.T) {
	const n, at = 300, 100
	r := renderer(t, yard(n, at))
	d := detector(t)
	var on, off []int // frames where Motion changed
	last := -1        // the last frame with a box
	for i := range n {
		res, err := d.Detect(frame(r.Render(i), 320, 240, i))
		if err != nil {
			t.Fatal(err)
		}
		if i < at && len(res.Boxes) > 0 {
			t.Fatalf("frame %d, before the change: boxes %v", i, res.Boxes)
		}
		if i == at && (len(res.Boxes) == 0 || !res.Motion || !res.Changed) {
			t.Fatalf("frame %d, the change: boxes %v, motion %v, changed %v", i, res.Boxes, res.Motion, res.Changed)
		}
		if len(res.Boxes) > 0 {
			last = i
			if !Touches(res.Boxes, bins) || Touches(res.Boxes, gate) || Touches(res.Boxes, step) {
				t.Fatalf("frame %d: boxes %v, want them on bins %v only", i, res.Boxes, bins)
			}
			for _, b := range res.Boxes {
				if !b.In(bins.Inset(-8)) {
					t.Errorf("frame %d: box %v reaches beyond bins %v", i, b, bins)
				}
			}
		}
		if res.Changed {
			if res.Motion {
				on = append(on, i)
			} else {
				off = append(off, i)
			}
		}
	}
	// The new item becomes background, and the motion ends Hold (20
	// frames) later, once.
	if len(on) != 1 || len(off) != 1 || off[0] != last+20 {
		t.Fatalf("motion on at %v, off at %v; last box at %d", on, off, last)
	}
	t.Logf("motion boxes for %d frames after the change", last-at+1)
}

// TestSlowDriftNoMotion: the light changing by 60 grey levels over 300
// frames is no motion, the same change at once is.
func TestSlowDriftNoMotion(t *testing.T) {
	const n = 300
	r := renderer(t, yard(n, 0))
	pix := make([]byte, 320*240*3)
	for _, c := range []struct {
		name   string
		offset func(i int) int
		motion bool
	}{
		{"drift", func(i int) int { return -30 + 60*i/n }, false},
		{"jump", func(i int) int { return 60 * min(max(i-150, 0), 1) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := detector(t)
			moved := false
			for i := range n {
				off := c.offset(i)
				for p, v := range r.Render(i) {
					pix[p] = uint8(min(max(int(v)+off, 0), 255))
				}
				res, err := d.Detect(frame(pix, 320, 240, i))
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Boxes) > 0 && !moved {
					t.Logf("frame %d: %v", i, res.Boxes)
				}
				moved = moved || len(res.Boxes) > 0
			}
			if moved != c.motion {
				t.Fatalf("motion %v, want %v", moved, c.motion)
			}
		})
	}
}

func TestFrameSizeChangeResets(t *testing.T) {
	small := renderer(t, yard(40, 0))
	sc := yard(40, 0)
	sc.Width, sc.Height = 640, 480
	big := renderer(t, sc)
	d := detector(t)
	// Motion on in the small frames (a change), then the camera reopens
	// at 640x480: a new background, and motion off.
	changed := renderer(t, yard(40, 10))
	for i := range 20 {
		if _, err := d.Detect(frame(changed.Render(i), 320, 240, i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 20; i < 40; i++ {
		res, err := d.Detect(frame(big.Render(i), 640, 480, i))
		if err != nil {
			t.Fatal(err)
		}
		if first := i == 20; res.Reset != first || first && (!res.Changed || res.Motion) {
			t.Fatalf("frame %d, the first at 640x480: %+v", i, res)
		}
		if len(res.Boxes) > 0 || res.Motion {
			t.Fatalf("frame %d at 640x480: boxes %v motion %v", i, res.Boxes, res.Motion)
		}
	}
	// And back: the small background is not the one it left.
	for i := 40; i < 80; i++ {
		res, err := d.Detect(frame(small.Render(i-40), 320, 240, i))
		if err != nil {
			t.Fatal(err)
		}
		if res.Reset != (i == 40) || len(res.Boxes) > 0 {
			t.Fatalf("frame %d back at 320x240: %+v", i, res)
		}
	}
}

// TestPictureFrames: a picture (a folder source) gives the motion its
// BGR pixels give.
func TestPictureFrames(t *testing.T) {
	const n, at = 120, 60
	r := renderer(t, yard(n, at))
	dBGR, dGrey := detector(t), detector(t)
	g := image.NewGray(image.Rect(0, 0, 320, 240))
	for i := range n {
		pix := r.Render(i)
		for p := range g.Pix {
			g.Pix[p] = pix[3*p+1] // the green channel, as grey
			pix[3*p], pix[3*p+2] = pix[3*p+1], pix[3*p+1]
		}
		a, err := dBGR.Detect(frame(pix, 320, 240, i))
		if err != nil {
			t.Fatal(err)
		}
		b, err := dGrey.Detect(camera.Frame{Image: g, Time: t0.Add(time.Duration(i) * 100 * time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Boxes) != len(b.Boxes) || a.Motion != b.Motion || a.Reset != b.Reset || a.Warming != b.Warming {
			t.Fatalf("frame %d: BGR %+v, picture %+v", i, a, b)
		}
		for k := range a.Boxes {
			if a.Boxes[k] != b.Boxes[k] {
				t.Fatalf("frame %d: BGR %v, picture %v", i, a.Boxes, b.Boxes)
			}
		}
		if i == at && len(a.Boxes) == 0 {
			t.Fatalf("frame %d: no motion", i)
		}
	}
}

// noisy is a grey frame with uniform noise of 16 levels, with a bright
// w/4 square at (x, y) when x >= 0.
func noisy(rng *rand.Rand, pix []byte, w, h, x, y int) {
	for p := range pix {
		pix[p] = uint8(100 + rng.IntN(16))
	}
	if x < 0 {
		return
	}
	for yy := y; yy < y+w/4; yy++ {
		for xx := x; xx < x+w/4; xx++ {
			copy(pix[3*(yy*w+xx):], []byte{250, 250, 250})
		}
	}
}

func TestNoAllocationsPerFrame(t *testing.T) {
	for _, size := range [][2]int{{640, 480}, {1920, 1080}, {333, 201}} {
		w, h := size[0], size[1]
		rng := rand.New(rand.NewPCG(1, 2))
		still, moving := make([]byte, 3*w*h), make([]byte, 3*w*h)
		noisy(rng, still, w, h, -1, 0)
		noisy(rng, moving, w, h, w/3, h/3)
		d := detector(t)
		i := 0
		next := func(pix []byte) Result {
			i++
			res, err := d.Detect(frame(pix, w, h, i))
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		for range Warmup {
			next(still)
		}
		if a := testing.AllocsPerRun(20, func() { next(still); next(moving) }); a != 0 {
			t.Errorf("%dx%d: %v allocations per two frames", w, h, a)
		}
		if res := next(moving); len(res.Boxes) == 0 {
			// The square came and went: the test saw boxes too.
			t.Logf("%dx%d: no box on the last moving frame", w, h)
		}
		d2 := detector(t)
		for k := range Warmup {
			d2.Detect(frame(still, w, h, k))
		}
		if res, _ := d2.Detect(frame(moving, w, h, Warmup)); len(res.Boxes) != 1 || !res.Boxes[0].Overlaps(image.Rect(w/3, h/3, w/3+w/4, h/3+w/4)) {
			t.Errorf("%dx%d: a square appearing gave boxes %v", w, h, res.Boxes)
		}
	}
}

func TestTouches(t *testing.T) {
	boxes := []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(50, 50, 60, 70)}
	for _, c := range []struct {
		r    image.Rectangle
		want bool
	}{
		{image.Rect(5, 5, 20, 20), true},
		{image.Rect(59, 69, 100, 100), true},
		{image.Rect(10, 0, 50, 50), false}, // edges meet: no pixel shared
		{image.Rect(20, 20, 40, 40), false},
		{image.Rectangle{}, false},
	} {
		if got := Touches(boxes, c.r); got != c.want {
			t.Errorf("Touches(%v) = %v, want %v", c.r, got, c.want)
		}
	}
	if Touches(nil, image.Rect(0, 0, 10, 10)) {
		t.Error("no boxes touch")
	}
}

func TestValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults: %v", err)
	}
	bad := Config{Width: 8, Threshold: 0, MinArea: 1, Adapt: 0, Hold: -time.Second}
	err := bad.Validate()
	if err == nil {
		t.Fatal("nothing wrong with a zero config")
	}
	for _, want := range []string{"width 8", "threshold 0", "min_area 1", "adapt 0", "hold -1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := New(bad); err == nil {
		t.Error("New took a bad config")
	}
	for _, c := range []Config{
		{Width: 160, Threshold: 255, MinArea: 0, Adapt: 1},
		{Width: 5000, Threshold: 25, MinArea: 0, Adapt: 1},
		{Width: 160, Threshold: 25, MinArea: -0.1, Adapt: 1},
		{Width: 160, Threshold: 25, MinArea: 0, Adapt: 1.5},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v passed", c)
		}
	}
}

func TestBadFrames(t *testing.T) {
	d := detector(t)
	for _, f := range []camera.Frame{
		{},
		camera.NewFrame(make([]byte, 100), 10, 10, 30, t0, 0, nil),
		camera.NewFrame(make([]byte, 300), 10, 10, 20, t0, 0, nil),
		{Image: image.NewGray(image.Rectangle{})},
	} {
		if _, err := d.Detect(f); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%dx%d stride %d, %d bytes: %v, want ErrBadFrame", f.Width, f.Height, f.Stride, len(f.BGR), err)
		}
	}
	// A frame the size of the working picture, and one smaller.
	for _, w := range []int{160, 3, 1} {
		if _, err := d.Detect(camera.NewFrame(make([]byte, 3*w*w), w, w, 3*w, t0, 0, nil)); err != nil {
			t.Errorf("%dx%d: %v", w, w, err)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	for _, size := range [][2]int{{640, 480}, {1920, 1080}} {
		w, h := size[0], size[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			frames := make([][]byte, 8)
			for k := range frames {
				frames[k] = make([]byte, 3*w*h)
				noisy(rng, frames[k], w, h, k*w/16, h/3)
			}
			d := detector(b)
			b.SetBytes(int64(3 * w * h))
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := d.Detect(frame(frames[i%len(frames)], w, h, i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
