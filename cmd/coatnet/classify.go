package main

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// scoredLabel is one of the top-k classes of an image.
type scoredLabel struct {
	Label string  `json:"label"`
	Index int     `json:"index"`
	Score float64 `json:"score"`
}

// classification is the result for one image.
type classification struct {
	Image  string        `json:"image"`
	Top    []scoredLabel `json:"top,omitempty"`
	Millis float64       `json:"ms,omitempty"` // preprocessing and inference
	Error  string        `json:"error,omitempty"`
}

func newClassifyCmd() *cobra.Command {
	var topK, threads int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "classify MODEL IMAGE...",
		Short: "Print the top labels of PNG or JPEG images",
		Long: `classify prepares each image with the model's own preprocessing (colour, resize,
crop, normalisation, inversion), runs the model and prints the top-k labels with
their softmax scores and the inference time. An image that cannot be read is
reported and the others are still classified; the exit status is then 1.`,
		Example: `  coatnet classify nano.coatnet cat.jpg dog.png
  coatnet classify fmnist.coatnet testdata/fashion/*.png --top 3 --json`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := model.Open(args[0])
			if err != nil {
				return err
			}
			defer m.Close()
			if topK < 1 {
				return fmt.Errorf("--top %d: must be at least 1", topK)
			}
			md := m.Describe()
			topK = min(topK, md.Config.NumClasses)
			c, err := model.NewClassifier(m, threads)
			if err != nil {
				return err
			}
			defer c.Close()
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			failed := 0
			for _, path := range args[1:] {
				if err := cmd.Context().Err(); err != nil {
					return err
				}
				r := classify(c, md.Labels, path, topK)
				if r.Error != "" {
					failed++
				}
				if asJSON {
					if err := enc.Encode(r); err != nil {
						return err
					}
					continue
				}
				if r.Error != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", path, r.Error)
					continue
				}
				fmt.Fprintf(out, "%s  (%.1f ms)\n", path, r.Millis)
				for _, s := range r.Top {
					fmt.Fprintf(out, "  %6.3f  %s\n", s.Score, s.Label)
				}
			}
			if failed > 0 {
				return &exitError{fmt.Sprintf("%d of %d images failed", failed, len(args)-1)}
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&topK, "top", "k", 5, "print the `N` best labels of each image")
	cmd.Flags().IntVar(&threads, "threads", 0, "`N` inference threads (default: all CPUs)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per image")
	return cmd
}

func classify(c *model.Classifier, labels []string, path string, k int) classification {
	r := classification{Image: path}
	img, err := preprocess.LoadImage(path)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	start := time.Now()
	logits, err := c.Logits(img)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Millis = float64(time.Since(start).Microseconds()) / 1000
	r.Top = topLabels(logits, labels, k)
	return r
}

// topLabels returns the k best classes with softmax probabilities.
func topLabels(logits []float32, labels []string, k int) []scoredLabel {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	out := make([]scoredLabel, k)
	for i := range out {
		j := idx[i]
		out[i] = scoredLabel{Label: labels[j], Index: j, Score: math.Exp(float64(logits[j])-mx) / sum}
	}
	return out
}
