package dataset

import (
	"context"
	"fmt"
	"image"
)

// Classifier labels one image with a class number. Each evaluation worker
// gets its own, so implementations need not be safe for concurrent use.
type Classifier interface {
	Classify(img image.Image) (int, error)
	Close() error
}

// Report is what an evaluation measures.
type Report struct {
	Dataset   string       `json:"dataset"`
	Images    int          `json:"images"`
	Correct   int          `json:"correct"`
	Accuracy  float64      `json:"accuracy"`
	PerClass  []ClassScore `json:"per_class"`
	Confusion [][]int      `json:"confusion"` // [true][predicted]
	// Predictions holds the class predicted for each image, for comparing
	// two models image by image.
	Predictions []int `json:"-"`
}

// ClassScore is the accuracy on one class.
type ClassScore struct {
	Label    string  `json:"label"`
	Correct  int     `json:"correct"`
	Total    int     `json:"total"`
	Accuracy float64 `json:"accuracy"`
}

// Evaluate classifies images [0, n) of the set on workers goroutines, each
// with a classifier from newClassifier, calling progress after every image,
// and scores the predictions. Each image's prediction does not depend on
// the worker that made it, so neither does the report.
func (s *Set) Evaluate(ctx context.Context, n, workers int, newClassifier func() (Classifier, error), progress func()) (*Report, error) {
	n = min(n, s.Len())
	pred := make([]int, n)
	err := forEach(ctx, n, workers, newClassifier, func(c Classifier, i int) error {
		p, err := c.Classify(s.Image(i))
		if err != nil {
			return fmt.Errorf("image %d: %w", i, err)
		}
		if p < 0 || p >= len(s.Classes) {
			return fmt.Errorf("image %d: class %d out of range", i, p)
		}
		pred[i] = p
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
	return s.score(pred), nil
}

func (s *Set) score(pred []int) *Report {
	k := len(s.Classes)
	r := &Report{Dataset: s.Name, Images: len(pred), Confusion: make([][]int, k), PerClass: make([]ClassScore, k),
		Predictions: pred}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, k)
		r.PerClass[i].Label = s.Classes[i]
	}
	for i, p := range pred {
		t := s.Labels[i]
		r.Confusion[t][p]++
		r.PerClass[t].Total++
		if p == t {
			r.PerClass[t].Correct++
			r.Correct++
		}
	}
	r.Accuracy = float64(r.Correct) / float64(max(1, r.Images))
	for i := range r.PerClass {
		c := &r.PerClass[i]
		c.Accuracy = float64(c.Correct) / float64(max(1, c.Total))
	}
	return r
}
