package int8net

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coatnet-edge/coatnet-edge/kernels"
	"github.com/coatnet-edge/coatnet-edge/model/graph"
	"github.com/coatnet-edge/coatnet-edge/model/modelfile"
)

// TestInt8Registry checks that every kind of operation has an int8
// implementation whose parameters are of that kind, whose arrays have
// distinct roles, and whose kernels exist.
func TestInt8Registry(t *testing.T) {
	impl := kernels.Implementation()
	for _, kind := range graph.OpKinds() {
		t.Run(string(kind), func(t *testing.T) {
			k, ok := int8Kinds[kind]
			if !ok {
				t.Fatalf("no int8 implementation of %s", kind)
			}
			if k.inputs < 1 {
				t.Errorf("%s reads %d tensors", kind, k.inputs)
			}
			p := k.new()
			if p.Kind() != kind {
				t.Errorf("the parameters of %s say %s", kind, p.Kind())
			}
			var roles []string
			for _, a := range p.arrays() {
				if n := btoi(a.i8 != nil) + btoi(a.i32 != nil) + btoi(a.f32 != nil); n != 1 || a.role == "" || strings.Contains(a.role, "/") {
					t.Errorf("array %q: %d element types", a.role, n)
				}
				if slices.Contains(roles, a.role) {
					t.Errorf("array %q twice", a.role)
				}
				roles = append(roles, a.role)
			}
			for _, name := range p.Kernels() {
				if _, ok := impl[name]; !ok {
					t.Errorf("kernel %q is not one of kernels.Implementation", name)
				}
			}
		})
	}
	if got := Kinds(); !slices.Equal(got, slices.Sorted(slices.Values(graph.OpKinds()))) {
		t.Errorf("Kinds() = %v, want every kind of %v", got, graph.OpKinds())
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// int8Files are the int8 files written so far.
var int8Files = []string{
	"../testdata/old-0rw-pre-int8.coatnet", "../testdata/old-rmlp-post-int8.coatnet",
	"../../models/fmnist-pre-int8.coatnet", "../../models/fmnist-post-int8.coatnet",
}

// TestInt8FileReencodes decodes each int8 file written so far into the
// typed program and encodes it again: the description must come out byte
// for byte as stored, and the arrays under the same names with the same
// contents, so the format's names are the format's own (File) and
// not those of the engine's or the kernels' structs.
func TestInt8FileReencodes(t *testing.T) {
	for _, path := range int8Files {
		a, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		m := a
		desc, tensors := m.EncodeFile()
		got, err := json.Marshal(desc)
		if err != nil {
			t.Fatal(err)
		}
		if want := m.File().Metadata(); !bytes.Equal(got, want) {
			t.Errorf("%s: the description re-encodes as\n%.400s\nthe file holds\n%.400s", path, got, want)
		}
		infos := m.File().Tensors()
		if len(infos) != len(tensors) {
			t.Errorf("%s: %d arrays re-encoded, the file holds %d", path, len(tensors), len(infos))
		}
		for i, tt := range tensors {
			if i >= len(infos) || infos[i].Name != tt.Name {
				t.Errorf("%s: array %d is %s", path, i, tt.Name)
				continue
			}
			ft, _ := m.File().Tensor(tt.Name)
			if ft.DType != tt.DType || !slices.Equal(ft.Shape, tt.Shape) || !bytes.Equal(ft.Data, tt.Data) {
				t.Errorf("%s: array %s re-encodes differently", path, tt.Name)
			}
		}
		m.Close()
	}
}

// TestInt8FileKeys freezes the key names of the objects the first release
// took from kernel structs: a renamed field of kernels.AddParams or
// kernels.SoftmaxParams must not rename a key of the file.
func TestInt8FileKeys(t *testing.T) {
	keys := func(v any) []string {
		var out []string
		for f := range reflect.TypeOf(v).Fields() {
			out = append(out, strings.Split(f.Tag.Get("json"), ",")[0])
		}
		return out
	}
	if got, want := keys(FileAdd{}), []string{"ZeroA", "ZeroB", "ZeroOut", "MultA", "ShiftA", "MultB", "ShiftB", "MultOut", "ShiftOut"}; !slices.Equal(got, want) {
		t.Errorf("add keys %v, the format's are %v", got, want)
	}
	if got, want := keys(FileSoftmax{}), []string{"ExpMult", "ExpShift", "Q", "ZeroPoint"}; !slices.Equal(got, want) {
		t.Errorf("softmax keys %v, the format's are %v", got, want)
	}
	if got, want := keys(FileOp{}), []string{"name", "kind", "in", "out", "kernel", "stride", "pool", "act", "heads", "dim_head", "form", "add", "softmax", "mult", "shift", "eps"}; !slices.Equal(got, want) {
		t.Errorf("op keys %v, the format's are %v", got, want)
	}
	// Every field of the kernel structs reaches the file and comes back.
	ap := kernels.AddParams{ZeroA: 1, ZeroB: 2, ZeroOut: 3, MultA: 4, ShiftA: 5, MultB: 6, ShiftB: 7, MultOut: 8, ShiftOut: 9}
	if got := fileAdd(&ap).params(); got != ap {
		t.Errorf("add parameters %+v come back as %+v", ap, got)
	}
	sp := kernels.SoftmaxParams{ExpMult: 1, ExpShift: 2, Q: 3, ZeroPoint: 4}
	if got := fileSoftmax(&sp).params(); got != sp {
		t.Errorf("softmax parameters %+v come back as %+v", sp, got)
	}
}

// TestInt8FileMissingArray refuses a file without one of an operation's
// arrays, naming it.
func TestInt8FileMissingArray(t *testing.T) {
	desc, tensors := shippedInt8Model().EncodeFile()
	drop := slices.IndexFunc(tensors, func(tt modelfile.Tensor) bool { return strings.HasSuffix(tt.Name, "/relpos") })
	name := tensors[drop].Name
	path := filepath.Join(t.TempDir(), "missing.coatnet")
	if err := modelfile.WriteFile(path, desc, slices.Delete(tensors, drop, drop+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "array "+name+" is missing") {
		t.Fatalf("Open without %s: %v", name, err)
	}
}

// TestInt8FileScalarsChecked refuses a file whose operation carries an
// out-of-range shift even where its kind does not read it, as the first
// release did.
func TestInt8FileScalarsChecked(t *testing.T) {
	desc, tensors := shippedInt8Model().EncodeFile()
	d := *desc
	d.Program.Ops = slices.Clone(desc.Program.Ops)
	i := slices.IndexFunc(d.Program.Ops, func(op FileOp) bool { return op.Kind == graph.OpConv })
	d.Program.Ops[i].Shift = 40
	path := filepath.Join(t.TempDir(), "shift.coatnet")
	if err := modelfile.WriteFile(path, &d, tensors); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "shift is outside") {
		t.Fatalf("Open with a conv shift of 40: %v", err)
	}
}

// TestTaskRows: one thread keeps whole blocks of int8RowsPerTask; more
// threads get at least 8 tasks each, or tasks of 4 pixels, never more
// than int8RowsPerTask.
func TestTaskRows(t *testing.T) {
	for _, px := range []int{1, 4, 49, 196, 784, 3136, 12544} {
		if got := taskRows(px, 1); got != int8RowsPerTask {
			t.Errorf("taskRows(%d, 1) = %d", px, got)
		}
		for _, th := range []int{2, 3, 4, 8} {
			r := taskRows(px, th)
			if r < 4 || r > int8RowsPerTask || r > 4 && (px+r-1)/r < 8*th {
				t.Errorf("taskRows(%d, %d) = %d: %d tasks", px, th, r, (px+r-1)/r)
			}
		}
	}
	if got := taskRows(196, 2); got != 8 {
		t.Errorf("taskRows(196, 2) = %d, want 8", got)
	}
}

// TestTaskSizes: the split each operation's run hands the pool, as
// TaskSizes reports it for the thread model: the input quantization first,
// every task's work in (0, grain], a pixel-parallel operation's tasks
// adding up to its pixels in blocks of taskRows, and those of a 1x1
// convolution split by channels to its channels.
func TestTaskSizes(t *testing.T) {
	if got := (taskSplit{total: 9, per: 2, grain: 2}).sizes(); !slices.Equal(got, []float64{2, 2, 0.5}) {
		t.Errorf("9 units in tasks of 2, 2 tasks at a time: %v", got)
	}
	if got := even(3, 64).sizes(); !slices.Equal(got, []float64{3}) {
		t.Errorf("3 tasks 64 at a time: %v", got)
	}
	if got := (taskSplit{total: 49, per: 4, grain: 1}).sizes(); len(got) != 13 || got[12] != 0.25 || got[0] != 1 {
		t.Errorf("49 pixels in tasks of 4: %v", got)
	}
	if got := (taskSplit{total: 48, per: 4, grain: 1}).sizes(); len(got) != 12 || slices.Min(got) != 1 {
		t.Errorf("48 pixels in tasks of 4: %v", got)
	}
	m, err := Load(int8Files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, th := range []int{1, 4} {
		n := m.NewNet(th)
		sizes, checked, byChannels := n.TaskSizes(), 0, 0
		if len(sizes) != len(n.ops)+1 {
			t.Fatalf("%d threads: %d splits for %d operations", th, len(sizes), len(n.ops))
		}
		for i, s := range sizes[1:] {
			op := n.ops[i]
			sp := op.split()
			var sum float64
			for _, w := range s {
				if w <= 0 || w > float64(max(sp.grain, 1)) {
					t.Errorf("%d threads, op %d: task of %v", th, i, w)
				}
				sum += w
			}
			var base *int8Base
			switch r := op.(type) {
			case *convRun:
				if r.byChannels != nil {
					byChannels++
					if math.Abs(sum*float64(r.chunk)-float64(r.out.Channels)) > 1e-9 {
						t.Errorf("%d threads, op %d: tasks of %d channels add up to %v, the output has %d", th, i, r.chunk, sum, r.out.Channels)
					}
					break
				}
				base = &r.int8Base
			case *actRun:
				base = &r.int8Base
			case *addRun:
				base = &r.int8Base
			case *layerNormRun:
				base = &r.int8Base
			}
			if base != nil {
				checked++
			}
			if base != nil && math.Abs(sum*float64(base.rows)-float64(base.out.Pixels())) > 1e-9 {
				t.Errorf("%d threads, op %d: tasks of %d pixels add up to %v, the output has %d", th, i, base.rows, sum, base.out.Pixels())
			}
		}
		if checked == 0 || byChannels == 0 {
			t.Errorf("%d threads: %d pixel-parallel operations and %d convolutions split by channels in %s", th, checked, byChannels, int8Files[0])
		}
		n.Close()
	}
}
