package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/crossteam/crossteam/model"
)

// Reader is one consistent read of the store (a read-only transaction)
// that streams items with their events instead of loading everything: the
// exporter derives each item as it comes and keeps no events.
//
// Why: holding every event for the process's life was most of the
// exporter's memory (168 bytes per model.Event, 302 MB of a 412 MB heap at
// 1.78 M events), and re-reading all items after every sync cost more than
// the whole recomputation should. Reader.Items with the sequence a previous
// read saw returns only the items changed since (item_changes).
type Reader struct {
	s   *Store
	tx  *sql.Tx
	seq int64
	in  interner // per read: item strings shared within it
}

// Read starts a consistent read. Close it when done.
func (s *Store) Read(ctx context.Context) (*Reader, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store %s: read: begin: %w", s.path, err)
	}
	r := &Reader{s: s, tx: tx, in: interner{}}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM item_changes`).Scan(&r.seq); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("store %s: read: change sequence: %w", s.path, err)
	}
	return r, nil
}

// Close ends the read.
func (r *Reader) Close() error { return r.tx.Rollback() }

// Seq is the change sequence this read sees: pass it to Items of a later
// read to get only the items changed after this one.
func (r *Reader) Seq() int64 { return r.seq }

// Milestones returns the milestone records, ordered by (Source, Key).
func (r *Reader) Milestones(ctx context.Context) ([]model.Milestone, error) {
	ms, err := loadMilestones(ctx, r.tx, r.in)
	if err != nil {
		return nil, fmt.Errorf("store %s: read milestones: %w", r.s.path, err)
	}
	return ms, nil
}

// Members returns the stored GitHub team expansions, ordered as Load's.
func (r *Reader) Members(ctx context.Context) ([]model.TeamMember, error) {
	ms, err := loadMembers(ctx, r.tx, r.in)
	if err != nil {
		return nil, fmt.Errorf("store %s: read team members: %w", r.s.path, err)
	}
	return ms, nil
}

// HasDependencies reports whether any "blocked by" event is stored (an
// index lookup: events_blocked_by).
func (r *Reader) HasDependencies(ctx context.Context) (bool, error) {
	var ok bool
	if err := r.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events INDEXED BY events_blocked_by WHERE kind = 'blocked_by_added')`).Scan(&ok); err != nil {
		return false, fmt.Errorf("store %s: read dependencies: %w", r.s.path, err)
	}
	return ok, nil
}

// Identities returns the stored identity facts, ordered as Load's.
func (r *Reader) Identities(ctx context.Context) ([]model.Identity, error) {
	ids, err := loadIdentities(ctx, r.tx, r.in)
	if err != nil {
		return nil, fmt.Errorf("store %s: read identities: %w", r.s.path, err)
	}
	return ids, nil
}

// ItemFunc receives one item: its stored record (nil when only events of
// it are stored) and all its events ordered by (At, insertion order), as
// Load orders them. Event.ID is left empty (the engine does not use it,
// and not reading it saves a string per event). The item and the events
// slice are reused for the next call: copy what must be kept. Event
// strings share one backing string per item.
type ItemFunc func(source, key string, it *model.Item, events []model.Event) error

// Items calls fn for every item changed after sequence since (0: every
// item), in (Source, Key) order. An error from fn stops the walk and is
// returned as is.
func (r *Reader) Items(ctx context.Context, since int64, fn ItemFunc) error {
	var err error
	if since <= 0 {
		err = r.all(ctx, fn)
	} else {
		err = r.changed(ctx, since, fn)
	}
	var fe fnError
	if errors.As(err, &fe) {
		return fe.err
	}
	if err != nil {
		return fmt.Errorf("store %s: read items: %w", r.s.path, err)
	}
	return nil
}

// fnError carries an ItemFunc's error through the walk unwrapped.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

const (
	itemColumns = `source, key, target, kind, url, title, author,
	created_at, closed_at, updated_at, milestones, labels, assignees, status, team_value, components, signals`
	// packedEvent packs one event's columns into one string: at, then
	// each text column as <byte length>:<bytes>; an item's events are
	// these concatenated (item_events.packed). Reading one packed string
	// per item instead of nine columns per event is what makes a full
	// read cheap: with the pure-Go SQLite driver each column read is a
	// locked call and a fresh string (measured: 55% of a full read's
	// time went to column reads), and packing at read time left the
	// expression evaluation as the cost. The event strings are
	// substrings of the item's one string: no garbage per event.
	packedEvent = `at || ',' || octet_length(kind) || ':' || kind || octet_length(actor) || ':' || actor ||
	octet_length(value) || ':' || value || octet_length(team) || ':' || team ||
	octet_length(from_value) || ':' || from_value || octet_length(to_value) || ':' || to_value`
	// The full walk: items, fresh packed events (stale rows flagged, to
	// be skipped) and the stale items packed on the fly, each in (source,
	// key) order by primary key (no sort).
	allItemsSQL  = `SELECT ` + itemColumns + ` FROM items ORDER BY source, key`
	allPackedSQL = `SELECT p.source, p.key, p.packed, s.key IS NOT NULL
	FROM item_events p LEFT JOIN stale_events s ON s.source = p.source AND s.key = p.key ORDER BY p.source, p.key`
	allStaleSQL = `SELECT s.source, s.key, (` + packOf + `) FROM stale_events s ORDER BY s.source, s.key`
	// The changed walk: the same for the items marked in item_changes
	// after a sequence number. CROSS JOIN keeps item_changes the outer
	// loop (SQLite does not reorder it).
	changedItemsSQL = `SELECT i.source, i.key, i.target, i.kind, i.url, i.title, i.author,
	i.created_at, i.closed_at, i.updated_at, i.milestones, i.labels, i.assignees, i.status, i.team_value, i.components, i.signals
	FROM item_changes c CROSS JOIN items i ON i.source = c.source AND i.key = c.key
	WHERE c.seq > ? ORDER BY i.source, i.key`
	changedPackedSQL = `SELECT p.source, p.key, p.packed, s.key IS NOT NULL
	FROM item_changes c CROSS JOIN item_events p ON p.source = c.source AND p.key = c.key
	LEFT JOIN stale_events s ON s.source = p.source AND s.key = p.key
	WHERE c.seq > ? ORDER BY p.source, p.key`
	changedStaleSQL = `SELECT s.source, s.key, (` + packOf + `)
	FROM item_changes c CROSS JOIN stale_events s ON s.source = c.source AND s.key = c.key
	WHERE c.seq > ? ORDER BY s.source, s.key`
	// packOf packs the events of the item (s.source, s.key) from the
	// events table.
	packOf = `SELECT group_concat(` + packedEvent + `, '' ORDER BY at, rowid) FROM events
	WHERE events.source = s.source AND events.item_key = s.key`
	// repackSQL rewrites the packed events of the items in repack_batch.
	repackSQL = `INSERT INTO item_events (source, key, n, packed)
	SELECT s.source, s.key, (SELECT count(*) FROM events WHERE events.source = s.source AND events.item_key = s.key), (` + packOf + `)
	FROM repack_batch s WHERE true
	ON CONFLICT (source, key) DO UPDATE SET n = excluded.n, packed = excluded.packed`
)

// itemScanner scans item rows into one reused model.Item.
type itemScanner struct {
	in                       interner
	it                       model.Item
	created, closed, updated sql.NullInt64
	lists                    [5]sql.RawBytes
}

func (sc *itemScanner) scan(rows *sql.Rows) (*model.Item, error) {
	it := &sc.it
	*it = model.Item{}
	if err := rows.Scan(&it.Source, &it.Key, &it.Target, &it.Kind, &it.URL, &it.Title, &it.Author,
		&sc.created, &sc.closed, &sc.updated, &sc.lists[0], &sc.lists[1], &sc.lists[2], &it.Status, &it.TeamValue, &sc.lists[3], &sc.lists[4]); err != nil {
		return nil, err
	}
	in := sc.in
	it.Source, it.Target, it.Kind = in.get(it.Source), in.get(it.Target), in.get(it.Kind)
	it.Author, it.Status, it.TeamValue = in.get(it.Author), in.get(it.Status), in.get(it.TeamValue)
	it.Created, it.Closed, it.Updated = fromMillis(sc.created), fromMillis(sc.closed), fromMillis(sc.updated)
	var err error
	for j, dst := range [...]*[]string{&it.Milestones, &it.Labels, &it.Assignees, &it.Components, &it.Signals} {
		if *dst, err = decodeList(sc.lists[j], in); err != nil {
			return nil, fmt.Errorf("item %s: %s: %w", it.Key, itemListColumns[j], err)
		}
	}
	return it, nil
}

// unpackEvents appends the events packed in p (packedEvent, concatenated
// in order) to evs.
func unpackEvents(evs []model.Event, source, key, p string) ([]model.Event, error) {
	num := func(end byte) (int64, bool) {
		var n int64
		neg := false
		i := 0
		if i < len(p) && p[i] == '-' {
			neg, i = true, 1
		}
		start := i
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			n = n*10 + int64(p[i]-'0')
			i++
		}
		if i == start || i >= len(p) || p[i] != end {
			return 0, false
		}
		p = p[i+1:]
		if neg {
			n = -n
		}
		return n, true
	}
	str := func() (string, bool) {
		n, ok := num(':')
		if !ok || n < 0 || n > int64(len(p)) {
			return "", false
		}
		v := p[:n]
		p = p[n:]
		return v, true
	}
	for len(p) > 0 {
		at, ok := num(',')
		if !ok {
			return evs, fmt.Errorf("item %s: malformed packed events", key)
		}
		e := model.Event{Source: source, ItemKey: key, At: time.UnixMilli(at).UTC()}
		var kind string
		for _, dst := range [...]*string{&kind, &e.Actor, &e.Value, &e.Team, &e.From, &e.To} {
			if *dst, ok = str(); !ok {
				return evs, fmt.Errorf("item %s: malformed packed events", key)
			}
		}
		e.Kind = model.EventKind(kind)
		evs = append(evs, e)
	}
	return evs, nil
}

// all walks every item and its events.
func (r *Reader) all(ctx context.Context, fn ItemFunc) error {
	return r.walk(ctx, fn, allItemsSQL, allPackedSQL, allStaleSQL)
}

// changed walks the items marked in item_changes after since.
func (r *Reader) changed(ctx context.Context, since int64, fn ItemFunc) error {
	return r.walk(ctx, fn, changedItemsSQL, changedPackedSQL, changedStaleSQL, since)
}

// packedRows reads (source, key, packed[, stale]) rows in key order;
// withStale rows flagged stale are skipped (their events come from the
// stale query instead).
type packedRows struct {
	rows                *sql.Rows
	withStale           bool
	source, key, packed string
	pending             bool
}

func (p *packedRows) next() error {
	p.pending = false
	for p.rows.Next() {
		var stale bool
		var packed sql.NullString
		var err error
		if p.withStale {
			err = p.rows.Scan(&p.source, &p.key, &packed, &stale)
		} else {
			err = p.rows.Scan(&p.source, &p.key, &packed)
		}
		if err != nil {
			return err
		}
		if stale {
			continue
		}
		p.packed, p.pending = packed.String, true
		return nil
	}
	return p.rows.Err()
}

// walk runs an items query and the packed-events queries (fresh rows and
// stale items packed on the fly), all in (source, key) order, side by
// side: one pass over each, nothing held but one item.
func (r *Reader) walk(ctx context.Context, fn ItemFunc, itemsQ, packedQ, staleQ string, args ...any) error {
	items, err := r.tx.QueryContext(ctx, itemsQ, args...)
	if err != nil {
		return err
	}
	defer items.Close()
	var ev [2]*packedRows
	for i, q := range []string{packedQ, staleQ} {
		rows, err := r.tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		ev[i] = &packedRows{rows: rows, withStale: i == 0}
		if err := ev[i].next(); err != nil {
			return err
		}
	}

	is := &itemScanner{in: r.in}
	var it *model.Item
	nextItem := func() error {
		it = nil
		if items.Next() {
			var err error
			it, err = is.scan(items)
			return err
		}
		return items.Err()
	}
	if err := nextItem(); err != nil {
		return err
	}
	var evs []model.Event
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The smallest (source, key) of the next item and next events.
		var source, key string
		found := false
		if it != nil {
			source, key, found = it.Source, it.Key, true
		}
		for _, p := range ev {
			if p.pending && (!found || less(p.source, p.key, source, key)) {
				source, key, found = p.source, p.key, true
			}
		}
		if !found {
			return nil
		}
		source = r.in.get(source)
		evs = evs[:0]
		for _, p := range ev {
			if p.pending && p.source == source && p.key == key {
				if evs, err = unpackEvents(evs, source, key, p.packed); err != nil {
					return err
				}
				if err := p.next(); err != nil {
					return err
				}
			}
		}
		var rec *model.Item
		if it != nil && it.Source == source && it.Key == key {
			rec = it
			rec.Key = key
		}
		if err := fn(source, key, rec, evs); err != nil {
			return fnError{err}
		}
		if rec != nil {
			if err := nextItem(); err != nil {
				return err
			}
		}
	}
}

// less orders (source, key) as SQLite's BINARY collation does.
func less(s1, k1, s2, k2 string) bool {
	if s1 != s2 {
		return s1 < s2
	}
	return k1 < k2
}
