package quant

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// Calibration supplies the calibration inputs: Len of them, each written
// by Input as CHW float32 in the model's preprocessing. An input Input
// cannot read is an error wrapping ErrUnreadable, skipped.
type Calibration interface {
	Len() int
	Input(i int, dst []float32) error
	Name() string
}

// Options tune Quantize.
type Options struct {
	Threads int
	// MeasureImages bounds how many calibration inputs the error
	// measurement runs through both engines (0: all).
	MeasureImages int
	// Refine, when above 0, revisits every tensor's rule by the whole int8
	// program's logit error on that many calibration inputs (refine).
	Refine int
	// Progress is called after each image of each pass.
	Progress func(pass string, done, total int)
}

// TensorReport is the scale chosen for one tensor and the error it adds.
type TensorReport struct {
	Tensor string  `json:"tensor"`
	Method string  `json:"method"`
	Scale  float64 `json:"scale"`
	Zero   int32   `json:"zero_point"`
	SQNR   float64 `json:"sqnr_db"` // float activation vs int8 activation, on the calibration set
}

// Report summarises a quantization.
type Report struct {
	Calibration string         `json:"calibration"`
	Images      int            `json:"images"`
	Measured    int            `json:"measured_images"`
	Tensors     []TensorReport `json:"tensors"`
	// Agreement of the int8 and float logits on the measured images.
	Top1Agreement float64 `json:"top1_agreement"`
	MeanCosine    float64 `json:"mean_logit_cosine"`
	MinCosine     float64 `json:"min_logit_cosine"`
	// Skipped counts the unreadable calibration pictures; SkippedNames
	// names the first few and why.
	Skipped      int      `json:"skipped"`
	SkippedNames []string `json:"skipped_pictures,omitempty"`
}

// ErrUnreadable marks a calibration input that cannot be read (a picture
// that does not decode): Quantize skips and counts it instead of failing.
var ErrUnreadable = errors.New("unreadable calibration picture")

// maxSkippedNames bounds Report.SkippedNames.
const maxSkippedNames = 5

// Quantize calibrates a float model on cal and returns its int8 version
// with a report of the scale chosen for each tensor and the error each one
// and the whole model introduce.
func Quantize(ctx context.Context, m *model.Model, cal Calibration, opt Options) (*int8net.Model, *Report, error) {
	if cal.Len() == 0 {
		return nil, nil, fmt.Errorf("calibration set %s is empty", cal.Name())
	}
	g, err := graph.New(m.Config, m.Weights)
	if err != nil {
		return nil, nil, err
	}
	runner := g.NewRunner(opt.Threads)
	defer runner.Close()
	input := make([]float32, m.Config.InChans*m.Config.ImgSize*m.Config.ImgSize)
	stats := NewStats(g)
	n := cal.Len()
	var used []int // the inputs that could be read
	var skipped []string
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if err := cal.Input(i, input); errors.Is(err, ErrUnreadable) {
			skipped = append(skipped, strings.TrimPrefix(err.Error(), ErrUnreadable.Error()+": "))
			if opt.Progress != nil {
				opt.Progress("calibrate", i+1, n)
			}
			continue
		} else if err != nil {
			return nil, nil, fmt.Errorf("calibration input %d: %w", i, err)
		}
		used = append(used, i)
		runner.Run(input)
		stats.Observe(runner)
		if opt.Progress != nil {
			opt.Progress("calibrate", i+1, n)
		}
	}
	if len(used) == 0 {
		return nil, nil, fmt.Errorf("calibration set %s: none of its %d pictures could be read; the first: %s", cal.Name(), n, skipped[0])
	}
	tensors, cands := chooseScales(g, stats, opt.Threads)
	means := make([][]float64, len(g.Tensors))
	for i := range means {
		means[i] = stats.tensors[i].channelMeans()
	}
	if opt.Refine > 0 {
		if err := refine(ctx, g, runner, m.Metadata, tensors, cands, means, cal, used, opt); err != nil {
			return nil, nil, err
		}
	}
	prog, err := Build(g, tensors, means)
	if err != nil {
		return nil, nil, err
	}
	md := int8net.Description{Metadata: m.Metadata, Calibration: fmt.Sprintf("%s, %d images", cal.Name(), len(used)), Program: *prog}
	qm, err := int8net.NewModel(md)
	if err != nil {
		return nil, nil, err
	}
	rep, err := measure(ctx, g, runner, qm, cal, used, opt)
	if err != nil {
		return nil, nil, err
	}
	rep.Images, rep.Skipped, rep.SkippedNames = len(used), len(skipped), skipped[:min(len(skipped), maxSkippedNames)]
	for i := range qm.Program.Tensors {
		qm.Program.Tensors[i].SQNR = rep.Tensors[i].SQNR
	}
	return qm, rep, nil
}

// refine revisits each tensor's rule in graph order and keeps the
// candidate under which the whole int8 program's logits err least (summed
// squared difference from float) on opt.Refine calibration inputs spread
// evenly over the set. A tensor's own squared error, which chose the
// rules, misses what its consumers amplify: a clip that suits a
// squeeze-excite pool's values can still bend the gate it feeds. One
// program is built and run per candidate, so the cost is about candidates
// x tensors x inputs int8 inferences: meant for small models.
func refine(ctx context.Context, g *graph.Graph, runner *graph.Runner, meta arch.Metadata, tensors []int8net.QTensor,
	cands [][]Candidate, means [][]float64, cal Calibration, used []int, opt Options) error {
	n := min(opt.Refine, len(used))
	inputs, want := make([][]float32, n), make([][]float32, n)
	for i := range n {
		inputs[i] = make([]float32, meta.Config.InChans*meta.Config.ImgSize*meta.Config.ImgSize)
		if err := cal.Input(used[i*len(used)/n], inputs[i]); err != nil {
			return err
		}
		want[i] = slices.Clone(runner.Run(inputs[i]))
	}
	logitError := func() (float64, error) {
		prog, err := Build(g, tensors, means)
		if err != nil {
			return 0, err
		}
		qm, err := int8net.NewModel(int8net.Description{Metadata: meta, Program: *prog})
		if err != nil {
			return 0, err
		}
		net := qm.NewNet(opt.Threads)
		defer net.Close()
		var e float64
		for i := range n {
			copy(net.Input(), inputs[i])
			for j, v := range net.Run() {
				d := float64(v) - float64(want[i][j])
				e += d * d
			}
		}
		return e, nil
	}
	best, err := logitError()
	if err != nil {
		return err
	}
	for t := range tensors {
		if err := ctx.Err(); err != nil {
			return err
		}
		start, kept := tensors[t], tensors[t]
		for _, c := range cands[t] {
			if c.QParams == start.QParams || c.QParams == kept.QParams {
				continue // already judged
			}
			tensors[t].QParams, tensors[t].Method = c.QParams, c.Method
			deriveScales(g, tensors)
			e, err := logitError()
			if err != nil {
				return err
			}
			if e < best {
				best, kept = e, tensors[t]
			}
		}
		tensors[t] = kept
		deriveScales(g, tensors)
		if opt.Progress != nil {
			opt.Progress("refine", t+1, len(tensors))
		}
	}
	return nil
}

// measure runs calibration inputs through the float graph and the int8
// program and compares every tensor and the logits.
func measure(ctx context.Context, g *graph.Graph, runner *graph.Runner, qm *int8net.Model, cal Calibration, used []int, opt Options) (*Report, error) {
	net := qm.NewNetKeepingTensors(opt.Threads)
	defer net.Close()
	n := len(used)
	if opt.MeasureImages > 0 {
		n = min(n, opt.MeasureImages)
	}
	sig := make([]float64, len(g.Tensors))
	noise := make([]float64, len(g.Tensors))
	rep := &Report{Calibration: cal.Name(), Measured: n, MinCosine: 1}
	agree := 0
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := cal.Input(used[i], net.Input()); err != nil {
			return nil, err
		}
		fl := runner.Run(net.Input())
		ql := net.Run()
		last := len(g.Tensors) - 1 // the logits, which stay float
		for t := range g.Tensors {
			qp := qm.Program.Tensors[t].QParams
			for j, f := range runner.Value(graph.TensorID(t)) {
				var q float64
				if t == last {
					q = float64(ql[j])
				} else {
					q = qp.Dequantize(net.Value(graph.TensorID(t))[j])
				}
				d := float64(f) - q
				sig[t] += float64(f) * float64(f)
				noise[t] += d * d
			}
		}
		if argmax(fl) == argmax(ql) {
			agree++
		}
		c := cosine(fl, ql)
		rep.MeanCosine += c / float64(n)
		rep.MinCosine = min(rep.MinCosine, c)
		if opt.Progress != nil {
			opt.Progress("measure", i+1, n)
		}
	}
	rep.Top1Agreement = float64(agree) / float64(n)
	for t, qt := range qm.Program.Tensors {
		// JSON has no infinities: exact tensors report 200 dB.
		sqnr := 200.0
		if noise[t] > 0 {
			sqnr = min(200, 10*math.Log10(max(sig[t], 1e-300)/noise[t]))
		}
		rep.Tensors = append(rep.Tensors, TensorReport{Tensor: qt.Name, Method: qt.Method, Scale: qt.Scale, Zero: qt.ZeroPoint, SQNR: sqnr})
	}
	return rep, nil
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// cosine is the cosine similarity of two logit vectors.
func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
