package preprocess

import (
	"image"
	"image/color"
)

// The functions here turn a picture into the 8-bit interleaved buffer the
// resampler reads: R, G, B per pixel for RGB recipes, one PIL "L" value
// per pixel for grey ones. They also apply Invert, as v ^ 0xFF (which is
// 255 - v for a byte), so it happens after the colour conversion and
// before the resize, in the order gen.py's reference uses.
//
// timm loads pictures with PIL's convert("RGB"), which drops alpha without
// compositing, so alpha is ignored here too: *image.NRGBA is read as is and
// premultiplied *image.RGBA is first unpremultiplied exactly as
// color.NRGBAModel does. Every fast path below gives the same bytes as the
// generic path, which reads any image.Image through color.NRGBAModel (and
// so reduces 16-bit samples to their high byte). PIL agrees for 16-bit
// colour PNGs but not for 16-bit grey ones: it opens those in mode "I" and
// its convert("RGB") clips every value above 255 to 255.

// luma is PIL's ITU-R 601-2 conversion to "L" (Convert.c, rgb2l): 16-bit
// fixed-point weights that sum to 65536, rounded.
func luma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// unpremultiply is color.NRGBAModel's conversion of one premultiplied 8-bit
// sample with alpha a (0 < a < 255). Go widens to 16 bits, divides and
// narrows again, which comes down to v*0xffff/a >> 8.
func unpremultiply(v, a uint8) uint8 {
	return uint8(uint32(v) * 0xffff / uint32(a) >> 8)
}

// pixelWriter stores converted pixels into a tightly packed buffer.
type pixelWriter struct {
	dst  []uint8
	grey bool
	flip uint8 // 0xFF to invert, 0 otherwise
}

// rgb stores pixel i given its colour.
func (w *pixelWriter) rgb(i int, r, g, b uint8) {
	if w.grey {
		w.dst[i] = luma(r, g, b) ^ w.flip
		return
	}
	d := w.dst[3*i : 3*i+3]
	d[0], d[1], d[2] = r^w.flip, g^w.flip, b^w.flip
}

// convertImage fills w.dst with img's pixels, row by row from the top left
// of its bounds.
func (w *pixelWriter) convertImage(img image.Image) {
	b := img.Bounds()
	width := b.Dx()
	switch m := img.(type) {
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:4*width]
			base := (y - b.Min.Y) * width
			for x := range width {
				p := row[4*x : 4*x+4]
				w.rgb(base+x, p[0], p[1], p[2])
			}
		}
	case *image.RGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:4*width]
			base := (y - b.Min.Y) * width
			for x := range width {
				p := row[4*x : 4*x+4]
				r, g, bl, a := p[0], p[1], p[2], p[3]
				switch a {
				case 0xff:
				case 0:
					r, g, bl = 0, 0, 0
				default:
					r, g, bl = unpremultiply(r, a), unpremultiply(g, a), unpremultiply(bl, a)
				}
				w.rgb(base+x, r, g, bl)
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:width]
			base := (y - b.Min.Y) * width
			if w.grey {
				// luma(v, v, v) == v: the weights sum to 65536.
				d := w.dst[base : base+width]
				for x, v := range row {
					d[x] = v ^ w.flip
				}
				continue
			}
			for x, v := range row {
				w.rgb(base+x, v, v, v)
			}
		}
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			base := (y - b.Min.Y) * width
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				w.rgb(base+x-b.Min.X, r, g, bl)
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			base := (y - b.Min.Y) * width
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				w.rgb(base+x-b.Min.X, c.R, c.G, c.B)
			}
		}
	}
}

// convertRGB fills w.dst from an interleaved 8-bit RGB (or BGR) buffer.
func (w *pixelWriter) convertRGB(pix []byte, width, height, stride int, bgr bool) {
	ri, bi := 0, 2
	if bgr {
		ri, bi = 2, 0
	}
	if !w.grey {
		// Colour frames are the camera's hot path: no per-pixel branches.
		for y := range height {
			row := pix[y*stride : y*stride+3*width]
			d := w.dst[3*y*width : 3*(y+1)*width]
			if !bgr {
				for i, v := range row {
					d[i] = v ^ w.flip
				}
				continue
			}
			for i := 0; i+2 < len(row); i += 3 {
				p, q := row[i:i+3], d[i:i+3]
				q[0], q[1], q[2] = p[2]^w.flip, p[1]^w.flip, p[0]^w.flip
			}
		}
		return
	}
	for y := range height {
		row := pix[y*stride : y*stride+3*width]
		base := y * width
		for x := range width {
			p := row[3*x : 3*x+3]
			w.rgb(base+x, p[ri], p[1], p[bi])
		}
	}
}
