package int8net

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/allocs"
	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/engine"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

const shippedInt8 = "../../models/fmnist-pre-int8.coatnet"

// shippedInt8Model is the demo int8 model (64x64 grey, 10 classes),
// loaded once and kept open; callers must not change it.
var shippedInt8Model = sync.OnceValue(func() *Model {
	m, err := Load(shippedInt8)
	if err != nil {
		panic(err)
	}
	return m
})

// attentionModel is the smallest int8 model around one attention over
// side x side tokens, with the shipped model's labels and preprocessing:
// input -> q, k, v (1x1 convolutions to one channel) -> attention (one
// head of one channel) -> mean -> logits. Its relative-position table is
// (2*side-1)^2 values, so a file of a few MB asks for side^4 scores.
// The model is not validated.
func attentionModel(side int) *Model {
	md := shippedInt8Model().Description
	md.Program = Program{}
	md.Config.ImgSize, md.Preprocess.Size = side, side
	classes := md.Config.NumClasses
	q := QParams{Scale: 0.05}
	md.Program.Tensors = []QTensor{
		{GraphTensor: graph.GraphTensor{Name: "input", Side: side, Channels: md.Config.InChans}, QParams: q},
		{GraphTensor: graph.GraphTensor{Name: "q", Side: side, Channels: 1}, QParams: q},
		{GraphTensor: graph.GraphTensor{Name: "k", Side: side, Channels: 1}, QParams: q},
		{GraphTensor: graph.GraphTensor{Name: "v", Side: side, Channels: 1}, QParams: q},
		{GraphTensor: graph.GraphTensor{Name: "attn", Side: side, Channels: 1}, QParams: q},
		{GraphTensor: graph.GraphTensor{Name: "pool", Side: 1, Channels: 1}, QParams: q},
		{GraphTensor: graph.GraphTensor{Name: "logits", Side: 1, Channels: classes}, QParams: QParams{Scale: 1}},
	}
	for i, name := range []string{"q", "k", "v"} {
		md.Program.Ops = append(md.Program.Ops, QOp{Name: name, Kind: graph.OpConv, In: []graph.TensorID{0}, Out: graph.TensorID(1 + i), Params: &ConvParams{
			Kernel: 1, Stride: 1, Weight: []int8{int8(40 + 20*i)}, Bias: []int32{0}, Mult: []int32{1 << 30}, Shift: []int32{-6}}})
	}
	span := 2*side - 1
	relpos := make([]int32, span*span)
	for i := range relpos {
		relpos[i] = int32(i % 7)
	}
	logits := &LogitsParams{Weight: make([]int8, classes), Bias: make([]float32, classes), Scale: make([]float32, classes)}
	for c := range classes {
		logits.Weight[c] = int8(c*13 - 60)
		logits.Scale[c] = 0.01
	}
	md.Program.Ops = append(md.Program.Ops,
		QOp{Name: "attn", Kind: graph.OpAttention, In: []graph.TensorID{1, 2, 3}, Out: 4, Params: &AttentionParams{Heads: 1, DimHead: 1, Form: arch.PreSoftmax,
			Softmax: kernels.NewSoftmaxParams(0.05*0.05, 255, -128), Mult: 1 << 30, Shift: -8, RelPos: relpos}},
		QOp{Name: "pool", Kind: graph.OpMean, In: []graph.TensorID{4}, Out: 5, Params: &MeanParams{Mult: 1 << 30, Shift: 1}},
		QOp{Name: "logits", Kind: graph.OpLogits, In: []graph.TensorID{5}, Out: 6, Params: logits})
	return &Model{Description: md}
}

// writeInt8File writes an int8 model file without Save's checks, as a
// hostile tool would.
func writeInt8File(t testing.TB, m *Model) string {
	t.Helper()
	md, tensors := m.EncodeFile()
	path := filepath.Join(t.TempDir(), "hostile-int8.coatnet")
	if err := modelfile.WriteFile(path, md, tensors); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHostileAttentionIsRefused: an int8 file whose program passes every
// other check but has one attention over side x side tokens (512: a 4.2 MB
// file asking for 320 GiB of scores per thread; 256: a 1 MB file asking
// for 20 GiB; 160: 3 GiB, within the softmax's 32768 tokens) is refused by
// Open, quickly and without allocating more than the file itself, with an
// error naming what is too big. Opening must be refused here: building
// the engine would take the memory.
func TestHostileAttentionIsRefused(t *testing.T) {
	for _, side := range []int{160, 256, 512} {
		path := writeInt8File(t, attentionModel(side))
		var err error
		alloc := allocs.Bytes(func() {
			var m *Model
			if m, err = Load(path); err == nil {
				m.Close()
			}
		})
		switch {
		case side == 160 && !(errors.Is(err, engine.ErrTooBig) && strings.Contains(err.Error(), "scratch per thread")):
			t.Fatalf("side %d: Open = %v, want ErrTooBig naming the scratch", side, err)
		case side > 160 && !(errors.Is(err, engine.ErrTooBig) || errors.Is(err, ErrBadProgram) && strings.Contains(err.Error(), "tokens")):
			t.Fatalf("side %d: Open = %v, want the tokens or the scratch refused", side, err)
		}
		if alloc > 64<<20 {
			t.Errorf("side %d: Open allocated %s to refuse the file", side, engine.FormatBytes(int64(alloc)))
		}
		t.Logf("side %d: %v (allocated %s)", side, err, engine.FormatBytes(int64(alloc)))
	}
}

// TestSmallAttentionModelRuns: the same program over 32x32 tokens is
// within the limits; it loads and runs, so the refusals above are about
// size, not a malformed program.
func TestSmallAttentionModelRuns(t *testing.T) {
	m, err := Load(writeInt8File(t, attentionModel(32)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	need := m.Need()
	n := 1024
	if want := int64(4*n*n + n*n + 2*4 + 2*4*n); need.ScratchBytes < want {
		t.Errorf("scratch %d bytes per thread, the scores and probabilities alone are %d", need.ScratchBytes, want)
	}
	if want := int64(3*n + 2*n*n + 10); need.MACs != want {
		t.Errorf("MACs %d, want %d", need.MACs, want)
	}
	e, err := m.NewEngine(1)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i := range e.Input() {
		e.Input()[i] = float32(arch.SeededUniform(5, uint64(i)))
	}
	if got := len(e.Run()); got != 10 {
		t.Fatalf("%d logits", got)
	}
}

// TestEngineThreadsBounded: a model within the limits for one thread is
// refused by NewEngine for a thread count whose scratch would pass
// MaxModelBytes.
func TestEngineThreadsBounded(t *testing.T) {
	m, err := Load(writeInt8File(t, attentionModel(32)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	threads := int(engine.MaxModelBytes/m.Need().ScratchBytes) + 1
	if _, err := m.NewEngine(threads); !errors.Is(err, engine.ErrTooBig) || !strings.Contains(err.Error(), "threads") {
		t.Fatalf("NewEngine(%d) = %v, want ErrTooBig naming the threads", threads, err)
	}
}

// TestShippedInt8Need: the program's MACs are the architecture's, counted
// the same way, and its memory is what a 64x64 nano-like model needs.
func TestShippedInt8Need(t *testing.T) {
	m := shippedInt8Model()
	need := m.Need()
	if want := m.Config.TotalCost().MACs; need.MACs != want {
		t.Errorf("program MACs %d, the config counts %d", need.MACs, want)
	}
	if need.TensorBytes <= 0 || need.WeightBytes < m.Config.TotalCost().Params/2 || need.ScratchBytes <= 0 {
		t.Errorf("need %+v", need)
	}
	if err := need.Check(0); err != nil {
		t.Error(err)
	}
	t.Logf("%+v", need)
}
