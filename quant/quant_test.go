package quant

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/preprocess"
)

// synthetic calibration inputs: smooth random pictures in the normalised
// range.
type synthCal struct {
	n, size, ch int
	seed        uint64
}

func (s synthCal) Len() int     { return s.n }
func (s synthCal) Name() string { return "synthetic" }
func (s synthCal) Input(i int, dst []float32) error {
	for j := range dst {
		p := j % (s.size * s.size)
		y, x := p/s.size, p%s.size
		dst[j] = float32(1.2*arch.SeededUniform(s.seed+uint64(i), uint64(j/8)) + 0.3*float64((x+y)%7)/7)
	}
	return nil
}

// variants cover every kind of op: pool-stride MBConv (nano), pre-norm
// activation with early SE and ReLU (0_rw: affine ops), BatchNorm
// transformer norms (bn_0_rw), max-pool shortcuts (rmlp_1_rw), the paper
// head with tanh (coatnet_0), in both attention forms, and both heads
// with global_pool max.
var variants = []variant{
	{"coatnet_nano_rw", arch.PreSoftmax, ""},
	{"coatnet_nano_rw", arch.PostSoftmax, ""},
	{"coatnet_0_rw", arch.PreSoftmax, ""},
	{"coatnet_bn_0_rw", arch.PreSoftmax, ""},
	{"coatnet_rmlp_1_rw", arch.PostSoftmax, ""},
	{"coatnet_0", arch.PreSoftmax, ""},
	{"coatnet_nano_rw", arch.PreSoftmax, "max"},
	{"coatnet_0", arch.PreSoftmax, "max"},
}

type variant struct {
	arch string
	form arch.AttentionForm
	pool string // global_pool; empty is avg
}

// tiny is the variant's tiny model.
func (v variant) tiny(t testing.TB) *model.Model {
	m := tinyModel(t, v.arch, v.form)
	m.Config.GlobalPool = v.pool
	return m
}

// String names the variant in messages.
func (v variant) String() string {
	s := v.arch + " " + string(v.form)
	if v.pool != "" {
		s += " global_pool=" + v.pool
	}
	return s
}

func tinyModel(t testing.TB, name string, form arch.AttentionForm) *model.Model {
	t.Helper()
	cfg, err := arch.Arch(name)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HeadHiddenSize > 0 {
		cfg.HeadHiddenSize = 32
	}
	cfg.ImgSize, cfg.NumClasses, cfg.Attention = 64, 10, form
	cfg.EmbedDim, cfg.Depths, cfg.StemWidth = [4]int{16, 32, 64, 64}, [4]int{1, 2, 2, 1}, [2]int{8, 16}
	return &model.Model{Metadata: arch.Metadata{Kind: model.KindFloat32, Name: "tiny", Config: cfg,
		Labels: arch.DefaultLabels(10), Preprocess: preprocess.TimmDefault(64, 0.9)},
		Weights: arch.SyntheticWeights(&cfg, 3)}
}

func TestQuantizeTiny(t *testing.T) {
	for _, v := range variants {
		form := v.String()
		m := v.tiny(t)
		qm, rep, err := Quantize(context.Background(), m, synthCal{n: 16, size: 64, ch: 3, seed: 1}, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		worst := 200.0
		for _, tr := range rep.Tensors {
			worst = min(worst, tr.SQNR)
		}
		t.Logf("%s: %d tensors, worst SQNR %.1f dB, top-1 agreement %.2f, cosine mean %.4f min %.4f",
			form, len(rep.Tensors), worst, rep.Top1Agreement, rep.MeanCosine, rep.MinCosine)
		if rep.MeanCosine < 0.99 {
			t.Errorf("%s: int8 logits cosine %.4f", form, rep.MeanCosine)
		}
		_ = qm
	}
}

// TestOpErrors feeds each operation of the float graph the int8 engine's
// own (dequantized) inputs and compares its output with the int8 output,
// so every op's error is measured alone. The bounds, in units of the
// output's quantization step (LSB), are what each op's arithmetic and its
// weight quantization allow.
func TestOpErrors(t *testing.T) {
	// max |error| in LSB. Requantization rounds twice (SQRDMULH, then a
	// rounding shift), which allows 0.75 LSB where one rounding gives 0.5;
	// weight quantization adds to convolutions; attention adds the
	// quantization of its probabilities.
	bounds := map[graph.OpKind]float64{
		graph.OpConv: 1.5, graph.OpDepthwise: 1.5, graph.OpAffine: 1.5, graph.OpAct: 0.5, graph.OpPool: 0.5,
		graph.OpMean: 1, graph.OpMaxPixels: 0, graph.OpScale: 1, graph.OpAdd: 1, graph.OpLayerNorm: 1.5, graph.OpAttention: 3,
	}
	for _, v := range variants {
		form := v.String()
		m := v.tiny(t)
		cal := synthCal{n: 8, size: 64, ch: 3, seed: 5}
		qm, _, err := Quantize(context.Background(), m, cal, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		g, err := graph.New(m.Config, m.Weights)
		if err != nil {
			t.Fatal(err)
		}
		r := g.NewRunner(2)
		net := qm.NewNetKeepingTensors(2)
		cal.Input(3, net.Input())
		net.Run()
		worst := map[graph.OpKind]float64{}
		for i, op := range g.Ops {
			if op.Kind == graph.OpLogits {
				continue
			}
			for _, in := range op.In {
				qp := qm.Program.Tensors[in].QParams
				dst := r.Value(in)
				for j, v := range net.Value(in) {
					dst[j] = float32(qp.Dequantize(v))
				}
			}
			r.RunOp(i)
			qp := qm.Program.Tensors[op.Out].QParams
			// Clipping to the calibrated range is a chosen trade-off
			// (measured by SQNR), not arithmetic error: compare with the
			// float output clamped to the representable range.
			lo, hi := qp.Dequantize(-128), qp.Dequantize(127)
			var e float64
			for j, f := range r.Value(op.Out) {
				want := max(lo, min(hi, float64(f)))
				e = max(e, math.Abs(want-qp.Dequantize(net.Value(op.Out)[j]))/qp.Scale)
			}
			worst[op.Kind] = max(worst[op.Kind], e)
			if e > bounds[op.Kind]+1e-3 {
				t.Errorf("%s %s: int8 output departs by %.2f LSB (bound %.1f)", form, op.Name, e, bounds[op.Kind])
			}
		}
		t.Logf("%s: worst error per op kind in LSB: %v", form, worst)
		r.Close()
		net.Close()
	}
}

// TestInt8ThreadsAndFile checks that the int8 engine gives bit-identical
// tensors for any thread count, allocates nothing per inference, and that
// a saved int8 model loads (memory-mapped) and computes the same logits.
func TestInt8ThreadsAndFile(t *testing.T) {
	for _, v := range variants {
		m := v.tiny(t)
		cal := synthCal{n: 6, size: 64, ch: 3, seed: 9}
		qm, _, err := Quantize(context.Background(), m, cal, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		var ref *int8net.Net
		for _, threads := range []int{1, 2, 3, 5} {
			net := qm.NewNetKeepingTensors(threads)
			cal.Input(2, net.Input())
			net.Run()
			if ref == nil {
				ref = net
				continue
			}
			for ti := range qm.Program.Tensors[:len(qm.Program.Tensors)-1] {
				if !slices.Equal(net.Value(graph.TensorID(ti)), ref.Value(graph.TensorID(ti))) {
					t.Fatalf("%s: tensor %s differs with %d threads", v, qm.Program.Tensors[ti].Name, threads)
				}
			}
			if !slices.Equal(net.Run(), ref.Run()) {
				t.Fatalf("%s: logits differ with %d threads", v, threads)
			}
			net.Close()
		}
		want := slices.Clone(ref.Run())
		ref.Close()

		net := qm.NewNet(2)
		cal.Input(2, net.Input())
		if a := testing.AllocsPerRun(5, func() { net.Run() }); a != 0 {
			t.Errorf("%s: int8 Run allocated %v times", v, a)
		}
		net.Close()

		path := filepath.Join(t.TempDir(), "q.coatnet")
		if err := qm.Save(path); err != nil {
			t.Fatal(err)
		}
		loaded, err := model.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := loaded.(*int8net.Model); !ok || !loaded.File().Mapped() {
			t.Fatalf("%s: loaded %T, mapped %v", v, loaded, loaded.File().Mapped())
		}
		e, err := loaded.NewEngine(1)
		if err != nil {
			t.Fatal(err)
		}
		cal.Input(2, e.Input())
		if got := e.Run(); !slices.Equal(got, want) {
			t.Errorf("%s: the loaded model computes different logits", v)
		}
		e.Close()
		loaded.Close()
	}
}
