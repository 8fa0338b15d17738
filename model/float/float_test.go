package float

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/parallel"
	"github.com/coatnet-edge/coatnet-edge/internal/testing/tinyarch"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// naiveAttention is relative attention written straight from the formula,
// in float64, with the bias matrix B[n][i][j] = table[idx(i,j)][n] built
// explicitly from timm's index.
func naiveAttention(qkv []float32, tableTimm []float32, heads, d, side int, form arch.AttentionForm) []float64 {
	n := side * side
	span := 2*side - 1
	out := make([]float64, heads*d*n)
	for h := 0; h < heads; h++ {
		for i := 0; i < n; i++ {
			logits := make([]float64, n)
			for j := 0; j < n; j++ {
				var s float64
				for e := 0; e < d; e++ {
					s += float64(qkv[(h*3*d+e)*n+i]) * float64(qkv[(h*3*d+d+e)*n+j])
				}
				logits[j] = s
			}
			bias := make([]float64, n)
			for j := 0; j < n; j++ {
				yi, xi, yj, xj := i/side, i%side, j/side, j%side
				idx := (yi-yj+side-1)*span + (xi - xj + side - 1)
				bias[j] = float64(tableTimm[idx*heads+h])
			}
			if form == arch.PreSoftmax {
				for j := range logits {
					logits[j] += bias[j]
				}
			}
			mx := slices.Max(logits)
			var sum float64
			for j := range logits {
				logits[j] = math.Exp(logits[j] - mx)
				sum += logits[j]
			}
			for j := range logits {
				logits[j] /= sum
				if form == arch.PostSoftmax {
					logits[j] += bias[j]
				}
			}
			for e := 0; e < d; e++ {
				var acc float64
				for j := 0; j < n; j++ {
					acc += logits[j] * float64(qkv[(h*3*d+2*d+e)*n+j])
				}
				out[(h*d+e)*n+i] = acc
			}
		}
	}
	return out
}

// TestAttentionForms checks the attention kernel against the formula for
// both places the relative-position kernel can enter, on square maps of
// several sides, and that the two forms really differ.
func TestAttentionForms(t *testing.T) {
	pool := parallel.New(3)
	defer pool.Close()
	e := &workers{pool: pool}
	for _, side := range []int{1, 2, 3, 7} {
		for _, form := range []arch.AttentionForm{arch.PreSoftmax, arch.PostSoftmax} {
			heads, d := 3, 4
			n := side * side
			span := 2*side - 1
			qkv := make([]float32, heads*3*d*n)
			for i := range qkv {
				qkv[i] = float32(arch.SeededUniform(11, uint64(i)))
			}
			tableTimm := make([]float32, span*span*heads)
			for i := range tableTimm {
				tableTimm[i] = float32(2 * arch.SeededUniform(12, uint64(i)))
			}
			table := make([]float32, len(tableTimm))
			for o := 0; o < span*span; o++ {
				for h := 0; h < heads; h++ {
					table[h*span*span+o] = tableTimm[o*heads+h]
				}
			}
			keyOffset := make([]int, n)
			for j := range keyOffset {
				keyOffset[j] = (j/side)*span + j%side
			}
			a := attention{heads: heads, d: d, side: side, form: form, table: table, keyOffset: keyOffset,
				scores: [][]float32{make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)}}
			out := make([]float32, heads*d*n)
			a.run(e, qkv, out)
			want := naiveAttention(qkv, tableTimm, heads, d, side, form)
			for i := range want {
				if math.Abs(float64(out[i])-want[i]) > 1e-5*max(1, math.Abs(want[i])) {
					t.Fatalf("side %d %s: out[%d] = %v, want %v", side, form, i, out[i], want[i])
				}
			}
			if side > 1 {
				other := arch.PreSoftmax
				if form == arch.PreSoftmax {
					other = arch.PostSoftmax
				}
				if w2 := naiveAttention(qkv, tableTimm, heads, d, side, other); slices.Equal(w2, want) {
					t.Fatalf("side %d: both forms give the same output", side)
				}
			}
		}
	}
}

// TestThreadsGiveIdenticalResults runs the same network with several thread
// counts: the logits must be bit-identical.
func TestThreadsGiveIdenticalResults(t *testing.T) {
	archs := []string{"tiny", "coatnet_0_rw_224", "coatnet_0_224"}
	if testing.Short() {
		archs = archs[:1]
	}
	for _, name := range archs {
		var cfg arch.Config
		if name == "tiny" {
			cfg = tinyarch.Config(t)
		} else {
			var err error
			if cfg, err = arch.Arch(name); err != nil {
				t.Fatal(err)
			}
			cfg.ImgSize = 64
		}
		w := arch.SyntheticWeights(&cfg, 5)
		var first []float32
		for _, threads := range []int{1, 2, 3, 7} {
			net, err := New(cfg, w, threads)
			if err != nil {
				t.Fatal(err)
			}
			for i := range net.Input() {
				net.Input()[i] = float32(arch.SeededUniform(9, uint64(i)))
			}
			got := slices.Clone(net.Run())
			net.Close()
			if first == nil {
				first = got
			} else if !slices.Equal(got, first) {
				t.Fatalf("%s: logits with %d threads differ from 1 thread", name, threads)
			}
		}
	}
}

// TestRunDoesNotAllocate asserts the steady state of inference allocates
// nothing, for both attention forms.
func TestRunDoesNotAllocate(t *testing.T) {
	for _, form := range []arch.AttentionForm{arch.PreSoftmax, arch.PostSoftmax} {
		cfg := tinyarch.Config(t)
		cfg.Attention = form
		net, err := New(cfg, arch.SyntheticWeights(&cfg, 1), 2)
		if err != nil {
			t.Fatal(err)
		}
		net.Run()
		if a := testing.AllocsPerRun(5, func() { net.Run() }); a != 0 {
			t.Errorf("%s: Run allocated %v times per inference", form, a)
		}
		net.Close()
	}
}

// TestPostSoftmaxChangesOutput makes sure the form in the config reaches
// the attention: the same weights give different logits.
func TestPostSoftmaxChangesOutput(t *testing.T) {
	cfg := tinyarch.Config(t)
	w := arch.SyntheticWeights(&cfg, 3)
	var logits [2][]float32
	for i, form := range []arch.AttentionForm{arch.PreSoftmax, arch.PostSoftmax} {
		cfg.Attention = form
		net, err := New(cfg, w, 1)
		if err != nil {
			t.Fatal(err)
		}
		logits[i] = slices.Clone(net.Run())
		net.Close()
	}
	if slices.Equal(logits[0], logits[1]) {
		t.Fatal("pre- and post-softmax models give identical logits")
	}
}

// TestCheckWeightsReportsEverything removes, adds and reshapes tensors and
// expects every problem named in one error.
func TestCheckWeightsReportsEverything(t *testing.T) {
	cfg := tinyarch.Config(t)
	w := arch.SyntheticWeights(&cfg, 1)
	delete(w, "stem.conv1.weight")
	delete(w, "head.fc.bias")
	w["stages.9.blocks.0.extra"] = arch.Tensor{Shape: []int{2}, Data: []float32{1, 2}}
	w["norm.weight"] = arch.Tensor{Shape: []int{7}, Data: make([]float32, 7)}
	nan := w["norm.bias"]
	nan.Data = slices.Clone(nan.Data)
	nan.Data[3] = float32(math.NaN())
	w["norm.bias"] = nan
	err := arch.CheckWeights(&cfg, w)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"2 missing, 1 unexpected, 1 wrong shape, 1 not finite",
		"missing    stem.conv1.weight, want shape (8, 3, 3, 3)",
		"missing    head.fc.bias, want shape (10,)",
		"unexpected stages.9.blocks.0.extra (2,)",
		"wrong shape norm.weight: got (7,), want (128,)",
		"not finite  norm.bias[3] = NaN",
	} {
		if !contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := New(cfg, w, 1); err == nil {
		t.Error("New accepted mismatched weights")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
