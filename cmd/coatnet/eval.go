package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/internal/progress"
	"github.com/coatnet-edge/coatnet-edge/model"
)

// evalReport is the dataset's report plus how it was made.
type evalReport struct {
	dataset.Report
	Model   string  `json:"model"`
	Seconds float64 `json:"seconds"`
	Workers int     `json:"workers"`
}

func newEvalCmd() *cobra.Command {
	var source, split, errorsFile string
	var limit, threads int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "eval MODEL... --dataset fashion-mnist[:DIR]|DIR",
		Short: "Measure a model's accuracy on a labelled dataset",
		Long: `eval runs every image of a dataset through the model, with the model's own
preprocessing, and prints the top-1 accuracy, the accuracy of each class and
the confusion matrix (rows: true class, columns: predicted class).

Datasets: fashion-mnist reads the IDX files (gzip-compressed or not) of
Debian's dataset-fashion-mnist from /usr/share/datasets/fashion-mnist;
fashion-mnist:DIR reads them from DIR. Images are spread over --threads
workers; the result does not depend on their number.

Any other DIR is a folder dataset: one subfolder per class holding that
class's pictures (PNG, JPEG, BMP, TIFF, WebP), as torchvision's
ImageFolder has it. A subfolder is the class whose label it names, case
and everything but letters and digits ignored ("t-shirt_top" is
"T-shirt/top"), or the class number ("3"). Each model is matched to the
folders by its own labels, so models with different classes can be
scored in one run; one that shares no class with the folders stops the
run before anything is scored. Folders naming no label, classes without
pictures and pictures that do not decode are reported, not fatal. Several
models are printed side by side: pictures, top-1, top-5 and top-1 by
class, then each model's confusion matrix (--json: all of it, the
matrices included). --errors FILE writes every misclassified picture as
CSV: model, file, true label, then the model's five best labels, each
with its softmax score.`,
		Example: `  coatnet eval models/fmnist-pre.coatnet --dataset fashion-mnist
  coatnet eval fmnist.coatnet --dataset fashion-mnist:$HOME/data --split train --limit 2000 --json
  coatnet eval models/fmnist-pre-int8.coatnet models/fmnist-pre.coatnet --dataset ~/gate-test
  coatnet eval gate-int8.coatnet --dataset ~/gate-test --errors wrong.csv --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if threads <= 0 {
				threads = runtime.NumCPU()
			}
			if name, _, _ := strings.Cut(source, ":"); name != "fashion-mnist" {
				if st, err := os.Stat(source); err == nil && st.IsDir() {
					for _, f := range []string{"split", "limit"} {
						if cmd.Flags().Changed(f) {
							return fmt.Errorf("--%s applies to fashion-mnist only, not to a folder dataset", f)
						}
					}
					return evalFolder(cmd, args, source, threads, asJSON, errorsFile)
				}
			}
			if errorsFile != "" {
				return fmt.Errorf("--errors applies to folder datasets only")
			}
			for _, p := range args {
				if err := evalIDX(cmd, p, source, split, limit, threads, asJSON); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "dataset", "", "the `DATASET`: fashion-mnist, fashion-mnist:DIR or a folder with a subfolder per class (required)")
	cmd.Flags().StringVar(&split, "split", "test", "the `SPLIT`: test or train")
	cmd.Flags().IntVar(&limit, "limit", 0, "evaluate only the first `N` images")
	cmd.Flags().IntVar(&threads, "threads", 0, "`N` parallel workers (default: all CPUs)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&errorsFile, "errors", "", "write the misclassified pictures of a folder dataset to `FILE` (CSV)")
	_ = cmd.MarkFlagRequired("dataset")
	return cmd
}

// evalIDX scores the model at path on a Fashion-MNIST split.
func evalIDX(cmd *cobra.Command, path, source, split string, limit, threads int, asJSON bool) error {
	m, err := model.Open(path)
	if err != nil {
		return err
	}
	defer m.Close()
	md := m.Describe()
	set, err := dataset.Open(source, split)
	if errors.Is(err, dataset.ErrBadSource) {
		return fmt.Errorf("%w, or a folder with a subfolder per class", err)
	}
	if err != nil {
		return err
	}
	if len(set.Classes) != md.Config.NumClasses {
		return fmt.Errorf("%s has %d classes, the model %d", set.Name, len(set.Classes), md.Config.NumClasses)
	}
	for i, l := range set.Classes {
		if !strings.EqualFold(l, md.Labels[i]) {
			note(cmd, slog.LevelWarn, "the model and the dataset name class %d differently (%q, %q): scoring by class number", i, md.Labels[i], l)
			break
		}
	}
	n := set.Len()
	if limit > 0 {
		n = min(n, limit)
	}
	bar := progress.New(progressOut(cmd), "eval "+set.Name, n)
	start := time.Now()
	rep, err := set.Evaluate(cmd.Context(), n, threads,
		func() (dataset.Classifier, error) { return model.NewClassifier(m, 1) },
		func() { bar.Add(1) })
	bar.Finish()
	if err != nil {
		return err
	}
	r := evalReport{Report: *rep, Model: md.Name, Workers: threads, Seconds: time.Since(start).Seconds()}
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printEval(cmd.OutOrStdout(), r)
	return nil
}

func printEval(w io.Writer, r evalReport) {
	fmt.Fprintf(w, "%s: %d images, model %s, %d workers, %.1f s (%.0f images/s)\n",
		r.Dataset, r.Images, r.Model, r.Workers, r.Seconds, float64(r.Images)/r.Seconds)
	fmt.Fprintf(w, "top-1 accuracy %.2f%% (%d/%d)\n\n", 100*r.Accuracy, r.Correct, r.Images)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "true \\ predicted\t")
	for _, c := range r.PerClass {
		fmt.Fprintf(tw, "%s\t", abbrev(c.Label))
	}
	fmt.Fprint(tw, "accuracy\t\n")
	for i, row := range r.Confusion {
		fmt.Fprintf(tw, "%s\t", r.PerClass[i].Label)
		for _, v := range row {
			fmt.Fprintf(tw, "%d\t", v)
		}
		fmt.Fprintf(tw, "%.1f%%\t\n", 100*r.PerClass[i].Accuracy)
	}
	tw.Flush()
}

// abbrev shortens a label for a matrix column header.
func abbrev(s string) string {
	if r := []rune(s); len(r) > 7 {
		return string(r[:7])
	}
	return s
}
