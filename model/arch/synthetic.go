package arch

import (
	"math"
	"strings"
)

// SeededUniform is element i of a reproducible uniform sequence in [-1, 1):
// splitmix64 of seed and i. It is the formula the timm conformance cases use
// to describe weights and inputs without shipping them.
func SeededUniform(seed, i uint64) float64 {
	z := seed + (i+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return float64(z>>11)*0x1p-53*2 - 1
}

// SyntheticWeights returns plausible random weights for cfg, following the
// conventions of the conformance cases: weights uniform with variance
// 1/fan_in, norm gains 1 +- 0.3, biases +- 0.1, BatchNorm variances in
// [0.5, 1.5). They keep activations in a realistic range, which is what
// benchmarks and quantization tests need when no checkpoint is at hand.
func SyntheticWeights(cfg *Config, seed uint64) map[string]Tensor {
	out := make(map[string]Tensor)
	for i, p := range cfg.Params() {
		var offset, scale float64
		last := p.Name[strings.LastIndexByte(p.Name, '.')+1:]
		switch {
		case last == "running_var":
			offset, scale = 1, 0.5
		case last == "running_mean":
			scale = 0.2
		case last == "gamma":
			offset, scale = 0.5, 0.3
		case last == "bias":
			scale = 0.1
		case strings.HasSuffix(p.Name, "relative_position_bias_table"):
			scale = 0.5
		case len(p.Shape) == 1: // norm weights
			offset, scale = 1, 0.3
		default:
			fanIn := Numel(p.Shape) / p.Shape[0]
			scale = math.Sqrt(3 / float64(fanIn))
		}
		data := make([]float32, Numel(p.Shape))
		s := seed ^ uint64(i+1)*0xD1B54A32D192ED03
		for j := range data {
			data[j] = float32(offset + float64(scale*SeededUniform(s, uint64(j)))) // unfused on every GOARCH
		}
		out[p.Name] = Tensor{Shape: p.Shape, Data: data}
	}
	return out
}
