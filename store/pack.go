package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/crossteam/crossteam/model"
)

// newEvent is an event a page stored (not a duplicate of a stored one),
// with the rowid it got.
type newEvent struct {
	e     *model.Event
	rowid int64
}

// maxAppendEvents bounds the packed rows a page extends in place when it
// adds few events: an UPDATE rewrites the whole row (past about 1 KB, its
// overflow pages too), so an item that gets one event per page (the REST
// events feed of a full sync) would rewrite ever longer rows. A row of
// more events is extended only when the page adds at least a quarter as
// many as it holds (the rewrites then cost a constant per event);
// otherwise the item is marked stale and repacked once, after the
// recomputation. Measured (BenchmarkWriteInterleaved, 100 k events on
// 2,000 items, one per item per page): no cap made that shape 1.5-2x
// slower; 24 keeps it within the noise of marking every item stale.
const maxAppendEvents = 24

// packAdded keeps the packed events (item_events) of the items a page
// added events to current, in the page's transaction, where it can: when
// the item's new events all come at or after its stored ones (the usual
// case: an incremental sync, or an item whose whole history arrives in one
// page, as GraphQL timelines and Jira changelogs do), their packed form
// is appended to the item's row (or is the new row), in Go, without
// reading the events back. Otherwise (events older than stored ones, an
// item already stale, a long row and few new events: maxAppendEvents)
// the item is added to stale, to be packed on the fly by readers and
// rewritten by Repack. The result is byte-identical to packOf's
// (TestPackAtWriteMatchesRepack).
func (s *Store) packAdded(ctx context.Context, tx *sql.Tx, added map[[2]string][]newEvent, stale map[[2]string]bool) error {
	keys := slices.SortedFunc(maps.Keys(added), func(a, b [2]string) int { return cmp.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	// What is stored of each item, in one statement per packBatch items:
	// a statement per item cost more than the page's event inserts.
	type stored struct {
		stale      bool
		n, prevMax sql.NullInt64
	}
	known := make(map[[2]string]stored, len(keys))
	for i := 0; i < len(keys); i += packBatch {
		batch := keys[i:min(i+packBatch, len(keys))]
		args := make([]any, 0, 3*len(batch))
		for _, k := range batch {
			// added[k] is in page order: its first event has the item's
			// lowest new rowid.
			args = append(args, k[0], k[1], added[k][0].rowid)
		}
		rows, err := tx.QueryContext(ctx, `SELECT v.column1, v.column2,
	EXISTS (SELECT 1 FROM stale_events s WHERE s.source = v.column1 AND s.key = v.column2),
	(SELECT n FROM item_events p WHERE p.source = v.column1 AND p.key = v.column2),
	(SELECT max(at) FROM events e WHERE e.source = v.column1 AND e.item_key = v.column2 AND e.rowid < v.column3)
	FROM (VALUES `+placeholders(len(batch), 3)+`) v`, args...)
		if err != nil {
			return fmt.Errorf("packed events: %w", err)
		}
		for rows.Next() {
			var k [2]string
			var st stored
			if err := rows.Scan(&k[0], &k[1], &st.stale, &st.n, &st.prevMax); err != nil {
				rows.Close()
				return fmt.Errorf("packed events: %w", err)
			}
			known[k] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("packed events: %w", err)
		}
	}
	var appends, inserts []any
	var buf []byte
	for _, k := range keys {
		evs, st := added[k], known[k]
		// (at, rowid) order: a stable sort by at keeps the page's order,
		// which is the rowid order, among equal instants.
		slices.SortStableFunc(evs, func(a, b newEvent) int { return cmp.Compare(a.e.At.UnixMilli(), b.e.At.UnixMilli()) })
		switch {
		case st.stale,
			st.prevMax.Valid && st.prevMax.Int64 > evs[0].e.At.UnixMilli(), // older than a stored event
			!st.n.Valid && st.prevMax.Valid,                                // stored events but no row: Repack's job
			st.n.Valid && st.n.Int64 > maxAppendEvents && int64(4*len(evs)) < st.n.Int64:
			stale[k] = true
			continue
		}
		buf = buf[:0]
		for _, ne := range evs {
			buf = appendPacked(buf, ne.e)
		}
		if st.n.Valid {
			appends = append(appends, k[0], k[1], len(evs), string(buf))
		} else {
			inserts = append(inserts, k[0], k[1], len(evs), string(buf))
		}
	}
	for i := 0; i < len(appends); i += 4 * packBatch {
		a := appends[i:min(i+4*packBatch, len(appends))]
		if _, err := tx.ExecContext(ctx, `UPDATE item_events SET n = n + v.column3, packed = packed || v.column4
	FROM (VALUES `+placeholders(len(a)/4, 4)+`) v WHERE item_events.source = v.column1 AND item_events.key = v.column2`, a...); err != nil {
			return fmt.Errorf("append packed events: %w", err)
		}
	}
	for i := 0; i < len(inserts); i += 4 * packBatch {
		a := inserts[i:min(i+4*packBatch, len(inserts))]
		if _, err := tx.ExecContext(ctx, `INSERT INTO item_events (source, key, n, packed) VALUES `+placeholders(len(a)/4, 4), a...); err != nil {
			return fmt.Errorf("pack events: %w", err)
		}
	}
	return nil
}

// packBatch is the rows per multi-row statement of packAdded.
const packBatch = 250

// placeholders returns n rows of cols parameters: (?, ?), (?, ?), ...
func placeholders(n, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var b strings.Builder
	b.Grow(n * (len(row) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// appendPacked appends e in packedEvent's form (the SQL expression the
// readers and Repack use): at in unix ms, then kind, actor, value, team,
// from and to, each as <byte length>:<bytes>.
func appendPacked(b []byte, e *model.Event) []byte {
	b = strconv.AppendInt(b, e.At.UnixMilli(), 10)
	b = append(b, ',')
	for _, f := range [...]string{string(e.Kind), e.Actor, e.Value, e.Team, e.From, e.To} {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
	}
	return b
}
