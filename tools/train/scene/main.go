// Command scene writes the scene video of tools/train/test_loop.sh and
// labels the crops the agent collected from it, as a person labelling
// them would: each crop is moved from the folder of the label the model
// predicted to the folder of the class the scene showed.
//
//	scene write VIDEO.mkv
//	scene label VIDEO.mkv COLLECT_DIR
//
// write renders the scene (demo.Scene: nine 40x40 regions, r0 to r8, in a
// 3x3 grid, each showing Trouser, Bag and Sneaker items in turn, a new
// item every 2 s, under sensor noise and a 1-pixel shake) with
// demo.EnsureScene, which also writes VIDEO.mkv.scene.json, the ground
// truth; it needs the GoCV build (OpenCV writes the video).
//
// label reads that ground truth and COLLECT_DIR (state_dir/collect/<camera>,
// one folder per region, one per predicted label below it). A collected
// file is named by the time its frame was captured, which says nothing
// about where the video was in its loop, so each crop is found among the
// scene's rendered frames by its pixels (FFV1 and PNG are lossless: the
// crop is exactly a rendered region) and labelled with the class that
// frame shows. It prints one line per region: the crops, and how many
// the model had filed under their true class.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/demo"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "write":
		err = write(os.Args[2])
	case len(os.Args) == 4 && os.Args[1] == "label":
		err = label(os.Args[2], os.Args[3])
	default:
		err = errors.New("usage: scene write VIDEO.mkv | scene label VIDEO.mkv COLLECT_DIR")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scene:", err)
		os.Exit(1)
	}
}

// classes are the scene's: Fashion-MNIST classes that look unalike, so a
// few epochs can tell them apart.
var classes = []int{1, 8, 7} // Trouser, Bag, Sneaker

const (
	grid     = 3  // regions per side
	side     = 40 // a region's side, px
	pitch    = 52 // from one region to the next
	slot     = 20 // frames an item stays (2 s at demo.SceneFPS)
	frames   = 240
	sceneDim = 8 + grid*pitch
)

// scene is the test's: region k shows class (k+s) mod 3 in its s-th slot,
// each slot a test image not shown anywhere else, so regions held out for
// testing show items training never saw.
func scene(set *dataset.Set) (demo.Scene, error) {
	byClass := map[int][]int{}
	for i, l := range set.Labels {
		byClass[l] = append(byClass[l], i)
	}
	sc := demo.Scene{Width: sceneDim, Height: sceneDim, Frames: frames, Background: 100, Noise: 3, Jitter: 1,
		Seed: 13, Codec: demo.CodecFFV1}
	used := map[int]int{}
	for k := range grid * grid {
		x, y := 8+(k%grid)*pitch, 8+(k/grid)*pitch
		r := demo.SceneRegion{Name: fmt.Sprintf("r%d", k), Rect: image.Rect(x, y, x+side, y+side)}
		for s := 0; s*slot < frames; s++ {
			c := classes[(k+s)%len(classes)]
			if used[c] >= len(byClass[c]) {
				return demo.Scene{}, fmt.Errorf("too few test images of class %d", c)
			}
			r.Items = append(r.Items, demo.Item{From: s * slot, Index: byClass[c][used[c]]})
			used[c]++
		}
		sc.Regions = append(sc.Regions, r)
	}
	return sc, nil
}

func write(path string) error {
	set, err := dataset.FashionMNIST(dataset.FashionMNISTDir, "test")
	if err != nil {
		return err
	}
	sc, err := scene(set)
	if err != nil {
		return err
	}
	_, err = demo.EnsureScene(path, sc, "")
	return err
}

// truth is the part of a scene's info file (demo.SceneInfoSuffix) label
// reads.
type truth struct {
	Scene   demo.Scene         `json:"scene"`
	Regions []demo.RegionTruth `json:"regions"`
}

func label(video, collect string) error {
	raw, err := os.ReadFile(video + demo.SceneInfoSuffix)
	if err != nil {
		return err
	}
	var t truth
	if err := json.Unmarshal(raw, &t); err != nil {
		return fmt.Errorf("%s%s: %w", video, demo.SceneInfoSuffix, err)
	}
	r, err := demo.OpenScene(t.Scene, "")
	if err != nil {
		return err
	}
	// Each region's crop of every frame, by its BGR pixels.
	at := make([]map[string]int, len(t.Regions))
	for k := range at {
		at[k] = map[string]int{}
	}
	w := t.Scene.Width
	for i := range t.Scene.Frames {
		f := r.Render(i)
		for k, reg := range t.Regions {
			rect := reg.Rect
			b := make([]byte, 0, 3*rect.Dx()*rect.Dy())
			for y := rect.Min.Y; y < rect.Max.Y; y++ {
				b = append(b, f[3*(y*w+rect.Min.X):3*(y*w+rect.Max.X)]...)
			}
			if _, ok := at[k][string(b)]; !ok {
				at[k][string(b)] = i
			}
		}
	}
	for k, reg := range t.Regions {
		dir := filepath.Join(collect, reg.Name)
		files, err := filepath.Glob(filepath.Join(dir, "*", "*.png"))
		if err != nil {
			return err
		}
		slices.Sort(files)
		agreed := 0
		for _, file := range files {
			frame, ok, err := find(file, at[k])
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%s is no rendered crop of region %s", file, reg.Name)
			}
			name := dataset.FashionMNISTLabels[reg.LabelAt(frame)]
			if filepath.Base(filepath.Dir(file)) == name {
				agreed++
				continue
			}
			if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
				return err
			}
			if err := os.Rename(file, filepath.Join(dir, name, filepath.Base(file))); err != nil {
				return err
			}
		}
		fmt.Printf("%s: %d crops, %d already under their class\n", reg.Name, len(files), agreed)
	}
	return removeEmpty(collect)
}

// find is the first frame whose region crop is the picture in file.
func find(file string, at map[string]int) (int, bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", file, err)
	}
	b := img.Bounds()
	var bgr strings.Builder
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			bgr.Write([]byte{byte(cb >> 8), byte(cg >> 8), byte(cr >> 8)})
		}
	}
	i, ok := at[bgr.String()]
	return i, ok, nil
}

// removeEmpty removes the label folders labelling emptied: a folder
// dataset's classes are its subfolders.
func removeEmpty(collect string) error {
	dirs, err := filepath.Glob(filepath.Join(collect, "*", "*"))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if e, err := os.ReadDir(d); err == nil && len(e) == 0 {
			if err := os.Remove(d); err != nil {
				return err
			}
		}
	}
	return nil
}
