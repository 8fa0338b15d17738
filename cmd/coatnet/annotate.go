package main

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/picture"
)

// annotateMinSide is the longer side below which classify --annotate
// enlarges a picture (by a whole factor, each pixel a square block) so
// that its labels fit across it: a 28 pixel Fashion-MNIST item becomes
// 280 pixels.
const annotateMinSide = 256

// annotator writes classify's pictures with their top labels drawn, as
// PNG whatever the input's format: lossless, so the labels stay sharp,
// and one name rule for every input (standard input included).
type annotator struct {
	dir string
	out []string // each input's picture, "" for none
	enc picture.Encoder
}

// newAnnotator makes dir and names each input's picture in it: its file
// name with ".png" for its extension ("stdin.png" for standard input),
// "-2", "-3"... added where two inputs would share a name. A name that
// is one of the inputs is an error before anything is classified, so no
// input is ever overwritten.
func newAnnotator(dir string, ins []classifyInput) (*annotator, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--annotate: %w", err)
	}
	a := &annotator{dir: dir, out: make([]string, len(ins))}
	used := map[string]bool{}
	for i, in := range ins {
		if in.err != "" {
			continue
		}
		stem := "stdin"
		if in.name != "-" {
			stem = strings.TrimSuffix(filepath.Base(in.name), filepath.Ext(in.name))
		}
		name := stem + ".png"
		for k := 2; used[strings.ToLower(name)]; k++ { // case apart too, for case-insensitive file systems
			name = stem + "-" + strconv.Itoa(k) + ".png"
		}
		used[strings.ToLower(name)] = true
		a.out[i] = filepath.Join(dir, name)
	}
	for i, p := range a.out {
		if p == "" {
			continue
		}
		for _, in := range ins {
			if in.name != "-" && samePath(p, in.name) {
				return nil, fmt.Errorf("--annotate %s: the picture of %s would overwrite the input %s; name another folder",
					dir, ins[i].name, in.name)
			}
		}
	}
	return a, nil
}

// samePath reports whether a and b name one file: the same path, or the
// same existing file by another (a link, a case-insensitive name).
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == bb {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// write draws top on img in a label box at its top-left corner and
// writes it as input i's picture, through a temporary file renamed into
// place (never writing through a link already there). It returns the
// picture's path.
func (a *annotator) write(i int, img image.Image, top []scoredLabel) (string, error) {
	path := a.out[i]
	if side := max(1, img.Bounds().Dx(), img.Bounds().Dy()); side < annotateMinSide {
		img = enlarged{img, (annotateMinSide + side - 1) / side}
	}
	lines := make([]string, len(top))
	for j, s := range top {
		lines[j] = fmt.Sprintf("%.3f %s", s.Score, s.Label)
	}
	pic, err := a.enc.Render(img, picture.Options{Caption: lines})
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(a.dir, ".annotate-*.png")
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	err = png.Encode(w, pic)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// enlarged is an image k times larger, each pixel a k x k block.
type enlarged struct {
	image.Image
	k int
}

func (e enlarged) Bounds() image.Rectangle {
	b := e.Image.Bounds()
	return image.Rect(0, 0, b.Dx()*e.k, b.Dy()*e.k)
}

func (e enlarged) At(x, y int) color.Color {
	b := e.Image.Bounds()
	return e.Image.At(b.Min.X+x/e.k, b.Min.Y+y/e.k)
}
