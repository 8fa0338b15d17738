// Package quant turns a float model into an int8 one by post-training
// static quantization: it runs the model's graph in float32 over a
// calibration set, chooses each activation tensor's int8 scale by measured
// error, quantizes weights per output channel, folds zero points into
// int32 biases, encodes every rescaling as a fixed-point multiplier and
// shift, and precomputes the activation lookup tables and attention
// tables. The result is a int8net.Program that int8net.Net runs with the
// same integer arithmetic on every architecture.
package quant

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// sampleSize is how many values of each tensor calibration keeps: enough to
// rank candidate scales by error, small enough for large models.
const sampleSize = 1 << 17

// tensorStats accumulates what calibration sees of one tensor.
type tensorStats struct {
	lo, hi float64
	seen   int64
	sample []float32 // uniform reservoir sample of every value seen
	sums   []float64 // per channel, for the mean that bias correction uses
	pixels int64     // positions summed into sums
}

// channelMeans is the calibration mean of each channel.
func (st *tensorStats) channelMeans() []float64 {
	m := make([]float64, len(st.sums))
	for c, s := range st.sums {
		m[c] = s / float64(max(1, st.pixels))
	}
	return m
}

// Stats are the calibration statistics of every tensor of a graph.
type Stats struct {
	tensors []tensorStats
	rng     *rand.Rand
	Images  int
}

// NewStats prepares statistics for a graph's tensors.
func NewStats(g *graph.Graph) *Stats {
	s := &Stats{tensors: make([]tensorStats, len(g.Tensors)), rng: rand.New(rand.NewPCG(1, 2))}
	for i := range s.tensors {
		s.tensors[i].lo, s.tensors[i].hi = math.Inf(1), math.Inf(-1)
	}
	return s
}

// Observe adds the tensors of one forward pass of r.
func (s *Stats) Observe(r *graph.Runner) {
	for i := range s.tensors {
		st := &s.tensors[i]
		c := r.Graph().Tensors[i].Channels
		if st.sums == nil {
			st.sums = make([]float64, c)
		}
		vals := r.Value(graph.TensorID(i))
		for j, v := range vals {
			st.sums[j%c] += float64(v)
		}
		st.pixels += int64(len(vals) / c)
		for _, v := range vals {
			f := float64(v)
			st.lo, st.hi = min(st.lo, f), max(st.hi, f)
			st.seen++
			if len(st.sample) < sampleSize {
				st.sample = append(st.sample, v)
			} else if j := s.rng.Int64N(st.seen); j < sampleSize {
				st.sample[j] = v
			}
		}
	}
	s.Images++
}

// Candidate is one way of choosing a tensor's range and the error it gives
// on the calibration sample.
type Candidate struct {
	Method string
	int8net.QParams
	MSE float64
}

// qparams returns the affine int8 quantization covering [lo, hi] (widened
// to contain 0, which must be exact: padding and zero points rely on it).
// A symmetric one has zero point 0 and covers [-max|x|, max|x|].
func qparams(lo, hi float64, symmetric bool) int8net.QParams {
	lo, hi = min(lo, 0), max(hi, 0)
	if symmetric {
		a := max(-lo, hi)
		if a == 0 {
			a = 1
		}
		return int8net.QParams{Scale: a / 127}
	}
	if hi-lo == 0 {
		hi = 1
	}
	scale := (hi - lo) / 255
	zp := int32(math.Round(-128 - lo/scale))
	return int8net.QParams{Scale: scale, ZeroPoint: max(-128, min(127, zp))}
}

// sortedSample is a tensor's calibration sample in ascending order with
// prefix sums of the values and their squares. The values that quantize to
// one level form a run of it, found by binary search, and the run's squared
// error against the level follows from its sums: the error of a quantizer
// costs a few thousand operations instead of a pass over the sample.
type sortedSample struct {
	v      []float32
	s1, s2 []float64 // s1[i] = sum of v[:i], s2[i] = sum of v[:i] squared
}

func newSortedSample(sample []float32) *sortedSample {
	ss := &sortedSample{v: sortFloats(sample)}
	ss.s1 = make([]float64, len(ss.v)+1)
	ss.s2 = make([]float64, len(ss.v)+1)
	for i, v := range ss.v {
		f := float64(v)
		ss.s1[i+1] = ss.s1[i] + f
		ss.s2[i+1] = ss.s2[i] + float64(f*f) // float64(): no fused multiply-add, the same sums everywhere
	}
	return ss
}

// sortFloats returns the values in ascending order (-0 before +0), by an
// LSD radix sort on keys whose unsigned order is the floats' order: several
// times faster than a comparison sort on the 131,072 values of a sample.
func sortFloats(v []float32) []float32 {
	keys, tmp := make([]uint32, len(v)), make([]uint32, len(v))
	for i, f := range v {
		b := math.Float32bits(f)
		if b>>31 != 0 {
			keys[i] = ^b
		} else {
			keys[i] = b | 1<<31
		}
	}
	for shift := 0; shift < 32; shift += 8 {
		var count [257]int
		for _, k := range keys {
			count[(k>>shift)&255+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, k := range keys {
			d := (k >> shift) & 255
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	out := make([]float32, len(v))
	for i, k := range keys {
		if k>>31 != 0 {
			out[i] = math.Float32frombits(k &^ (1 << 31))
		} else {
			out[i] = math.Float32frombits(^k)
		}
	}
	return out
}

// percentile returns the value at fraction p of the sorted sample.
func (ss *sortedSample) percentile(p float64) float64 {
	if len(ss.v) == 0 {
		return 0
	}
	return float64(ss.v[int(math.Round(p*float64(len(ss.v)-1)))])
}

// mse is the mean squared quantization error of q on the sample:
// for each level k, sum (v - c)^2 = sum v^2 - 2c sum v + n c^2 over the
// values that quantize to k, c being k dequantized. The end of level k's
// run is found by binary search for the rounding edge (k - zp + 1/2)*scale
// and then settled with q.Quantize itself, so the runs are exactly the
// quantizer's.
func (ss *sortedSample) mse(q int8net.QParams) float64 {
	n := len(ss.v)
	if n == 0 {
		return 0
	}
	code := func(i int) int { return int(q.Quantize(float64(ss.v[i]))) }
	var e float64
	for lo, k := 0, code(0); lo < n; k++ {
		hi := n
		if k < 127 {
			edge := float64(float64(k)-float64(q.ZeroPoint)+0.5) * q.Scale
			hi = lo + sort.Search(n-lo, func(i int) bool { return float64(ss.v[lo+i]) >= edge })
			for hi > lo && code(hi-1) > k {
				hi--
			}
			for hi < n && code(hi) <= k {
				hi++
			}
		}
		if hi > lo {
			c := q.Dequantize(int8(k))
			sum, sq := ss.s1[hi]-ss.s1[lo], ss.s2[hi]-ss.s2[lo]
			e += float64(sq-float64(2*c*sum)) + float64(float64(hi-lo)*float64(c*c))
		}
		lo = hi
	}
	return max(e, 0) / float64(n)
}

// candidates lists the ranges considered for a tensor: its full min/max,
// two percentile clips and a search for the clip with the least squared
// error.
func (st *tensorStats) candidates(symmetric bool) []Candidate {
	ss := newSortedSample(st.sample)
	var out []Candidate
	add := func(method string, lo, hi float64) {
		q := qparams(lo, hi, symmetric)
		out = append(out, Candidate{Method: method, QParams: q, MSE: ss.mse(q)})
	}
	add("minmax", st.lo, st.hi)
	add("p99.99", ss.percentile(0.0001), ss.percentile(0.9999))
	add("p99.9", ss.percentile(0.001), ss.percentile(0.999))
	// Search shrinking clips of the full range.
	best := Candidate{MSE: math.Inf(1)}
	for i := 1; i <= 40; i++ {
		f := 1 - float64(i)*0.02
		q := qparams(st.lo*f, st.hi*f, symmetric)
		if e := ss.mse(q); e < best.MSE {
			best = Candidate{Method: "mse", QParams: q, MSE: e}
		}
	}
	if !math.IsInf(best.MSE, 1) {
		out = append(out, best)
	}
	return out
}

// choose returns the candidate with the least error (the first on ties).
func choose(cs []Candidate) Candidate {
	best := cs[0]
	for _, c := range cs[1:] {
		if c.MSE < best.MSE {
			best = c
		}
	}
	return best
}
