package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
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
	var source, split string
	var limit, threads int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "eval MODEL --dataset fashion-mnist[:DIR]",
		Short: "Measure a model's accuracy on a labelled dataset",
		Long: `eval runs every image of a dataset through the model, with the model's own
preprocessing, and prints the top-1 accuracy, the accuracy of each class and
the confusion matrix (rows: true class, columns: predicted class).

Datasets: fashion-mnist reads the IDX files (gzip-compressed or not) of
Debian's dataset-fashion-mnist from /usr/share/datasets/fashion-mnist;
fashion-mnist:DIR reads them from DIR. Images are spread over --threads
workers; the result does not depend on their number.`,
		Example: `  coatnet eval models/fmnist-pre.coatnet --dataset fashion-mnist
  coatnet eval fmnist.coatnet --dataset fashion-mnist:$HOME/data --split train --limit 2000 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := model.Open(args[0])
			if err != nil {
				return err
			}
			defer m.Close()
			md := m.Describe()
			set, err := dataset.Open(source, split)
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
			if threads <= 0 {
				threads = runtime.NumCPU()
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
		},
	}
	cmd.Flags().StringVar(&source, "dataset", "", "the `DATASET`: fashion-mnist or fashion-mnist:DIR (required)")
	cmd.Flags().StringVar(&split, "split", "test", "the `SPLIT`: test or train")
	cmd.Flags().IntVar(&limit, "limit", 0, "evaluate only the first `N` images")
	cmd.Flags().IntVar(&threads, "threads", 0, "`N` parallel workers (default: all CPUs)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	_ = cmd.MarkFlagRequired("dataset")
	return cmd
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
