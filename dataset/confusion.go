package dataset

import "math"

// Confusion counts a folder dataset's pictures by true class (rows) and
// predicted class (columns). It spans only the classes that had pictures
// or were predicted, in class order, so a 1000-class model scored on a
// few folders stays small; it is all a table or a drawing needs.
type Confusion struct {
	Classes []int    `json:"classes"` // the model's class number of each row and column
	Labels  []string `json:"labels"`
	Counts  [][]int  `json:"counts"` // [true][predicted], indices into Classes
}

// newConfusion counts the pairs (truth[i], pred[i]), skipping pred < 0.
func newConfusion(labels []string, truth, pred []int) *Confusion {
	used := make([]bool, len(labels))
	for i, p := range pred {
		if p >= 0 {
			used[truth[i]], used[p] = true, true
		}
	}
	c := &Confusion{Classes: []int{}, Labels: []string{}, Counts: [][]int{}}
	at := make([]int, len(labels))
	for k, u := range used {
		if u {
			at[k] = len(c.Classes)
			c.Classes = append(c.Classes, k)
			c.Labels = append(c.Labels, labels[k])
		}
	}
	for range c.Classes {
		c.Counts = append(c.Counts, make([]int, len(c.Classes)))
	}
	for i, p := range pred {
		if p >= 0 {
			c.Counts[at[truth[i]]][at[p]]++
		}
	}
	return c
}

// Scored is one class's score for a picture.
type Scored struct {
	Class int     `json:"index"`
	Label string  `json:"label"`
	Score float64 `json:"score"` // softmax probability
}

// Miss is a picture whose top-1 class is not its folder's.
type Miss struct {
	File  string   `json:"file"`
	Class int      `json:"true_index"`
	Label string   `json:"true_label"`
	Top   []Scored `json:"top"` // best first
}

// TopScores returns the k best classes of logits, best first, ties to the
// lower class number (as argmax and rankOf break them), with softmax
// probabilities: the one ranking of classify and eval.
func TopScores(logits []float32, labels []string, k int) []Scored {
	k = min(k, len(logits))
	if k <= 0 {
		return nil
	}
	idx := make([]int, 0, k+1)
	for j, v := range logits {
		at := len(idx)
		for at > 0 && v > logits[idx[at-1]] {
			at--
		}
		if at < k {
			idx = append(idx[:at], append([]int{j}, idx[at:]...)...)
			idx = idx[:min(len(idx), k)]
		}
	}
	mx := float64(logits[idx[0]])
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	out := make([]Scored, len(idx))
	for i, j := range idx {
		out[i] = Scored{Class: j, Label: labels[j], Score: math.Exp(float64(logits[j])-mx) / sum}
	}
	return out
}
