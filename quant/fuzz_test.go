package quant

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model"
	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// FuzzInt8Description wraps arbitrary description JSON (program included)
// around the arrays of a real quantized model in a well-formed container:
// loading must fail with an error or give a model whose engine runs, never
// panic. The checksums keep FuzzParse from reaching this far.
func FuzzInt8Description(f *testing.F) {
	qm, _, err := Quantize(context.Background(), tinyModel(f, "coatnet_nano_rw", arch.PostSoftmax),
		synthCal{n: 2, size: 64, ch: 3, seed: 1}, Options{Threads: 1})
	if err != nil {
		f.Fatal(err)
	}
	desc, tensors := qm.EncodeFile()
	seed, err := json.Marshal(desc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, md []byte) {
		var buf bytes.Buffer
		if err := modelfile.Write(&buf, json.RawMessage(md), tensors); err != nil {
			return
		}
		file, err := modelfile.Parse(buf.Bytes())
		if err != nil {
			return
		}
		runFile(file)
	})
}

// runFile loads a parsed container and, if it is an int8 model, runs it
// once on one thread.
func runFile(file *modelfile.File) {
	a, err := model.FromFile(file)
	if err != nil {
		return
	}
	defer a.Close()
	if m, ok := a.(*int8net.Model); ok {
		net := m.NewNet(1)
		net.Run()
		net.Close()
	}
}

// FuzzInt8Program changes one field of one operation or tensor of a valid
// program, as its file stores it, to an arbitrary value: loading must
// reject it or the engine must run it, never panic.
func FuzzInt8Program(f *testing.F) {
	qm, _, err := Quantize(context.Background(), tinyModel(f, "coatnet_0_rw", arch.PreSoftmax),
		synthCal{n: 2, size: 64, ch: 3, seed: 1}, Options{Threads: 1})
	if err != nil {
		f.Fatal(err)
	}
	for field := range 14 {
		f.Add(uint16(field*7), uint8(field), int32(2))
	}
	f.Add(uint16(3), uint8(0), int32(-1))
	desc, tensors := qm.EncodeFile()
	f.Fuzz(func(t *testing.T, which uint16, field uint8, v int32) {
		md := *desc
		p := md.Program
		p.Ops = append([]int8net.FileOp(nil), p.Ops...)
		p.Tensors = append([]int8net.QTensor(nil), p.Tensors...)
		op := &p.Ops[int(which)%len(p.Ops)]
		tt := &p.Tensors[int(which)%len(p.Tensors)]
		op.In = append([]graph.TensorID(nil), op.In...)
		switch field % 14 {
		case 0:
			op.Kernel = int(v)
		case 1:
			op.Stride = int(v)
		case 2:
			op.Heads = int(v)
		case 3:
			op.DimHead = int(v)
		case 4:
			op.Out = graph.TensorID(v)
		case 5:
			if len(op.In) > 0 {
				op.In[0] = graph.TensorID(v)
			}
		case 6:
			op.Shift = v
		case 7:
			tt.Side = int(v)
		case 8:
			tt.Channels = int(v)
		case 9:
			tt.ZeroPoint = v
		case 10:
			tt.Scale = float64(v) / 100
		case 11:
			op.Kind = []graph.OpKind{graph.OpConv, graph.OpDepthwise, graph.OpAct, graph.OpPool, graph.OpMean, graph.OpAdd,
				graph.OpScale, graph.OpLayerNorm, graph.OpAttention, graph.OpLogits, graph.OpAffine}[uint32(v)%11]
		case 12:
			op.Pool = []string{"avg2", "max", "sub", "x"}[uint32(v)%4]
		case 13:
			op.In = op.In[:uint32(v)%uint32(len(op.In)+1)]
		}
		md.Program = p
		var buf bytes.Buffer
		if err := modelfile.Write(&buf, &md, tensors); err != nil {
			t.Fatal(err)
		}
		file, err := modelfile.Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		runFile(file)
	})
}
