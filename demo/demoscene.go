package demo

import (
	"encoding/json"
	"fmt"
	"image"
	"strings"
	"time"

	"github.com/coatnet-edge/coatnet-edge/dataset"
)

// SceneName is the file name the demo scene's video is given.
const SceneName = "scene-demo.mkv"

// SceneInfoSuffix is added to a scene video's path to name its ground
// truth: the scene and what each region shows when, as JSON. EnsureScene
// remakes the video when it no longer matches.
const SceneInfoSuffix = ".scene.json"

// DemoScene is the scene `coatnet run` shows: two places, "left" and
// "right", each with a Fashion-MNIST item that is replaced at known
// moments, 30 s at 10 fps that loop (at each start the first items come
// back). Between changes nothing moves: no noise (which would also make
// the lossless video 30 MB instead of 2) and no shake, so motion detection
// sees the changes and nothing else. The items are test
// images the shipped model gets right inside their region
// (TestDemoSceneItems in the agent).
func DemoScene() Scene {
	return Scene{Width: 320, Height: 240, Frames: 300, FPS: 10, Background: 110, Seed: 12,
		Regions: []SceneRegion{
			{Name: "left", Rect: image.Rect(24, 56, 152, 184), Items: []Item{{From: 0, Index: 1}, {From: 100, Index: 0}, {From: 200, Index: 6}}},
			{Name: "right", Rect: image.Rect(168, 56, 296, 184), Items: []Item{{From: 0, Index: 9}, {From: 150, Index: 7}}},
		}}
}

// sceneInfo is what a scene video's info file holds.
type sceneInfo struct {
	Scene   Scene         `json:"scene"`
	Regions []RegionTruth `json:"regions"`
}

// info is the info file of the video r writes.
func (r *SceneRenderer) info() []byte {
	b, err := json.MarshalIndent(sceneInfo{Scene: r.sc, Regions: r.truth}, "", "  ")
	if err != nil {
		panic("demo: a scene does not marshal: " + err.Error()) // plain numbers and strings only
	}
	return append(b, '\n')
}

// Schedule describes what a region shows when, for a person comparing it
// with the states published: "0s Pullover, 10s Ankle boot, 20s Coat".
func (t RegionTruth) Schedule(fps float64) string {
	var b strings.Builder
	for k, c := range t.Changes {
		if k > 0 {
			b.WriteString(", ")
		}
		at := time.Duration(float64(c.Frame) / fps * float64(time.Second)).Round(100 * time.Millisecond)
		name := fmt.Sprint(c.Label)
		if c.Label >= 0 && c.Label < len(dataset.FashionMNISTLabels) {
			name = dataset.FashionMNISTLabels[c.Label]
		}
		fmt.Fprintf(&b, "%v %s", at, name)
	}
	return b.String()
}
