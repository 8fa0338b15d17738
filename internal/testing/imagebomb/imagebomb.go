// Package imagebomb makes small, well-formed pictures whose headers
// declare enormous sizes, for tests of the decoders' bounds: a few hundred
// bytes that a decoder trusting the header turns into gigabytes.
package imagebomb

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// PNG returns a PNG whose IHDR declares width x height RGBA pixels; its
// data holds the rows of a small picture only.
func PNG(width, height uint32) []byte {
	var buf bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	b := buf.Bytes()
	// Signature (8), IHDR length (4) and type (4), then width and height.
	ihdr := b[8+4 : 8+4+4+13]
	binary.BigEndian.PutUint32(ihdr[4:], width)
	binary.BigEndian.PutUint32(ihdr[8:], height)
	binary.BigEndian.PutUint32(b[8+4+4+13:], crc32.ChecksumIEEE(ihdr))
	return b
}

// JPEG returns a baseline JPEG whose SOF0 declares width x height pixels
// (at most 65535 each, the format's limit); its scan holds a small
// picture only.
func JPEG(width, height uint16) []byte {
	var buf bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = color.Gray{uint8(i)}.Y
	}
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		panic(err)
	}
	b := buf.Bytes()
	sof := bytes.Index(b, []byte{0xff, 0xc0})
	if sof < 0 {
		panic("imagebomb: encoder wrote no SOF0")
	}
	// Marker (2), length (2), precision (1), then height and width.
	binary.BigEndian.PutUint16(b[sof+5:], height)
	binary.BigEndian.PutUint16(b[sof+7:], width)
	return b
}

// BMP returns a 24-bit BMP whose header declares width x height pixels;
// its data holds 16 rows of 16 pixels only. Like TIFF and WebP it is
// written by hand: importing golang.org/x/image's encoders would register
// its decoders in every test binary, hiding a decoder the program lacks.
func BMP(width, height int32) []byte {
	return BMPHeader(width, height, make([]byte, 16*16*3))
}

// BMPHeader returns a 24-bit bottom-up BMP of width x height pixels
// whose pixel rows (BGR, each padded to 4 bytes) are data, which may be
// shorter than the header declares.
func BMPHeader(width, height int32, data []byte) []byte {
	le := binary.LittleEndian
	b := []byte("BM")
	b = le.AppendUint32(b, uint32(54+len(data)))
	b = le.AppendUint32(b, 0)  // reserved
	b = le.AppendUint32(b, 54) // pixel data offset
	b = le.AppendUint32(b, 40) // BITMAPINFOHEADER
	b = le.AppendUint32(b, uint32(width))
	b = le.AppendUint32(b, uint32(height))
	b = le.AppendUint16(b, 1)  // planes
	b = le.AppendUint16(b, 24) // bits per pixel
	b = le.AppendUint32(b, 0)  // BI_RGB
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint32(b, 2835) // 72 dpi
	b = le.AppendUint32(b, 2835)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	return append(b, data...)
}

// TIFF returns an uncompressed RGB TIFF whose tags declare width x height
// pixels; its one strip holds 16x16 pixels only.
func TIFF(width, height uint32) []byte {
	return TIFFHeader(width, height, make([]byte, 16*16*3))
}

// TIFFHeader returns a little-endian, uncompressed, 8-bit RGB TIFF of
// width x height pixels whose one strip is data (RGB rows, top first),
// which may be shorter than the tags declare.
func TIFFHeader(width, height uint32, data []byte) []byte {
	le := binary.LittleEndian
	const entries = 9
	bps := 8 + 2 + entries*12 + 4 // BitsPerSample's three values
	start := bps + 6              // the strip
	b := le.AppendUint32([]byte("II*\x00"), 8)
	b = le.AppendUint16(b, entries)
	entry := func(tag, typ uint16, count, value uint32) {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, count)
		b = le.AppendUint32(b, value)
	}
	const short, long = 3, 4
	entry(256, long, 1, width)             // ImageWidth
	entry(257, long, 1, height)            // ImageLength
	entry(258, short, 3, uint32(bps))      // BitsPerSample
	entry(259, short, 1, 1)                // Compression: none
	entry(262, short, 1, 2)                // PhotometricInterpretation: RGB
	entry(273, long, 1, uint32(start))     // StripOffsets
	entry(277, short, 1, 3)                // SamplesPerPixel
	entry(278, long, 1, height)            // RowsPerStrip
	entry(279, long, 1, uint32(len(data))) // StripByteCounts
	b = le.AppendUint32(b, 0)              // no next IFD
	b = le.AppendUint16(le.AppendUint16(le.AppendUint16(b, 8), 8), 8)
	return append(b, data...)
}

// WebP returns a lossless WebP (VP8L) whose header declares width x height
// pixels (at most 16384 each, the format's limit) and holds no pixel data.
func WebP(width, height uint16) []byte {
	// Signature, then 14 bits each of width-1 and height-1, alpha unused,
	// version 0; a few zero bytes stand for the image data.
	bits := uint32(width-1)&0x3fff | (uint32(height-1)&0x3fff)<<14
	data := binary.LittleEndian.AppendUint32([]byte{0x2f}, bits)
	data = append(data, 0, 0, 0)
	var b []byte
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(4+8+len(data)))
	b = append(b, "WEBPVP8L"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}
