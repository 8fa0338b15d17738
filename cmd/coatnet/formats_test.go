package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/boundedio"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/imagebomb"
)

// twoLevel is a 40x30 picture whose every channel takes one of two values,
// so that losslessWebP can write it with one-bit codes.
func twoLevel() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			c := color.NRGBA{40, 10, 90, 255}
			if (x/3+y)%2 == 0 {
				c.R = 200
			}
			if (x*y)%3 == 0 {
				c.G = 240
			}
			if (x+2*y)%5 < 2 {
				c.B = 160
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// losslessWebP writes twoLevel's picture as a lossless WebP (VP8L): no
// transforms, no colour cache, one prefix-code group whose green, red and
// blue codes are "simple" two-symbol codes of one bit each, alpha and
// distance one-symbol codes of no bits. (Go has no WebP encoder.)
func losslessWebP(img *image.NRGBA) []byte {
	var w struct {
		b   []byte
		acc uint64
		n   uint
	}
	put := func(v uint64, n uint) {
		w.acc |= v << w.n
		for w.n += n; w.n >= 8; w.n -= 8 {
			w.b = append(w.b, byte(w.acc))
			w.acc >>= 8
		}
	}
	bnd := img.Bounds()
	put(0x2f, 8)
	put(uint64(bnd.Dx()-1), 14)
	put(uint64(bnd.Dy()-1), 14)
	put(0, 1+3)                                            // alpha unused, version 0
	put(0, 1)                                              // no transform
	put(0, 1)                                              // no colour cache
	put(0, 1)                                              // no meta prefix codes
	levels := [3][2]uint8{{10, 240}, {40, 200}, {90, 160}} // green, red, blue
	for _, l := range levels {
		put(1, 1) // simple
		put(1, 1) // two symbols
		put(1, 1) // 8-bit first symbol
		put(uint64(l[0]), 8)
		put(uint64(l[1]), 8)
	}
	put(1, 1) // alpha: simple, one 8-bit symbol, 255
	put(0, 1)
	put(1, 1)
	put(255, 8)
	put(1, 1) // distance: simple, one 1-bit symbol, 0
	put(0, 1)
	put(0, 1)
	put(0, 1)
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			for i, v := range []uint8{c.G, c.R, c.B} {
				if v == levels[i][1] {
					put(1, 1)
				} else {
					put(0, 1)
				}
			}
		}
	}
	if w.n > 0 {
		w.b = append(w.b, byte(w.acc))
	}
	data := w.b
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+8+len(data)))...)
	out = append(out, "WEBPVP8L"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(w.b)))
	return append(out, data...)
}

// bmpFile and tiffFile write img as 24-bit BMP and RGB TIFF by hand: the
// test binary must not import golang.org/x/image, or its decoders would be
// registered here even if the program did not register them.
func bmpFile(img *image.NRGBA) []byte {
	b := img.Bounds()
	var data []byte
	for y := b.Max.Y - 1; y >= b.Min.Y; y-- {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			data = append(data, c.B, c.G, c.R)
		}
		for len(data)%4 != 0 {
			data = append(data, 0)
		}
	}
	return imagebomb.BMPHeader(int32(b.Dx()), int32(b.Dy()), data)
}

func tiffFile(img *image.NRGBA) []byte {
	b := img.Bounds()
	var data []byte
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			data = append(data, c.R, c.G, c.B)
		}
	}
	return imagebomb.TIFFHeader(uint32(b.Dx()), uint32(b.Dy()), data)
}

// pictureFiles writes twoLevel's picture in every format classify reads,
// all lossless, into dir and returns their paths.
func pictureFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	img := twoLevel()
	files := map[string]string{}
	for ext, enc := range map[string]func(io.Writer) error{
		"png":  func(w io.Writer) error { return png.Encode(w, img) },
		"bmp":  func(w io.Writer) error { _, err := w.Write(bmpFile(img)); return err },
		"tiff": func(w io.Writer) error { _, err := w.Write(tiffFile(img)); return err },
		"webp": func(w io.Writer) error { _, err := w.Write(losslessWebP(img)); return err },
	} {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			t.Fatal(err)
		}
		files[ext] = filepath.Join(dir, "picture."+ext)
		if err := os.WriteFile(files[ext], b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// runIn is run with stdin as the command's standard input.
func runIn(t *testing.T, stdin io.Reader, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetIn(stdin)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

// scoresOf is classify's output for one picture without its name and time.
func scoresOf(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "\n")
	if !ok || rest == "" {
		t.Fatalf("no scores in %q", out)
	}
	return rest
}

// TestClassifyFormats: BMP, TIFF and WebP pictures of the same pixels as a
// PNG are classified as the PNG is, and so is the PNG on standard input.
func TestClassifyFormats(t *testing.T) {
	ckpt := tinyCheckpoints(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.coatnet")
	if _, _, err := run(t, append([]string{"convert", filepath.Join(ckpt, "model.safetensors"), "-o", model}, tinyArch...)...); err != nil {
		t.Fatal(err)
	}
	files := pictureFiles(t, dir)
	out, stderr, err := run(t, "classify", model, files["png"], "--threads", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := scoresOf(t, out)
	for _, ext := range []string{"bmp", "tiff", "webp"} {
		out, stderr, err := run(t, "classify", model, files[ext], "--threads", "1")
		if err != nil {
			t.Errorf("%s: %v\n%s", ext, err, stderr)
			continue
		}
		if got := scoresOf(t, out); got != want {
			t.Errorf("%s is classified differently from the PNG:\n%s\nwant\n%s", ext, got, want)
		}
	}
	pic, err := os.ReadFile(files["png"])
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err = runIn(t, bytes.NewReader(pic), "classify", model, "-", "--threads", "1")
	if err != nil || !strings.HasPrefix(out, "-  (") || scoresOf(t, out) != want {
		t.Errorf("classify - with the PNG on stdin: %v\n%s%s\nwant\n%s", err, out, stderr, want)
	}
}

// TestClassifyFolder: a folder stands for its pictures in name order, one
// result each; other files and subfolders are left alone, a picture that
// does not decode is reported and counted, and the status is then non-zero.
func TestClassifyFolder(t *testing.T) {
	ckpt := tinyCheckpoints(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.coatnet")
	if _, _, err := run(t, append([]string{"convert", filepath.Join(ckpt, "model.safetensors"), "-o", model}, tinyArch...)...); err != nil {
		t.Fatal(err)
	}
	pics := filepath.Join(dir, "pictures")
	if err := os.MkdirAll(filepath.Join(pics, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	pictureFiles(t, pics)
	writePNG(t, filepath.Join(pics, "sub", "deeper.png"), 32, 32, 3)
	os.WriteFile(filepath.Join(pics, "notes.txt"), []byte("not a picture"), 0o644)
	os.WriteFile(filepath.Join(pics, "broken.jpg"), []byte("not a JPEG"), 0o644)
	stdout, stderr, err := run(t, "classify", model, pics, "--threads", "1", "--json")
	if err == nil || !strings.Contains(err.Error(), "1 of 5 images failed") {
		t.Errorf("want 1 of 5 failed, got %v\n%s", err, stderr)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r classification
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %q", err, l)
		}
		names = append(names, filepath.Base(r.Image))
		if (r.Error != "") != (r.Image == filepath.Join(pics, "broken.jpg")) {
			t.Errorf("%s: error %q", r.Image, r.Error)
		}
	}
	if got := strings.Join(names, " "); got != "broken.jpg picture.bmp picture.png picture.tiff picture.webp" {
		t.Errorf("classified %s", got)
	}
	// Without --json the same, and the broken picture reported on stderr.
	stdout, stderr, err = run(t, "classify", model, pics, "--threads", "1")
	if err == nil || !strings.Contains(stderr, filepath.Join(pics, "broken.jpg")+": ") || strings.Count(stdout, " ms)\n") != 4 {
		t.Errorf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
}

// TestClassifyBoundsNewInputs: the limits of PNG and JPEG hold for BMP,
// TIFF and WebP, and for standard input, which is read only up to
// preprocess.MaxPictureBytes.
func TestClassifyBoundsNewInputs(t *testing.T) {
	ckpt := tinyCheckpoints(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.coatnet")
	if _, _, err := run(t, append([]string{"convert", filepath.Join(ckpt, "model.safetensors"), "-o", model}, tinyArch...)...); err != nil {
		t.Fatal(err)
	}
	bombs := map[string][]byte{
		"bomb.bmp":  imagebomb.BMP(100000, 100000),
		"bomb.tiff": imagebomb.TIFF(100000, 100000),
		"bomb.webp": imagebomb.WebP(16384, 16384),
	}
	args := []string{"classify", model, "--threads", "1"}
	for name, b := range bombs {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	_, stderr, err := run(t, args...)
	if err == nil || !strings.Contains(err.Error(), "3 of 3 images failed") {
		t.Errorf("want the failure count, got %v", err)
	}
	for name := range bombs {
		if !strings.Contains(stderr, filepath.Join(dir, name)+": ") || !strings.Contains(stderr, "too large") {
			t.Errorf("stderr does not report %s as too large:\n%s", name, stderr)
		}
	}
	// A bomb on stdin is refused as one in a file.
	_, stderr, err = runIn(t, bytes.NewReader(imagebomb.PNG(100000, 100000)), "classify", model, "-")
	if err == nil || !strings.Contains(stderr, "-: ") || !strings.Contains(stderr, "too large") {
		t.Errorf("a PNG bomb on stdin: %v\n%s", err, stderr)
	}
	// Endless input is read up to the bound, not until memory runs out.
	_, stderr, err = runIn(t, endless{}, "classify", model, "-")
	if err == nil || !strings.Contains(stderr, boundedio.ErrTooLarge.Error()) {
		t.Errorf("endless stdin: %v\n%s", err, stderr)
	}
}

// endless reads as /dev/zero does.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
