package float

import (
	"math"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
)

// The float32 kernels of the reference forward pass. Activations are NCHW
// with batch 1: a [C][H*W] row-major slice. Every kernel is a parallel.Job
// whose tasks write disjoint outputs with a fixed summation order, so the
// result does not depend on the thread count.

// Activation is applied elementwise after a kernel.
type Activation uint8

const (
	actNone Activation = iota
	actSiLU
	actGELU
	actReLU
	actTanh
	actSigmoid
)

func ActivationByName(name string) Activation {
	switch name {
	case "silu":
		return actSiLU
	case "gelu":
		return actGELU
	case "relu":
		return actReLU
	case "tanh":
		return actTanh
	case "sigmoid":
		return actSigmoid
	}
	panic("model: unknown activation " + name) // Config.Validate rejects others
}

// Apply computes the activation in float64 where the function needs it
// (exp, erf), so the float engine tracks PyTorch to well under 1e-6.
func (a Activation) Apply(v []float32) {
	switch a {
	case actSiLU:
		for i, x := range v {
			v[i] = float32(float64(x) / (1 + math.Exp(-float64(x))))
		}
	case actGELU:
		for i, x := range v {
			v[i] = float32(0.5 * float64(x) * (1 + math.Erf(float64(x)*math.Sqrt2/2)))
		}
	case actReLU:
		for i, x := range v {
			v[i] = max(x, 0)
		}
	case actTanh:
		for i, x := range v {
			v[i] = float32(math.Tanh(float64(x)))
		}
	case actSigmoid:
		for i, x := range v {
			v[i] = float32(1 / (1 + math.Exp(-float64(x))))
		}
	}
}

// gemmTile computes rows [m0, m1) and columns [0, width) of
// out = W x + bias (or out += W x + bias when accumulate), then the
// activation. W is M x K row-major; x row k starts at x[k*ldx]; out row m at
// out[m*ldo]. Four output rows share each load of x.
func gemmTile(w []float32, k int, bias []float32, x []float32, ldx int, out []float32, ldo int, m0, m1, width int, accumulate bool, act Activation) {
	for m := m0; m < m1; m++ {
		o := out[m*ldo : m*ldo+width]
		var b float32
		if bias != nil {
			b = bias[m]
		}
		if accumulate {
			if b != 0 {
				for j := range o {
					o[j] += b
				}
			}
		} else {
			for j := range o {
				o[j] = b
			}
		}
	}
	m := m0
	for ; m+4 <= m1; m += 4 {
		o0 := out[m*ldo : m*ldo+width]
		o1 := out[(m+1)*ldo : (m+1)*ldo+width]
		o2 := out[(m+2)*ldo : (m+2)*ldo+width]
		o3 := out[(m+3)*ldo : (m+3)*ldo+width]
		w0 := w[m*k : m*k+k]
		w1 := w[(m+1)*k : (m+1)*k+k]
		w2 := w[(m+2)*k : (m+2)*k+k]
		w3 := w[(m+3)*k : (m+3)*k+k]
		for kk := 0; kk < k; kk++ {
			xr := x[kk*ldx : kk*ldx+width]
			a0, a1, a2, a3 := w0[kk], w1[kk], w2[kk], w3[kk]
			o0, o1, o2, o3 := o0[:len(xr)], o1[:len(xr)], o2[:len(xr)], o3[:len(xr)]
			for j, xv := range xr {
				o0[j] += a0 * xv
				o1[j] += a1 * xv
				o2[j] += a2 * xv
				o3[j] += a3 * xv
			}
		}
	}
	for ; m < m1; m++ {
		o := out[m*ldo : m*ldo+width]
		wr := w[m*k : m*k+k]
		for kk := 0; kk < k; kk++ {
			xr := x[kk*ldx : kk*ldx+width]
			a := wr[kk]
			o := o[:len(xr)]
			for j, xv := range xr {
				o[j] += a * xv
			}
		}
	}
	if act != actNone {
		for m := m0; m < m1; m++ {
			act.Apply(out[m*ldo : m*ldo+width])
		}
	}
}

// Tile sizes: a strip of gemmCols columns of four output rows and one input
// row stays in L1.
const (
	gemmRows = 32
	gemmCols = 256
)

// conv1x1 is a 1x1 convolution (a GEMM): out[M][N] = W[M][K] x[K][N] + bias.
type conv1x1 struct {
	w, bias []float32
	m, k    int
	act     Activation
	// Set per call.
	x, out     []float32
	n          int
	accumulate bool
	tilesN     int
}

func (c *conv1x1) Do(_, lo, hi int) {
	for t := lo; t < hi; t++ {
		mi, ni := t/c.tilesN, t%c.tilesN
		m0, n0 := mi*gemmRows, ni*gemmCols
		m1, n1 := min(m0+gemmRows, c.m), min(n0+gemmCols, c.n)
		gemmTile(c.w, c.k, c.bias, c.x[n0:], c.n, c.out[n0:], c.n, m0, m1, n1-n0, c.accumulate, c.act)
	}
}

func (c *conv1x1) run(e *workers, x, out []float32, n int, accumulate bool) {
	c.x, c.out, c.n, c.accumulate = x[:c.k*n], out[:c.m*n], n, accumulate
	c.tilesN = (n + gemmCols - 1) / gemmCols
	tilesM := (c.m + gemmRows - 1) / gemmRows
	e.pool.Run(c, tilesM*c.tilesN, 1)
}

// conv3x3 is a dense 3x3 convolution with padding 1 (the stem). Each task
// gathers a strip of output pixels into per-worker im2col scratch and
// multiplies it with all filters.
type conv3x3 struct {
	w, bias      []float32 // M x (Cin*9)
	m, cin       int
	stride       int
	act          Activation
	inSide       int
	outSide      int
	x, out       []float32
	cols         [][]float32 // per worker: (Cin*9) x conv3x3Cols
	tasks, nOuts int
}

const conv3x3Cols = 128

func (c *conv3x3) Do(worker, lo, hi int) {
	k := c.cin * 9
	col := c.cols[worker][:k*conv3x3Cols]
	h, wd := c.inSide, c.inSide
	for t := lo; t < hi; t++ {
		p0 := t * conv3x3Cols
		p1 := min(p0+conv3x3Cols, c.nOuts)
		width := p1 - p0
		for ci := 0; ci < c.cin; ci++ {
			src := c.x[ci*h*wd : (ci+1)*h*wd]
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					row := col[(ci*9+ky*3+kx)*width : (ci*9+ky*3+kx+1)*width]
					for j := range row {
						p := p0 + j
						oy, ox := p/c.outSide, p%c.outSide
						iy, ix := oy*c.stride+ky-1, ox*c.stride+kx-1
						if iy < 0 || iy >= h || ix < 0 || ix >= wd {
							row[j] = 0
						} else {
							row[j] = src[iy*wd+ix]
						}
					}
				}
			}
		}
		gemmTile(c.w, k, c.bias, col, width, c.out[p0:], c.nOuts, 0, c.m, width, false, c.act)
	}
}

func (c *conv3x3) run(e *workers, x, out []float32) {
	c.x, c.out = x, out
	c.nOuts = c.outSide * c.outSide
	c.tasks = (c.nOuts + conv3x3Cols - 1) / conv3x3Cols
	e.pool.Run(c, c.tasks, 1)
}

// depthwise is a 3x3 depthwise convolution, padding 1, stride 1 or 2, with
// an optional bias and activation.
type depthwise struct {
	w, bias         []float32 // C x 9
	stride          int
	act             Activation
	inSide, outSide int
	x, out          []float32
}

func (d *depthwise) Do(_, lo, hi int) {
	in, on := d.inSide*d.inSide, d.outSide*d.outSide
	for c := lo; c < hi; c++ {
		src := d.x[c*in : (c+1)*in]
		dst := d.out[c*on : (c+1)*on]
		k := d.w[c*9 : c*9+9]
		var b float32
		if d.bias != nil {
			b = d.bias[c]
		}
		s := d.inSide
		for oy := 0; oy < d.outSide; oy++ {
			for ox := 0; ox < d.outSide; ox++ {
				iy0, ix0 := oy*d.stride-1, ox*d.stride-1
				var acc float32
				for ky := 0; ky < 3; ky++ {
					iy := iy0 + ky
					if iy < 0 || iy >= s {
						continue
					}
					row := src[iy*s : iy*s+s]
					for kx := 0; kx < 3; kx++ {
						ix := ix0 + kx
						if ix < 0 || ix >= s {
							continue
						}
						acc += k[ky*3+kx] * row[ix]
					}
				}
				dst[oy*d.outSide+ox] = acc + b
			}
		}
		d.act.Apply(dst)
	}
}

func (d *depthwise) run(e *workers, channels int, x, out []float32) {
	d.x, d.out = x, out
	e.pool.Run(d, channels, 4)
}

// affine is a per-channel y = x*scale + shift followed by an activation: an
// inference BatchNorm that could not be folded into a convolution.
type affine struct {
	scale, shift []float32
	act          Activation
	x, out       []float32
	n            int
}

func (a *affine) Do(_, lo, hi int) {
	for c := lo; c < hi; c++ {
		src, dst := a.x[c*a.n:(c+1)*a.n], a.out[c*a.n:(c+1)*a.n]
		s, t := a.scale[c], a.shift[c]
		for i, v := range src {
			dst[i] = v*s + t
		}
		a.act.Apply(dst)
	}
}

func (a *affine) run(e *workers, x, out []float32, n int) {
	a.x, a.out, a.n = x, out, n
	e.pool.Run(a, len(a.scale), 8)
}

// layerNorm normalises over channels at every pixel (timm's LayerNorm2d).
type layerNorm struct {
	weight, bias []float32
	eps          float64
	c, n         int
	x, out       []float32
}

const layerNormCols = 64

func (l *layerNorm) Do(_, lo, hi int) {
	var mean, rstd [layerNormCols]float64
	for t := lo; t < hi; t++ {
		p0 := t * layerNormCols
		p1 := min(p0+layerNormCols, l.n)
		w := p1 - p0
		for j := range w {
			mean[j] = 0
		}
		for c := 0; c < l.c; c++ {
			row := l.x[c*l.n+p0 : c*l.n+p1]
			for j, v := range row {
				mean[j] += float64(v)
			}
		}
		for j := range w {
			mean[j] /= float64(l.c)
			rstd[j] = 0
		}
		for c := 0; c < l.c; c++ {
			row := l.x[c*l.n+p0 : c*l.n+p1]
			for j, v := range row {
				d := float64(v) - mean[j]
				rstd[j] += d * d
			}
		}
		for j := range w {
			rstd[j] = 1 / math.Sqrt(rstd[j]/float64(l.c)+l.eps)
		}
		for c := 0; c < l.c; c++ {
			src := l.x[c*l.n+p0 : c*l.n+p1]
			dst := l.out[c*l.n+p0 : c*l.n+p1]
			g, b := float64(l.weight[c]), float64(l.bias[c])
			for j, v := range src {
				dst[j] = float32((float64(v)-mean[j])*rstd[j]*g + b)
			}
		}
	}
}

func (l *layerNorm) run(e *workers, x, out []float32, n int) {
	l.x, l.out, l.n = x, out, n
	e.pool.Run(l, (n+layerNormCols-1)/layerNormCols, 1)
}

// pool2d downsamples each channel by 2: "avg2" (2x2 mean) or "max" (3x3
// window, stride 2, padding 1), or keeps every second pixel ("sub", a
// strided 1x1 convolution's input).
type pool2d struct {
	kind            string
	inSide, outSide int
	x, out          []float32
}

func (p *pool2d) Do(_, lo, hi int) {
	s, o := p.inSide, p.outSide
	for c := lo; c < hi; c++ {
		src, dst := p.x[c*s*s:(c+1)*s*s], p.out[c*o*o:(c+1)*o*o]
		for oy := 0; oy < o; oy++ {
			for ox := 0; ox < o; ox++ {
				var v float32
				switch p.kind {
				case "avg2":
					i := 2*oy*s + 2*ox
					v = (src[i] + src[i+1] + src[i+s] + src[i+s+1]) * 0.25
				case "sub":
					v = src[2*oy*s+2*ox]
				default: // max 3x3/2 pad 1
					v = float32(math.Inf(-1))
					for iy := 2*oy - 1; iy <= 2*oy+1; iy++ {
						for ix := 2*ox - 1; ix <= 2*ox+1; ix++ {
							if iy >= 0 && iy < s && ix >= 0 && ix < s {
								v = max(v, src[iy*s+ix])
							}
						}
					}
				}
				dst[oy*o+ox] = v
			}
		}
	}
}

func (p *pool2d) run(e *workers, channels int, x, out []float32) {
	p.x, p.out = x, out
	e.pool.Run(p, channels, 4)
}

// channelReduce reduces each channel over its pixels with of: MeanOf
// (squeeze-excite, the head's average pool) or MaxOf (global_pool max).
type channelReduce struct {
	of     func(x []float32, n, stride int) float32
	x, out []float32
	n      int
}

func (m *channelReduce) Do(_, lo, hi int) {
	for c := lo; c < hi; c++ {
		m.out[c] = m.of(m.x[c*m.n:], m.n, 1)
	}
}

func (m *channelReduce) run(e *workers, channels int, x, out []float32, n int) {
	m.x, m.out, m.n = x, out, n
	e.pool.Run(m, channels, 16)
}

// MeanOf is the average of x[0], x[stride], ... x[(n-1)*stride], summed in
// float64 in that order: one channel's mean for the float engine (CHW,
// stride 1) and the graph runner (NHWC, stride C) alike.
func MeanOf(x []float32, n, stride int) float32 {
	var s float64
	for p := 0; p < n; p++ {
		s += float64(x[p*stride])
	}
	return float32(s / float64(n))
}

// MaxOf is the largest of x[0], x[stride], ... x[(n-1)*stride]: one
// channel's maximum for the float engine (CHW, stride 1) and the graph
// runner (NHWC, stride C) alike. n must be at least 1.
func MaxOf(x []float32, n, stride int) float32 {
	m := x[0]
	for p := 1; p < n; p++ {
		m = max(m, x[p*stride])
	}
	return m
}

// channelScale multiplies each channel by a gate (squeeze-excite).
type channelScale struct {
	gate, x []float32
	n       int
}

func (s *channelScale) Do(_, lo, hi int) {
	for c := lo; c < hi; c++ {
		g := s.gate[c]
		row := s.x[c*s.n : (c+1)*s.n]
		for i := range row {
			row[i] *= g
		}
	}
}

// Dense computes out = W x + b for a vector x (SE and head layers).
func Dense(w, b, x, out []float32, m, k int) {
	for i := 0; i < m; i++ {
		row := w[i*k : i*k+k]
		var acc float32
		for j, v := range row {
			acc += v * x[j]
		}
		if b != nil {
			acc += b[i]
		}
		out[i] = acc
	}
}

// Softmax normalises a row in place (exp in float64).
func Softmax(row []float32) {
	mx := row[0]
	for _, x := range row {
		mx = max(mx, x)
	}
	var sum float64
	for j, x := range row {
		ex := math.Exp(float64(x - mx))
		row[j] = float32(ex)
		sum += ex
	}
	inv := 1 / sum
	for j := range row {
		row[j] = float32(float64(row[j]) * inv)
	}
}

// attention is multi-head relative attention over n positions of a side x
// side map. qkv holds, per head h, rows [h*3d, h*3d+d) of queries (already
// scaled by d^-0.5), then d rows of keys, then d rows of values. The
// relative-position bias of head h for query i and key j is
// table[h][base(i) - off(j)]: a gather from the (2side-1)^2 table, so no
// heads x n x n bias is ever stored.
type attention struct {
	heads, d  int
	side      int
	form      arch.AttentionForm
	table     []float32 // heads x (2side-1)^2, transposed from timm's layout
	keyOffset []int     // off(j) = yj*(2side-1) + xj
	qkv, out  []float32 // out: heads*d x n
	scores    [][]float32
}

// RelPosBase and RelPosOffset index a relative-position table of a side x
// side map, (2side-1)^2 entries per head in timm's (query - key) order:
// query i's bias for key j is table[relPosBase(i, side)-relPosOffset(j, side)].
func RelPosBase(i, side int) int { return (i/side+side-1)*(2*side-1) + i%side + side - 1 }

func RelPosOffset(j, side int) int { return (j/side)*(2*side-1) + j%side }

func (a *attention) Do(worker, lo, hi int) {
	n := a.side * a.side
	span := 2*a.side - 1
	tlen := span * span
	s := a.scores[worker][:n*n]
	for h := lo; h < hi; h++ {
		q := a.qkv[h*3*a.d*n : (h*3*a.d+a.d)*n]
		k := a.qkv[(h*3*a.d+a.d)*n : (h*3*a.d+2*a.d)*n]
		v := a.qkv[(h*3*a.d+2*a.d)*n : (h*3*a.d+3*a.d)*n]
		tab := a.table[h*tlen : (h+1)*tlen]
		for i := 0; i < n; i++ {
			row := s[i*n : i*n+n]
			for j := range row {
				row[j] = 0
			}
			for e := 0; e < a.d; e++ {
				qe := q[e*n+i]
				kr := k[e*n : e*n+n]
				for j, kv := range kr {
					row[j] += qe * kv
				}
			}
			base := RelPosBase(i, a.side)
			if a.form == arch.PreSoftmax {
				for j := range row {
					row[j] += tab[base-a.keyOffset[j]]
				}
			}
			Softmax(row)
			if a.form == arch.PostSoftmax {
				for j := range row {
					row[j] += tab[base-a.keyOffset[j]]
				}
			}
		}
		o := a.out[h*a.d*n : (h+1)*a.d*n]
		for e := 0; e < a.d; e++ {
			vr := v[e*n : e*n+n]
			for i := 0; i < n; i++ {
				p := s[i*n : i*n+n]
				var acc float32
				for j, pv := range p {
					acc += pv * vr[j]
				}
				o[e*n+i] = acc
			}
		}
	}
}

func (a *attention) run(e *workers, qkv, out []float32) {
	a.qkv, a.out = qkv, out
	e.pool.Run(a, a.heads, 1)
}
