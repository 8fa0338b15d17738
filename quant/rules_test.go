package quant

import (
	"slices"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/int8net"
)

// TestEveryLayerHasEveryOp is the registry test of issue 15: every kind of
// operation (graph.OpKinds, the one list) has a float graph runner, a
// quantization rule and an int8 implementation, and no layer registers a
// kind that is not on the list.
func TestEveryLayerHasEveryOp(t *testing.T) {
	allOpKinds := graph.OpKinds()
	impl := int8net.Kinds()
	for _, kind := range allOpKinds {
		if !graph.HasRunner(kind) {
			t.Errorf("no float graph runner for %s", kind)
		}
		if rules[kind] == nil {
			t.Errorf("no quantization rule for %s", kind)
		}
		if !slices.Contains(impl, kind) {
			t.Errorf("no int8 implementation of %s", kind)
		}
	}
	for _, kind := range impl {
		if !slices.Contains(allOpKinds, kind) {
			t.Errorf("an int8 implementation of %s, which is no kind of operation", kind)
		}
	}
	for kind := range rules {
		if !slices.Contains(graph.OpKinds(), kind) {
			t.Errorf("a rule for %s, which is no kind of operation", kind)
		}
	}
}

// TestBuildParamsOfKind quantizes every variant and checks that each
// operation's parameters are of its kind.
func TestBuildParamsOfKind(t *testing.T) {
	seen := map[graph.OpKind]bool{}
	for _, v := range variants {
		m := v.tiny(t)
		g, err := graph.New(m.Config, m.Weights)
		if err != nil {
			t.Fatal(err)
		}
		tensors := make([]int8net.QTensor, len(g.Tensors))
		for i := range tensors {
			tensors[i] = int8net.QTensor{GraphTensor: g.Tensors[i], QParams: int8net.QParams{Scale: 0.05}}
		}
		p, err := Build(g, tensors, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range p.Ops {
			if op.Params == nil || op.Params.Kind() != op.Kind {
				t.Fatalf("%s %s: parameters %T", v, op.Name, op.Params)
			}
			seen[op.Kind] = true
		}
	}
	for _, kind := range graph.OpKinds() {
		if !seen[kind] {
			t.Errorf("no variant has a %s", kind)
		}
	}
}
