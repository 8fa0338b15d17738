// Package parallel runs the engines' kernels on a fixed set of worker
// goroutines. A job splits into numbered tasks; every task is computed by
// exactly one goroutine with the same arithmetic whichever goroutine it is,
// so results do not depend on the thread count. Running a job allocates
// nothing, which keeps inference allocation-free in steady state.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Job is work split into tasks 0..n-1. Do runs tasks [lo, hi) on the
// goroutine numbered worker (0 <= worker < Pool.Threads()), which lets a job
// keep per-worker scratch memory.
type Job interface {
	Do(worker, lo, hi int)
}

// Pool is a fixed set of worker goroutines. Run is not safe for concurrent
// use: one inference at a time per pool.
type Pool struct {
	threads int
	wake    []chan struct{}
	done    sync.WaitGroup
	closed  atomic.Bool

	job   Job
	n     int
	grain int
	next  atomic.Int64
}

// New starts a pool with the given number of threads (the caller counts as
// one). threads <= 0 means runtime.NumCPU().
func New(threads int) *Pool {
	threads = Count(threads)
	p := &Pool{threads: threads, wake: make([]chan struct{}, threads)}
	for w := 1; w < threads; w++ {
		p.wake[w] = make(chan struct{}, 1)
		go p.worker(w)
	}
	return p
}

// Count is the number of threads New starts for threads: every CPU for
// threads <= 0.
func Count(threads int) int {
	if threads <= 0 {
		return runtime.NumCPU()
	}
	return threads
}

// Threads is the number of goroutines that run a job.
func (p *Pool) Threads() int { return p.threads }

func (p *Pool) worker(id int) {
	for range p.wake[id] {
		p.drain(id)
		p.done.Done()
	}
}

// drain takes chunks of grain tasks until none are left.
func (p *Pool) drain(worker int) {
	for {
		lo := int(p.next.Add(int64(p.grain))) - p.grain
		if lo >= p.n {
			return
		}
		p.job.Do(worker, lo, min(lo+p.grain, p.n))
	}
}

// Run executes tasks 0..n-1 of job, grain tasks at a time, and returns when
// all are done.
func (p *Pool) Run(job Job, n, grain int) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	helpers := min(p.threads, (n+grain-1)/grain) - 1
	if helpers <= 0 || p.closed.Load() {
		job.Do(0, 0, n)
		return
	}
	p.job, p.n, p.grain = job, n, grain
	p.next.Store(0)
	p.done.Add(helpers)
	for w := 1; w <= helpers; w++ {
		p.wake[w] <- struct{}{}
	}
	p.drain(0)
	p.done.Wait()
	p.job = nil
}

// Close stops the workers. It is idempotent; a closed pool runs jobs on
// the calling goroutine alone.
func (p *Pool) Close() {
	if p.closed.Swap(true) {
		return
	}
	for w := 1; w < p.threads; w++ {
		close(p.wake[w])
	}
}
