package dataset

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// Folder is a labelled picture set laid out as torchvision's ImageFolder
// and most downloaded datasets are: one subfolder per class holding that
// class's pictures. Folders are matched to a model's labels by name, so
// their order does not matter, and so is case: a folder and a label are
// the same class when they agree but for case and everything other than
// letters and digits (see classKey).
type Folder struct {
	Dir     string
	Classes []string // the labels the folders were matched to
	Files   []string // every picture, sorted by class then name
	Labels  []int    // Files[i]'s class
	// Unknown lists the subfolders that match no class, skipped.
	Unknown []string
	// Missing lists the classes without a picture (no folder, or an
	// empty one), in class order.
	Missing []string
}

// Len is the number of pictures.
func (f *Folder) Len() int { return len(f.Files) }

// ErrEmpty reports a folder dataset without a picture in a known class.
var ErrEmpty = errors.New("no pictures")

// classKey is how a folder name and a label compare: case and everything
// but letters and digits ignored, so "T-shirt_top" matches "T-shirt/top"
// (a label a folder cannot be named) and "ankle boot" "Ankle boot".
func classKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// ClassKey is the name under which a folder and a label are one class
// (see classKey), for tables that put several models' classes side by
// side.
func ClassKey(s string) string { return classKey(s) }

// OpenFolder lists the pictures of dir's subfolders whose names match one
// of classes (see classKey), or are a class number. Pictures are not read
// yet: a bad one is found, counted and skipped by Evaluate. Subfolders
// matching no class are listed in Unknown; a dataset with no picture at
// all is ErrEmpty.
func OpenFolder(dir string, classes []string) (*Folder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	byKey := make(map[string]int, len(classes))
	for i, c := range classes {
		if k := classKey(c); k != "" {
			if _, dup := byKey[k]; !dup {
				byKey[k] = i
			}
		}
	}
	f := &Folder{Dir: dir, Classes: classes}
	type pic struct {
		class int
		path  string
	}
	var pics []pic
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !isDir(dir, e) {
			continue
		}
		class, ok := byKey[classKey(e.Name())]
		if n, err := strconv.Atoi(e.Name()); !ok && err == nil && n >= 0 && n < len(classes) {
			class, ok = n, true
		}
		if !ok {
			f.Unknown = append(f.Unknown, e.Name())
			continue
		}
		sub := filepath.Join(dir, e.Name())
		files, err := os.ReadDir(sub)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		for _, p := range files {
			if !strings.HasPrefix(p.Name(), ".") && !p.IsDir() && preprocess.IsPicture(p.Name()) {
				pics = append(pics, pic{class, filepath.Join(sub, p.Name())})
			}
		}
	}
	if len(pics) == 0 {
		return nil, fmt.Errorf("dataset %s: %w (%s) in a subfolder named after a class, e.g. %s/%s/",
			dir, ErrEmpty, strings.Join(preprocess.PictureExts, ", "), dir, firstOr(classes, "CLASS"))
	}
	has := make([]bool, len(classes))
	for _, p := range pics {
		has[p.class] = true
	}
	for i, h := range has {
		if !h {
			f.Missing = append(f.Missing, classes[i])
		}
	}
	slices.SortFunc(pics, func(a, b pic) int { return cmp.Or(cmp.Compare(a.class, b.class), strings.Compare(a.path, b.path)) })
	for _, p := range pics {
		f.Files = append(f.Files, p.path)
		f.Labels = append(f.Labels, p.class)
	}
	return f, nil
}

func firstOr(s []string, or string) string {
	if len(s) > 0 {
		return s[0]
	}
	return or
}

// isDir follows a symbolic link to say whether e is a directory, as a
// dataset of linked folders is common.
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	st, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && st.IsDir()
}

// Scorer gives the class scores (logits) of one picture. Each evaluation
// worker gets its own.
type Scorer interface {
	Logits(img image.Image) ([]float32, error)
	Close() error
}

// FolderReport is how right a model is on a folder dataset.
type FolderReport struct {
	Dataset  string        `json:"dataset"`
	Images   int           `json:"images"`  // scored
	Skipped  int           `json:"skipped"` // pictures that could not be read
	Top1     int           `json:"top1_correct"`
	Top5     int           `json:"top5_correct"`
	Top1Acc  float64       `json:"top1_accuracy"`
	Top5Acc  float64       `json:"top5_accuracy"`
	PerClass []FolderClass `json:"per_class"` // the classes with pictures, in class order
	Unknown  []string      `json:"unknown_folders"`
	Missing  []string      `json:"classes_without_pictures"`
	// Bad names each skipped picture and why (the first 20).
	Bad       []string   `json:"bad_pictures"`
	Confusion *Confusion `json:"confusion"`
	// Misses are the pictures scored wrong at top-1, in file order, with
	// the model's top five classes.
	Misses []Miss `json:"-"`
}

// FolderClass is one class's counts.
type FolderClass struct {
	Label  string `json:"label"`
	Images int    `json:"images"`
	Top1   int    `json:"top1_correct"`
	Top5   int    `json:"top5_correct"`
}

// maxBadListed bounds FolderReport.Bad.
const maxBadListed = 20

// Evaluate scores every picture with workers scorers from newScorer,
// calling progress after each picture. A picture that cannot be read is
// counted and skipped, not fatal; a scorer's error is. The report does not
// depend on the number of workers.
func (f *Folder) Evaluate(ctx context.Context, workers int, newScorer func() (Scorer, error), progress func()) (*FolderReport, error) {
	n := f.Len()
	rank := make([]int, n) // the true class's rank among the scores; -1: skipped
	bad := make([]error, n)
	top := make([][]Scored, n)
	err := forEach(ctx, n, workers, newScorer, func(s Scorer, i int) error {
		// Reading and preparing depend on the picture only: their errors
		// skip it.
		img, err := preprocess.LoadImage(f.Files[i])
		var logits []float32
		if err == nil {
			if logits, err = s.Logits(img); err != nil {
				err = fmt.Errorf("%s: %w", f.Files[i], err)
			}
		}
		switch {
		case err != nil:
			rank[i], bad[i] = -1, err
		case len(logits) != len(f.Classes):
			return fmt.Errorf("%s: %d scores for %d classes", f.Files[i], len(logits), len(f.Classes))
		default:
			rank[i] = rankOf(logits, f.Labels[i])
			if rank[i] > 0 {
				top[i] = TopScores(logits, f.Classes, 5)
			}
		}
		if progress != nil {
			progress()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := f.score(rank, bad, top)
	if r.Images == 0 {
		return r, fmt.Errorf("dataset %s: %w that could be read (%d skipped; first: %s)", f.Dir, ErrEmpty, r.Skipped, r.Bad[0])
	}
	return r, nil
}

// rankOf is how many scores beat the true class's (ties go to the lower
// class number, as argmax does).
func rankOf(logits []float32, class int) int {
	r := 0
	for j, v := range logits {
		if v > logits[class] || v == logits[class] && j < class {
			r++
		}
	}
	return r
}

func (f *Folder) score(rank []int, bad []error, top [][]Scored) *FolderReport {
	r := &FolderReport{Dataset: "folder " + f.Dir, Unknown: f.Unknown, Missing: f.Missing, PerClass: []FolderClass{}, Bad: []string{}}
	if r.Unknown == nil {
		r.Unknown = []string{}
	}
	if r.Missing == nil {
		r.Missing = []string{}
	}
	per := make([]FolderClass, len(f.Classes))
	pred := make([]int, len(rank)) // -1: skipped
	for i, k := range rank {
		c := &per[f.Labels[i]]
		switch {
		case k < 0:
			pred[i] = -1
		case k == 0:
			pred[i] = f.Labels[i]
		default:
			pred[i] = top[i][0].Class
			r.Misses = append(r.Misses, Miss{File: f.Files[i], Class: f.Labels[i], Label: f.Classes[f.Labels[i]], Top: top[i]})
		}
		if k < 0 {
			r.Skipped++
			if len(r.Bad) < maxBadListed {
				r.Bad = append(r.Bad, bad[i].Error())
			}
			continue
		}
		c.Images++
		r.Images++
		if k == 0 {
			c.Top1++
			r.Top1++
		}
		if k < 5 {
			c.Top5++
			r.Top5++
		}
	}
	for i, c := range per {
		if c.Images > 0 {
			c.Label = f.Classes[i]
			r.PerClass = append(r.PerClass, c)
		}
	}
	r.Confusion = newConfusion(f.Classes, f.Labels, pred)
	if r.Images > 0 {
		r.Top1Acc = float64(r.Top1) / float64(r.Images)
		r.Top5Acc = float64(r.Top5) / float64(r.Images)
	}
	return r
}
