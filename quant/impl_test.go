package quant

import (
	"context"
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/kernelimpl"
	"github.com/coatnet-edge/coatnet-edge/model"
)

// netValues runs qm on input with the kernels of level and returns every
// tensor and the logits.
func netValues(t *testing.T, qm *model.Int8Model, level string, threads int, input func([]float32)) ([][]int8, []float32) {
	t.Helper()
	restore, ok := kernelimpl.Use(level)
	if !ok {
		t.Fatalf("level %s not available", level)
	}
	defer restore()
	net := qm.NewNetKeepingTensors(threads)
	defer net.Close()
	input(net.Input())
	logits := slices.Clone(net.Run())
	vals := make([][]int8, len(qm.Program.Tensors))
	for i := range vals {
		vals[i] = slices.Clone(net.Value(model.TensorID(i)))
	}
	return vals, logits
}

// compareNets reports the first tensor that differs.
func compareNets(t *testing.T, name string, qm *model.Int8Model, wantV, gotV [][]int8, wantL, gotL []float32) {
	t.Helper()
	for i := range wantV {
		if !slices.Equal(wantV[i], gotV[i]) {
			j := 0
			for j < len(wantV[i]) && wantV[i][j] == gotV[i][j] {
				j++
			}
			t.Fatalf("%s: tensor %d %q differs at %d (op kind of the writer: %s)", name, i, qm.Program.Tensors[i].Name, j, writerKind(qm, i))
		}
	}
	if !slices.Equal(wantL, gotL) {
		t.Fatalf("%s: logits differ", name)
	}
}

func writerKind(qm *model.Int8Model, ti int) model.OpKind {
	for _, op := range qm.Program.Ops {
		if int(op.Out) == ti {
			return op.Kind
		}
	}
	return "input"
}

// TestImplementationsAgree runs every quantized variant through every
// kernel implementation this CPU has (the portable references, NEON
// without and with the dot product) and checks that every tensor and the
// logits are bit-identical.
func TestImplementationsAgree(t *testing.T) {
	levels := kernelimpl.Levels()
	t.Logf("levels: %v", levels)
	for _, v := range variants {
		m := tinyModel(t, v.arch, v.form)
		cal := synthCal{n: 2, size: 64, ch: 3, seed: 11}
		qm, _, err := Quantize(context.Background(), m, cal, Options{Threads: 2, MeasureImages: 1})
		if err != nil {
			t.Fatal(err)
		}
		in := func(dst []float32) { cal.Input(3, dst) }
		refV, refL := netValues(t, qm, "go", 1, in)
		for _, level := range levels {
			gotV, gotL := netValues(t, qm, level, 1, in)
			compareNets(t, v.arch+" "+string(v.form)+" "+level, qm, refV, gotV, refL, gotL)
		}
	}
}
