package graph

import (
	"slices"
	"strings"
	"testing"
)

// TestEveryOpKindHasGraphRunner holds the float graph layer's registry to
// OpKinds: every kind has a runner with a split and a kernel, and nothing
// is registered under a kind OpKinds does not list.
func TestEveryOpKindHasGraphRunner(t *testing.T) {
	kinds := OpKinds()
	for _, k := range kinds {
		if !HasRunner(k) {
			t.Errorf("op kind %q has no graph runner (add model/graph_%s.go)", k, k)
			continue
		}
		if op := graphOps[k]; op.split == nil || op.run == nil {
			t.Errorf("graph runner of %q lacks its split or its kernel", k)
		}
	}
	for k := range graphOps {
		if !slices.Contains(kinds, k) {
			t.Errorf("graph runner registered for %q, which OpKinds does not list", k)
		}
	}
	if HasRunner("no-such-kind") {
		t.Error(`HasRunner("no-such-kind") is true`)
	}
}

// TestNewRunnerRejectsUnknownKind: a hand-made graph with a kind no runner
// knows fails at NewRunner, naming the op, rather than leaving its output
// unwritten.
func TestNewRunnerRejectsUnknownKind(t *testing.T) {
	g := &Graph{
		Tensors: []GraphTensor{{Name: "input", Side: 1, Channels: 1}, {Name: "odd", Side: 1, Channels: 1}},
		Ops:     []Op{{Name: "odd", Kind: "no-such-kind", In: []TensorID{0}, Out: 1}},
	}
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "odd") || !strings.Contains(msg, "no-such-kind") {
			t.Errorf("NewRunner panicked with %q, want the op and its kind named", msg)
		}
	}()
	g.NewRunner(1).Close()
}
