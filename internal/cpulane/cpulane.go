// Package cpulane bounds how many goroutines run the exporter's sync CPU
// work (decoding an answer, mapping it, writing a page) at once, so that
// with every source syncing a processor is still free for the web
// handlers.
//
// Why: Go notices a ready network connection when a processor runs out
// of work, and otherwise only at sysmon's poll, every 10 ms; a scrape
// that arrives while the sync keeps every processor busy waits for that
// poll, and then for a running goroutine to be preempted. With the sync's
// CPU sections held to one processor less than the cores, and the runtime
// given one processor more than the cores (Processors), a processor idles
// in the network poller and takes a scrape as it arrives.
//
// A section must not wait for anything another section holds (a lock, a
// channel, another section): with one slot that would deadlock. Network
// waits stay outside: read the body first, then decode inside.
package cpulane

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"runtime"
)

// cores is what the runtime found at start, before Processors is applied:
// GOMAXPROCS from the environment, or else the CPU count or CPU quota.
var cores = runtime.GOMAXPROCS(0)

// slots holds one token per goroutine allowed in a section.
var slots = make(chan struct{}, Width())

// Width is how many sections may run at once: cores less one, at least one.
func Width() int {
	return max(1, cores-1)
}

// Processors is the GOMAXPROCS the exporter runs with when the
// environment sets none: one more than cores.
//
// Why: with as many processors as cores, a scrape that arrives while the
// sections hold every processor but one, and the garbage collector's mark
// worker or a recomputation holds that one, waits for Go's scheduler,
// which preempts a running goroutine only after 10 ms. One processor more
// than the sections and the collector's worker can take gives the scrape
// a thread of its own at once, and the kernel's scheduler, which shares a
// core within a few ms, runs it: the p99 of a scrape during the full sync
// at the medium size fell from 26-28 ms to 16-19 ms on 2 cores, and at
// the large size from 48-58 ms to 42-47 ms, for the same sync time and CPU
// (BENCHMARKS.md). serve sets it once the first snapshot is computed.
func Processors() int {
	return cores + 1
}

// Do runs f in a section: it waits for a slot (or for ctx to end, with
// ctx's error), runs f and frees the slot.
func Do(ctx context.Context, f func() error) error {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-slots }()
	return f()
}

// Decode reads body whole (the network wait, outside the lane), closes it
// and decodes it into v in a section (v nil: read and close only). It
// uses a json.Decoder, as go-github and go-jira do, so what follows the
// value is ignored as before; an empty body is io.EOF, for the caller to
// judge. The clients' own decode reads as the bytes arrive, which would
// hold a slot across the network waits.
func Decode(ctx context.Context, body io.ReadCloser, v any) error {
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil || v == nil {
		return err
	}
	return Do(ctx, func() error { return json.NewDecoder(bytes.NewReader(b)).Decode(v) })
}
