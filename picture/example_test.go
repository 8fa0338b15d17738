package picture_test

import (
	"fmt"
	"image"
	"time"

	"github.com/coatnet-edge/coatnet-edge/camera"
	"github.com/coatnet-edge/coatnet-edge/picture"
)

// A frame with two regions drawn and labelled, at most 320 pixels a side
// and 40 KB, as a live view would send it.
func ExampleEncoder_EncodeFrame() {
	pix := make([]byte, 640*480*3) // a black BGR frame from a camera
	f := camera.NewFrame(pix, 640, 480, 640*3, time.Now(), 0, nil)
	var e picture.Encoder // one per goroutine, reused for every frame
	jpg, res, err := e.EncodeFrame(f, picture.Options{
		MaxSide:  320,
		MaxBytes: 40 << 10,
		Boxes: []picture.Box{
			{Rect: image.Rect(40, 60, 240, 260), Label: "gate: open 0.97"},
			{Rect: image.Rect(300, 200, 600, 460), Label: "bins: out 0.88"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Width, res.Height, res.Quality, len(jpg) <= 40<<10)
	// Output: 320 240 80 true
}
