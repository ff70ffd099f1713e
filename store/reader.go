package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
// are reused for the next call: copy what must be kept.
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
	// streamEventColumns: no id (unused by the engine).
	streamEventColumns = `source, item_key, at, actor, kind, value, team, from_value, to_value`
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

// eventScanner scans event rows (streamEventColumns) into a reused slice.
// Event strings are not interned: no event outlives its item's call, so
// interning would cost a map lookup per column and save nothing.
type eventScanner struct {
	events []model.Event
	e      model.Event
	kind   string
	at     int64
}

func (sc *eventScanner) scan(rows *sql.Rows) error {
	e := &sc.e
	if err := rows.Scan(&e.Source, &e.ItemKey, &sc.at, &e.Actor, &sc.kind, &e.Value, &e.Team, &e.From, &e.To); err != nil {
		return err
	}
	e.Kind = model.EventKind(sc.kind)
	e.At = fromMillis(sql.NullInt64{Int64: sc.at, Valid: true})
	return nil
}

// all walks the items table and the events index side by side, both in
// (source, key) order: one pass over each, nothing held but one item.
func (r *Reader) all(ctx context.Context, fn ItemFunc) error {
	items, err := r.tx.QueryContext(ctx, `SELECT `+itemColumns+` FROM items ORDER BY source, key`)
	if err != nil {
		return err
	}
	defer items.Close()
	// Served by events_by_item_at without a sort (TestLoadUsesIndex).
	evRows, err := r.tx.QueryContext(ctx, `SELECT `+streamEventColumns+` FROM events ORDER BY source, item_key, at, rowid`)
	if err != nil {
		return err
	}
	defer evRows.Close()

	is := &itemScanner{in: r.in}
	es := &eventScanner{}
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
	// pending is the first event of the next item, already scanned.
	pending := false
	nextEvent := func() error {
		pending = false
		if evRows.Next() {
			if err := es.scan(evRows); err != nil {
				return err
			}
			pending = true
			return nil
		}
		return evRows.Err()
	}
	if err := nextItem(); err != nil {
		return err
	}
	if err := nextEvent(); err != nil {
		return err
	}
	for it != nil || pending {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The smaller of the next item and the next event's item.
		var source, key string
		switch {
		case it == nil:
			source, key = es.e.Source, es.e.ItemKey
		case !pending:
			source, key = it.Source, it.Key
		case less(es.e.Source, es.e.ItemKey, it.Source, it.Key):
			source, key = es.e.Source, es.e.ItemKey
		default:
			source, key = it.Source, it.Key
		}
		source = r.in.get(source)
		evs := es.events[:0]
		for pending && es.e.Source == source && es.e.ItemKey == key {
			ev := es.e
			ev.ItemKey = key
			evs = append(evs, ev)
			if err := nextEvent(); err != nil {
				return err
			}
		}
		es.events = evs
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
	return nil
}

// less orders (source, key) as SQLite's BINARY collation does.
func less(s1, k1, s2, k2 string) bool {
	if s1 != s2 {
		return s1 < s2
	}
	return k1 < k2
}

// changed reads the items marked in item_changes after since, one item
// and its events at a time through the primary key and the events index.
func (r *Reader) changed(ctx context.Context, since int64, fn ItemFunc) error {
	rows, err := r.tx.QueryContext(ctx, `SELECT source, key FROM item_changes WHERE seq > ? ORDER BY source, key`, since)
	if err != nil {
		return err
	}
	var keys [][2]string
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return err
		}
		k[0] = r.in.get(k[0])
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	itemSt, err := r.tx.PrepareContext(ctx, `SELECT `+itemColumns+` FROM items WHERE source = ? AND key = ?`)
	if err != nil {
		return err
	}
	defer itemSt.Close()
	evSt, err := r.tx.PrepareContext(ctx, `SELECT `+streamEventColumns+` FROM events WHERE source = ? AND item_key = ? ORDER BY at, rowid`)
	if err != nil {
		return err
	}
	defer evSt.Close()
	is := &itemScanner{in: r.in}
	es := &eventScanner{}
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		var rec *model.Item
		rows, err := itemSt.QueryContext(ctx, k[0], k[1])
		if err != nil {
			return err
		}
		if rows.Next() {
			if rec, err = is.scan(rows); err != nil {
				rows.Close()
				return err
			}
			rec.Key = k[1]
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		evs := es.events[:0]
		rows, err = evSt.QueryContext(ctx, k[0], k[1])
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := es.scan(rows); err != nil {
				rows.Close()
				return err
			}
			ev := es.e
			ev.ItemKey = k[1]
			evs = append(evs, ev)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("item %s: events: %w", k[1], err)
		}
		es.events = evs
		if err := fn(k[0], k[1], rec, evs); err != nil {
			return fnError{err}
		}
	}
	return nil
}
