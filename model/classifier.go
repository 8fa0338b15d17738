package model

import (
	"image"

	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// Classifier runs a model on pictures, prepared with the model's own
// preprocessing. It owns its engine and buffers: one per goroutine.
type Classifier struct {
	net  Engine
	prep *preprocess.Preprocessor
}

// NewClassifier builds the model's engine (float or int8, as the file
// says) with the given threads (<= 0: all CPUs).
func NewClassifier(m Any, threads int) (*Classifier, error) {
	prep, err := preprocess.New(m.Describe().Preprocess)
	if err != nil {
		return nil, err
	}
	net, err := m.NewEngine(threads)
	if err != nil {
		return nil, err
	}
	return &Classifier{net: net, prep: prep}, nil
}

// Logits returns the model's output for img; the slice is reused by the
// next call.
func (c *Classifier) Logits(img image.Image) ([]float32, error) {
	if err := c.prep.Apply(img, c.net.Input()); err != nil {
		return nil, err
	}
	return c.net.Run(), nil
}

// Classify returns the most likely class of img.
func (c *Classifier) Classify(img image.Image) (int, error) {
	logits, err := c.Logits(img)
	if err != nil {
		return 0, err
	}
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best, nil
}

// Close stops the engine's workers.
func (c *Classifier) Close() error {
	c.net.Close()
	return nil
}
