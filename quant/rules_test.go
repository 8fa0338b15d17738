package quant

import (
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model"
)

// allOpKinds are the graph's kinds of operation: TestRules checks that
// each has a quantization rule, and that the int8 engine implements it.
var allOpKinds = []model.OpKind{model.OpConv, model.OpDepthwise, model.OpAct, model.OpAffine, model.OpPool,
	model.OpMean, model.OpScale, model.OpAdd, model.OpLayerNorm, model.OpAttention, model.OpLogits}

func TestRules(t *testing.T) {
	impl := model.Int8Kinds()
	for _, kind := range allOpKinds {
		if rules[kind] == nil {
			t.Errorf("no quantization rule for %s", kind)
		}
		if !slices.Contains(impl, kind) {
			t.Errorf("no int8 implementation of %s", kind)
		}
	}
	for kind := range rules {
		if !slices.Contains(allOpKinds, kind) {
			t.Errorf("a rule for %s, which is no kind of operation", kind)
		}
	}
}

// TestBuildParamsOfKind quantizes every variant and checks that each
// operation's parameters are of its kind.
func TestBuildParamsOfKind(t *testing.T) {
	seen := map[model.OpKind]bool{}
	for _, v := range variants {
		m := tinyModel(t, v.arch, v.form)
		g, err := model.NewGraph(m.Config, m.Weights)
		if err != nil {
			t.Fatal(err)
		}
		tensors := make([]model.QTensor, len(g.Tensors))
		for i := range tensors {
			tensors[i] = model.QTensor{GraphTensor: g.Tensors[i], QParams: model.QParams{Scale: 0.05}}
		}
		p, err := Build(g, tensors, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range p.Ops {
			if op.Params == nil || op.Params.Kind() != op.Kind {
				t.Fatalf("%s %s: parameters %T", v.arch, op.Name, op.Params)
			}
			seen[op.Kind] = true
		}
	}
	for _, kind := range allOpKinds {
		if !seen[kind] {
			t.Errorf("no variant has a %s", kind)
		}
	}
}
