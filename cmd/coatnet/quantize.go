package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/internal/progress"
	"github.com/coatnet-edge/coatnet-edge/internal/termtext"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/quant"
)

func newQuantizeCmd() *cobra.Command {
	var calib, output string
	var images, measure, refine, threads int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "quantize FLOAT_MODEL --calib SRC -o INT8_MODEL",
		Short: "Quantize a float model to int8 with a calibration set",
		Long: `quantize runs the float model over calibration pictures, chooses an int8 scale
for every activation tensor (min/max, two percentile clips or the clip with the
least squared error, whichever errs least on the calibration values),
quantizes weights per output channel, and writes an int8 model file that
classify, eval, info and bench read like a float one.

It prints, per tensor, the rule and scale chosen and the signal-to-
quantization-noise ratio (SQNR, dB) of the int8 activation against the float
one on the calibration set, then how often int8 and float agree on the top
label and the cosine similarity of their logits.

SRC is fashion-mnist[:DIR] (images spread over its training split) or a folder
of pictures (PNG, JPEG, BMP, TIFF, WebP) like those the model will see: its
own and those of its subfolders, so a folder dataset (a subfolder per class)
calibrates on every class. Pictures that do not decode are skipped and
counted, the first five named. FLOAT_MODEL must be a float32 model, as
convert writes it; an int8 file is refused as already quantized.`,
		Example: `  coatnet quantize models/fmnist-pre.coatnet --calib fashion-mnist -o fmnist-pre-int8.coatnet
  coatnet quantize nano.coatnet --calib ~/calib-pictures --images 200 -o nano-int8.coatnet
  coatnet quantize gate.coatnet --calib ~/gate-train -o gate-int8.coatnet   # ~/gate-train/<class>/*.jpg`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := model.Load(args[0])
			if errors.Is(err, model.ErrInt8) {
				return fmt.Errorf("%s is already an int8 model: quantize reads a float32 model, as convert writes it", args[0])
			}
			if err != nil {
				return err
			}
			defer m.Close()
			cal, err := quant.OpenCalibration(calib, m.Preprocess, images)
			if err != nil {
				return err
			}
			var bar *progress.Reporter // of the pass under way
			start := time.Now()
			qm, rep, err := quant.Quantize(cmd.Context(), m, cal, quant.Options{
				Threads: threads, MeasureImages: measure, Refine: refine,
				Progress: func(pass string, done, total int) {
					if bar == nil || done == 1 {
						bar.Finish()
						bar = progress.New(progressOut(cmd), pass, total)
					}
					bar.Set(done)
				},
			})
			bar.Finish()
			if err != nil {
				return err
			}
			qm.Source.Tool = "coatnet " + version()
			if err := qm.Save(output); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printQuantReport(cmd.OutOrStdout(), rep)
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s in %.1fs\n", output, time.Since(start).Seconds())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&calib, "calib", "", "the calibration pictures, `SET`: fashion-mnist[:DIR] or a folder (required)")
	f.StringVarP(&output, "output", "o", "", "int8 model `FILE` to write (required)")
	f.IntVar(&images, "images", 500, "use `N` calibration pictures")
	f.IntVar(&measure, "measure", 100, "measure the error on `N` pictures (0: all calibration pictures)")
	f.IntVar(&refine, "refine", 0, "revisit every tensor's rule by the int8 logits' error on `N` calibration pictures\n"+
		"(0: off; it builds and runs a program per candidate, so about 4 x tensors x N inferences)")
	f.IntVar(&threads, "threads", 0, "`N` threads (default: all CPUs)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	_ = cmd.MarkFlagRequired("calib")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func printQuantReport(w io.Writer, rep *quant.Report) {
	fmt.Fprintf(w, "calibrated on %s: %d pictures, error measured on %d\n", rep.Calibration, rep.Images, rep.Measured)
	if rep.Skipped > 0 {
		fmt.Fprintf(w, "skipped %d unreadable pictures:\n", rep.Skipped)
		for _, s := range rep.SkippedNames {
			fmt.Fprintf(w, "  %s\n", termtext.Escape(s))
		}
		if more := rep.Skipped - len(rep.SkippedNames); more > 0 {
			fmt.Fprintf(w, "  and %d more\n", more)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tensor\trule\tscale\tzero\tSQNR dB")
	for _, t := range rep.Tensors {
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%d\t%.1f\n", t.Tensor, t.Method, t.Scale, t.Zero, t.SQNR)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nint8 vs float: top-1 agreement %.2f%%, logit cosine mean %.5f, min %.5f\n",
		100*rep.Top1Agreement, rep.MeanCosine, rep.MinCosine)
}
