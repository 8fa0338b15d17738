//go:build !purego

package kernels

import (
	"container/list"
	"fmt"
	"math/rand/v2"
	"testing"
)

// lruCache counts the misses of a fully associative LRU cache of 64-byte
// lines: a rough L2, enough to tell a loop order that reuses what it read
// from one that streams it.
type lruCache struct {
	lines  int
	order  *list.List // most recent first
	where  map[int64]*list.Element
	misses map[int64]int // per address space (the line's top bits)
}

func newLRU(bytes int) *lruCache {
	return &lruCache{lines: bytes / 64, order: list.New(), where: map[int64]*list.Element{}, misses: map[int64]int{}}
}

// read touches the bytes [off, off+n) of address space space.
func (c *lruCache) read(space, off, n int) {
	for l := off / 64; l <= (off+n-1)/64; l++ {
		key := int64(space)<<40 | int64(l)
		if e, ok := c.where[key]; ok {
			c.order.MoveToFront(e)
			continue
		}
		c.misses[int64(space)]++
		c.where[key] = c.order.PushFront(key)
		if c.order.Len() > c.lines {
			delete(c.where, c.order.Remove(c.order.Back()).(int64))
		}
	}
}

// gemmCall is one micro-kernel call as gemmPanelHook sees it.
type gemmCall struct{ first, blocks, rowTiles int }

// gemmWeightTraffic runs the driver on a rows x m x k GEMM with the
// current implementation and replays its calls in the kernel's order (for
// each row tile, for each channel block: the tile's 4 rows of kp bytes,
// then the block's panel) through an LRU cache of l2 bytes per size. It
// returns the bytes of packed weights read from beyond the cache for each
// size, and the packed weights' size.
func gemmWeightTraffic(t *testing.T, rows, m, k int, l2 []int) (fetched []int, packed int) {
	w := PackWeights(make([]int8, m*k), m, k)
	src, dst := make([]int8, rows*k), make([]int8, rows*m)
	var calls []gemmCall
	old := gemmPanelHook
	gemmPanelHook = func(first, blocks, rowTiles int) { calls = append(calls, gemmCall{first, blocks, rowTiles}) }
	GemmRequant(dst, m, src, k, rows, w, nil, &Requant{Mult: []int32{1 << 30}, Shift: []int32{0}})
	gemmPanelHook = old
	if len(calls) == 0 {
		t.Fatalf("%dx%dx%d: no micro-kernel call", rows, m, k)
	}
	panel := w.kp * w.impl.nr
	for _, size := range l2 {
		c := newLRU(size)
		row := 0 // the first row of the next tile, in call order (rows only tell reuse)
		for _, cl := range calls {
			for range cl.rowTiles {
				for b := cl.first; b < cl.first+cl.blocks; b++ {
					c.read(0, row*w.kp, gemmTile*w.kp)
					c.read(1, b*panel, panel)
				}
				row = (row + gemmTile) % max(rows, 1)
			}
		}
		fetched = append(fetched, 64*c.misses[1])
	}
	return fetched, len(w.data)
}

// The GEMMs of coatnet_nano_rw_224 at 224 whose packed weights are at
// least 128 KB (the smaller ones fit any Pi's L2 with their rows, so any
// loop order reads them once), as one call each, and as the engine runs
// them on 4 threads: they have more output channels than pixels, so it
// splits them into tasks of m channels over every pixel (int8net's
// convRun, 8 tasks a layer), each reading its share of the weights.
var gemmTrafficShapes = []struct {
	name          string
	rows, m, k, n int  // n: calls per inference
	task          bool // a 4-thread channel task
}{
	{"stage2 mlp.fc1", 196, 1024, 256, 6, false},
	{"stage2 mlp.fc2", 196, 256, 1024, 6, false},
	{"stage3.0 shortcut/proj", 49, 512, 256, 2, false},
	{"stage3 attn.q/k/v/proj", 49, 512, 512, 8, false},
	{"stage3 mlp.fc1", 49, 2048, 512, 3, false},
	{"stage3 mlp.fc2", 49, 512, 2048, 3, false},
	{"stage2 mlp.fc1, task", 196, 128, 256, 6 * 8, true},
	{"stage2 mlp.fc2, task", 196, 32, 1024, 6 * 8, true},
	{"stage3.0 shortcut/proj, task", 49, 64, 256, 2 * 8, true},
	{"stage3 attn.q/k/v/proj, task", 49, 64, 512, 8 * 8, true},
	{"stage3 mlp.fc1, task", 49, 256, 512, 3 * 8, true},
	{"stage3 mlp.fc2, task", 49, 64, 2048, 3 * 8, true},
}

// TestGemmWeightsReadOnce checks that a call reads each layer's packed
// weights from beyond a 512 KB or 1 MB L2 once, however many row tiles it
// has (stage 3's 1 MB MLP layers used to be streamed once per tile: 13
// times for its 49 pixels), and logs the weight traffic per inference on
// one call a layer and on the engine's 4-thread channel tasks.
func TestGemmWeightsReadOnce(t *testing.T) {
	l2 := []int{512 << 10, 1 << 20}
	forEachGemm(t, func(t *testing.T, impl string) {
		if impl == "go" {
			t.Skip("the portable kernel has its own loop order")
		}
		var total [2][2]int // [task][l2]
		var once [2]int
		for _, s := range gemmTrafficShapes {
			fetched, packed := gemmWeightTraffic(t, s.rows, s.m, s.k, l2)
			i := 0
			if s.task {
				i = 1
			}
			for j, f := range fetched {
				if f != packed {
					t.Errorf("%s (%dx%dx%d): %d KB of packed weights read from beyond a %d KB L2, want %d KB (%.1f passes)",
						s.name, s.rows, s.m, s.k, f>>10, l2[j]>>10, packed>>10, float64(f)/float64(packed))
				}
				total[i][j] += s.n * f
			}
			once[i] += s.n * packed
		}
		for i, how := range []string{"one call a layer", "the engine's 4-thread channel tasks"} {
			msg := ""
			for j, f := range total[i] {
				msg += fmt.Sprintf(", %.1f MB with a %d KB L2", float64(f)/1e6, l2[j]>>10)
			}
			t.Logf("%s: these GEMMs' packed weights per inference, %.1f MB read once%s", how, float64(once[i])/1e6, msg)
		}
		if once[0] != once[1] {
			t.Errorf("the tasks pack %d bytes, the layers %d", once[1], once[0])
		}
	})
}

// TestGemmPanelGroups runs GEMMs whose weights exceed gemmPanelBytes, so
// the channel blocks go in several groups, against the reference: ragged
// channel blocks, K tails read in place or copied, short tiles, per-tensor
// and per-channel parameters, int8 and int32 output.
func TestGemmPanelGroups(t *testing.T) {
	forEachGemm(t, func(t *testing.T, impl string) {
		if impl == "go" {
			t.Skip("no groups")
		}
		rng := rand.New(rand.NewPCG(70, 71))
		for i, rows := range []int{1, 5, 9, 13} {
			for j, mk := range [][2]int{{149, 1000}, {160, 1024}, {68, 4100}} {
				c := gemmCase{rows: rows, m: mk[0], k: mk[1], padSrc: (i + j) % 2 * 3, padDst: j, offSrc: i % 3, offDst: j % 2,
					perTensor: (i+j)%2 == 0, noBias: i == 2, int32Out: j == 1 && i%2 == 1}
				groups := map[int]bool{}
				old := gemmPanelHook
				gemmPanelHook = func(first, blocks, rowTiles int) { groups[first] = true }
				runGemmCase(t, rng, c)
				gemmPanelHook = old
				if len(groups) < 3 {
					t.Errorf("%v: calls start at %d channel blocks, want at least 3 (groups and the ragged block)", c, len(groups))
				}
			}
		}
	})
}
