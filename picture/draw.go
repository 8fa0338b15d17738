package picture

import (
	"image"
	"image/color"

	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Text is drawn with the 7x13 bitmap face of X11's misc-fixed font
// (golang.org/x/image/font/basicfont), each font pixel a scale x scale
// block. A bitmap face hand-made for 13 pixels stays sharp and legible at
// that size, where an outline font (Go Mono through opentype) rasterised
// that small is a grey blur, and it survives JPEG and downscaled MJPEG;
// it needs no font parsing, no glyph cache and no allocation. The price:
// ASCII only; any other character is drawn as U+FFFD.
var face = basicfont.Face7x13

// faceMask is face's glyph atlas: opaque where a glyph has ink.
var faceMask, _ = face.Mask.(*image.Alpha)

// TextSize is the size of text drawn at scale (clamped to 1 to MaxScale, as
// in all drawing), in pixels: one
// line, face.Advance pixels a character.
func TextSize(text string, scale int) image.Point {
	scale = clampScale(scale)
	n := 0
	for range text {
		n++
	}
	return image.Pt(n*face.Advance*scale, face.Height*scale)
}

// DrawText draws text in c with its top-left corner at at, clipped to
// dst, and returns the rectangle it covers before clipping. Text stops at
// dst's right edge rather than wrapping.
func DrawText(dst *image.RGBA, at image.Point, text string, c color.RGBA, scale int) image.Rectangle {
	scale = clampScale(scale)
	x := at.X
	for _, r := range text {
		if x >= dst.Rect.Max.X {
			break
		}
		drawGlyph(dst, image.Pt(x, at.Y), r, c, scale)
		x += face.Advance * scale
	}
	return image.Rectangle{Min: at, Max: at.Add(TextSize(text, scale))}
}

func drawGlyph(dst *image.RGBA, at image.Point, r rune, c color.RGBA, scale int) {
	if faceMask == nil {
		return
	}
	_, _, mp, _, _ := face.Glyph(fixed.Point26_6{}, r)
	cell := image.Rect(0, 0, face.Width*scale, (face.Ascent+face.Descent)*scale).Add(at)
	vis := cell.Intersect(dst.Rect)
	for y := vis.Min.Y; y < vis.Max.Y; y++ {
		gy := (y - at.Y) / scale
		row := faceMask.Pix[(mp.Y+gy-faceMask.Rect.Min.Y)*faceMask.Stride:]
		out := dst.Pix[dst.PixOffset(vis.Min.X, y):]
		for x := vis.Min.X; x < vis.Max.X; x++ {
			if row[(x-at.X)/scale] >= 0x80 {
				o := 4 * (x - vis.Min.X)
				out[o], out[o+1], out[o+2], out[o+3] = c.R, c.G, c.B, c.A
			}
		}
	}
}

// FillRect fills r in c, clipped to dst.
func FillRect(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(dst.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		out := dst.Pix[dst.PixOffset(r.Min.X, y):dst.PixOffset(r.Max.X, y)]
		for o := 0; o < len(out); o += 4 {
			out[o], out[o+1], out[o+2], out[o+3] = c.R, c.G, c.B, c.A
		}
	}
}

// StrokeRect draws r's outline in c, width pixels thick (below 1: 1)
// inside r, so that the outline's outer edge is r itself. The parts
// outside dst are clipped, not moved in.
func StrokeRect(dst *image.RGBA, r image.Rectangle, c color.RGBA, width int) {
	r = r.Canon()
	if r.Empty() {
		return
	}
	w := min(max(1, width), r.Dx(), r.Dy())
	FillRect(dst, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+w), c)
	FillRect(dst, image.Rect(r.Min.X, r.Max.Y-w, r.Max.X, r.Max.Y), c)
	FillRect(dst, image.Rect(r.Min.X, r.Min.Y+w, r.Min.X+w, r.Max.Y-w), c)
	FillRect(dst, image.Rect(r.Max.X-w, r.Min.Y+w, r.Max.X, r.Max.Y-w), c)
}

// MaxScale bounds the text scale: 64 makes 832 pixel lines.
const MaxScale = 64

func clampScale(s int) int { return min(max(1, s), MaxScale) }

// labelPad is the margin around a label's text, in font pixels.
const labelPad = 1

// LabelSize is the size of the box DrawLabel draws for text at scale.
func LabelSize(text string, scale int) image.Point {
	scale = clampScale(scale)
	return TextSize(text, scale).Add(image.Pt(4*labelPad*scale, 2*labelPad*scale))
}

// DrawLabel draws text on a box filled in bg, its top-left corner at at,
// in black or white, whichever stands out more from bg. It returns the
// box before clipping to dst.
func DrawLabel(dst *image.RGBA, at image.Point, text string, bg color.RGBA, scale int) image.Rectangle {
	scale = clampScale(scale)
	box := image.Rectangle{Min: at, Max: at.Add(LabelSize(text, scale))}
	FillRect(dst, box, bg)
	DrawText(dst, at.Add(image.Pt(2*labelPad*scale, labelPad*scale)), text, Contrast(bg), scale)
	return box
}

// Contrast is black or white, whichever stands out more from c
// (by Rec. 601 luma).
func Contrast(c color.RGBA) color.RGBA {
	if 299*int(c.R)+587*int(c.G)+114*int(c.B) > 128*1000 {
		return color.RGBA{A: 0xff}
	}
	return color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
}

// labelAt is where the label of a box around r goes in bounds: on top of
// r's top-left corner, outside it, or just inside where there is no room
// above; moved left to stay within bounds.
func labelAt(bounds, r image.Rectangle, size image.Point) image.Point {
	at := image.Pt(r.Min.X, r.Min.Y-size.Y)
	if at.Y < bounds.Min.Y {
		at.Y = max(bounds.Min.Y, r.Min.Y)
	}
	at.X = max(bounds.Min.X, min(at.X, bounds.Max.X-size.X))
	at.Y = min(at.Y, bounds.Max.Y-size.Y)
	return at
}

// fitText is the longest prefix of text whose label fits width pixels
// at scale.
func fitText(text string, width, scale int) string {
	room := (width - 4*labelPad*scale) / (face.Advance * scale)
	if room <= 0 {
		return ""
	}
	n := 0
	for i := range text {
		if n == room {
			return text[:i]
		}
		n++
	}
	return text
}

// palette: distinct colours that read on daylight and night (IR) frames,
// for boxes whose caller names none.
var palette = [...]color.RGBA{
	{0x00, 0xe0, 0x40, 0xff}, // green
	{0xff, 0xc0, 0x00, 0xff}, // amber
	{0x20, 0xa0, 0xff, 0xff}, // blue
	{0xff, 0x40, 0xa0, 0xff}, // pink
	{0x00, 0xe0, 0xe0, 0xff}, // cyan
	{0xff, 0x60, 0x20, 0xff}, // orange
	{0xb0, 0x60, 0xff, 0xff}, // violet
	{0xf0, 0xf0, 0x40, 0xff}, // yellow
}

// Palette is the i-th of a few distinct colours (repeating), so that a
// camera's regions keep one colour each in every picture.
func Palette(i int) color.RGBA {
	return palette[uint(i)%uint(len(palette))]
}
