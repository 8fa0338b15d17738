package quant

import (
	"context"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/internal/testing/implcheck"
	"github.com/coatnet-edge/coatnet-edge/kernels"
)

// TestImplementationsAgree runs every quantized variant through every
// kernel implementation this CPU has (the portable references, NEON
// without and with the dot product) and checks that every tensor and the
// logits are bit-identical.
func TestImplementationsAgree(t *testing.T) {
	levels := kernels.Levels()
	t.Logf("levels: %v", levels)
	for _, v := range variants {
		m := v.tiny(t)
		cal := synthCal{n: 2, size: 64, ch: 3, seed: 11}
		qm, _, err := Quantize(context.Background(), m, cal, Options{Threads: 2, MeasureImages: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := implcheck.Agree(qm, func(dst []float32) { cal.Input(3, dst) }, []int{1}); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
	}
}
