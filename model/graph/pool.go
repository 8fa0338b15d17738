package graph

import "math"

// OpPool in the float graph runner: downsampling by 2 of an NHWC tensor,
// op.Pool "avg2" (2x2 mean), "sub" (every second pixel) or "max" (3x3
// window, stride 2, padding 1). A task is one output pixel.
func init() {
	registerGraphOp(OpPool, graphOp{split: splitPixels, run: runGraphPool})
}

func runGraphPool(r *Runner, _ int, op *Op, lo, hi int) {
	out, in := r.vals[op.Out], r.vals[op.In[0]]
	ot, it := &r.g.Tensors[op.Out], &r.g.Tensors[op.In[0]]
	c := ot.Channels
	for p := lo; p < hi; p++ {
		oy, ox := p/ot.Side, p%ot.Side
		o := out[p*c : p*c+c]
		at := func(y, x int) []float32 { return in[(y*it.Side+x)*c : (y*it.Side+x)*c+c] }
		switch op.Pool {
		case "avg2":
			a, b, d, e := at(2*oy, 2*ox), at(2*oy, 2*ox+1), at(2*oy+1, 2*ox), at(2*oy+1, 2*ox+1)
			for ch := range o {
				o[ch] = (a[ch] + b[ch] + d[ch] + e[ch]) * 0.25
			}
		case "sub":
			copy(o, at(2*oy, 2*ox))
		default:
			for ch := range o {
				o[ch] = float32(math.Inf(-1))
			}
			for y := 2*oy - 1; y <= 2*oy+1; y++ {
				for x := 2*ox - 1; x <= 2*ox+1; x++ {
					if y >= 0 && y < it.Side && x >= 0 && x < it.Side {
						for ch, v := range at(y, x) {
							o[ch] = max(o[ch], v)
						}
					}
				}
			}
		}
	}
}
