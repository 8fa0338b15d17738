package main

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/picture"
)

// chart is a drawing laid out once in pixels, of filled rectangles and
// one-line texts in picture's bitmap face, and written as SVG (text, for
// a browser or a document) or PNG (drawn with package picture) from the
// same layout, so both show the same thing.
type chart struct {
	w, h  int
	items []chartItem
}

// chartItem is a rectangle, or a text when text is not "".
type chartItem struct {
	class string // the SVG element's class: what it is, for tests and styling
	r     image.Rectangle
	c     color.RGBA
	text  string
	// vertical text reads bottom to top, its box r standing upright.
	vertical bool
}

// Text metrics of picture's face at scale 1.
const (
	lineHeight = 13 // picture.TextSize's height
	textAscent = 11 // from the box's top to the baseline
)

var (
	black = color.RGBA{A: 0xff}
	white = color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	grey  = color.RGBA{R: 0x60, G: 0x60, B: 0x60, A: 0xff}
)

func textWidth(s string) int { return picture.TextSize(s, 1).X }

func (c *chart) rect(class string, r image.Rectangle, col color.RGBA) {
	c.items = append(c.items, chartItem{class: class, r: r, c: col})
}

// text puts s with its box's top-left corner at at (vertical: the box's
// top-left corner too, the text's end at its top) and returns the box.
func (c *chart) text(class string, at image.Point, s string, col color.RGBA, vertical bool) image.Rectangle {
	size := image.Pt(textWidth(s), lineHeight)
	if vertical {
		size.X, size.Y = size.Y, size.X
	}
	r := image.Rectangle{Min: at, Max: at.Add(size)}
	if s != "" {
		c.items = append(c.items, chartItem{class: class, r: r, c: col, text: s, vertical: vertical})
	}
	return r
}

// chartFormat is the format of a chart file from its extension: "svg" or
// "png"; anything else is an error naming the flag.
func chartFormat(flag, path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".svg", ".png":
		return ext[1:], nil
	}
	return "", fmt.Errorf("%s %q: want a file name ending in .svg or .png", flag, path)
}

// writeFile writes the chart to path in the format its extension names.
func (c *chart) writeFile(flag, path string) error {
	format, err := chartFormat(flag, path)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	w := bufio.NewWriter(f)
	if format == "svg" {
		err = c.svg(w)
	} else {
		err = c.png(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return nil
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// xmlEsc is s escaped for XML text and attribute values.
func xmlEsc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// svg writes the chart as an SVG document, texts in a monospace font of
// the bitmap face's size, each stretched to its box (textLength) so that
// no font overruns the layout.
func (c *chart) svg(w io.Writer) error {
	bw := &errWriter{w: w}
	bw.printf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="monospace" font-size="12">`+"\n",
		c.w, c.h, c.w, c.h)
	bw.printf(`<rect class="background" x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", c.w, c.h)
	for _, it := range c.items {
		r := it.r
		switch {
		case it.text == "":
			bw.printf(`<rect class="%s" x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n",
				xmlEsc(it.class), r.Min.X, r.Min.Y, r.Dx(), r.Dy(), hexColor(it.c))
		case it.vertical:
			x, y := r.Min.X+textAscent, r.Max.Y
			bw.printf(`<text class="%s" x="%d" y="%d" transform="rotate(-90 %d %d)" textLength="%d" fill="%s">%s</text>`+"\n",
				xmlEsc(it.class), x, y, x, y, r.Dy(), hexColor(it.c), xmlEsc(it.text))
		default:
			bw.printf(`<text class="%s" x="%d" y="%d" textLength="%d" fill="%s">%s</text>`+"\n",
				xmlEsc(it.class), r.Min.X, r.Min.Y+textAscent, r.Dx(), hexColor(it.c), xmlEsc(it.text))
		}
	}
	bw.printf("</svg>\n")
	return bw.err
}

// image draws the chart on a white picture.
func (c *chart) image() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
	picture.FillRect(img, img.Rect, white)
	for _, it := range c.items {
		switch {
		case it.text == "":
			picture.FillRect(img, it.r, it.c)
		case it.vertical:
			// Drawn lying down, then turned a quarter left.
			tmp := image.NewRGBA(image.Rect(0, 0, it.r.Dy(), it.r.Dx()))
			picture.DrawText(tmp, image.Point{}, it.text, it.c, 1)
			for y := 0; y < tmp.Rect.Dy(); y++ {
				for x := 0; x < tmp.Rect.Dx(); x++ {
					if p := tmp.RGBAAt(x, y); p.A != 0 {
						img.SetRGBA(it.r.Min.X+y, it.r.Max.Y-1-x, p)
					}
				}
			}
		default:
			picture.DrawText(img, it.r.Min, it.text, it.c, 1)
		}
	}
	return img
}

func (c *chart) png(w io.Writer) error { return png.Encode(w, c.image()) }

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

// shade is the colour of a share from 0 (white) to 1 (dark blue).
func shade(share float64) color.RGBA {
	share = min(max(share, 0), 1)
	mix := func(a, b uint8) uint8 { return uint8(float64(a) + share*(float64(b)-float64(a)) + 0.5) }
	return color.RGBA{R: mix(0xff, 0x08), G: mix(0xff, 0x30), B: mix(0xff, 0x6b), A: 0xff}
}

// Confusion matrix layout, in pixels.
const (
	chartMargin   = 8
	minCell       = 22
	maxCountCells = 60 // above, cells are small and shaded only
	smallCell     = 5
)

// confusionChart draws a confusion matrix (counts[true][predicted]):
// class names on both axes, each cell's count, shaded by its share of
// its row (the true class's pictures).
func confusionChart(title []string, labels []string, counts [][]int) *chart {
	c := &chart{}
	n := len(labels)
	most, labelW := 0, 0
	for i, row := range counts {
		for _, v := range row {
			most = max(most, v)
		}
		labelW = max(labelW, textWidth(labels[i]))
	}
	cell := max(minCell, textWidth(strconv.Itoa(most))+8)
	if n > maxCountCells {
		cell = smallCell
	}
	y := chartMargin
	titleW := 0
	for _, t := range title {
		titleW = max(titleW, c.text("title", image.Pt(chartMargin, y), t, black, false).Dx())
		y += lineHeight + 3
	}
	left := chartMargin + labelW + 6
	top := y + 6 + labelW + 6
	for j, l := range labels { // columns: predicted, read upwards
		x := left + j*cell + (cell-lineHeight)/2
		c.text("col-label", image.Pt(x, top-6-textWidth(l)), l, black, true)
	}
	for i, row := range counts {
		ry := top + i*cell
		l := labels[i]
		c.text("row-label", image.Pt(left-6-textWidth(l), ry+(cell-lineHeight)/2), l, black, false)
		total := 0
		for _, v := range row {
			total += v
		}
		for j, v := range row {
			share := 0.0
			if total > 0 {
				share = float64(v) / float64(total)
			}
			r := image.Rect(left+j*cell, ry, left+(j+1)*cell, ry+cell)
			bg := shade(share)
			c.rect("cell", r, bg)
			if n <= maxCountCells {
				s := strconv.Itoa(v)
				col := picture.Contrast(bg)
				if v == 0 {
					col = grey
				}
				c.text("count", image.Pt(r.Min.X+(cell-textWidth(s))/2, r.Min.Y+(cell-lineHeight)/2), s, col, false)
			}
		}
	}
	// Thin grid lines between the cells.
	gridC := color.RGBA{R: 0xd0, G: 0xd0, B: 0xd0, A: 0xff}
	if n <= maxCountCells {
		for k := 0; k <= n; k++ {
			c.rect("grid", image.Rect(left+k*cell, top, left+k*cell+1, top+n*cell+1), gridC)
			c.rect("grid", image.Rect(left, top+k*cell, left+n*cell+1, top+k*cell+1), gridC)
		}
	}
	c.w = max(left+n*cell+1, chartMargin+titleW) + chartMargin
	c.h = top + n*cell + 1 + chartMargin
	return c
}

// chartPath is the file of model i's chart when a run makes one per
// model: file as given for one model, else with "-NAME" before its
// extension, NAME the model's file name without ".coatnet" (preceded by
// its position where two models share a file name).
func chartPath(file string, models []string, i int) string {
	if len(models) == 1 {
		return file
	}
	stem := func(p string) string { return strings.TrimSuffix(filepath.Base(p), ".coatnet") }
	name := stem(models[i])
	for j, p := range models {
		if j != i && stem(p) == name {
			name = strconv.Itoa(i+1) + "-" + name
			break
		}
	}
	ext := filepath.Ext(file)
	return strings.TrimSuffix(file, ext) + "-" + name + ext
}

// Bar chart layout, in pixels.
const (
	barRow   = 17
	barSpan  = 480 // the slowest layer's bar
	barInset = 2
)

// layerChart draws the time of each layer of a run as a horizontal bar,
// in the order the engine runs them, each labelled with its name and
// kind and its time and share; bars are coloured by kind.
func layerChart(title []string, r *benchRun) *chart {
	c := &chart{}
	y := chartMargin
	titleW := 0
	for _, t := range title {
		titleW = max(titleW, c.text("title", image.Pt(chartMargin, y), t, black, false).Dx())
		y += lineHeight + 3
	}
	y += 6
	labelW, most := 0, 0.0
	labels := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		labels[i] = l.Name + " (" + l.Kind + ")"
		labelW = max(labelW, textWidth(labels[i]))
		most = max(most, l.Ms)
	}
	kinds := []string{}
	for _, t := range r.OpTypes {
		kinds = append(kinds, t.Kind)
	}
	left := chartMargin + labelW + 8
	right := left
	for i, l := range r.Layers {
		ry := y + i*barRow
		c.text("layer-label", image.Pt(left-8-textWidth(labels[i]), ry+(barRow-lineHeight)/2), labels[i], black, false)
		w := barWidth(l.Ms, most)
		k := 0
		for k < len(kinds) && kinds[k] != l.Kind {
			k++
		}
		c.rect("bar", image.Rect(left, ry+barInset, left+w, ry+barRow-barInset), picture.Palette(k))
		v := fmt.Sprintf("%.3f ms  %.1f%%", l.Ms, 100*l.Share)
		right = max(right, c.text("value", image.Pt(left+w+6, ry+(barRow-lineHeight)/2), v, black, false).Max.X)
	}
	c.rect("axis", image.Rect(left-1, y, left, y+len(r.Layers)*barRow), black)
	c.w = max(right, left+barSpan, chartMargin+titleW) + chartMargin
	c.h = y + len(r.Layers)*barRow + chartMargin
	return c
}

// barWidth is the bar of ms against the slowest layer's most, in pixels.
func barWidth(ms, most float64) int {
	if most <= 0 {
		return 0
	}
	return int(ms/most*barSpan + 0.5)
}
