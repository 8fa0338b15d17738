package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
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

// checkOnce runs a job of n tasks and fails unless each ran exactly once.
func checkOnce(t *testing.T, p *Pool, n, grain int) {
	t.Helper()
	j := &countJob{hits: make([]atomic.Int32, n), workers: make([]atomic.Int32, p.Threads())}
	p.Run(j, n, grain)
	for i := range j.hits {
		if got := j.hits[i].Load(); got != 1 {
			t.Fatalf("threads=%d n=%d grain=%d: task %d ran %d times", p.Threads(), n, grain, i, got)
		}
	}
}

// Workers that parked after spinning are woken by the next job, spinning
// or not (a pool spins only when GOMAXPROCS gives every thread a P).
func TestParkedWorkersWake(t *testing.T) {
	for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
		old := runtime.GOMAXPROCS(procs)
		p := New(max(procs, 2))
		for round := range 3 {
			checkOnce(t, p, 64, 1)
			if round < 2 {
				time.Sleep(3 * Spin) // long enough for every worker to park
			}
		}
		p.Close()
		runtime.GOMAXPROCS(old)
	}
}

// Jobs that want fewer helpers than the pool has, between jobs that want
// all of them, leave the other workers out and do not confuse them.
func TestAlternatingJobSizes(t *testing.T) {
	p := New(4)
	defer p.Close()
	for i := range 2000 {
		n := []int{2, 1000, 3, 17}[i%4]
		checkOnce(t, p, n, 1+i%3)
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

// Run, preempted in its waking loop, can clear the parked flag of a
// worker that meanwhile found the job on its own, did it and parked again,
// and send it a wake. The worker must not take that late wake as a job:
// it would count the job twice (a negative WaitGroup counter, a panic).
// The test makes the late wake itself, which on a busy machine happens
// by chance.
func TestLateWakeIsNotAJob(t *testing.T) {
	p := New(2)
	defer p.Close()
	checkOnce(t, p, 2, 1) // worker 1 has done this job when Run returns
	deadline := time.Now().Add(10 * time.Second)
	for !p.parked[1].Load() {
		if time.Now().After(deadline) {
			t.Fatal("worker 1 did not park")
		}
		time.Sleep(Spin)
	}
	if !p.parked[1].CompareAndSwap(true, false) {
		t.Fatal("worker 1 left its park")
	}
	p.wake[1] <- struct{}{} // what the late Run sends
	time.Sleep(10 * Spin)   // the worker takes it and parks again
	for range 100 {
		checkOnce(t, p, 64, 1)
	}
}

// TestHandshake runs the two halves of the park handshake against each
// other, started together many times, and fails if the worker ever misses
// the job while Run misses the parked flag: then nobody wakes the worker.
// With plain atomic Stores for the two writes this happens under qemu-user
// (an x86 host's store buffer), which hung a CI run; on real cores it must
// never happen.
func TestHandshake(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two Ps for the worker and Run to race")
	}
	// No worker goroutines: the test plays worker 1.
	p := &Pool{parked: make([]atomic.Bool, 2), wake: []chan struct{}{nil, make(chan struct{}, 1)}}
	const tries = 100000
	var start, finish [2]atomic.Int64
	sawJob := make([]bool, tries)
	go func() {
		for i := range int64(tries) {
			start[1].Store(i + 1)
			for start[0].Load() <= i {
			}
			sawJob[i] = p.announcePark(1) == uint64(i+1)
			finish[1].Store(i + 1)
			for finish[0].Load() <= i {
			}
		}
	}()
	lost := 0
	for i := range int64(tries) {
		start[0].Store(i + 1)
		for start[1].Load() <= i {
		}
		p.publish(uint64(i + 1))
		woke := p.rouse(1)
		if woke {
			<-p.wake[1]
		}
		for finish[1].Load() <= i {
		}
		if !woke && !sawJob[i] {
			lost++
		}
		p.parked[1].Store(false)
		finish[0].Store(i + 1)
	}
	if lost > 0 {
		t.Fatalf("%d of %d handshakes lost the wake-up", lost, tries)
	}
}
