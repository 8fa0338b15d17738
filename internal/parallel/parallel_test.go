package parallel

import (
	"sync/atomic"
	"testing"
)

type countJob struct {
	hits    []atomic.Int32
	workers []atomic.Int32
}

func (j *countJob) Do(worker, lo, hi int) {
	j.workers[worker].Add(1)
	for i := lo; i < hi; i++ {
		j.hits[i].Add(1)
	}
}

// TestEveryTaskOnce runs jobs of many sizes and grains on pools of several
// sizes and checks each task ran exactly once, on a valid worker.
func TestEveryTaskOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := New(threads)
		for _, n := range []int{0, 1, 2, 7, 64, 1000} {
			for _, grain := range []int{0, 1, 3, 64, 5000} {
				j := &countJob{hits: make([]atomic.Int32, n), workers: make([]atomic.Int32, threads)}
				p.Run(j, n, grain)
				for i := range j.hits {
					if got := j.hits[i].Load(); got != 1 {
						t.Fatalf("threads=%d n=%d grain=%d: task %d ran %d times", threads, n, grain, i, got)
					}
				}
			}
		}
		p.Close()
		p.Close() // idempotent
		j := &countJob{hits: make([]atomic.Int32, 10), workers: make([]atomic.Int32, threads)}
		p.Run(j, 10, 1)
		if j.workers[0].Load() != 1 {
			t.Fatalf("closed pool: want the caller to run everything in one call")
		}
	}
}

type nopJob struct{}

func (nopJob) Do(worker, lo, hi int) {}

func TestRunDoesNotAllocate(t *testing.T) {
	p := New(4)
	defer p.Close()
	var j nopJob
	if a := testing.AllocsPerRun(100, func() { p.Run(j, 100, 1) }); a != 0 {
		t.Fatalf("Run allocated %v times per call", a)
	}
}
