package quant

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// directMSE is the definition: the mean over the sample of the squared
// difference between each value and its quantized value.
func directMSE(q int8net.QParams, sample []float32) float64 {
	var e float64
	for _, v := range sample {
		d := float64(v) - q.Dequantize(q.Quantize(float64(v)))
		e += d * d
	}
	return e / float64(max(1, len(sample)))
}

// TestSortedSampleMSE checks the per-level error sums against the direct
// per-value sum on samples with outliers, ties, values on rounding edges,
// one sign only and nothing at all, for affine and symmetric quantizers
// that clip and that do not. The two sum in different orders: they agree
// to within 1e-9 of the sample's mean square.
func TestSortedSampleMSE(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	samples := map[string][]float32{"empty": nil, "zeros": make([]float32, 100)}
	normal := make([]float32, 50000)
	for i := range normal {
		normal[i] = float32(rng.NormFloat64())
	}
	normal[7], normal[9] = 40, -25
	samples["normal with outliers"] = normal
	relu := make([]float32, 20000)
	for i := range relu {
		relu[i] = float32(max(0, rng.NormFloat64()*3))
	}
	samples["relu"] = relu
	edges := make([]float32, 0, 3000)
	for k := -1000; k < 1000; k++ {
		edges = append(edges, float32(k)*0.05+0.025, float32(k)*0.05) // halfway points of scale 0.05
	}
	samples["rounding edges"] = edges
	for name, sample := range samples {
		st := tensorStats{sample: sample, lo: math.Inf(1), hi: math.Inf(-1)}
		var power float64
		for _, v := range sample {
			st.lo, st.hi = min(st.lo, float64(v)), max(st.hi, float64(v))
			power += float64(v) * float64(v)
		}
		if len(sample) == 0 {
			st.lo, st.hi = 0, 0
		}
		power /= float64(max(1, len(sample)))
		ss := newSortedSample(sample)
		for _, sym := range []bool{false, true} {
			for _, f := range []float64{1, 0.9, 0.5, 0.1, 0.02} {
				for _, q := range []int8net.QParams{qparams(st.lo*f, st.hi*f, sym), {Scale: 0.05}, {Scale: 0.05, ZeroPoint: -30}} {
					got, want := ss.mse(q), directMSE(q, sample)
					if math.Abs(got-want) > 1e-9*max(power, 1e-30) {
						t.Errorf("%s, %+v: per-level MSE %.17g, direct %.17g", name, q, got, want)
					}
				}
			}
		}
	}
}

// TestSortFloats compares the radix sort with slices.Sort on values of
// every sign and magnitude, ties, zeros of both signs and infinities.
func TestSortFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 255, 256, 257, 10000} {
		v := make([]float32, n)
		for i := range v {
			switch rng.IntN(6) {
			case 0:
				v[i] = float32(rng.NormFloat64() * 1e-30)
			case 1:
				v[i] = float32(rng.IntN(5) - 2)
			case 2:
				v[i] = float32(math.Copysign(0, -1))
			case 3:
				v[i] = float32(math.Inf(rng.IntN(2)*2 - 1))
			default:
				v[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10)))
			}
		}
		want := slices.Clone(v)
		slices.Sort(want)
		got := sortFloats(v)
		if !slices.Equal(got, want) { // == treats -0 and +0 alike, as slices.Sort orders them arbitrarily
			t.Fatalf("n=%d: radix sort differs from slices.Sort", n)
		}
		if !slices.IsSorted(got) {
			t.Fatalf("n=%d: not sorted", n)
		}
	}
}
