package quant

import (
	"context"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model/arch"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// TestRefine checks what refine promises: on the inputs it judges by, the
// refined program's logits err no more than those of the rules chosen by
// each tensor's own error, and the choice does not depend on the thread
// count (the int8 engine is bit-exact across threads).
func TestRefine(t *testing.T) {
	for _, form := range []arch.AttentionForm{arch.PreSoftmax, arch.PostSoftmax} {
		m := tinyModel(t, "coatnet_nano_rw", form)
		cal := synthCal{n: 8, size: 64, ch: 3, seed: 5}
		g, err := graph.New(m.Config, m.Weights)
		if err != nil {
			t.Fatal(err)
		}
		runner := g.NewRunner(1)
		defer runner.Close()
		logitError := func(qm *int8net.Model) float64 {
			net := qm.NewNet(1)
			defer net.Close()
			var e float64
			for i := range cal.Len() {
				if err := cal.Input(i, net.Input()); err != nil {
					t.Fatal(err)
				}
				want := runner.Run(net.Input())
				for j, v := range net.Run() {
					d := float64(v) - float64(want[j])
					e += d * d
				}
			}
			return e
		}
		plain, _, err := Quantize(context.Background(), m, cal, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		var refined [2]*int8net.Model
		for i, threads := range []int{1, 3} {
			if refined[i], _, err = Quantize(context.Background(), m, cal, Options{Threads: threads, Refine: cal.Len()}); err != nil {
				t.Fatal(err)
			}
		}
		before, after := logitError(plain), logitError(refined[0])
		changed := 0
		for i, q := range refined[0].Program.Tensors {
			if o := refined[1].Program.Tensors[i]; o.QParams != q.QParams || o.Method != q.Method {
				t.Errorf("%v: %s: refined to %s %+v on 1 thread, %s %+v on 3", form, q.Name, q.Method, q.QParams, o.Method, o.QParams)
			}
			if plain.Program.Tensors[i].QParams != q.QParams {
				changed++
			}
		}
		t.Logf("%v: summed squared logit error %.4g before refine, %.4g after; %d of %d tensors changed", form, before, after,
			changed, len(refined[0].Program.Tensors))
		if after > before {
			t.Errorf("%v: refine raised the logit error from %.4g to %.4g", form, before, after)
		}
	}
}
