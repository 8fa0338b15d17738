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
