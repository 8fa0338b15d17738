package picture

import (
	"image"
	"image/color"
)

// readRow writes the RGB bytes of row y of src from x0 to x1 to dst
// (3 bytes a pixel). The common frame types are read directly; any other
// image through At, which may allocate.
func readRow(src image.Image, y, x0, x1 int, dst []byte) {
	switch m := src.(type) {
	case *BGR:
		i := (y-m.Rect.Min.Y)*m.Stride + (x0-m.Rect.Min.X)*3
		row := m.Pix[i : i+3*(x1-x0)]
		for j := 0; j+2 < len(row); j += 3 {
			dst[j], dst[j+1], dst[j+2] = row[j+2], row[j+1], row[j]
		}
	case *image.RGBA:
		i := m.PixOffset(x0, y)
		row := m.Pix[i : i+4*(x1-x0)]
		for j, k := 0, 0; j+3 < len(row); j, k = j+4, k+3 {
			dst[k], dst[k+1], dst[k+2] = row[j], row[j+1], row[j+2]
		}
	case *image.Gray:
		i := m.PixOffset(x0, y)
		for j, v := range m.Pix[i : i+x1-x0] {
			dst[3*j], dst[3*j+1], dst[3*j+2] = v, v, v
		}
	case *image.YCbCr:
		for x := x0; x < x1; x++ {
			c := m.YCbCrAt(x, y)
			k := 3 * (x - x0)
			dst[k], dst[k+1], dst[k+2] = color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
		}
	default:
		for x := x0; x < x1; x++ {
			// Alpha-premultiplied, as over black.
			r, g, b, _ := src.At(x, y).RGBA()
			k := 3 * (x - x0)
			dst[k], dst[k+1], dst[k+2] = byte(r>>8), byte(g>>8), byte(b>>8)
		}
	}
}

// scaleInto writes crop c of src into dst (whose bounds start at 0,0),
// averaging the source pixels that fall on each destination pixel (a box
// filter: cheap, and no aliasing of fine detail such as noise or text).
// dst is never larger than c.
func (e *Encoder) scaleInto(dst *image.RGBA, src image.Image, c image.Rectangle) {
	ow, oh := dst.Rect.Dx(), dst.Rect.Dy()
	cw, ch := c.Dx(), c.Dy()
	e.row = grow(e.row, 3*cw)
	if ow == cw && oh == ch {
		for y := 0; y < oh; y++ {
			readRow(src, c.Min.Y+y, c.Min.X, c.Max.X, e.row)
			out := dst.Pix[y*dst.Stride : y*dst.Stride+4*ow]
			for x, k := 0, 0; x < ow; x, k = x+1, k+3 {
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = e.row[k], e.row[k+1], e.row[k+2], 0xff
			}
		}
		return
	}
	// cols[i] is where output column i starts in the crop; cols[ow] = cw.
	e.cols = growInt(e.cols, ow+1)
	for i := 0; i <= ow; i++ {
		e.cols[i] = i * cw / ow
	}
	e.sums = growU64(e.sums, 3*ow)
	for oy := 0; oy < oh; oy++ {
		y0, y1 := oy*ch/oh, (oy+1)*ch/oh
		clear(e.sums[:3*ow])
		for y := y0; y < y1; y++ {
			readRow(src, c.Min.Y+y, c.Min.X, c.Max.X, e.row)
			for i := 0; i < ow; i++ {
				var r, g, b uint64
				for k := 3 * e.cols[i]; k < 3*e.cols[i+1]; k += 3 {
					r += uint64(e.row[k])
					g += uint64(e.row[k+1])
					b += uint64(e.row[k+2])
				}
				s := e.sums[3*i : 3*i+3]
				s[0] += r
				s[1] += g
				s[2] += b
			}
		}
		out := dst.Pix[oy*dst.Stride : oy*dst.Stride+4*ow]
		for i := 0; i < ow; i++ {
			n := uint64((e.cols[i+1] - e.cols[i]) * (y1 - y0))
			s := e.sums[3*i : 3*i+3]
			out[4*i] = byte((s[0] + n/2) / n)
			out[4*i+1] = byte((s[1] + n/2) / n)
			out[4*i+2] = byte((s[2] + n/2) / n)
			out[4*i+3] = 0xff
		}
	}
}

// scaledSize is the size of a cw x ch crop whose longer side is at most
// side (0: unbounded), keeping its aspect ratio; never enlarged, never
// below 1 pixel.
func scaledSize(cw, ch, side int) (int, int) {
	if side <= 0 || (cw <= side && ch <= side) {
		return cw, ch
	}
	if cw >= ch {
		return side, max(1, (ch*side+cw/2)/cw)
	}
	return max(1, (cw*side+ch/2)/ch), side
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func growInt(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}

func growU64(b []uint64, n int) []uint64 {
	if cap(b) < n {
		return make([]uint64, n)
	}
	return b[:n]
}
