package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// Each thread runs its share of the tasks, then takes what others left.
func TestMakespan(t *testing.T) {
	for _, c := range []struct {
		tasks   []float64
		threads int
		want    float64
	}{
		{[]float64{1, 1, 1, 1}, 4, 0.25},
		{[]float64{1, 1, 1, 1, 1}, 4, 0.4},
		{[]float64{1, 1, 0.5}, 2, 1.5 / 2.5},
		{[]float64{3, 1, 1, 1}, 2, 3.0 / 6}, // the second thread takes the first's last task
		{[]float64{1, 1, 1, 3}, 2, 4.0 / 6}, // one thread's share is mostly one long task
		{[]float64{2, 1, 1, 1, 1, 1, 1}, 3, 3.0 / 8},
		{[]float64{1}, 4, 1},
		{[]float64{1, 1}, 1, 1},
	} {
		if got := makespan(c.tasks, c.threads); got != c.want {
			t.Errorf("makespan(%v, %d) = %v, want %v", c.tasks, c.threads, got, c.want)
		}
	}
}

// The mark is the instruction after the prologue's B.LS to morestack.
func TestAfterStackCheck(t *testing.T) {
	words := []uint32{
		0xF9400B90, // MOVD 16(R28), R16
		0xEB3063FF, // CMP R16, RSP
		0x54000189, // B.LS +0x30
		0xF81C0FFE, // the body
	}
	code := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(code[4*i:], w)
	}
	if got, err := afterStackCheck(code); err != nil || got != 12 {
		t.Errorf("afterStackCheck = %d, %v; want 12", got, err)
	}
	if _, err := afterStackCheck(code[12:]); err == nil {
		t.Error("a function without a stack check gave a mark")
	}
}

// An inference is cut at its marks: Run, RunQuantized, then one runOp mark
// per operation; the second to last of three is the one priced.
func TestOpCycles(t *testing.T) {
	const op, q, run = 0x10, 0x20, 0x30
	var lines string
	var ms []mark
	cyc := 0.0
	add := func(a uint64, d float64) {
		ms = append(ms, mark{a, cyc})
		cyc += d
	}
	for inf := range 3 {
		add(run, 5)
		add(q, 1)
		add(op, float64(100*(inf+1)))
		add(op, float64(10*(inf+1)))
	}
	add(run, 0)
	got, err := opCycles(ms, []uint64{op, q, run}, 3)
	if err != nil || !slices.Equal(got, []float64{6, 200, 20}) {
		t.Errorf("opCycles = %v, %v; want [6 200 20]", got, err)
	}
	if _, err := opCycles(ms, []uint64{op, q, run}, 4); err == nil {
		t.Error("a model of 4 parts matched a trace of 3")
	}
	for _, m := range ms {
		lines += "mark " + hex(m.addr) + " 0 1 7:" + itoa(int64(m.cyc*1000)) + "\n"
	}
	path := filepath.Join(t.TempDir(), "t.tb")
	if err := os.WriteFile(path, []byte("tb 10 4 1 sym 00\n"+lines+"total 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	read, err := readMarks(path)
	if err != nil || !slices.Equal(read, ms) {
		t.Errorf("readMarks = %v, %v; want %v", read, err, ms)
	}
}

func hex(v uint64) string { return strconv.FormatUint(v, 16) }
func itoa(v int64) string { return strconv.FormatInt(v, 10) }
