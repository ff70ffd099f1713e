package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// The simulated GitHub and Jira serve the full sync from the harness's
// process, on the exporter's two cores and at its CPU priority; a remote
// GitHub or Jira never takes the exporter's CPU. An upstream nice
// (Options.UpstreamNice) lowers the priority of every thread of the
// harness so that, when both want a core, the exporter wins, as it would
// against a remote service. The fakes still get every cycle the exporter
// does not use, so the sync still waits on them when they are slow.
//
// Linux keeps a nice value per thread and a new thread or a forked child
// takes its creator's. The harness's threads are reniced by a sweep of
// /proc/self/task (repeated every second, so a thread created by one not
// yet reniced is caught), except one thread locked to a goroutine that
// starts the child processes (the exporter and the scraper process): a
// fork from it gives a child the harness's original priority. The Go
// runtime creates the new threads a locked thread needs from its template
// thread, which the sweep renices, so nothing else runs at that priority.

// niceHarness renices the harness's threads to nice and returns a spawn
// function that runs f on the thread kept at the original priority, and
// a stop that ends the sweep and that thread. nice 0 changes nothing:
// spawn runs f in place.
func niceHarness(ctx context.Context, nice int) (spawn func(f func()), stop func(), err error) {
	if nice == 0 {
		return func(f func()) { f() }, func() {}, nil
	}
	if nice < 1 || nice > 19 {
		return nil, nil, fmt.Errorf("bench: upstream nice %d: want 0 (off) to 19", nice)
	}
	type started struct {
		tid int
		err error
	}
	reqs := make(chan func())
	ready := make(chan started)
	go func() {
		// Never unlocked: the thread ends with the goroutine instead of
		// going back to the runtime at its own priority.
		runtime.LockOSThread()
		tid := syscall.Gettid()
		var err error
		if n := threadNice(tid); n > nice {
			err = fmt.Errorf("bench: the harness already runs at nice %d, above the upstream nice %d", n, nice)
		}
		ready <- started{tid: tid, err: err}
		if err != nil {
			return
		}
		for f := range reqs {
			f()
		}
	}()
	s := <-ready
	if s.err != nil {
		return nil, nil, s.err
	}
	sweep := func() error {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || tid == s.tid {
				continue
			}
			// A thread that ended since the listing is no error.
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && err != syscall.ESRCH {
				return fmt.Errorf("bench: renice thread %d to %d: %w", tid, nice, err)
			}
		}
		return nil
	}
	if err := sweep(); err != nil {
		close(reqs)
		return nil, nil, err
	}
	sweepCtx, cancel := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sweepCtx.Done():
				return
			case <-t.C:
				_ = sweep() // the first sweep succeeded: a later failure is a thread that raced its end
			}
		}
	}()
	spawn = func(f func()) {
		done := make(chan struct{})
		reqs <- func() { defer close(done); f() }
		<-done
	}
	stop = func() {
		cancel()
		<-swept
		close(reqs)
	}
	return spawn, stop, nil
}

// threadNice is the nice value of thread tid (0 where it cannot be read).
func threadNice(tid int) int {
	// The raw getpriority system call returns 20 - nice.
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return 0
	}
	return 20 - prio
}
