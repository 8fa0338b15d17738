package agent

import (
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/model"
)

func TestRegionResolve(t *testing.T) {
	for _, c := range []struct {
		r    RegionPlan
		want image.Rectangle
		err  string
	}{
		{RegionPlan{}, image.Rect(0, 0, 640, 480), ""},
		{RegionPlan{Rect: []float64{0.1, 0.2, 0.3, 0.4}}, image.Rect(64, 96, 256, 288), ""},
		{RegionPlan{Rect: []float64{0, 0, 1, 1}}, image.Rect(0, 0, 640, 480), ""},
		// Rounded to the nearest edge, clamped to the frame.
		{RegionPlan{Rect: []float64{0.0009, 0.5, 0.9991 + 1e-10, 0.5}}, image.Rect(1, 240, 640, 480), ""},
		{RegionPlan{RectPx: []int{600, 400, 40, 80}}, image.Rect(600, 400, 640, 480), ""},
		{RegionPlan{Key: "cameras.a.regions.b", RectPx: []int{600, 400, 41, 80}}, image.Rectangle{},
			"cameras.a.regions.b.rect_px: [600 400 41 80] (x, y, width, height) is not inside the 640x480 frame"},
		{RegionPlan{Key: "k", Rect: []float64{0.5, 0.5, 0.0001, 0.5}}, image.Rectangle{},
			"k.rect: [0.5 0.5 0.0001 0.5] is under a pixel of the 640x480 frame"},
		{RegionPlan{Key: "k", Rect: []float64{0.5}}, image.Rectangle{}, "k: not a valid rectangle"},
	} {
		got, err := c.r.Resolve(640, 480)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("%+v: %v, %v; want %v", c.r, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%+v: %v, %v; want the error %q", c.r, got, err, c.err)
		}
	}
	if _, err := (&RegionPlan{Key: "k"}).Resolve(0, 480); err == nil {
		t.Error("an empty frame resolved")
	}
	// A camera's resolve names every region that does not fit.
	cam := CameraPlan{Regions: []RegionPlan{{Key: "a", RectPx: []int{0, 0, 10, 10}}, {Key: "b", RectPx: []int{0, 0, 700, 1}},
		{Key: "c", RectPx: []int{0, 479, 1, 2}}}}
	if _, err := cam.Resolve(640, 480); err == nil || !strings.Contains(err.Error(), "b.rect_px") ||
		!strings.Contains(err.Error(), "c.rect_px") || strings.Contains(err.Error(), "a.rect_px") {
		t.Errorf("camera resolve: %v, want b and c named", err)
	}
	rects, err := cam.Resolve(700, 500)
	if err != nil || !slices.Equal(rects, []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(0, 0, 700, 1),
		image.Rect(0, 479, 1, 481)}) {
		t.Errorf("camera resolve at 700x500: %v, %v", rects, err)
	}
}

// stridedFrame is a width x height BGR frame of random pixels whose rows
// are pad bytes longer than 3 x width, the padding 0xEE.
func stridedFrame(width, height, pad int, rng *rand.Rand) camera.Frame {
	stride := 3*width + pad
	pix := make([]byte, height*stride)
	for i := range pix {
		pix[i] = 0xEE
		if i%stride < 3*width {
			pix[i] = byte(rng.IntN(256))
		}
	}
	return camera.NewFrame(pix, width, height, stride, time.Unix(100, 0), 7, nil)
}

// copyRect copies the pixels r of a BGR frame into their own tight frame.
func copyRect(f camera.Frame, r image.Rectangle) camera.Frame {
	w, h := r.Dx(), r.Dy()
	pix := make([]byte, 3*w*h)
	for y := range h {
		row := (r.Min.Y+y)*f.Stride + 3*r.Min.X
		copy(pix[3*w*y:3*w*(y+1)], f.BGR[row:row+3*w])
	}
	return camera.NewFrame(pix, w, h, 3*w, f.Time, f.Index, nil)
}

// TestRegionCropFrame: a crop is the region's pixels, in place, without an
// allocation, and a rectangle outside the frame is an error.
func TestRegionCropFrame(t *testing.T) {
	f := stridedFrame(160, 120, 24, rand.New(rand.NewPCG(1, 2)))
	r := image.Rect(30, 20, 130, 100)
	crop, err := CropFrame(f, r)
	if err != nil {
		t.Fatal(err)
	}
	if crop.Width != 100 || crop.Height != 80 || crop.Stride != f.Stride || crop.Time != f.Time || crop.Index != 7 {
		t.Fatalf("crop %dx%d stride %d time %v index %d", crop.Width, crop.Height, crop.Stride, crop.Time, crop.Index)
	}
	if &crop.BGR[0] != &f.BGR[20*f.Stride+3*30] {
		t.Error("the crop is not a sub-slice of the frame")
	}
	if len(crop.BGR) != cap(crop.BGR) {
		t.Error("the crop's capacity reaches beyond its last pixel")
	}
	want := copyRect(f, r)
	for y := range crop.Height {
		if got := crop.BGR[y*crop.Stride : y*crop.Stride+3*crop.Width]; !slices.Equal(got, want.BGR[3*100*y:3*100*(y+1)]) {
			t.Fatalf("row %d differs from the frame's pixels", y)
		}
	}
	if w, h := FrameSize(f); w != 160 || h != 120 {
		t.Errorf("FrameSize %dx%d", w, h)
	}
	if n := testing.AllocsPerRun(100, func() { crop, _ = CropFrame(f, r) }); n != 0 {
		t.Errorf("CropFrame allocates %v times", n)
	}
	for _, bad := range []image.Rectangle{image.Rect(150, 0, 161, 10), image.Rect(-1, 0, 10, 10), image.Rect(5, 5, 5, 9)} {
		if _, err := CropFrame(f, bad); !errors.Is(err, errCrop) {
			t.Errorf("crop %v: %v, want errCrop", bad, err)
		}
	}
	short := f
	short.BGR = short.BGR[:len(short.BGR)-f.Stride]
	if _, err := CropFrame(short, r); !errors.Is(err, errCrop) {
		t.Errorf("a frame short of its pixels: %v, want errCrop", err)
	}
}

// TestRegionCropClassifies: the int8 and the float model classify a crop
// (stride above 3 x its width, the frame's padding after each row) exactly
// as the same pixels copied into their own frame, and a picture's crop as
// the copied picture.
func TestRegionCropClassifies(t *testing.T) {
	f := stridedFrame(200, 150, 3*40+8, rand.New(rand.NewPCG(3, 4)))
	r := image.Rect(25, 10, 125, 130)
	crop, err := CropFrame(f, r)
	if err != nil {
		t.Fatal(err)
	}
	if crop.Stride <= 3*crop.Width {
		t.Fatalf("stride %d, want above 3 x %d", crop.Stride, crop.Width)
	}
	own := copyRect(f, r)
	for _, path := range []string{"../models/fmnist-pre-int8.coatnet", "../models/fmnist-pre.coatnet"} {
		m, err := model.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := model.NewClassifier(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.LogitsBGR(crop.BGR, crop.Width, crop.Height, crop.Stride)
		if err != nil {
			t.Fatalf("%s: crop: %v", path, err)
		}
		got = slices.Clone(got)
		want, err := c.LogitsBGR(own.BGR, own.Width, own.Height, own.Stride)
		if err != nil {
			t.Fatalf("%s: copy: %v", path, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the crop classifies as %v, its copy as %v", path, got, want)
		}
		// A picture frame (a folder source), its bounds not at 0, 0.
		img := image.NewRGBA(image.Rect(5, 5, 205, 155))
		for y := range 150 {
			for x := range 200 {
				i := y*f.Stride + 3*x
				img.Set(5+x, 5+y, color.RGBA{f.BGR[i+2], f.BGR[i+1], f.BGR[i], 255})
			}
		}
		pcrop, err := CropFrame(camera.Frame{Image: img}, r)
		if err != nil {
			t.Fatal(err)
		}
		pgot, err := c.Logits(pcrop.Image)
		if err != nil {
			t.Fatal(err)
		}
		pgot = slices.Clone(pgot)
		pown := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
		for y := range r.Dy() {
			for x := range r.Dx() {
				pown.Set(x, y, img.At(5+r.Min.X+x, 5+r.Min.Y+y))
			}
		}
		pwant, err := c.Logits(pown)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(pgot, pwant) {
			t.Errorf("%s: the picture's crop classifies as %v, its copy as %v", path, pgot, pwant)
		}
		c.Close()
		m.Close()
	}
}
