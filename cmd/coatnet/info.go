package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/coatnet-edge/coatnet-edge/internal/cpuinfo"
	"github.com/coatnet-edge/coatnet-edge/internal/termtext"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

func newInfoCmd() *cobra.Command {
	var archName string
	var imgSize int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info [MODEL]",
		Short: "Describe a model file or an architecture, and this machine's CPU",
		Long: `info prints what a model file holds (format, checksums, architecture, labels,
preprocessing, where the weights came from), the parameters and multiply-
accumulates of each stage, and the CPU features this machine offers the
engines. With --arch instead of a file it describes a timm architecture
without weights.`,
		Example: `  coatnet info nano.coatnet
  coatnet info --arch coatnet_0_rw_224
  coatnet info --arch coatnet_nano_rw_224 --img-size 64 --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			switch {
			case len(args) == 1 && archName != "":
				return errors.New("give a model file or --arch, not both")
			case len(args) == 1:
				m, err := model.Open(args[0])
				if err != nil {
					return err
				}
				defer m.Close()
				md := m.Describe()
				if asJSON {
					return writeInfoJSON(out, &md.Config, m)
				}
				printFile(out, args[0], m)
				printArch(out, &md.Config)
				printNeed(out, m.Need())
				if q, ok := m.(*int8net.Model); ok {
					printProgram(out, q)
				}
			case archName != "":
				cfg, err := arch.Arch(archName)
				if err != nil {
					return err
				}
				if imgSize != 0 {
					cfg.ImgSize = imgSize
				}
				if err := cfg.Validate(); err != nil {
					return err
				}
				if asJSON {
					return writeInfoJSON(out, &cfg, nil)
				}
				printArch(out, &cfg)
			default:
				return errors.New("give a model file or --arch NAME")
			}
			printCPU(out)
			return nil
		},
	}
	cmd.Flags().StringVar(&archName, "arch", "", "describe the timm architecture `NAME` instead of a file")
	cmd.Flags().IntVar(&imgSize, "img-size", 0, "with --arch: the input size `N` in pixels (default: the arch's)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for machines")
	return cmd
}

// esc escapes text a model file brings, so it cannot send the terminal
// commands.
func esc[S ~string](s S) string { return termtext.Escape(string(s)) }

func printFile(w io.Writer, path string, a model.Any) {
	f := a.File()
	m := a.Describe()
	fmt.Fprintf(w, "Model file   %s\n", path)
	fmt.Fprintf(w, "  format     coatnet model file v%d, %s, %.1f MB, checksums verified, %s\n",
		f.Version(), m.Kind, float64(f.Size())/1e6, map[bool]string{true: "memory-mapped", false: "read into memory"}[f.Mapped()])
	fmt.Fprintf(w, "  name       %s\n", esc(m.Name))
	if m.Description != "" {
		fmt.Fprintf(w, "  about      %s\n", esc(m.Description))
	}
	if s := m.Source; s.Checkpoint != "" {
		fmt.Fprintf(w, "  source     %s (sha256 %.16s…), converted %s by %s\n", esc(s.Checkpoint), esc(s.SHA256), esc(s.Converted), esc(s.Tool))
	}
	if p := m.Source.Pretrained; p != "" {
		fmt.Fprintf(w, "  pretrained %s.%s\n", esc(m.Config.Arch), esc(p))
	}
	shown := m.Labels
	more := ""
	if len(shown) > 10 {
		shown, more = shown[:10], fmt.Sprintf(", … (%d more)", len(m.Labels)-10)
	}
	fmt.Fprintf(w, "  labels     %d: %s%s\n", len(m.Labels), esc(strings.Join(shown, ", ")), more)
	p := m.Preprocess
	fmt.Fprintf(w, "  preprocess %s, %s resize to %d then %s crop %d (crop_pct %.3g), mean %v std %v, invert %v\n",
		esc(p.Colour), esc(p.Interpolation), p.ResizeTarget(), esc(p.CropMode), p.Size, p.CropPct, p.Mean, p.Std, p.Invert)
}

func printArch(w io.Writer, c *arch.Config) {
	fmt.Fprintf(w, "Architecture %s\n", esc(c.Arch))
	fmt.Fprintf(w, "  input      %d x %d x %d, %d classes\n", c.InChans, c.ImgSize, c.ImgSize, c.NumClasses)
	fmt.Fprintf(w, "  stem       %d, %d   stages %v x %v   blocks %v\n", c.StemWidth[0], c.StemWidth[1], c.EmbedDim, c.Depths, c.BlockTypes)
	fmt.Fprintf(w, "  mbconv     act %s, stride in %s, shortcut pool %s, pre-norm act %v, SE %s (%s)\n",
		esc(c.Conv.Act), esc(c.Conv.StrideMode), esc(c.Conv.PoolType), c.Conv.PreNormAct, map[bool]string{true: "early", false: "late"}[c.Conv.AttnEarly], esc(c.Conv.SEAct))
	fmt.Fprintf(w, "  attention  %s relative position (%s), dim_head %d, norm %s, pool %s, layer scale %v\n",
		esc(c.Attention), esc(c.Transformer.RelPos), c.Transformer.DimHead, esc(c.Transformer.Norm), esc(c.Transformer.PoolType), c.Transformer.LayerScale)
	pool := "pool"
	if c.MaxPool() {
		pool = "max pool"
	}
	head := "norm -> " + pool + " -> fc"
	if c.HeadHiddenSize > 0 {
		head = fmt.Sprintf("%s -> norm -> fc(%d) -> tanh -> fc", pool, c.HeadHiddenSize)
	}
	fmt.Fprintf(w, "  head       %s\n", head)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  part\toutput\tparams\tMACs\tof which attention\t")
	stem, sides := c.StageSizes()
	outs := []string{fmt.Sprintf("%dx%d²", c.StemWidth[1], stem)}
	for s := range 4 {
		outs = append(outs, fmt.Sprintf("%dx%d²", c.EmbedDim[s], sides[s]))
	}
	outs = append(outs, fmt.Sprint(c.NumClasses))
	for i, p := range c.Costs() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t\n", p.Name, outs[i], millions(p.Params), millions(p.MACs), millions(p.Attn))
	}
	t := c.TotalCost()
	fmt.Fprintf(tw, "  total\t\t%s\t%s\t%s\t\n", millions(t.Params), millions(t.MACs), millions(t.Attn))
	tw.Flush()
}

// millions formats a count with an SI prefix: 950, 12.3 k, 15.14 M, 2.38 G.
func millions(v int64) string {
	switch f := float64(v); {
	case v == 0:
		return "-"
	case f >= 1e9:
		return fmt.Sprintf("%.2f G", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.2f M", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.1f k", f/1e3)
	}
	return fmt.Sprint(v)
}

// printNeed says what the model's engine allocates and computes, which
// model.Open has checked against the limits.
func printNeed(w io.Writer, n engine.Need) {
	threads := runtime.NumCPU()
	fmt.Fprintf(w, "Engine needs %s of tensors, %s of weights packed or folded, %s of scratch per thread (%s in all with %d threads); %s MACs per inference\n",
		engine.FormatBytes(n.TensorBytes), engine.FormatBytes(n.WeightBytes), engine.FormatBytes(n.ScratchBytes),
		engine.FormatBytes(n.Bytes(threads)), threads, millions(n.MACs))
}

func printCPU(w io.Writer) {
	fmt.Fprintf(w, "CPU          %d cores, %s\n", runtime.NumCPU(), cpuinfo.Summary())
}

// tally lists counts by name, in name order: "act 16, add 9".
func tally[K ~string](counts map[K]int) string {
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

// printProgram summarises an int8 program: its operations, how its scales
// were chosen and the error they add.
func printProgram(w io.Writer, m *int8net.Model) {
	p := &m.Program
	kinds := map[graph.OpKind]int{}
	for _, op := range p.Ops {
		kinds[op.Kind]++
	}
	methods := map[string]int{}
	worst, worstName := 1e9, ""
	for _, t := range p.Tensors {
		methods[t.Method]++
		if t.SQNR < worst && t.Method != "float" {
			worst, worstName = t.SQNR, t.Name
		}
	}
	fmt.Fprintf(w, "Int8 program %d operations: %s\n", len(p.Ops), tally(kinds))
	fmt.Fprintf(w, "  tensors    %d int8, scales chosen by %s\n", len(p.Tensors)-1, tally(methods))
	fmt.Fprintf(w, "  calibrated %s; lowest SQNR %.1f dB (%s)\n", esc(m.Calibration), worst, esc(worstName))
	impl := kernels.Implementation()
	names := make([]string, 0, len(impl))
	for k := range impl {
		names = append(names, k)
	}
	slices.Sort(names)
	fmt.Fprint(w, "  kernels   ")
	for _, k := range names {
		fmt.Fprintf(w, " %s=%s", k, impl[k])
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  each operation runs (kernel=implementation: sdot NEON with the dot product, neon NEON, go portable Go):")
	printOpKernels(w, programKernels(p))
}

// writeInfoJSON prints the config (and, for a file, its description) with
// the cost breakdown and CPU features.
func writeInfoJSON(w io.Writer, cfg *arch.Config, m model.Any) error {
	type file struct {
		Version uint32 `json:"format_version"`
		Size    int64  `json:"size"`
		Mapped  bool   `json:"mapped"`
	}
	out := struct {
		Config *arch.Config      `json:"config,omitempty"`
		Model  *arch.Metadata    `json:"model,omitempty"`
		File   *file             `json:"file,omitempty"`
		Need   *engine.Need      `json:"need,omitempty"`
		Costs  []arch.Cost       `json:"costs"`
		Total  arch.Cost         `json:"total"`
		CPU    []cpuinfo.Feature `json:"cpu_features"`
		GOARCH string            `json:"goarch"`
	}{Costs: cfg.Costs(), Total: cfg.TotalCost(), CPU: cpuinfo.Features(), GOARCH: runtime.GOARCH}
	if m == nil {
		out.Config = cfg
	} else {
		// A file's config is inside its description.
		out.Model = m.Describe()
		f := m.File()
		out.File = &file{Version: f.Version(), Size: f.Size(), Mapped: f.Mapped()}
		need := m.Need()
		out.Need = &need
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
