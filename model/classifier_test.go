package model_test

import (
	"context"
	"image"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/benchmodel"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// bgrFrame is a random width x height BGR buffer with stride padding (as
// OpenCV may give) and the same picture as an image.
func bgrFrame(r *rand.Rand, width, height, pad int) (pix []byte, stride int, img *image.NRGBA) {
	stride = 3*width + pad
	pix = make([]byte, height*stride)
	img = image.NewNRGBA(image.Rect(0, 0, width, height))
	for y := range height {
		for x := range width {
			b, g, rd := uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256))
			if x%7 == 0 { // int8 extremes of the input quantization
				b, g, rd = 0, 255, 0
			}
			copy(pix[y*stride+3*x:], []byte{b, g, rd})
			o := img.PixOffset(x, y)
			copy(img.Pix[o:], []byte{rd, g, b, 255})
		}
	}
	return pix, stride, img
}

// TestLogitsBGRMatchesLogits checks that OpenCV frames classified through
// LogitsBGR (straight into the int8 input, or through ApplyRGB for float)
// give exactly the logits of the same picture through Logits, for sizes
// that are resized, cropped and padded, and that it does not allocate.
func TestLogitsBGRMatchesLogits(t *testing.T) {
	qm, _, err := benchmodel.Build(context.Background(), benchmodel.Options{Case: "coatnet_nano_rw_224_64_s2", ImgSize: 64, Calib: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	cfg := qm.Config
	fm := &model.Model{Metadata: arch.Metadata{Kind: model.KindFloat32, Name: cfg.Arch, Config: cfg,
		Labels: arch.DefaultLabels(cfg.NumClasses), Preprocess: preprocess.TimmDefault(cfg.ImgSize, 0.95)},
		Weights: arch.SyntheticWeights(&cfg, 1)}
	for _, m := range []model.Any{qm, fm} {
		t.Run(string(m.Describe().Kind), func(t *testing.T) {
			c, err := model.NewClassifier(m, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := rand.New(rand.NewPCG(1, 2))
			for _, sz := range [][3]int{{64, 64, 0}, {70, 50, 5}, {33, 97, 1}, {640, 480, 0}} {
				pix, stride, img := bgrFrame(r, sz[0], sz[1], sz[2])
				want, err := c.Logits(img)
				if err != nil {
					t.Fatal(err)
				}
				want = slices.Clone(want)
				got, err := c.LogitsBGR(pix, sz[0], sz[1], stride)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%dx%d: LogitsBGR %v, Logits %v", sz[0], sz[1], got[:4], want[:4])
				}
			}
			pix, stride, _ := bgrFrame(r, 640, 480, 0)
			if a := testing.AllocsPerRun(5, func() {
				if _, err := c.LogitsBGR(pix, 640, 480, stride); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("LogitsBGR allocates %v times per frame", a)
			}
			if _, err := c.LogitsBGR(pix[:100], 640, 480, stride); err == nil {
				t.Error("a short buffer was accepted")
			}
		})
	}
}
