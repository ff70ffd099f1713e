package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/crossteam/crossteam/model"
)

// interner returns one shared copy of each distinct string, so that the
// millions of repeated sources, item keys, kinds, actors and values of a Load
// share their backing memory.
type interner map[string]string

func (in interner) get(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := in[s]; ok {
		return c
	}
	in[s] = s
	return s
}

// Load reads everything into a model.Dataset, from one consistent snapshot.
// Events are ordered by (Source, ItemKey, At) and, for equal At, by insertion
// order (rowid); items and milestones by (Source, Key); members by (Team,
// Source, Identity, Via); identities by (Source, Account, Kind). Empty
// string lists read back as nil.
func (s *Store) Load(ctx context.Context) (*model.Dataset, error) {
	in := interner{}
	return s.load(ctx, in, func(tx *sql.Tx) ([]model.Event, error) {
		n, err := count(ctx, tx, "events")
		if err != nil {
			return nil, err
		}
		return readEvents(ctx, tx, in, n, orderedEventsSQL)
	})
}

// load reads one consistent snapshot: items, the events that events()
// returns from the same read transaction, milestones, members, identities.
func (s *Store) load(ctx context.Context, in interner, events func(*sql.Tx) ([]model.Event, error)) (*model.Dataset, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store %s: load: begin: %w", s.path, err)
	}
	defer tx.Rollback()

	ds := &model.Dataset{}
	if ds.Items, err = loadItems(ctx, tx, in); err != nil {
		return nil, fmt.Errorf("store %s: load items: %w", s.path, err)
	}
	if ds.Events, err = events(tx); err != nil {
		return nil, fmt.Errorf("store %s: load events: %w", s.path, err)
	}
	if ds.Milestones, err = loadMilestones(ctx, tx, in); err != nil {
		return nil, fmt.Errorf("store %s: load milestones: %w", s.path, err)
	}
	if ds.Members, err = loadMembers(ctx, tx, in); err != nil {
		return nil, fmt.Errorf("store %s: load team members: %w", s.path, err)
	}
	if ds.Identities, err = loadIdentities(ctx, tx, in); err != nil {
		return nil, fmt.Errorf("store %s: load identities: %w", s.path, err)
	}
	return ds, nil
}

func count(ctx context.Context, tx *sql.Tx, table string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	return n, err
}

// itemListColumns names the JSON list columns in the order loadItems scans them.
var itemListColumns = [...]string{"milestones", "labels", "assignees", "components", "signals"}

func loadItems(ctx context.Context, tx *sql.Tx, in interner) ([]model.Item, error) {
	n, err := count(ctx, tx, "items")
	if err != nil {
		return nil, err
	}
	items := make([]model.Item, 0, n)
	rows, err := tx.QueryContext(ctx, `SELECT source, key, target, kind, url, title, author,
	created_at, closed_at, updated_at, milestones, labels, assignees, status, team_value, components, signals
	FROM items ORDER BY source, key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		it                       model.Item
		created, closed, updated sql.NullInt64
		lists                    [5]sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&it.Source, &it.Key, &it.Target, &it.Kind, &it.URL, &it.Title, &it.Author,
			&created, &closed, &updated, &lists[0], &lists[1], &lists[2], &it.Status, &it.TeamValue, &lists[3], &lists[4]); err != nil {
			return nil, err
		}
		it.Source = in.get(it.Source)
		it.Target = in.get(it.Target)
		it.Kind = in.get(it.Kind)
		it.Author = in.get(it.Author)
		it.Status = in.get(it.Status)
		it.TeamValue = in.get(it.TeamValue)
		it.Key = in.get(it.Key) // shared with the events' ItemKey
		it.Created, it.Closed, it.Updated = fromMillis(created), fromMillis(closed), fromMillis(updated)
		for j, dst := range [...]*[]string{&it.Milestones, &it.Labels, &it.Assignees, &it.Components, &it.Signals} {
			if *dst, err = decodeList(lists[j], in); err != nil {
				return nil, fmt.Errorf("item %s: %s: %w", it.Key, itemListColumns[j], err)
			}
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// decodeList decodes a stored JSON string list; "[]" and NULL give nil.
func decodeList(b []byte, in interner) ([]string, error) {
	if len(b) == 0 || string(b) == "[]" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	for i := range l {
		l[i] = in.get(l[i])
	}
	return l, nil
}

const (
	// No rowid: boxing it for database/sql cost one allocation per event.
	eventColumns = `source, id, item_key, at, actor, kind, value, team, from_value, to_value`
	// orderedEventsSQL is served by index events_by_item_at (source,
	// item_key, at, rowid): no sort step, see TestLoadUsesIndex.
	orderedEventsSQL = `SELECT ` + eventColumns + ` FROM events ORDER BY source, item_key, at, rowid`
)

// readEvents is the store's one event reader: the rows of q (selecting
// eventColumns) into a slice of the given capacity, strings interned.
func readEvents(ctx context.Context, tx *sql.Tx, in interner, capacity int, q string, args ...any) ([]model.Event, error) {
	events := make([]model.Event, 0, capacity)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		e    model.Event
		kind string
		at   int64
	)
	for rows.Next() {
		if err := rows.Scan(&e.Source, &e.ID, &e.ItemKey, &at, &e.Actor, &kind, &e.Value, &e.Team, &e.From, &e.To); err != nil {
			return nil, err
		}
		e.Source = in.get(e.Source)
		e.ItemKey = in.get(e.ItemKey)
		e.Actor = in.get(e.Actor)
		e.Kind = model.EventKind(in.get(kind))
		e.Value = in.get(e.Value)
		e.Team = in.get(e.Team)
		e.From = in.get(e.From)
		e.To = in.get(e.To)
		e.At = fromMillis(sql.NullInt64{Int64: at, Valid: true})
		events = append(events, e)
	}
	return events, rows.Err()
}

func loadMilestones(ctx context.Context, tx *sql.Tx, in interner) ([]model.Milestone, error) {
	rows, err := tx.QueryContext(ctx, `SELECT source, key, title, url, due_at, closed_at
	FROM milestones ORDER BY source, key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		ms          []model.Milestone
		m           model.Milestone
		due, closed sql.NullInt64
	)
	for rows.Next() {
		if err := rows.Scan(&m.Source, &m.Key, &m.Title, &m.URL, &due, &closed); err != nil {
			return nil, err
		}
		m.Source = in.get(m.Source)
		m.Title = in.get(m.Title)
		m.Due, m.Closed = fromMillis(due), fromMillis(closed)
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

func loadMembers(ctx context.Context, tx *sql.Tx, in interner) ([]model.TeamMember, error) {
	rows, err := tx.QueryContext(ctx, `SELECT team, source, identity, via
	FROM team_members ORDER BY team, source, identity, via`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out []model.TeamMember
		m   model.TeamMember
	)
	for rows.Next() {
		if err := rows.Scan(&m.Team, &m.Source, &m.Identity, &m.Via); err != nil {
			return nil, err
		}
		m.Team, m.Source = in.get(m.Team), in.get(m.Source)
		m.Identity, m.Via = in.get(m.Identity), in.get(m.Via)
		out = append(out, m)
	}
	return out, rows.Err()
}

func loadIdentities(ctx context.Context, tx *sql.Tx, in interner) ([]model.Identity, error) {
	rows, err := tx.QueryContext(ctx, `SELECT source, account, kind, value
	FROM identities ORDER BY source, account, kind`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out []model.Identity
		id  model.Identity
	)
	for rows.Next() {
		if err := rows.Scan(&id.Source, &id.Account, &id.Kind, &id.Value); err != nil {
			return nil, err
		}
		id.Source, id.Account = in.get(id.Source), in.get(id.Account)
		id.Kind, id.Value = in.get(id.Kind), in.get(id.Value)
		out = append(out, id)
	}
	return out, rows.Err()
}
