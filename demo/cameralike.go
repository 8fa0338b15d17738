package demo

import (
	"fmt"
	"image"
	"math/rand/v2"
)

// The camera-like test set's layout: a 640x272 frame of cameraLikeCols x
// cameraLikeRows square regions of cameraLikeSide pixels, a new test item
// in each every frame.
const (
	cameraLikeCols, cameraLikeRows = 5, 2
	cameraLikeSide                 = 120
	cameraLikeGap                  = 6
	// CameraLikePerFrame is how many test items each frame shows.
	CameraLikePerFrame = cameraLikeCols * cameraLikeRows
)

// CameraLikeSeed draws the camera-like test set's placements and noise.
const CameraLikeSeed = 20261202

// CameraLike is the camera-like test set as a scene: Fashion-MNIST test
// items 0 to count-1 (count a multiple of CameraLikePerFrame), ten to a
// frame, as a camera region shows a thing lying on a surface. Each item
// is scaled to 50-100% of its region's side and placed anywhere in it, on
// a grey surface of level 64-192 that is flat for half of the items and
// textured (4-10 grey levels) for the others, blurred by a Gaussian of
// sigma 0-1.5 pixels; the whole frame has sensor noise of 3 levels and
// shakes by a pixel, and the video is MJPG, lossy as many cameras are.
// Every placement follows from CameraLikeSeed and the item's index.
func CameraLike(count int) (Scene, error) {
	if count <= 0 || count%CameraLikePerFrame != 0 {
		return Scene{}, fmt.Errorf("demo: a camera-like set of %d items: want a positive multiple of %d",
			count, CameraLikePerFrame)
	}
	frames := count / CameraLikePerFrame
	sc := Scene{
		Width: 640, Height: 272, Frames: frames, Background: 128, Noise: 3, Jitter: 1,
		Seed: CameraLikeSeed, Codec: CodecMJPG,
	}
	for k := range CameraLikePerFrame {
		x := cameraLikeGap + (k%cameraLikeCols)*(cameraLikeSide+cameraLikeGap)
		y := cameraLikeGap + (k/cameraLikeCols)*(cameraLikeSide+cameraLikeGap)
		reg := SceneRegion{Name: fmt.Sprintf("r%d", k), Rect: image.Rect(x, y, x+cameraLikeSide, y+cameraLikeSide)}
		for f := range frames {
			idx := f*CameraLikePerFrame + k
			reg.Items = append(reg.Items, Item{From: f, Index: idx, Placement: cameraLikePlacement(idx)})
		}
		sc.Regions = append(sc.Regions, reg)
	}
	return sc, nil
}

// cameraLikePlacement is test item idx's placement in the camera-like set.
func cameraLikePlacement(idx int) Placement {
	rng := rand.New(rand.NewPCG(CameraLikeSeed, uint64(idx)))
	p := Placement{
		Scale:      0.5 + 0.5*rng.Float64(),
		X:          rng.Float64(),
		Y:          rng.Float64(),
		Background: uint8(64 + rng.IntN(129)),
		Blur:       1.5 * rng.Float64(),
	}
	if rng.IntN(2) == 1 {
		p.Texture = 4 + 6*rng.Float64()
	}
	return p
}
