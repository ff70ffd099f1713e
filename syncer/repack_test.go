package syncer

import (
	"context"

	"github.com/crossteam/crossteam/store"
)

// repack packs every item's events as the syncer does after a
// recomputation, so benchmarks start from the steady state.
func repack(ctx context.Context, st *store.Store) error {
	_, err := st.Repack(ctx)
	return err
}
