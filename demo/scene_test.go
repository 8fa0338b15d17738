package demo

import (
	"bytes"
	"image"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/dataset"
)

// sceneSet is Debian's Fashion-MNIST test split, or a skip without it.
func sceneSet(t *testing.T) *dataset.Set {
	t.Helper()
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		t.Skip("dataset-fashion-mnist is not installed")
	}
	s, err := dataset.FashionMNIST(dataset.FashionMNISTDir, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// twoRegions: "left" changes from test image 1 to 0 at frame 20 and to 2
// at 40; "right" shows image 8 throughout.
func twoRegions(frames int) Scene {
	return Scene{Width: 160, Height: 120, Frames: frames, Background: 100, Noise: 6, Jitter: 1, Seed: 3,
		Regions: []SceneRegion{
			{Name: "left", Rect: image.Rect(10, 20, 70, 80), Items: []Item{{From: 0, Index: 1}, {From: 20, Index: 0}, {From: 40, Index: 2}}},
			{Name: "right", Rect: image.Rect(90, 10, 150, 100), Items: []Item{{From: 0, Index: 8}}},
		}}
}

func TestSceneTruth(t *testing.T) {
	set := sceneSet(t)
	r, err := NewSceneRenderer(twoRegions(30), set)
	if err != nil {
		t.Fatal(err)
	}
	truth := r.Truth()
	if len(truth) != 2 || truth[0].Name != "left" || truth[1].Name != "right" {
		t.Fatalf("Truth = %+v", truth)
	}
	// The change at 40 is past the last frame.
	want := []Change{{0, 1, set.Labels[1]}, {20, 0, set.Labels[0]}}
	if got := truth[0].Changes; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("left changes %+v, want %+v", got, want)
	}
	for i, l := range map[int]int{0: set.Labels[1], 19: set.Labels[1], 20: set.Labels[0], 29: set.Labels[0]} {
		if got := truth[0].LabelAt(i); got != l {
			t.Errorf("left at frame %d: %d, want %d", i, got, l)
		}
	}
	if sc := r.Scene(); sc.FPS != SceneFPS || sc.Codec != CodecFFV1 {
		t.Errorf("defaults: %v fps, codec %q", sc.FPS, sc.Codec)
	}
}

// TestSceneRender: without noise and shake a frame is the background with
// each region's item scaled into it, changing on schedule; with them,
// frames follow from the seed alone.
func TestSceneRender(t *testing.T) {
	set := sceneSet(t)
	sc := twoRegions(60)
	sc.Noise, sc.Jitter = 0, 0
	r, err := NewSceneRenderer(sc, set)
	if err != nil {
		t.Fatal(err)
	}
	grey := func(pix []byte, x, y int) int {
		p := pix[3*(y*sc.Width+x):]
		if p[0] != p[1] || p[1] != p[2] {
			t.Fatalf("(%d,%d) is not grey: %v", x, y, p[:3])
		}
		return int(p[0])
	}
	left, right := sc.Regions[0].Rect, sc.Regions[1].Rect
	f19 := bytes.Clone(r.Render(19))
	for y := range sc.Height {
		for x := range sc.Width {
			if p := image.Pt(x, y); !p.In(left) && !p.In(right) && grey(f19, x, y) != 100 {
				t.Fatalf("background (%d,%d) = %d", x, y, grey(f19, x, y))
			}
		}
	}
	// right is 60x90: the item is a 60x60 square from y 25, black above
	// and below; an item pixel of the 28x28 image, scaled by 60/28, sits
	// about its middle.
	if v := grey(f19, 120, 12); v != 0 {
		t.Errorf("right above its item: %d, want black", v)
	}
	// Where the item is flat (its 3x3 neighbourhood within 2 levels),
	// bilinear scaling must give its value.
	img, flat := set.Image(8), 0
	for py := 1; py < 27; py++ {
		for px := 1; px < 27; px++ {
			lo, hi := 255, 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					v := int(img.GrayAt(px+dx, py+dy).Y)
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			if hi-lo > 2 {
				continue
			}
			flat++
			x, y := 90+(2*px+1)*60/56, 25+(2*py+1)*60/56
			if got := grey(f19, x, y); abs(got-lo) > 2 && abs(got-hi) > 2 {
				t.Errorf("right (%d,%d) = %d, item pixel (%d,%d) = %d", x, y, got, px, py, img.GrayAt(px, py).Y)
			}
		}
	}
	if flat < 50 {
		t.Fatalf("only %d flat item pixels to check", flat)
	}
	// left changes at 20, exactly there, and right does not.
	f20, f0 := bytes.Clone(r.Render(20)), bytes.Clone(r.Render(0))
	if !bytes.Equal(f0, f19) {
		t.Error("frames 0 and 19 differ")
	}
	changed := func(a, b []byte, rect image.Rectangle) bool {
		for y := rect.Min.Y; y < rect.Max.Y; y++ {
			if !bytes.Equal(a[3*(y*sc.Width+rect.Min.X):3*(y*sc.Width+rect.Max.X)], b[3*(y*sc.Width+rect.Min.X):3*(y*sc.Width+rect.Max.X)]) {
				return true
			}
		}
		return false
	}
	if !changed(f19, f20, left) || changed(f19, f20, right) {
		t.Errorf("at frame 20: left changed %v (want true), right %v (want false)", changed(f19, f20, left), changed(f19, f20, right))
	}

	// Noise and shake: the same seed draws the same frames in any order,
	// another seed others.
	noisy := twoRegions(60)
	a, _ := NewSceneRenderer(noisy, set)
	noisy.Seed++
	b, _ := NewSceneRenderer(noisy, set)
	a5 := bytes.Clone(a.Render(5))
	a.Render(30)
	if !bytes.Equal(a5, a.Render(5)) {
		t.Error("frame 5 drawn twice differs")
	}
	if bytes.Equal(a5, b.Render(5)) {
		t.Error("two seeds drew the same frame")
	}
	if bytes.Equal(a5, a.Render(6)) {
		t.Error("frames 5 and 6 have the same noise")
	}
}

func abs(x int) int { return max(x, -x) }

// TestScenePlacement draws one item scaled, placed, on a surface, textured
// and blurred, and checks each of those where it shows.
func TestScenePlacement(t *testing.T) {
	set := sceneSet(t)
	rect := image.Rect(10, 10, 110, 110)
	place := Placement{Scale: 0.5, X: 1, Y: 0, Background: 90}
	scene := func(p Placement) []byte {
		sc := Scene{Width: 120, Height: 120, Frames: 1, Background: 30, Seed: 4,
			Regions: []SceneRegion{{Name: "r", Rect: rect, Items: []Item{{Index: 1, Placement: p}}}}}
		r, err := NewSceneRenderer(sc, set)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Clone(r.Render(0))
	}
	at := func(f []byte, x, y int) int { return int(f[3*(y*120+x)]) }
	flat := scene(place)
	// The item is the 50x50 square at the top right of the region: the
	// surface shows elsewhere in it, the scene's background outside.
	if v := at(flat, 5, 5); v != 30 {
		t.Errorf("outside the region: %d, want the scene's 30", v)
	}
	if v := at(flat, 20, 90); v != 90 {
		t.Errorf("region's surface: %d, want 90", v)
	}
	lit := 0
	for y := 10; y < 110; y++ {
		for x := 10; x < 110; x++ {
			v := at(flat, x, y)
			if v < 90 {
				t.Fatalf("(%d,%d) = %d is darker than the surface", x, y, v)
			}
			if in := image.Pt(x, y).In(image.Rect(60, 10, 110, 60)); v > 90 && !in {
				t.Fatalf("(%d,%d) = %d: item outside its square", x, y, v)
			} else if v > 150 {
				lit++
			}
		}
	}
	if lit < 200 {
		t.Errorf("only %d bright item pixels", lit)
	}
	// On a black surface the item is the dataset's picture scaled; on the
	// grey one each pixel p shows as s + p/255*(255-s).
	black := place
	black.Background = 0
	dark := scene(black)
	for y := 10; y < 60; y++ {
		for x := 60; x < 110; x++ {
			p := float64(at(dark, x, y))
			if want, got := 90+p/255*165, float64(at(flat, x, y)); math.Abs(got-want) > 1 {
				t.Fatalf("(%d,%d): %v on grey, %v on black, want %.1f", x, y, got, p, want)
			}
		}
	}

	textured := place
	textured.Texture = 6
	tex := scene(textured)
	var sum, sum2 float64
	n := 0
	for y := 70; y < 110; y++ {
		for x := 10; x < 50; x++ {
			d := float64(at(tex, x, y)) - 90
			sum, sum2, n = sum+d, sum2+d*d, n+1
		}
	}
	if sd := math.Sqrt(sum2/float64(n) - (sum/float64(n))*(sum/float64(n))); sd < 3 || sd > 15 {
		t.Errorf("texture 6: surface standard deviation %.1f", sd)
	}
	if !bytes.Equal(tex, scene(textured)) {
		t.Error("the same texture drawn twice differs")
	}

	blurred := place
	blurred.Blur = 2
	soft := scene(blurred)
	edges := func(f []byte) (e int) {
		for y := 10; y < 60; y++ {
			for x := 60; x < 109; x++ {
				d := at(f, x+1, y) - at(f, x, y)
				e += d * d
			}
		}
		return e
	}
	if es, ef := edges(soft), edges(flat); es*2 > ef {
		t.Errorf("blur 2: edge energy %d against %d sharp, want under half", es, ef)
	}
}

// TestCameraLike checks the camera-like set's layout and that its
// placements cover the ranges its doc names.
func TestCameraLike(t *testing.T) {
	if _, err := CameraLike(15); err == nil {
		t.Error("15 items: no error")
	}
	sc, err := CameraLike(2000)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Frames != 200 || len(sc.Regions) != CameraLikePerFrame {
		t.Fatalf("%d frames, %d regions", sc.Frames, len(sc.Regions))
	}
	if err := sc.validate(10000); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	lo, hi := Placement{Scale: 1, Background: 255, Blur: 9}, Placement{}
	textured := 0
	for _, r := range sc.Regions {
		for _, it := range r.Items {
			seen[it.Index] = true
			lo.Scale, hi.Scale = min(lo.Scale, it.Scale), max(hi.Scale, it.Scale)
			lo.Background, hi.Background = min(lo.Background, it.Background), max(hi.Background, it.Background)
			lo.Blur, hi.Blur = min(lo.Blur, it.Blur), max(hi.Blur, it.Blur)
			if it.Texture > 0 {
				textured++
			}
		}
	}
	if len(seen) != 2000 {
		t.Errorf("%d distinct items, want 2000", len(seen))
	}
	if lo.Scale < 0.5 || lo.Scale > 0.52 || hi.Scale < 0.98 || lo.Background > 66 || hi.Background < 190 ||
		hi.Blur < 1.45 || textured < 900 || textured > 1100 {
		t.Errorf("placements cover scale %.2f-%.2f, background %d-%d, blur up to %.2f, %d textured",
			lo.Scale, hi.Scale, lo.Background, hi.Background, hi.Blur, textured)
	}
}

func TestSceneBad(t *testing.T) {
	set := sceneSet(t)
	good := twoRegions(10)
	for _, c := range []struct {
		change func(*Scene)
		want   string
	}{
		{func(s *Scene) { s.Width = 0 }, "0x120"},
		{func(s *Scene) { s.Frames = 0 }, "0 frames"},
		{func(s *Scene) { s.FPS = -1 }, "frame rate -1"},
		{func(s *Scene) { s.Noise = -1 }, "noise -1"},
		{func(s *Scene) { s.Jitter = 20 }, "jitter 20"},
		{func(s *Scene) { s.Codec = "H264" }, `codec "H264"`},
		{func(s *Scene) { s.Regions[1].Name = "left" }, `"left" twice`},
		{func(s *Scene) { s.Regions[1].Name = "a/b" }, `"a/b"`},
		{func(s *Scene) { s.Regions[1].Rect = image.Rect(100, 10, 170, 50) }, "inside"},
		{func(s *Scene) { s.Regions[1].Items = nil }, "start at frame 0"},
		{func(s *Scene) { s.Regions[0].Items[2].From = 20 }, "not after 20"},
		{func(s *Scene) { s.Regions[0].Items[1].Index = 10000 }, "test image 10000"},
		{func(s *Scene) { s.Regions[0].Items[1].Scale = 0.2 }, "scale 0.2"},
		{func(s *Scene) { s.Regions[0].Items[1].X = 1.5 }, "position 1.5"},
		{func(s *Scene) { s.Regions[0].Items[1].Texture = -1 }, "texture -1"},
		{func(s *Scene) { s.Regions[0].Items[1].Blur = 9 }, "blur 9"},
	} {
		sc := good
		sc.Regions = []SceneRegion{good.Regions[0], good.Regions[1]}
		sc.Regions[0].Items = append([]Item(nil), good.Regions[0].Items...)
		c.change(&sc)
		if _, err := NewSceneRenderer(sc, set); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error saying %s", sc, err, c.want)
		}
	}
	if _, err := WriteScene("scene.mp4", good, ""); err == nil || !strings.Contains(err.Error(), ".mkv or .avi") {
		t.Errorf("scene.mp4: %v", err)
	}
}

func BenchmarkSceneRender(b *testing.B) {
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		b.Skip("dataset-fashion-mnist is not installed")
	}
	set, err := dataset.FashionMNIST(dataset.FashionMNISTDir, "test")
	if err != nil {
		b.Fatal(err)
	}
	sc := twoRegions(1000)
	sc.Width, sc.Height = 320, 240
	r, err := NewSceneRenderer(sc, set)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		r.Render(i % 1000)
	}
}
