package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/picture"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// svgElem is one element of a parsed SVG file.
type svgElem struct {
	name  string
	attr  map[string]string
	text  string
	class string
}

// parseSVG reads every element of an SVG document with encoding/xml,
// failing the test where it is not well-formed.
func parseSVG(t *testing.T, data []byte) []svgElem {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var out []svgElem
	var open []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v\n%s", err, data)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			e := svgElem{name: tk.Name.Local, attr: map[string]string{}}
			for _, a := range tk.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			e.class = e.attr["class"]
			out = append(out, e)
			open = append(open, len(out)-1)
		case xml.CharData:
			if len(open) > 0 {
				out[open[len(open)-1]].text += string(tk)
			}
		case xml.EndElement:
			open = open[:len(open)-1]
		}
	}
	if len(out) == 0 || out[0].name != "svg" {
		t.Fatalf("not an SVG document:\n%s", data)
	}
	return out
}

func svgClass(es []svgElem, class string) []svgElem {
	var out []svgElem
	for _, e := range es {
		if e.class == class {
			out = append(out, e)
		}
	}
	return out
}

func attrInt(t *testing.T, e svgElem, name string) int {
	t.Helper()
	v, err := strconv.Atoi(e.attr[name])
	if err != nil {
		t.Fatalf("%s %s=%q: %v", e.name, name, e.attr[name], err)
	}
	return v
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func luma(c color.Color) int {
	r, g, b, _ := c.RGBA()
	return int(299*r+587*g+114*b) / 1000 >> 8
}

// cellRects are a confusion chart's cells, row by row.
func cellRects(c *chart) []image.Rectangle {
	var out []image.Rectangle
	for _, it := range c.items {
		if it.class == "cell" {
			out = append(out, it.r)
		}
	}
	return out
}

// TestConfusionChartDrawing checks a matrix drawn both ways: a cell, a
// count and two axis labels per class (names escaped in SVG and read
// back intact), the darkest cell where a row's share is largest, and
// text inked where the labels are.
func TestConfusionChartDrawing(t *testing.T) {
	labels := []string{"cat", `<b>&"dog"`, "fish"}
	counts := [][]int{{5, 1, 0}, {2, 2, 0}, {0, 1, 9}}
	title := []string{"m.coatnet: top-1 x", "second line"}
	c := confusionChart(title, labels, counts)
	var svg bytes.Buffer
	if err := c.svg(&svg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(svg.String(), "<b>") {
		t.Fatalf("label not escaped:\n%s", svg.String())
	}
	es := parseSVG(t, svg.Bytes())
	var rows, cols, nums []string
	for _, e := range svgClass(es, "row-label") {
		rows = append(rows, e.text)
	}
	for _, e := range svgClass(es, "col-label") {
		cols = append(cols, e.text)
	}
	for _, e := range svgClass(es, "count") {
		nums = append(nums, e.text)
	}
	if !slices.Equal(rows, labels) || !slices.Equal(cols, labels) {
		t.Errorf("axis labels %q and %q, want %q", rows, cols, labels)
	}
	if want := []string{"5", "1", "0", "2", "2", "0", "0", "1", "9"}; !slices.Equal(nums, want) {
		t.Errorf("counts %q, want %q", nums, want)
	}
	if n := len(svgClass(es, "cell")); n != 9 {
		t.Errorf("%d cells, want 9", n)
	}
	if got := svgClass(es, "title"); len(got) != 2 || got[0].text != title[0] {
		t.Errorf("titles %+v", got)
	}
	if es[0].attr["width"] != strconv.Itoa(c.w) || es[0].attr["height"] != strconv.Itoa(c.h) {
		t.Errorf("svg size %v, chart %dx%d", es[0].attr, c.w, c.h)
	}

	path := filepath.Join(t.TempDir(), "cm.PNG") // the extension in any case
	if err := c.writeFile("--confusion", path); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	if img.Bounds() != image.Rect(0, 0, c.w, c.h) {
		t.Fatalf("PNG %v, chart %dx%d", img.Bounds(), c.w, c.h)
	}
	cells := cellRects(c)
	shade := make([]int, len(cells))
	for i, r := range cells {
		shade[i] = luma(img.At(r.Min.X+2, r.Min.Y+2)) // a corner, away from the count
	}
	// Row shares: 5/6, 1/2 (both), 9/10: the last row's 9 is darkest,
	// the empty cells white.
	darkest := 0
	for i := range shade {
		if shade[i] < shade[darkest] {
			darkest = i
		}
	}
	if darkest != 8 || shade[2] != 255 || shade[0] >= shade[3] || shade[3] != shade[4] {
		t.Errorf("cell lumas %v: want cell 8 darkest, 2 white, 0 darker than 3 = 4", shade)
	}
	for _, it := range c.items {
		if it.text == "" || it.class == "title" {
			continue
		}
		ink := 0
		for y := it.r.Min.Y; y < it.r.Max.Y; y++ {
			for x := it.r.Min.X; x < it.r.Max.X; x++ {
				if p := img.At(x, y); luma(p) != luma(img.At(it.r.Min.X-1, it.r.Min.Y-1)) {
					ink++
				}
			}
		}
		if ink < 3 {
			t.Errorf("%s %q: %d pixels inked in %v", it.class, it.text, ink, it.r)
		}
	}
}

func TestChartFormat(t *testing.T) {
	for _, p := range []string{"cm.jpg", "cm", "cm.svg.txt", ""} {
		if _, err := chartFormat("--plot", p); err == nil || !strings.Contains(err.Error(), ".svg or .png") {
			t.Errorf("%q: %v", p, err)
		}
	}
	models := []string{"a/fm.coatnet", "b/int8.coatnet"}
	if got := chartPath("out/cm.svg", models, 1); got != "out/cm-int8.svg" {
		t.Errorf("chartPath %q", got)
	}
	if got := chartPath("cm.png", []string{"a/m.coatnet", "b/m.coatnet"}, 1); got != "cm-2-m.png" {
		t.Errorf("chartPath of a shared name %q", got)
	}
	if got := chartPath("cm.svg", models[:1], 0); got != "cm.svg" {
		t.Errorf("chartPath of one model %q", got)
	}
}

// TestEvalConfusion draws the matrices of two models on a folder
// dataset, one file each, and checks them against the JSON report;
// bad file names fail before anything is scored.
func TestEvalConfusion(t *testing.T) {
	dir, _ := fashionFolder(t)
	out := t.TempDir()
	stdout, stderr, err := run(t, "eval", shippedInt8, shippedFloat, "--dataset", dir, "--json", "--threads", "2",
		"--confusion", filepath.Join(out, "cm.svg"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep folderEvalReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Models {
		name := filepath.Join(out, "cm-"+strings.TrimSuffix(filepath.Base(m.Model), ".coatnet")+".svg")
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		es := parseSVG(t, data)
		cm := m.Report.Confusion
		n := len(cm.Classes)
		if len(svgClass(es, "cell")) != n*n || len(svgClass(es, "count")) != n*n {
			t.Errorf("%s: %d cells, %d counts, want %d", name, len(svgClass(es, "cell")), len(svgClass(es, "count")), n*n)
		}
		sum := 0
		for _, e := range svgClass(es, "count") {
			v, _ := strconv.Atoi(e.text)
			sum += v
		}
		var rows []string
		for _, e := range svgClass(es, "row-label") {
			rows = append(rows, e.text)
		}
		title := svgClass(es, "title")
		if sum != m.Report.Images || !slices.Equal(rows, cm.Labels) || len(title) == 0 ||
			!strings.Contains(title[0].text, percent(m.Report.Top1, m.Report.Images)) || !strings.Contains(title[0].text, m.Name) {
			t.Errorf("%s: counts sum to %d of %d, rows %q of %q, title %+v", name, sum, m.Report.Images, rows, cm.Labels, title)
		}
		if !strings.Contains(stderr, name) {
			t.Errorf("stderr does not name %s:\n%s", name, stderr)
		}
	}

	// One model, PNG: the cells where the chart's layout puts them.
	png1 := filepath.Join(out, "one.png")
	stdout, stderr, err = run(t, "eval", shippedInt8, "--dataset", dir, "--json", "--confusion", png1)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	cm := rep.Models[0].Report.Confusion
	img := decodePNG(t, png1)
	layout := confusionChart([]string{"", ""}, cm.Labels, cm.Counts)
	if img.Bounds().Dy() != layout.h {
		t.Fatalf("PNG %v, layout %dx%d", img.Bounds(), layout.w, layout.h)
	}
	for k, r := range cellRects(layout) {
		i, j := k/len(cm.Classes), k%len(cm.Classes)
		total := 0
		for _, v := range cm.Counts[i] {
			total += v
		}
		want := luma(shade(float64(cm.Counts[i][j]) / float64(max(1, total))))
		if got := luma(img.At(r.Min.X+2, r.Min.Y+2)); got != want {
			t.Errorf("cell %d,%d (%d of %d): luma %d, want %d", i, j, cm.Counts[i][j], total, got, want)
		}
	}

	for _, bad := range []string{filepath.Join(out, "cm.jpg"), filepath.Join(out, "none", "cm.svg")} {
		_, _, err := run(t, "eval", shippedInt8, "--dataset", dir, "--confusion", bad)
		if err == nil || !strings.Contains(err.Error(), "--confusion") {
			t.Errorf("--confusion %s: %v", bad, err)
		}
	}
}

// TestBenchPlot checks the layer chart against the JSON of the same run:
// a bar per layer in order, each as long as its time against the
// slowest's, within a pixel, in SVG and in PNG; --plot implies --layers.
func TestBenchPlot(t *testing.T) {
	dir := t.TempDir()
	svgFile, pngFile := filepath.Join(dir, "layers.svg"), filepath.Join(dir, "layers.png")
	stdout, stderr, err := run(t, "bench", shippedInt8, "--iterations", "2", "--warmup", "0", "--threads", "1", "--json", "--plot", svgFile)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	r := rep.Runs[0]
	data, err := os.ReadFile(svgFile)
	if err != nil {
		t.Fatal(err)
	}
	es := parseSVG(t, data)
	bars, labels := svgClass(es, "bar"), svgClass(es, "layer-label")
	if len(bars) != len(r.Layers) || len(labels) != len(r.Layers) || len(r.Layers) < 10 {
		t.Fatalf("%d bars, %d labels for %d layers", len(bars), len(labels), len(r.Layers))
	}
	most := 0.0
	for _, l := range r.Layers {
		most = max(most, l.Ms)
	}
	for i, l := range r.Layers {
		w := attrInt(t, bars[i], "width")
		if want := l.Ms / most * barSpan; math.Abs(float64(w)-want) > 1 {
			t.Errorf("layer %s: bar %d px, want %.1f", l.Name, w, want)
		}
		if labels[i].text != l.Name+" ("+l.Kind+")" {
			t.Errorf("label %d %q, want %s (%s)", i, labels[i].text, l.Name, l.Kind)
		}
	}
	title := svgClass(es, "title")
	if len(title) == 0 || !strings.Contains(title[0].text, rep.Model) || !strings.Contains(title[0].text, "1 threads") {
		t.Errorf("title %+v", title)
	}

	stdout, stderr, err = run(t, "bench", shippedInt8, "--iterations", "2", "--warmup", "0", "--threads", "1", "--plot", pngFile)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "operations by kind") {
		t.Errorf("--plot without --layers printed no op profile:\n%s", stdout)
	}
	img := decodePNG(t, pngFile)
	// The run is another; its layer times come from the bars' lengths, so
	// the check is each bar against its own value text.
	layout := layerChart([]string{"", ""}, &r)
	if img.Bounds().Dx() < layout.w-200 || img.Bounds().Dy() != layout.h {
		t.Fatalf("PNG %v, layout %dx%d", img.Bounds(), layout.w, layout.h)
	}
	var barRects []image.Rectangle
	for _, it := range layout.items {
		if it.class == "bar" {
			barRects = append(barRects, it.r)
		}
	}
	longest := 0
	lengths := make([]int, len(barRects))
	for i, br := range barRects {
		y := br.Min.Y + 3
		x := br.Min.X
		for x < img.Bounds().Max.X && luma(img.At(x, y)) != 255 {
			x++
		}
		lengths[i] = x - br.Min.X
		longest = max(longest, lengths[i])
	}
	if longest < barSpan-1 || longest > barSpan+1 {
		t.Errorf("the slowest layer's bar is %d px, want %d", longest, barSpan)
	}
	if slices.Max(lengths) == slices.Min(lengths) {
		t.Errorf("all bars %d px", lengths[0])
	}

	for _, bad := range []string{filepath.Join(dir, "l.txt"), filepath.Join(dir, "no", "l.svg")} {
		_, _, err := run(t, "bench", shippedInt8, "--iterations", "1", "--warmup", "0", "--plot", bad)
		if err == nil || !strings.Contains(err.Error(), "--plot") {
			t.Errorf("--plot %s: %v", bad, err)
		}
	}
}

// TestClassifyAnnotate writes the pictures of a PNG, a JPEG of the same
// name and standard input: one PNG each, named apart, enlarged, with the
// top labels in a black and white box at the top-left and the picture
// unchanged elsewhere; the JSON names each file.
func TestClassifyAnnotate(t *testing.T) {
	in := t.TempDir()
	src := "../../testdata/fashion/00006-coat.png"
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(in, "item.png"), data, 0o644)
	img, err := preprocess.LoadImage(src)
	if err != nil {
		t.Fatal(err)
	}
	var jb bytes.Buffer
	jpeg.Encode(&jb, img, &jpeg.Options{Quality: 95})
	os.WriteFile(filepath.Join(in, "item.jpg"), jb.Bytes(), 0o644)
	out := filepath.Join(t.TempDir(), "new", "dir")
	stdout, stderr, err := runIn(t, bytes.NewReader(data), "classify", shippedInt8, in, "-", "--top", "3", "--json", "--annotate", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got []classification
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var c classification
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	want := []string{"item.png", "item-2.png", "stdin.png"} // item.jpg first, in name order
	if len(got) != 3 {
		t.Fatalf("%d results", len(got))
	}
	for i, c := range got {
		if c.Annotated != filepath.Join(out, want[i]) {
			t.Errorf("%s annotated as %q, want %s", c.Image, c.Annotated, want[i])
		}
		pic := decodePNG(t, c.Annotated)
		if pic.Bounds() != image.Rect(0, 0, 280, 280) {
			t.Errorf("%s: %v, want 280x280 (28 enlarged 10 times)", c.Annotated, pic.Bounds())
		}
		// The first line's box: black with white text, nothing else.
		box := picture.LabelSize(strconv.FormatFloat(c.Top[0].Score, 'f', 3, 64)+" "+c.Top[0].Label, 1)
		white, other := 0, 0
		for y := range box.Y {
			for x := range box.X {
				switch r, g, b, _ := pic.At(x, y).RGBA(); {
				case r == 0xffff && g == 0xffff && b == 0xffff:
					white++
				case r != 0 || g != 0 || b != 0:
					other++
				}
			}
		}
		if white < 20 || other > 0 {
			t.Errorf("%s: label box %v has %d white and %d other pixels", c.Annotated, box, white, other)
		}
		// Below the three lines, the enlarged picture (PNG inputs exactly).
		if !strings.HasSuffix(c.Image, ".jpg") {
			for _, p := range []image.Point{{275, 275}, {140, 200}, {5, 270}} {
				if a, b := luma(pic.At(p.X, p.Y)), luma(img.At(p.X/10, p.Y/10)); a != b {
					t.Errorf("%s at %v: luma %d, input %d", c.Annotated, p, a, b)
				}
			}
		}
	}

	// Never over an input: the input's own folder is refused when a
	// name would be the input, accepted when the names differ.
	before, _ := os.ReadFile(filepath.Join(in, "item.png"))
	_, _, err = run(t, "classify", shippedInt8, in, "--annotate", in)
	if err == nil || !strings.Contains(err.Error(), "would overwrite the input") {
		t.Errorf("--annotate into the inputs' folder: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(in, "item.png")); !bytes.Equal(before, after) {
		t.Error("an input was overwritten")
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "shoe.jpg"), jb.Bytes(), 0o644)
	if _, stderr, err := run(t, "classify", shippedInt8, filepath.Join(other, "shoe.jpg"), "--annotate", other); err != nil {
		t.Errorf("--annotate beside a JPEG: %v\n%s", err, stderr)
	} else if _, err := os.Stat(filepath.Join(other, "shoe.png")); err != nil {
		t.Error(err)
	}
	file := filepath.Join(other, "shoe.png")
	if _, _, err := run(t, "classify", shippedInt8, src, "--annotate", file); err == nil || !strings.Contains(err.Error(), "--annotate") {
		t.Errorf("--annotate into a file: %v", err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(out, ".annotate-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// TestPictureFlagsHelp: each command documents its picture flag with an
// example.
func TestPictureFlagsHelp(t *testing.T) {
	for c, flag := range map[string]string{"classify": "--annotate", "eval": "--confusion", "bench": "--plot"} {
		stdout, _, err := run(t, c, "--help")
		if err != nil {
			t.Fatal(err)
		}
		_, ex, _ := strings.Cut(stdout, "Examples:")
		if !strings.Contains(ex, "coatnet "+c) || !strings.Contains(ex, flag) || !strings.Contains(stdout, "      "+flag+" ") {
			t.Errorf("%s --help: no %s flag or example:\n%s", c, flag, stdout)
		}
	}
}

// TestPictureFlagsComplete: the chart flags complete to .svg and .png
// files, --annotate to a folder.
func TestPictureFlagsComplete(t *testing.T) {
	for _, args := range [][]string{{"eval", "m.coatnet", "--confusion", ""}, {"bench", "m.coatnet", "--plot", ""}} {
		stdout, _, err := run(t, append([]string{"__complete"}, args...)...)
		if err != nil || stdout != "svg\npng\n:8\n" {
			t.Errorf("%v: %v\n%q", args, err, stdout)
		}
	}
	stdout, _, err := run(t, "__complete", "classify", "m.coatnet", "x.png", "--annotate", "")
	if err != nil || !strings.HasSuffix(stdout, ":16\n") {
		t.Errorf("--annotate completion: %v\n%q", err, stdout)
	}
}

// TestEvalConfusionIDX: the Fashion-MNIST path draws through the same
// function, one file per model, the cells holding the report's matrix.
func TestEvalConfusionIDX(t *testing.T) {
	dir := t.TempDir()
	writeFashionLike(t, dir, 20)
	out := filepath.Join(t.TempDir(), "cm.svg")
	stdout, stderr, err := run(t, "eval", shippedInt8, shippedFloat, "--dataset", "fashion-mnist:"+dir, "--json", "--confusion", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	for _, m := range []string{shippedInt8, shippedFloat} {
		var r evalReport
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		file := chartPath(out, []string{shippedInt8, shippedFloat}, slices.Index([]string{shippedInt8, shippedFloat}, m))
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		es := parseSVG(t, data)
		var got []string
		for _, e := range svgClass(es, "count") {
			got = append(got, e.text)
		}
		var want []string
		for _, row := range r.Confusion {
			for _, v := range row {
				want = append(want, strconv.Itoa(v))
			}
		}
		if len(want) != 100 || !slices.Equal(got, want) {
			t.Errorf("%s: counts %q, want %q", file, got, want)
		}
		if title := svgClass(es, "title"); len(title) == 0 || !strings.Contains(title[0].text, percent(r.Correct, r.Images)) {
			t.Errorf("%s: title %+v", file, title)
		}
	}
}
