package quant

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// setCalibration takes n images spread evenly over a labelled dataset.
type setCalibration struct {
	set  *dataset.Set
	prep *preprocess.Preprocessor
	idx  []int
}

// DatasetCalibration calibrates on n images of set, evenly spaced so every
// part of the set (and, in Fashion-MNIST's shuffled order, every class) is
// represented, prepared with the model's preprocessing.
func DatasetCalibration(set *dataset.Set, spec preprocess.Spec, n int) (Calibration, error) {
	prep, err := preprocess.New(spec)
	if err != nil {
		return nil, err
	}
	n = min(n, set.Len())
	c := &setCalibration{set: set, prep: prep, idx: make([]int, n)}
	for i := range c.idx {
		c.idx[i] = i * set.Len() / n
	}
	return c, nil
}

func (c *setCalibration) Len() int     { return len(c.idx) }
func (c *setCalibration) Name() string { return c.set.Name }
func (c *setCalibration) Input(i int, dst []float32) error {
	return c.prep.Apply(c.set.Image(c.idx[i]), dst)
}

// folderCalibration reads pictures from a folder.
type folderCalibration struct {
	dir   string
	files []string
	prep  *preprocess.Preprocessor
}

// FolderCalibration calibrates on up to n pictures of dir and of its
// subfolders, one level down, so a folder dataset (a subfolder per class)
// calibrates on all its classes: sorted by path, evenly spaced when there
// are more. A picture that does not decode is ErrUnreadable, skipped.
func FolderCalibration(dir string, spec preprocess.Spec, n int) (Calibration, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if preprocess.IsPicture(e.Name()) && !e.IsDir() {
			files = append(files, filepath.Join(dir, e.Name()))
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, e.Name())); err != nil || !st.IsDir() {
			continue
		}
		sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		for _, p := range sub {
			if !strings.HasPrefix(p.Name(), ".") && !p.IsDir() && preprocess.IsPicture(p.Name()) {
				files = append(files, filepath.Join(dir, e.Name(), p.Name()))
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no pictures (%s), nor do its subfolders", dir, strings.Join(preprocess.PictureExts, ", "))
	}
	slices.Sort(files)
	if n > 0 && len(files) > n {
		picked := make([]string, n)
		for i := range picked {
			picked[i] = files[i*len(files)/n]
		}
		files = picked
	}
	prep, err := preprocess.New(spec)
	if err != nil {
		return nil, err
	}
	return &folderCalibration{dir: dir, files: files, prep: prep}, nil
}

func (c *folderCalibration) Len() int     { return len(c.files) }
func (c *folderCalibration) Name() string { return "folder " + c.dir }
func (c *folderCalibration) Input(i int, dst []float32) error {
	img, err := preprocess.LoadImage(c.files[i]) // its errors name the file
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	if err := c.prep.Apply(img, dst); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnreadable, c.files[i], err)
	}
	return nil
}

// OpenCalibration understands the --calib values of `coatnet quantize`:
// fashion-mnist[:DIR] (its training split) or a folder of pictures.
func OpenCalibration(src string, spec preprocess.Spec, n int) (Calibration, error) {
	if name, _, _ := strings.Cut(src, ":"); name == "fashion-mnist" {
		set, err := dataset.Open(src, "train")
		if err != nil {
			return nil, err
		}
		return DatasetCalibration(set, spec, n)
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("calibration source %q: not fashion-mnist[:DIR] and not a folder: %w", src, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("calibration source %q is a file; give a folder of pictures or fashion-mnist[:DIR]", src)
	}
	return FolderCalibration(src, spec, n)
}
