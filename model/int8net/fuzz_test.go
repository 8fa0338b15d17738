package int8net

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// fuzzBases are the programs FuzzInt8Program edits: the shipped demo
// models (both attention forms), the same at 32x32 (a quarter of the
// work, so more executions a second), and the one-attention model over
// 32x32 tokens.
var fuzzBases = sync.OnceValue(func() []*Model {
	post, err := Load("../../models/fmnist-post-int8.coatnet")
	if err != nil {
		panic(err)
	}
	pre := shippedInt8Model()
	return []*Model{pre, post, halved(pre), halved(post), attentionModel(32)} // kept open for the process
})

// fuzzFiles are the bases as their files store them.
var fuzzFiles = sync.OnceValue(func() (out []struct {
	desc    *File
	tensors []modelfile.Tensor
}) {
	for _, b := range fuzzBases() {
		d, ts := b.EncodeFile()
		out = append(out, struct {
			desc    *File
			tensors []modelfile.Tensor
		}{d, ts})
	}
	return out
})

// halved is m's program for pictures of half the side: every tensor's
// side halved (a vector stays one pixel), arrays whose length changes
// (the attention tables) left to fuzzArrays.
func halved(m *Model) *Model {
	h := *m
	h.Config.ImgSize /= 2
	h.Preprocess.Size /= 2
	h.Program = cloneProgram(&m.Program)
	for i := range h.Program.Tensors {
		t := &h.Program.Tensors[i]
		t.Side = max(1, t.Side/2)
	}
	return &h
}

// cloneProgram is a copy whose tensors can change; the operations'
// parameters are shared.
func cloneProgram(p *Program) Program {
	return Program{Tensors: slices.Clone(p.Tensors), Ops: slices.Clone(p.Ops)}
}

// fuzzBudget keeps each fuzzed engine small: the limits of limits.go
// admit engines of gigabytes, which a fuzzing machine cannot build by the
// thousand.
const (
	fuzzBudgetBytes = 64 << 20
	fuzzBudgetMACs  = 8_000_000
)

// FuzzInt8Program edits a valid program as its file stores it with fuzzed
// bytes (shapes, references, kinds, parameters; operations deleted or
// swapped; array lengths off by one), gives it arrays of the lengths its
// shapes want (the base's where they fit, random ones otherwise), and
// checks it: decoding and NewModel must return an error or a model,
// never panic; a model
// within the fuzz budget must build an engine and run one inference to
// logits of the right length, bit-exact on 1 and 2 threads. A validated
// program must never reach a kernel's panic.
func FuzzInt8Program(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{1})
	f.Add([]byte{2})
	f.Add([]byte{3})
	f.Add([]byte{4})
	f.Add([]byte{4, 0, 4, 16, 0})        // a tensor's side
	f.Add([]byte{4, 10, 4, 2, 0})        // attention heads
	f.Add([]byte{0, 14, 30, 0xF0, 0})    // a shift
	f.Add([]byte{0, 18, 20, 0, 0})       // an op deleted
	f.Add([]byte{2, 17, 46, 0xFF, 0x7F}) // a LayerNorm epsilon of +Inf
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		bases := fuzzFiles()
		base := bases[int(data[0])%len(bases)]
		fb, baseTensors := base.desc, base.tensors
		fd := *fb
		fd.Program = cloneFileProgram(&fb.Program)
		p := &fd.Program
		r := rand.New(rand.NewPCG(uint64(len(data)), 7))
		skew := map[string]int{} // array name -> length change
		for e := data[1:]; len(e) >= 4; e = e[4:] {
			applyEdit(p, skew, e[0], int(e[1]), int16(uint16(e[2])|uint16(e[3])<<8))
		}
		arrays := fuzzArrays(baseTensors, p, skew, r)
		unedited := len(data) < 5
		md, err := fd.decode(func(name string) (modelfile.Tensor, bool) { t, ok := arrays[name]; return t, ok })
		var m *Model
		if err == nil {
			m, err = NewModel(md)
		}
		if err != nil {
			if unedited {
				t.Fatalf("a base program is refused: %v", err)
			}
			return
		}
		if need := m.Need(); need.Bytes(2) > fuzzBudgetBytes || need.MACs > fuzzBudgetMACs {
			return // the shipped models at 64x64 too: their halves run
		}
		var first []float32
		for _, threads := range []int{1, 2} {
			e, err := m.NewEngine(threads)
			if err != nil {
				t.Fatalf("a model within the limits: NewEngine(%d): %v", threads, err)
			}
			in := e.Input()
			for i := range in {
				in[i] = float32(arch.SeededUniform(11, uint64(i)) * 3)
			}
			logits := e.Run()
			e.Close()
			if len(logits) != md.Config.NumClasses {
				t.Fatalf("%d logits for %d classes", len(logits), md.Config.NumClasses)
			}
			if first == nil {
				first = slices.Clone(logits)
			} else if !slices.EqualFunc(first, logits, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
				t.Fatalf("logits on 2 threads %v differ from 1 thread %v", logits, first)
			}
		}
	})
}

// cloneFileProgram is a deep copy, so edits leave the base alone.
func cloneFileProgram(p *FileProgram) FileProgram {
	c := FileProgram{Tensors: slices.Clone(p.Tensors), Ops: slices.Clone(p.Ops)}
	for i := range c.Ops {
		op := &c.Ops[i]
		op.In = slices.Clone(op.In)
		if op.Add != nil {
			a := *op.Add
			op.Add = &a
		}
		if op.Softmax != nil {
			s := *op.Softmax
			op.Softmax = &s
		}
	}
	return c
}

var fuzzKinds = graph.OpKinds()

// applyEdit changes one field of the program: which is field (mod the
// number of edits), whose is index (an op or a tensor), to what is v.
func applyEdit(p *FileProgram, skew map[string]int, field byte, index int, v int16) {
	if len(p.Ops) == 0 || len(p.Tensors) == 0 {
		return
	}
	t := &p.Tensors[index%len(p.Tensors)]
	op := &p.Ops[index%len(p.Ops)]
	iv := int(v)
	switch field % 24 {
	case 0:
		t.Side = iv
	case 1:
		t.Channels = iv
	case 2:
		t.ZeroPoint = int32(iv)
	case 3:
		t.Scale = math.Ldexp(1, iv%40)
	case 4:
		if len(op.In) > 0 {
			op.In[iv&3%len(op.In)] = graph.TensorID(iv >> 2)
		}
	case 5:
		op.Out = graph.TensorID(iv)
	case 6:
		op.Kind = fuzzKinds[uint(iv)%uint(len(fuzzKinds))]
	case 7:
		op.Kernel = iv
	case 8:
		op.Stride = iv
	case 9:
		op.Pool = []string{"avg2", "max", "sub", ""}[iv&3]
	case 10:
		op.Heads = iv
	case 11:
		op.DimHead = iv
	case 12:
		op.Form = []arch.AttentionForm{arch.PreSoftmax, arch.PostSoftmax, ""}[uint(iv)%3]
	case 13:
		op.Mult = int32(iv)<<16 | int32(uint16(v))
	case 14:
		op.Shift = int32(iv)
	case 15:
		if op.Add == nil {
			op.Add = &FileAdd{}
		}
		fs := []*int32{&op.Add.ZeroA, &op.Add.ZeroB, &op.Add.ZeroOut, &op.Add.MultA, &op.Add.ShiftA,
			&op.Add.MultB, &op.Add.ShiftB, &op.Add.MultOut, &op.Add.ShiftOut}
		*fs[index%len(fs)] = int32(iv) << (uint(index) % 17)
	case 16:
		if op.Softmax == nil {
			op.Softmax = &FileSoftmax{Q: 255}
		}
		fs := []*int32{&op.Softmax.ExpMult, &op.Softmax.ExpShift, &op.Softmax.Q, &op.Softmax.ZeroPoint}
		*fs[index%len(fs)] = int32(iv) << (uint(index) % 17)
	case 17:
		op.Eps = math.Ldexp(float64(iv), iv%64-32)
		if v == math.MaxInt16 {
			op.Eps = math.Inf(1)
		}
	case 18:
		i := index % len(p.Ops)
		p.Ops = slices.Delete(p.Ops, i, i+1)
	case 19:
		i, j := index%len(p.Ops), int(uint16(v))%len(p.Ops)
		p.Ops[i], p.Ops[j] = p.Ops[j], p.Ops[i]
	case 20:
		if n := int(uint16(v)) % 4; n <= len(op.In) {
			op.In = op.In[:n]
		} else {
			for len(op.In) < n {
				op.In = append(op.In, op.In[len(op.In)-1])
			}
		}
	case 21:
		skew[op.Name+"/"+[]string{"weight", "bias", "mult", "shift", "lut", "relpos", "scale"}[uint(iv)%7]] = iv%3 - 1
	case 22:
		p.Tensors = append(p.Tensors, *t)
		p.Ops[int(uint16(v))%len(p.Ops)].Out = graph.TensorID(len(p.Tensors) - 1)
	case 23:
		op.Act = []string{"silu", "gelu", "relu", "sigmoid", "tanh", ""}[uint(iv)%6]
	}
}

// fuzzArrays gives every op the arrays its kind reads, of the lengths its
// shapes want (plus the skew): the base's array of that name where its
// length fits, else random values in the ranges the quantizer writes.
func fuzzArrays(baseTensors []modelfile.Tensor, p *FileProgram, skew map[string]int, r *rand.Rand) map[string]modelfile.Tensor {
	base := map[string]modelfile.Tensor{}
	for _, t := range baseTensors {
		base[t.Name] = t
	}
	arrays := map[string]modelfile.Tensor{}
	size := func(t graph.TensorID, f func(*QTensor) int) int {
		if t < 0 || int(t) >= len(p.Tensors) {
			return 0
		}
		return f(&p.Tensors[t])
	}
	chans := func(t *QTensor) int { return t.Channels }
	for _, op := range p.Ops {
		if len(op.In) == 0 {
			continue
		}
		c, ic := size(op.Out, chans), size(op.In[0], chans)
		lens := map[string]int{"bias": c, "mult": c, "shift": c, "lut": 256, "scale": c}
		switch op.Kind {
		case graph.OpConv:
			lens["weight"] = c * op.Kernel * op.Kernel * ic
		case graph.OpDepthwise:
			lens["weight"] = 9 * c
		case graph.OpAffine:
			lens["weight"] = c
		case graph.OpAttention:
			span := 2*size(op.Out, func(t *QTensor) int { return t.Side }) - 1
			lens["relpos"] = op.Heads * span * span
		case graph.OpLogits:
			lens["weight"] = c * ic
		}
		var roles []int8Array
		if k, ok := int8Kinds[op.Kind]; ok {
			roles = k.new().arrays()
		}
		for _, a := range roles {
			key := op.Name + "/" + a.role
			n := lens[a.role] + skew[key]
			if n < 0 || n > 1<<22 {
				continue // missing: validate says so
			}
			if v, ok := base[key]; ok && v.DType == a.dtype() && len(v.Shape) == 1 && v.Shape[0] == n {
				arrays[key] = v
				continue
			}
			switch a.dtype() {
			case modelfile.I8:
				arrays[key] = modelfile.Int8Tensor(key, []int{n}, randSlice(n, func() int8 { return int8(r.IntN(256) - 128) }))
			case modelfile.I32:
				gen := func() int32 { return int32(r.IntN(2001) - 1000) }
				switch a.role {
				case "mult":
					gen = func() int32 { return 1<<30 + int32(r.IntN(1<<30)) }
				case "shift":
					gen = func() int32 { return int32(r.IntN(63) - 31) }
				}
				arrays[key] = modelfile.Int32Tensor(key, []int{n}, randSlice(n, gen))
			default:
				arrays[key] = modelfile.Float32Tensor(key, []int{n}, randSlice(n, func() float32 { return float32(r.NormFloat64()) }))
			}
		}
	}
	return arrays
}

func randSlice[T any](n int, gen func() T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = gen()
	}
	return out
}
