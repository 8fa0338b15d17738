// Package parallel runs the engines' kernels on a fixed set of worker
// goroutines. A job splits into numbered tasks; every task is computed by
// exactly one goroutine with the same arithmetic whichever goroutine it is,
// so results do not depend on the thread count. Running a job allocates
// nothing, which keeps inference allocation-free in steady state.
//
// An inference is a few hundred jobs of tens of microseconds each. A worker
// that parks between them must be woken through the kernel (on a virtual
// machine, through the host), which costs about as much as a small job; so
// workers, and the caller waiting for them, spin for a while (Spin) before
// they park, as ONNX Runtime's and OpenMP's pools do. They spin only when
// every thread can have its own P: spinning for a goroutine that needs our
// P would only delay it.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Job is work split into tasks 0..n-1. Do runs tasks [lo, hi) on the
// goroutine numbered worker (0 <= worker < Pool.Threads()), which lets a job
// keep per-worker scratch memory.
type Job interface {
	Do(worker, lo, hi int)
}

// Spin is how long an idle worker, or the caller waiting for the last
// task, polls before it parks. It covers the gap between one job and the
// next within an inference, and it is short against the time between
// inferences, so a pool between frames costs no CPU.
const Spin = 200 * time.Microsecond

// Pool is a fixed set of worker goroutines. Run is not safe for concurrent
// use: one inference at a time per pool.
type Pool struct {
	threads int
	spin    bool
	wake    []chan struct{}
	parked  []atomic.Bool
	done    sync.WaitGroup
	left    atomic.Int32 // helpers still working on the current job
	closed  atomic.Bool

	// epoch is the job's number << 16 | the number of helpers it wants:
	// one word, so that a worker sees both of the same job.
	epoch atomic.Uint64

	job   Job
	n     int
	grain int
	share []share // participant i's chunks of the current job
}

// share is the chunks of grain tasks a participant of a job owns: the
// next one to take and the end. A participant takes its own chunks first,
// so that consecutive operations over the same pixels find them in the
// cache of the core that wrote them, then takes what others have left.
// Padded to a cache line each: the counters are written on every chunk.
type share struct {
	next atomic.Int64
	end  int64
	_    [48]byte
}

// maxThreads bounds the helper count that fits in epoch's low byte.
const maxThreads = 1 << 16

// New starts a pool with the given number of threads (the caller counts as
// one). threads <= 0 means runtime.NumCPU().
func New(threads int) *Pool {
	threads = min(Count(threads), maxThreads)
	p := &Pool{
		threads: threads,
		spin:    runtime.GOMAXPROCS(0) >= threads,
		wake:    make([]chan struct{}, threads),
		parked:  make([]atomic.Bool, threads),
		share:   make([]share, threads),
	}
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
	seen := uint64(0)
	for {
		epoch, ok := p.awaitJob(id, seen)
		if !ok {
			return
		}
		seen = epoch
		if id > int(epoch&(maxThreads-1)) {
			continue // a job for fewer helpers
		}
		p.drain(id, int(epoch&(maxThreads-1))+1)
		p.left.Add(-1)
		p.done.Done()
	}
}

// awaitJob returns the epoch of a job newer than seen: spinning for Spin,
// then parked until Run wakes the worker. ok is false once the pool closed.
func (p *Pool) awaitJob(id int, seen uint64) (epoch uint64, ok bool) {
	if p.spin {
		deadline := time.Now().Add(Spin)
		for i := 1; ; i++ {
			if e := p.epoch.Load(); e != seen {
				return e, true
			}
			if p.closed.Load() {
				return 0, false
			}
			if i%64 == 0 {
				if time.Now().After(deadline) {
					break
				}
				runtime.Gosched() // let a goroutine waiting for this P run
			}
		}
	}
	// Park. Run clears parked before it sends, so a worker that finds a
	// new job after setting parked must either clear it itself or take
	// the send that is coming.
	for {
		if e := p.announcePark(id); e != seen && p.parked[id].CompareAndSwap(true, false) {
			return e, true
		}
		if _, open := <-p.wake[id]; !open {
			return 0, false
		}
		if e := p.epoch.Load(); e != seen {
			return e, true
		}
		// A late wake for the job this worker has done already: Run,
		// preempted in its waking loop, cleared the flag of this later
		// park. Taking it as a job would count the job twice.
	}
}

// announcePark and publish are the two halves of a handshake: a worker
// going to sleep writes its parked flag, then reads the epoch; Run writes
// the epoch, then reads the flags. One of them must see the other's write,
// or the worker sleeps through the job and Run waits for it forever. Go's
// atomics promise that, but under qemu-user on an x86 host an atomic Store
// can still sit in the host's store buffer while the Load after it reads
// (with Stores, TestHandshake lost thousands of its 100000 tries on
// qemu's cortex-a53). Both writes are therefore read-modify-writes, which
// qemu turns into full barriers; on real arm64 cores they order as STLR
// does.
func (p *Pool) announcePark(id int) (epoch uint64) {
	p.parked[id].Swap(true)
	return p.epoch.Load()
}

// publish makes epoch the current job; see announcePark.
func (p *Pool) publish(epoch uint64) { p.epoch.Swap(epoch) }

// rouse wakes worker w if it announced a park since it was last woken,
// and reports whether it did. Run calls it after publish.
func (p *Pool) rouse(w int) bool {
	if !p.parked[w].CompareAndSwap(true, false) {
		return false
	}
	p.wake[w] <- struct{}{}
	return true
}

// drain runs the worker's own chunks, then those left in the others'
// shares, until none are left.
func (p *Pool) drain(worker, participants int) {
	for i := range participants {
		s := &p.share[(worker+i)%participants]
		for {
			c := s.next.Add(1) - 1
			if c >= s.end {
				break
			}
			lo := int(c) * p.grain
			p.job.Do(worker, lo, min(lo+p.grain, p.n))
		}
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
	chunks, participants := int64((n+grain-1)/grain), int64(helpers+1)
	for i := range participants {
		p.share[i].next.Store(i * chunks / participants)
		p.share[i].end = (i + 1) * chunks / participants
	}
	p.done.Add(helpers)
	p.left.Store(int32(helpers))
	p.publish((p.epoch.Load()>>16+1)<<16 | uint64(helpers))
	for w := 1; w <= helpers; w++ {
		p.rouse(w)
	}
	p.drain(0, helpers+1)
	if p.spin {
		deadline := time.Now().Add(Spin)
		for i := 1; p.left.Load() > 0; i++ {
			if i%64 == 0 && time.Now().After(deadline) {
				break
			}
		}
	}
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
