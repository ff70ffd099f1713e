package syncer

import (
	"context"

	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// pipelineDepth is how many items the store walk may run ahead of the
// engine: enough to smooth the two stages' per-item jitter, small enough
// that the buffers (one item and its events each) stay a few MiB.
const pipelineDepth = 64

// walkItem is one item handed from the store walk to the engine, in
// buffers owned by the pipeline (the walk reuses its own).
type walkItem struct {
	source, key string
	it          model.Item
	hasItem     bool
	evs         []model.Event
}

// pipelined runs a store walk (r.Items) and apply on two goroutines: the
// walk reads and unpacks the next items while apply derives the previous
// ones. A full read after a restart spends about as long in the store
// (SQLite steps, row decoding) as in the engine's derivation, so on two
// cores the two overlap instead of adding up. apply runs on one goroutine
// at a time, in the walk's order, so the state it updates needs no lock.
func pipelined(ctx context.Context, r *store.Reader, since int64, apply func(source, key string, it *model.Item, evs []model.Event)) error {
	free := make(chan *walkItem, pipelineDepth)
	for range pipelineDepth {
		free <- &walkItem{}
	}
	work := make(chan *walkItem, pipelineDepth)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for w := range work {
			var it *model.Item
			if w.hasItem {
				it = &w.it
			}
			apply(w.source, w.key, it, w.evs)
			free <- w
		}
	}()
	err := r.Items(ctx, since, func(source, key string, it *model.Item, evs []model.Event) error {
		var w *walkItem
		select {
		case w = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.source, w.key, w.hasItem = source, key, it != nil
		if it != nil {
			// The walk's item is reused; its lists are fresh per item.
			w.it = *it
		}
		w.evs = append(w.evs[:0], evs...)
		work <- w
		return nil
	})
	close(work)
	<-done
	return err
}
