package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/internal/boundedio"
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
		Use:   "classify MODEL PICTURE|FOLDER|-...",
		Short: "Print the top labels of pictures (PNG, JPEG, BMP, TIFF, WebP)",
		Long: `classify prepares each picture with the model's own preprocessing (colour, resize,
crop, normalisation, inversion), runs the model and prints the top-k labels with
their softmax scores and the inference time. It reads PNG, JPEG, BMP, TIFF and
WebP. A folder stands for every picture in it (by extension, in name order, not
its subfolders); - reads one picture from standard input. A picture that
cannot be read is reported and the others are still classified; the exit
status is then 1. Pictures are bounded as the agent's are: at most 50
megapixels, in files of at most 200 MiB.`,
		Example: `  coatnet classify nano.coatnet cat.jpg dog.png
  coatnet classify fmnist.coatnet testdata/fashion/ --top 3 --json
  curl -s http://camera.lan/snapshot.jpg | coatnet classify nano.coatnet -`,
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
			failed, inputs := 0, 0
			for _, in := range classifyInputs(cmd, args[1:]) {
				if err := cmd.Context().Err(); err != nil {
					return err
				}
				inputs++
				path := in.name
				r := classification{Image: path, Error: in.err}
				if in.err == "" {
					r = classify(c, md.Labels, path, in.load, topK)
				}
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
				return &exitError{fmt.Sprintf("%d of %d images failed", failed, inputs)}
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&topK, "top", "k", 5, "print the `N` best labels of each image")
	cmd.Flags().IntVar(&threads, "threads", 0, "`N` inference threads (default: all CPUs)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per image")
	return cmd
}

// classifyInput is one picture to classify: how to load it, or why it
// cannot be.
type classifyInput struct {
	name string
	load func() (image.Image, error)
	err  string
}

// classifyInputs expands classify's arguments: a folder into its pictures
// in name order (an empty one is an error of its own), - into standard
// input, read up to preprocess.MaxPictureBytes (a terminal is refused, not
// waited on).
func classifyInputs(cmd *cobra.Command, args []string) []classifyInput {
	var out []classifyInput
	for _, arg := range args {
		switch st, err := os.Stat(arg); {
		case arg == "-":
			out = append(out, classifyInput{name: arg, load: func() (image.Image, error) { return stdinPicture(cmd) }})
		case err == nil && st.IsDir():
			entries, err := os.ReadDir(arg)
			n := 0
			for _, e := range entries {
				if !e.IsDir() && preprocess.IsPicture(e.Name()) {
					path := filepath.Join(arg, e.Name())
					out = append(out, classifyInput{name: path, load: func() (image.Image, error) { return preprocess.LoadImage(path) }})
					n++
				}
			}
			switch {
			case err != nil:
				out = append(out, classifyInput{name: arg, err: err.Error()})
			case n == 0:
				out = append(out, classifyInput{name: arg, err: "directory holds no PNG, JPEG, BMP, TIFF or WebP pictures"})
			}
		default:
			out = append(out, classifyInput{name: arg, load: func() (image.Image, error) { return preprocess.LoadImage(arg) }})
		}
	}
	return out
}

// stdinPicture decodes the picture on standard input.
func stdinPicture(cmd *cobra.Command) (image.Image, error) {
	const name = "standard input"
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok {
		st, err := f.Stat()
		if err == nil {
			err = boundedio.CheckMode(name, st.Mode())
		}
		if err != nil {
			return nil, err
		}
	}
	data, err := boundedio.ReadAll(in, name, preprocess.MaxPictureBytes)
	if err != nil {
		return nil, err
	}
	return preprocess.DecodeImage(bytes.NewReader(data), name)
}

func classify(c *model.Classifier, labels []string, path string, load func() (image.Image, error), k int) classification {
	r := classification{Image: path}
	img, err := load()
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
	top := dataset.TopScores(logits, labels, k)
	out := make([]scoredLabel, len(top))
	for i, s := range top {
		out[i] = scoredLabel{Label: s.Label, Index: s.Class, Score: s.Score}
	}
	return out
}
