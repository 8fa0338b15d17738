package model

import (
	"fmt"
	"image"

	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// Classifier runs a model on pictures, prepared with the model's own
// preprocessing. It owns its engine and buffers: one per goroutine.
type Classifier struct {
	net  engine.Engine
	prep *preprocess.Preprocessor
	// With an int8 engine, levels maps each channel's 8-bit level straight
	// to the quantized input, so camera frames skip the float tensor.
	int8     *int8net.Net
	levels   [3][256]int8
	channels int
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
	spec := prep.Spec()
	c := &Classifier{net: net, prep: prep, channels: spec.Channels()}
	if q, ok := net.(*int8net.Net); ok {
		if in := len(q.QuantizedInput()); in != prep.Len() {
			net.Close()
			return nil, fmt.Errorf("model: preprocessing gives %d values but the int8 input holds %d", prep.Len(), in)
		}
		c.int8 = q
		for ch := range c.channels {
			for v := range 256 {
				c.levels[ch][v] = int8net.QuantizeInputValue(q.InputParams(), prep.Level(ch, uint8(v)))
			}
		}
	}
	return c, nil
}

// Logits returns the model's output for img; the slice is reused by the
// next call.
func (c *Classifier) Logits(img image.Image) ([]float32, error) {
	if err := c.prep.Apply(img, c.net.Input()); err != nil {
		return nil, err
	}
	return c.net.Run(), nil
}

// LogitsBGR is Logits for an 8-bit BGR buffer as OpenCV delivers frames
// (pixel (x, y) at pix[y*stride+3*x]), with the same result. It does not
// allocate; an int8 engine gets its quantized input written directly.
func (c *Classifier) LogitsBGR(pix []byte, width, height, stride int) ([]float32, error) {
	if c.int8 == nil {
		if err := c.prep.ApplyRGB(pix, width, height, stride, true, c.net.Input()); err != nil {
			return nil, err
		}
		return c.net.Run(), nil
	}
	crop, err := c.prep.CropRGB(pix, width, height, stride, true)
	if err != nil {
		return nil, err
	}
	dst := c.int8.QuantizedInput()
	if c.channels == 1 {
		grey := &c.levels[0]
		for i, v := range crop {
			dst[i] = grey[v]
		}
	} else {
		r, g, b := &c.levels[0], &c.levels[1], &c.levels[2]
		for i := 0; i+2 < len(crop); i += 3 {
			dst[i], dst[i+1], dst[i+2] = r[crop[i]], g[crop[i+1]], b[crop[i+2]]
		}
	}
	return c.int8.RunQuantized(), nil
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
