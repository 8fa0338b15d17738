// Package dataset reads labelled image sets for evaluation and calibration.
// Today that is Fashion-MNIST in its original IDX files (gzip-compressed or
// not), as Debian's dataset-fashion-mnist package installs them.
package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist puts the files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTLabels are the ten classes in label order.
var FashionMNISTLabels = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// Set is a labelled set of 8-bit grey images of one size.
type Set struct {
	Name          string
	Width, Height int
	Pixels        []byte // Len() images of Width*Height bytes, row-major
	Labels        []int
	Classes       []string
}

// Len is the number of images.
func (s *Set) Len() int { return len(s.Labels) }

// Image returns image i as an image.Gray aliasing the set's pixels.
func (s *Set) Image(i int) *image.Gray {
	n := s.Width * s.Height
	return &image.Gray{Pix: s.Pixels[i*n : (i+1)*n : (i+1)*n], Stride: s.Width, Rect: image.Rect(0, 0, s.Width, s.Height)}
}

// ErrBadSource reports a --dataset value that names no known set.
var ErrBadSource = errors.New("unknown dataset")

// Open reads a dataset named like the command line does:
// "fashion-mnist" (Debian's location) or "fashion-mnist:DIR", and a split,
// "test" or "train".
func Open(source, split string) (*Set, error) {
	name, dir, _ := strings.Cut(source, ":")
	if name != "fashion-mnist" {
		return nil, fmt.Errorf("%w %q: want fashion-mnist or fashion-mnist:DIR", ErrBadSource, source)
	}
	if dir == "" {
		dir = FashionMNISTDir
	}
	return FashionMNIST(dir, split)
}

// FashionMNIST reads the test (t10k-*) or train (train-*) split from dir,
// with or without .gz.
func FashionMNIST(dir, split string) (*Set, error) {
	prefix := map[string]string{"test": "t10k", "train": "train"}[split]
	if prefix == "" {
		return nil, fmt.Errorf("split %q: want test or train", split)
	}
	imgPath, err := findIDX(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lblPath, err := findIDX(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	imgs, dims, err := ReadIDXFile(imgPath)
	if err != nil {
		return nil, err
	}
	if len(dims) != 3 {
		return nil, fmt.Errorf("%s: %d dimensions, images need 3", imgPath, len(dims))
	}
	lbls, ldims, err := ReadIDXFile(lblPath)
	if err != nil {
		return nil, err
	}
	if len(ldims) != 1 {
		return nil, fmt.Errorf("%s: %d dimensions, labels need 1", lblPath, len(ldims))
	}
	if ldims[0] != dims[0] {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", imgPath, dims[0], lblPath, ldims[0])
	}
	s := &Set{Name: "fashion-mnist " + split, Width: dims[2], Height: dims[1], Pixels: imgs,
		Labels: make([]int, len(lbls)), Classes: FashionMNISTLabels}
	for i, l := range lbls {
		if int(l) >= len(s.Classes) {
			return nil, fmt.Errorf("%s: label %d of image %d is not a Fashion-MNIST class (0-9)", lblPath, l, i)
		}
		s.Labels[i] = int(l)
	}
	return s, nil
}

func findIDX(dir, base string) (string, error) {
	for _, name := range []string{base + ".gz", base} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no %s[.gz] (install Debian's dataset-fashion-mnist, or give fashion-mnist:DIR)", dir, base)
}

// maxIDXBytes bounds what an IDX header may claim (Fashion-MNIST's train
// images are 47 MB).
const maxIDXBytes = 1 << 30

// ReadIDXFile reads an unsigned-byte IDX file, gzip-compressed or not,
// returning its data and dimensions.
func ReadIDXFile(path string) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, dims, err := ReadIDX(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, dims, nil
}

// ReadIDX parses an unsigned-byte IDX stream (gzip-compressed or not).
func ReadIDX(r io.Reader) ([]byte, []int, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var head [4]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, nil, fmt.Errorf("not an IDX file: %w", err)
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, nil, fmt.Errorf("not an IDX file (starts with % x)", head)
	}
	if head[2] != 0x08 {
		return nil, nil, fmt.Errorf("IDX element type 0x%02x: only unsigned bytes (0x08) are supported", head[2])
	}
	ndim := int(head[3])
	if ndim < 1 || ndim > 4 {
		return nil, nil, fmt.Errorf("IDX with %d dimensions: want 1 to 4", ndim)
	}
	dims := make([]int, ndim)
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("truncated IDX header: %w", err)
		}
		if d == 0 || uint64(d)*uint64(total) > maxIDXBytes {
			return nil, nil, fmt.Errorf("IDX dimension %d = %d: empty or larger than %d bytes in all", i, d, maxIDXBytes)
		}
		dims[i] = int(d)
		total *= int(d)
	}
	// Read what is there rather than allocating what the header claims.
	data, err := io.ReadAll(io.LimitReader(br, int64(total)+1))
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("IDX data: %w", err)
	case len(data) < total:
		return nil, nil, fmt.Errorf("truncated IDX data: %d of %d bytes", len(data), total)
	case len(data) > total:
		return nil, nil, errors.New("IDX data longer than its dimensions say")
	}
	return data, dims, nil
}
