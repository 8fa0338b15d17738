package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/dataset"
	"github.com/coatnet-edge/coatnet-edge/internal/progress"
	"github.com/coatnet-edge/coatnet-edge/internal/termtext"
	"github.com/coatnet-edge/coatnet-edge/model"
)

// folderEval is one model's result on a folder dataset.
type folderEval struct {
	Model   string                `json:"model"` // as given on the command line
	Name    string                `json:"name"`  // the model's own
	Seconds float64               `json:"seconds"`
	Report  *dataset.FolderReport `json:"report"`
	column  string                // the table's heading
}

// folderEvalReport is `eval --json` on a folder dataset.
type folderEvalReport struct {
	Dataset string       `json:"dataset"`
	Workers int          `json:"workers"`
	Models  []folderEval `json:"models"`
}

// errorsHeader is the first line of the --errors CSV file.
var errorsHeader = []string{"model", "file", "true_label", "label1", "score1", "label2", "score2",
	"label3", "score3", "label4", "score4", "label5", "score5"}

// evalFolder scores every model on the folder dataset dir. Every model is
// matched to the folders before any is run, so a model that knows none of
// them fails at once.
func evalFolder(cmd *cobra.Command, paths []string, dir string, threads int, asJSON bool, errorsFile string) error {
	type opened struct {
		m   model.Any
		set *dataset.Folder
	}
	var models []opened
	defer func() {
		for _, o := range models {
			o.m.Close()
		}
	}()
	var errs []error
	for _, p := range paths {
		m, err := model.Open(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		models = append(models, opened{m: m})
		labels := m.Describe().Labels
		set, err := dataset.OpenFolder(dir, labels)
		if errors.Is(err, dataset.ErrEmpty) {
			err = fmt.Errorf("%s shares no class with %s: no picture in a subfolder named after one of its %d labels (%s); the subfolders are %s",
				p, dir, len(labels), listSome(labels, 10), listSome(subfolders(dir), 10))
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		models[len(models)-1].set = set
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var out *os.File
	var w *csv.Writer
	if errorsFile != "" {
		f, err := os.Create(errorsFile)
		if err != nil {
			return err
		}
		defer f.Close()
		out, w = f, csv.NewWriter(f)
		w.Write(errorsHeader)
	}
	rep := folderEvalReport{Dataset: dir, Workers: threads}
	for i, o := range models {
		name := columnName(paths, i)
		bar := progress.New(progressOut(cmd), "eval "+name, o.set.Len())
		start := time.Now()
		r, err := o.set.Evaluate(cmd.Context(), threads, func() (dataset.Scorer, error) { return model.NewClassifier(o.m, 1) }, func() { bar.Add(1) })
		bar.Finish()
		if err != nil {
			return fmt.Errorf("%s: %w", paths[i], err)
		}
		rep.Models = append(rep.Models, folderEval{Model: paths[i], Name: o.m.Describe().Name, Seconds: time.Since(start).Seconds(), Report: r, column: name})
		if w != nil {
			for _, miss := range r.Misses {
				rec := []string{paths[i], miss.File, miss.Label}
				for _, s := range miss.Top {
					rec = append(rec, s.Label, strconv.FormatFloat(s.Score, 'f', 4, 64))
				}
				w.Write(rec)
			}
		}
	}
	if w != nil {
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printFolderEval(cmd.OutOrStdout(), rep)
	return nil
}

// columnName is how the table heads model i: its file name, or the path
// given when two models share a file name.
func columnName(paths []string, i int) string {
	base := filepath.Base(paths[i])
	for j, p := range paths {
		if j != i && filepath.Base(p) == base {
			return paths[i]
		}
	}
	return base
}

// subfolders lists dir's visible subfolders, for a message.
func subfolders(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// listSome quotes up to n names, saying how many more there are.
func listSome(names []string, n int) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, 0, n+1)
	for _, s := range names[:min(n, len(names))] {
		q = append(q, strconv.Quote(s))
	}
	if len(names) > n {
		q = append(q, fmt.Sprintf("and %d more", len(names)-n))
	}
	return strings.Join(q, ", ")
}

// printFolderEval prints the models side by side, one column each, then
// what was not scored and each model's confusion matrix.
func printFolderEval(w io.Writer, rep folderEvalReport) {
	fmt.Fprintf(w, "dataset folder %s, %d workers\n\n", termtext.Escape(rep.Dataset), rep.Workers)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(head string, cell func(r *dataset.FolderReport, e folderEval) string) {
		fmt.Fprintf(tw, "%s\t", head)
		for _, e := range rep.Models {
			fmt.Fprintf(tw, "%s\t", cell(e.Report, e))
		}
		fmt.Fprint(tw, "\n")
	}
	row("model", func(_ *dataset.FolderReport, e folderEval) string { return termtext.Escape(e.column) })
	row("pictures", func(r *dataset.FolderReport, _ folderEval) string { return strconv.Itoa(r.Images) })
	row("unreadable", func(r *dataset.FolderReport, _ folderEval) string { return strconv.Itoa(r.Skipped) })
	row("top-1", func(r *dataset.FolderReport, _ folderEval) string { return percent(r.Top1, r.Images) })
	row("top-5", func(r *dataset.FolderReport, _ folderEval) string { return percent(r.Top5, r.Images) })
	row("seconds", func(_ *dataset.FolderReport, e folderEval) string { return fmt.Sprintf("%.1f", e.Seconds) })
	// One row per class any model scored, keyed as folders match labels.
	var keys, heads []string
	for _, e := range rep.Models {
		for _, c := range e.Report.PerClass {
			if k := dataset.ClassKey(c.Label); !slices.Contains(keys, k) {
				keys, heads = append(keys, k), append(heads, c.Label)
			}
		}
	}
	row("top-1 by class", func(*dataset.FolderReport, folderEval) string { return "" })
	for i, k := range keys {
		row(termtext.Escape(heads[i]), func(r *dataset.FolderReport, _ folderEval) string {
			j := slices.IndexFunc(r.PerClass, func(c dataset.FolderClass) bool { return dataset.ClassKey(c.Label) == k })
			if j < 0 {
				return "-"
			}
			return percent(r.PerClass[j].Top1, r.PerClass[j].Images)
		})
	}
	tw.Flush()
	// What was not scored, once when every model saw the same.
	same := true
	for _, e := range rep.Models[1:] {
		a, b := e.Report, rep.Models[0].Report
		same = same && slices.Equal(a.Bad, b.Bad) && a.Skipped == b.Skipped && slices.Equal(a.Unknown, b.Unknown) && slices.Equal(a.Missing, b.Missing)
	}
	for i, e := range rep.Models {
		who := ""
		if len(rep.Models) > 1 {
			who = termtext.Escape(e.Model) + ": "
		}
		if i == 0 || !same {
			fmt.Fprintln(w)
			if same {
				printNotScored(w, "", e.Report)
			} else {
				printNotScored(w, who, e.Report)
			}
		}
	}
	for _, e := range rep.Models {
		fmt.Fprintf(w, "\nconfusion matrix of %s (rows: true class, columns: predicted)\n", termtext.Escape(e.Model))
		printConfusion(w, e.Report.Confusion)
	}
}

// printNotScored lists the unreadable pictures, the folders that name no
// label and the classes without pictures.
func printNotScored(w io.Writer, who string, r *dataset.FolderReport) {
	if r.Skipped > 0 {
		fmt.Fprintf(w, "%sunreadable pictures skipped: %d\n", who, r.Skipped)
		for _, b := range r.Bad {
			fmt.Fprintf(w, "  %s\n", termtext.Escape(b))
		}
		if r.Skipped > len(r.Bad) {
			fmt.Fprintf(w, "  and %d more\n", r.Skipped-len(r.Bad))
		}
	}
	if len(r.Unknown) > 0 {
		fmt.Fprintf(w, "%sfolders matching no label (not scored): %s\n", who, termtext.Escape(listSome(r.Unknown, 20)))
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(w, "%sclasses without pictures: %s\n", who, termtext.Escape(listSome(r.Missing, 20)))
	}
}

// maxMatrix is the most classes printed as a matrix; beyond, the largest
// confusions are listed instead.
const maxMatrix = 20

func printConfusion(w io.Writer, c *dataset.Confusion) {
	if len(c.Classes) > maxMatrix {
		type cell struct{ t, p, n int }
		var cells []cell
		for t, row := range c.Counts {
			for p, n := range row {
				if n > 0 && p != t {
					cells = append(cells, cell{t, p, n})
				}
			}
		}
		slices.SortStableFunc(cells, func(a, b cell) int { return b.n - a.n })
		fmt.Fprintf(w, "  %d classes: the %d most frequent confusions\n", len(c.Classes), min(maxMatrix, len(cells)))
		for _, x := range cells[:min(maxMatrix, len(cells))] {
			fmt.Fprintf(w, "  %d  %s -> %s\n", x.n, termtext.Escape(c.Labels[x.t]), termtext.Escape(c.Labels[x.p]))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "true \\ predicted\t")
	for _, l := range c.Labels {
		fmt.Fprintf(tw, "%s\t", termtext.Escape(abbrev(l)))
	}
	fmt.Fprint(tw, "\n")
	for i, row := range c.Counts {
		fmt.Fprintf(tw, "%s\t", termtext.Escape(c.Labels[i]))
		for _, v := range row {
			fmt.Fprintf(tw, "%d\t", v)
		}
		fmt.Fprint(tw, "\n")
	}
	tw.Flush()
}

// percent is "86.21% (25/29)".
func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%% (%d/%d)", 100*float64(n)/float64(of), n, of)
}
