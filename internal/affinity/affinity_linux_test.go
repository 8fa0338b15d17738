package affinity

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// taskMasks reads every thread's Cpus_allowed_list from /proc, which is
// where the kernel, not this package, says what each thread may use.
func taskMasks(t *testing.T) map[int]string {
	t.Helper()
	tids, err := threads()
	if err != nil {
		t.Fatal(err)
	}
	masks := map[int]string{}
	for _, tid := range tids {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", itoa(tid), "status"))
		if err != nil {
			continue // exited since
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				masks[tid] = strings.TrimSpace(v)
			}
		}
	}
	return masks
}

func itoa(i int) string { return Format([]int{i}) }

func checkAll(t *testing.T, want []int, what string) {
	t.Helper()
	masks := taskMasks(t)
	if len(masks) < 2 {
		t.Fatalf("%s: only %d threads in /proc/self/task", what, len(masks))
	}
	for tid, m := range masks {
		if m != Format(want) {
			t.Errorf("%s: thread %d has Cpus_allowed_list %s, want %s", what, tid, m, Format(want))
		}
	}
}

// lockedThreads starts n goroutines that each hold an OS thread until stop
// is closed, and returns the threads' IDs and masks as seen from inside.
func lockedThreads(t *testing.T, n int, stop chan struct{}) (tids []int, masks [][]int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			cpus, err := allowed()
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			tids, masks = append(tids, unix.Gettid()), append(masks, cpus)
			mu.Unlock()
			wg.Done()
			<-stop
		}()
	}
	wg.Wait()
	return tids, masks
}

func TestSetPinsEveryThread(t *testing.T) {
	orig, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if len(orig) < 2 {
		t.Skipf("only CPU %s is allowed; pinning to a subset needs two", Format(orig))
	}
	p, err := Parse(Format(orig))
	if err != nil || !slices.Equal(p, orig) {
		t.Fatalf("Allowed() = %v does not round-trip through the cpulist format: %v, %v", orig, p, err)
	}
	checkAll(t, orig, "before")

	stop := make(chan struct{})
	defer close(stop)
	old, _ := lockedThreads(t, 4, stop) // threads that exist before Set
	before := taskMasks(t)

	sub := orig[1:] // leave out one CPU, as the agent leaves one to the camera
	if err := Set(sub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Set(orig); err != nil {
			t.Fatalf("restoring %s: %v", Format(orig), err)
		}
		checkAll(t, orig, "restored")
	})
	checkAll(t, sub, "after Set")
	for _, tid := range old {
		if _, ok := taskMasks(t)[tid]; !ok {
			t.Errorf("locked thread %d vanished", tid)
		}
	}
	if got, err := Allowed(); err != nil || !slices.Equal(got, sub) {
		t.Errorf("Allowed() = %v, %v; want %v", got, err, sub)
	}

	// Threads the runtime creates now must inherit the mask.
	fresh, masks := lockedThreads(t, 4, stop)
	newThreads := 0
	for i, tid := range fresh {
		if _, existed := before[tid]; !existed {
			newThreads++
		}
		if !slices.Equal(masks[i], sub) {
			t.Errorf("new thread %d runs on %s, want %s", tid, Format(masks[i]), Format(sub))
		}
	}
	if newThreads == 0 {
		t.Fatal("no new OS thread was created; the inheritance was not tested")
	}
	checkAll(t, sub, "after new threads")
}

// Go 1.25+ lowers GOMAXPROCS to the mask, read by sysmon on its own thread:
// only a process-wide Set makes that happen, and undoing it raises it again.
func TestSetLowersGOMAXPROCS(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "updatemaxprocs=0") {
		t.Skip("GODEBUG=updatemaxprocs=0")
	}
	orig, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if len(orig) < 2 {
		t.Skipf("only CPU %s is allowed; pinning to a subset needs two", Format(orig))
	}
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev) // go test set it explicitly; so does this
	runtime.SetDefaultGOMAXPROCS()
	base := runtime.GOMAXPROCS(0)
	if base < 2 {
		t.Skipf("default GOMAXPROCS is %d (a cgroup CPU limit?)", base)
	}
	defer func() {
		if err := Set(orig); err != nil {
			t.Fatal(err)
		}
	}()

	// Keep a P busy so sysmon does not park.
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	wait := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for runtime.GOMAXPROCS(0) != want {
			if time.Now().After(deadline) {
				t.Fatalf("GOMAXPROCS stayed %d, want %d", runtime.GOMAXPROCS(0), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := Set(orig[:1]); err != nil {
		t.Fatal(err)
	}
	wait(1)
	if err := Set(orig); err != nil {
		t.Fatal(err)
	}
	wait(base)
}

// A CPU that does not exist is named, and nothing changes.
func TestSetNonexistent(t *testing.T) {
	orig, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(onlineFile)
	if err != nil {
		t.Skipf("no %s: %v", onlineFile, err)
	}
	online, err := Parse(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatal(err)
	}
	absent := online[len(online)-1] + 1
	if absent > MaxCPU {
		t.Skip("every CPU number is online")
	}
	err = Set([]int{orig[0], absent})
	if err == nil {
		Set(orig)
		t.Fatalf("Set to CPU %d succeeded; online are %s", absent, Format(online))
	}
	if want := "CPU " + itoa(absent) + " does not exist"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to contain %q", err, want)
	}
	checkAll(t, orig, "after a failed Set")
}
