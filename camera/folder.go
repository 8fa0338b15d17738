package camera

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// Folder is a source that plays the PNG and JPEG pictures of a folder in
// name order, like a camera: fps frames a second (it has no rate of its
// own; 0 or +Inf: as fast as they decode), from the start again with loop,
// io.EOF after the last otherwise.
type Folder struct {
	dir   string
	files []string
	pace  pacer
	loop  bool
	index int64 // the next picture, in files
	loops int64
	bad   int // pictures in a row that did not decode
}

// OpenFolder lists the pictures of dir. A folder without any is an error.
func OpenFolder(dir string, fps float64, loop bool) (*Folder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("camera: %w", err)
	}
	var files []string
	for _, e := range entries {
		if preprocess.IsPicture(e.Name()) && !e.IsDir() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("camera: no .png or .jpg pictures in %s", dir)
	}
	slices.Sort(files)
	if err := checkFPS(fps); err != nil {
		return nil, err
	}
	return &Folder{dir: dir, files: files, pace: pacer{fps: fps}, loop: loop}, nil
}

// Rate is the frame rate the folder plays at.
func (f *Folder) Rate() Rate {
	if !f.pace.paced() {
		return Rate{FPS: math.Inf(1), From: "asked"}
	}
	return Rate{FPS: f.pace.fps, From: "asked"}
}

// Name says what the source plays.
func (f *Folder) Name() string { return "folder " + f.dir }

// Len is how many pictures the folder holds.
func (f *Folder) Len() int { return len(f.files) }

// Next decodes the next picture, at the folder's frame rate. A picture
// that does not decode is an error naming it, wrapping ErrBadFrame (so
// Reopening skips it) unless no picture of a whole pass decoded.
func (f *Folder) Next(ctx context.Context) (Frame, error) {
	rewound := f.index >= int64(len(f.files))
	if rewound && !f.loop {
		return Frame{}, io.EOF
	}
	if err := f.pace.wait(ctx); err != nil {
		return Frame{}, err
	}
	if rewound {
		f.index = 0
		f.loops++
		f.pace.rewind()
	}
	img, err := preprocess.LoadImage(f.files[f.index])
	if err != nil {
		f.index++ // the next call tries the next picture
		if _, serr := os.Stat(f.dir); serr != nil {
			return Frame{}, fmt.Errorf("camera: %w", serr) // the folder itself is gone
		}
		if f.bad++; f.bad < len(f.files) {
			return Frame{}, fmt.Errorf("%w: %w", ErrBadFrame, err)
		}
		// A whole pass without a good picture: the folder is broken.
		f.bad = 0
		return Frame{}, fmt.Errorf("camera: no picture of %s decodes; the last: %w", f.dir, err)
	}
	f.bad = 0
	fr := Frame{Image: img, Time: time.Now(), Index: f.index, Loop: f.loops}
	f.index++
	return fr, nil
}

// Close releases nothing: the pictures are read one at a time.
func (f *Folder) Close() error { return nil }
