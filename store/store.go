// Package store is the event store of crossteam: one embedded SQLite file
// (modernc.org/sqlite, pure Go) that the collectors write and the engine
// reads back, whole as a model.Dataset (Load: backfill, review, tests) or
// streamed item by item (Read: the exporter, which keeps no events).
//
// # Tables
//
// All tables can be inspected with the sqlite3 CLI. Instants are stored as
// INTEGER unix milliseconds (UTC); a zero time.Time is stored as NULL and
// read back as the zero time.Time, every other instant is read back in UTC
// (sub-millisecond precision is dropped). String lists are JSON arrays.
//
//	items            one row per (source, key): latest known state of an issue,
//	                 pull request or Jira issue. created_at, closed_at,
//	                 updated_at are unix ms; milestones, labels, assignees,
//	                 components, signals are JSON arrays; status and
//	                 team_value are the current Jira status and team field.
//	events           one row per (source, id): what happened to item_key at
//	                 `at` (unix ms) by actor; kind, value, team, from_value,
//	                 to_value as in model.Event. The rowid is the insertion
//	                 order. Index events_by_item_at (source, item_key, at)
//	                 serves Load's order; the partial index
//	                 events_blocked_by holds the blocked_by_added events
//	                 (Reader.HasDependencies).
//	milestones       one row per (source, key); due_at, closed_at unix ms.
//	team_members     (source, via, team, identity): identities a group `via`
//	                 (e.g. the GitHub team "acme/design") expanded into.
//	identities       (source, account, kind) -> value: aliases an API reported
//	                 for an account (a Jira user key or email), upserted.
//	cursors          (source, target, name) -> value, with updated_at.
//	etags            (source, target, key) -> etag, with updated_at.
//	item_changes     (source, key) -> seq: the sequence number of the last
//	                 page that changed the item's record or added an event
//	                 of it (Reader.Items(since)).
//	item_events      (source, key) -> n, packed: the item's events packed in
//	                 one string (at, then each text column as <length>:<bytes>),
//	                 in (at, rowid) order, so a full read is one row per item.
//	stale_events     (source, key): items whose packed events a page made
//	                 stale (events older than the packed ones, or few
//	                 added to a long row; otherwise the page appends to the
//	                 packed row itself); readers pack them on the fly,
//	                 Repack rewrites them.
//	comment_lists    (source, key) -> target, total, fetched, cut_at: comment
//	                 lists the source cut, and how much of them is stored
//	                 (comments.go); fetched < total: the rest was deferred.
//	schema_migrations version, applied_at: the applied schema migrations.
//
// The views items_readable, events_readable and milestones_readable show the
// same rows with instants rendered as RFC 3339 UTC text, e.g.
//
//	sqlite3 crossteam.db "SELECT * FROM events_readable WHERE item_key = 'acme/web#12'"
//
// # Guarantees
//
//   - A Page (ApplyPage) is written in one transaction: its items, events,
//     milestones, cursors and etags become visible together or not at all, so
//     a crash or a cancelled context never leaves a cursor ahead of the events
//     it stands for. A page is validated before anything is written; an
//     invalid page (for example an event without ID or with a zero At) is
//     rejected with ErrInvalidPage and nothing of it is stored.
//   - Natural-id dedup: items and milestones are upserted by (source, key),
//     the later write replacing the row; events are inserted-or-ignored by
//     (source, id), so re-writing an event is a no-op (the first write wins);
//     cursors and etags are upserted.
//   - Load reads everything in one read transaction (a consistent snapshot)
//     and returns events ordered by (Source, ItemKey, At) and, for equal At,
//     by insertion order.
//   - The file is created with mode 0600, uses WAL (readers never block the
//     writer) with synchronous=NORMAL (a power loss may drop the last
//     committed pages but never splits one) and a busy timeout. Schema
//     migrations are versioned in schema_migrations and each runs once, in its
//     own transaction.
//   - A Store is safe for concurrent use by goroutines. Writes go through a
//     single writer connection (BEGIN IMMEDIATE), reads through a small pool
//     of read connections.
//
// # Performance
//
// Measured on a 2-core linux/amd64 machine (Intel Xeon) with the benchmarks
// in store_test.go:
//
//	BenchmarkApplyPage  pages of 100 events         ~1.5 ms/page (~15 µs/event)
//	BenchmarkLoad       200,000 events               ~0.46 s (~2.3 µs/event)
//	BenchmarkLoad1M     1,000,000 events, measured   ~2.9 s, ~340 MB allocated
//
// BenchmarkLoad1M runs only with CROSSTEAM_STORE_BENCH_1M=1:
//
//	CROSSTEAM_STORE_BENCH_1M=1 go test ./store -run '^$' -bench Load1M -benchtime=1x
//
// Most of Load's time is SQLite itself (stepping the index and fetching
// columns); the file is read through a memory map. Of the 340 MB, 184 MB is
// the []model.Event itself; Load interns repeated strings (sources, item
// keys, kinds, actors, values) so a million events share a few thousand
// distinct strings and only event IDs are per-event allocations that stay.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/crossteam/crossteam/internal/cpulane"
	"github.com/crossteam/crossteam/model"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrInvalidPage is wrapped by the error ApplyPage returns when a page fails
// validation; nothing of such a page is written.
var ErrInvalidPage = errors.New("invalid page")

// ErrInvalidMembers is wrapped by the error ReplaceTeamMembers returns when a
// member fails validation; nothing is written.
var ErrInvalidMembers = errors.New("invalid team members")

const (
	busyTimeout  = 10 * time.Second
	readPoolSize = 4
)

// mmapSize is SQLite's mmap_size for every connection: 0, reads go through
// pread into SQLite's own page cache. Measured (BenchmarkLoadMmap, 200k
// events): a 1 GiB map read the store 8% faster, but the mapped pages
// counted in the exporter's RSS twice (writer and read pool), and a store
// file truncated underneath a running exporter killed it with SIGBUS
// instead of failing the read with an error naming the store
// (TestTruncatedUnderneath). A variable so the benchmark can compare.
var mmapSize = 0

// Store is the crossteam event store. Create it with Open; it is safe for
// concurrent use.
type Store struct {
	path   string
	w      *sql.DB // single writer connection
	r      *sql.DB // read-only pool
	logger *slog.Logger

	// testHookAfterEvents, when set (tests only), runs inside ApplyPage's
	// transaction after the events and before the cursors are written.
	testHookAfterEvents func(ctx context.Context) error
}

// Open opens or creates the store file at path (mode 0600 on creation, the
// parent directory must exist), enables WAL and a busy timeout, applies the
// pending schema migrations (each in one transaction, recorded in
// schema_migrations) and returns the store. A nil logger discards logs.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		return nil, fmt.Errorf("store: open %q: path must be a plain file path", path)
	}
	if err := createFile(path); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	ms := busyTimeout.Milliseconds()
	wq := url.Values{}
	wq.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", ms))
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Add("_pragma", "synchronous(NORMAL)")
	// Statement journals (multi-row statements) in memory, not temp files.
	wq.Add("_pragma", "temp_store(MEMORY)")
	wq.Add("_pragma", fmt.Sprintf("mmap_size(%d)", mmapSize))
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// SQLite allows one writer at a time; a single pooled connection
	// serialises writers inside the process instead of making them spin on
	// SQLITE_BUSY. Keep it open for the lifetime of the store.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{path: path, w: w, logger: logger}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.quickCheck(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.catchUp(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	rq := url.Values{}
	rq.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", ms))
	rq.Add("_pragma", "query_only(1)")
	rq.Add("_pragma", fmt.Sprintf("mmap_size(%d)", mmapSize))
	r, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readPoolSize)
	r.SetMaxIdleConns(readPoolSize)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	logger.Debug("store opened", "path", path)
	return s, nil
}

// createFile creates path with mode 0600 unless it already exists, so that
// SQLite (which would create it with the umask's default mode) opens an
// existing file. SQLite gives the -wal and -shm files the mode of the
// database file.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// ErrCorrupt is wrapped by the error Open returns when the file fails
// SQLite's quick_check.
var ErrCorrupt = errors.New("store is corrupt")

// quickCheck runs PRAGMA quick_check (integrity_check without the index
// cross-checks: linear in the file size) so a damaged file is refused at
// start with what to do, instead of syncs "succeeding" into it while every
// recomputation fails.
func (s *Store) quickCheck(ctx context.Context) error {
	var problems []string
	rows, err := s.w.QueryContext(ctx, "PRAGMA quick_check")
	if err == nil {
		for rows.Next() {
			var line string
			if err = rows.Scan(&line); err != nil {
				break
			}
			if line != "ok" && len(problems) < 5 {
				problems = append(problems, line)
			}
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
	}
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("store: open %s: %w (quick_check: %s): stop crossteam and restore the file from a backup, "+
		"or move it (with its -wal and -shm files) aside and start again to resync everything from the APIs (RUNBOOK.md, \"Store corrupt\")",
		s.path, ErrCorrupt, strings.Join(problems, "; "))
}

// Path is the store's file, for messages that must name it.
func (s *Store) Path() string { return s.path }

// Close closes the store. It is not safe to use the store afterwards.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		// Let SQLite refresh its query planner statistics if useful; cheap.
		if _, err := s.w.Exec("PRAGMA optimize"); err != nil {
			s.logger.Debug("store: pragma optimize", "err", err)
		}
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// migrate applies the migrations newer than the recorded schema version, each
// in its own (immediate) transaction.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL
)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		applied, err := s.applyMigration(ctx, version, m)
		if err != nil {
			return fmt.Errorf("migration %d: %w", version, err)
		}
		if applied {
			s.logger.Info("store: applied schema migration", "path", s.path, "version", version)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, version int, m string) (applied bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		version, time.Now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// SchemaVersion returns the highest applied schema migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Page is what one sync page writes: all of it commits in one transaction, so
// a crash never leaves a cursor ahead of its events.
//
// Every item, event and milestone must carry Source equal to the page's
// Source.
type Page struct {
	Source, Target string            // e.g. "github", "acme" — the target whose cursors/etags these are
	Items          []model.Item      // upsert by (Source, Key): later write replaces the row
	Events         []model.Event     // insert-or-ignore by (Source, ID): writing the same event twice is a no-op
	Milestones     []model.Milestone // upsert by (Source, Key)
	Identities     []model.Identity  // upsert by (Source, Account, Kind)
	Cursors        map[string]string // name -> value, upsert per (Source, Target, name)
	ETags          map[string]string // request URL/key -> etag, upsert per (Source, Target, key)
	CommentLists   []CommentList     // upsert by (Source, Key) (comments.go)
}

// validate checks everything the database would otherwise reject halfway, so
// that an invalid page is refused before a statement runs.
func (p *Page) validate() error {
	if p.Source == "" {
		return errors.New("page without Source")
	}
	for i := range p.Items {
		it := &p.Items[i]
		switch {
		case it.Source != p.Source:
			return fmt.Errorf("item %d (key %q): Source %q differs from the page's", i, it.Key, it.Source)
		case it.Key == "":
			return fmt.Errorf("item %d: missing Key", i)
		}
	}
	for i := range p.Events {
		e := &p.Events[i]
		switch {
		case e.Source == "":
			return fmt.Errorf("event %d (id %q): missing Source", i, e.ID)
		case e.Source != p.Source:
			return fmt.Errorf("event %d (id %q): Source %q differs from the page's", i, e.ID, e.Source)
		case e.ID == "":
			return fmt.Errorf("event %d (item %q): missing ID", i, e.ItemKey)
		case e.ItemKey == "":
			return fmt.Errorf("event %d (id %q): missing ItemKey", i, e.ID)
		case e.At.IsZero():
			return fmt.Errorf("event %d (id %q): zero At", i, e.ID)
		case e.Kind == "":
			return fmt.Errorf("event %d (id %q): missing Kind", i, e.ID)
		}
	}
	for i := range p.Milestones {
		m := &p.Milestones[i]
		switch {
		case m.Source != p.Source:
			return fmt.Errorf("milestone %d (key %q): Source %q differs from the page's", i, m.Key, m.Source)
		case m.Key == "":
			return fmt.Errorf("milestone %d (title %q): missing Key", i, m.Title)
		}
	}
	for i := range p.Identities {
		id := &p.Identities[i]
		switch {
		case id.Source != p.Source:
			return fmt.Errorf("identity %d (account %q): Source %q differs from the page's", i, id.Account, id.Source)
		case id.Account == "" || id.Kind == "" || id.Value == "":
			return fmt.Errorf("identity %d (account %q): missing Account, Kind or Value", i, id.Account)
		}
	}
	for name := range p.Cursors {
		if name == "" {
			return errors.New("cursor with empty name")
		}
	}
	for key := range p.ETags {
		if key == "" {
			return errors.New("etag with empty key")
		}
	}
	return p.validateCommentLists()
}

// ApplyPage validates p and writes it in one transaction: items and
// milestones are upserted, events inserted unless already stored,
// identities, cursors and etags upserted. On any error nothing of p is written.
func (s *Store) ApplyPage(ctx context.Context, p Page) error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("store: apply page %s/%s: %w: %w", p.Source, p.Target, ErrInvalidPage, err)
	}
	// The write is the sync's largest CPU section (SQLite's B-tree and WAL
	// work): it runs in a lane so a processor stays free for scrapes.
	if err := cpulane.Do(ctx, func() error { return s.writePage(ctx, &p) }); err != nil {
		return fmt.Errorf("store: apply page %s/%s: %w", p.Source, p.Target, err)
	}
	return nil
}

const (
	upsertItemSQL = `INSERT INTO items
	(source, key, target, kind, url, title, author, created_at, closed_at, updated_at,
	milestones, labels, assignees, status, team_value, components, signals)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (source, key) DO UPDATE SET
	target = excluded.target, kind = excluded.kind, url = excluded.url, title = excluded.title,
	author = excluded.author, created_at = excluded.created_at, closed_at = excluded.closed_at,
	updated_at = excluded.updated_at, milestones = excluded.milestones, labels = excluded.labels,
	assignees = excluded.assignees, status = excluded.status, team_value = excluded.team_value,
	components = excluded.components, signals = excluded.signals
	WHERE (target, kind, url, title, author, created_at, closed_at, updated_at, milestones, labels,
		assignees, status, team_value, components, signals) IS NOT
		(excluded.target, excluded.kind, excluded.url, excluded.title, excluded.author,
		excluded.created_at, excluded.closed_at, excluded.updated_at, excluded.milestones, excluded.labels,
		excluded.assignees, excluded.status, excluded.team_value, excluded.components, excluded.signals)`

	// ON CONFLICT (source, id) DO NOTHING, not INSERT OR IGNORE: OR IGNORE
	// would also silently skip rows violating NOT NULL or CHECK constraints.
	insertEventSQL = `INSERT INTO events
	(source, id, item_key, at, actor, kind, value, team, from_value, to_value)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (source, id) DO NOTHING`
	upsertMilestoneSQL = `INSERT INTO milestones (source, key, title, url, due_at, closed_at)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (source, key) DO UPDATE SET
	title = excluded.title, url = excluded.url, due_at = excluded.due_at, closed_at = excluded.closed_at`
	upsertIdentitySQL = `INSERT INTO identities (source, account, kind, value) VALUES (?, ?, ?, ?)
	ON CONFLICT (source, account, kind) DO UPDATE SET value = excluded.value`
	upsertCursorSQL = `INSERT INTO cursors (source, target, name, value, updated_at) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (source, target, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
	upsertETagSQL = `INSERT INTO etags (source, target, key, etag, updated_at) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (source, target, key) DO UPDATE SET etag = excluded.etag, updated_at = excluded.updated_at`
)

// writePage writes p without validating it (the schema's constraints still
// apply) in one transaction.
func (s *Store) writePage(ctx context.Context, p *Page) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// The transaction watches ctx (a cancelled sync rolls the page back);
	// its statements do not: the driver starts a goroutine per statement
	// run under a context that can end, to interrupt it (a full sync's
	// statements made one such goroutine each).
	tctx := ctx
	ctx = context.WithoutCancel(ctx)
	defer func() {
		if err != nil {
			tx.Rollback()
			if errors.Is(err, sql.ErrTxDone) && tctx.Err() != nil {
				err = fmt.Errorf("%w: %w", err, tctx.Err()) // rolled back by database/sql when ctx ended
			}
		}
	}()

	// Items whose record changed or that got a new event: marked in
	// item_changes with this page's sequence number, so readers re-derive
	// only them. An upsert that changes nothing and an event already
	// stored affect no row and mark nothing.
	changed := map[[2]string]bool{}
	newEvents := map[[2]string]bool{} // items whose packed events are now stale (packAdded)

	if len(p.Items) > 0 {
		st, err := tx.PrepareContext(ctx, upsertItemSQL)
		if err != nil {
			return fmt.Errorf("prepare items: %w", err)
		}
		defer st.Close()
		for i := range p.Items {
			it := &p.Items[i]
			var lists [5]string
			for j, l := range [...][]string{it.Milestones, it.Labels, it.Assignees, it.Components, it.Signals} {
				if lists[j], err = jsonList(l); err != nil {
					return fmt.Errorf("item %s: encode list: %w", it.Key, err)
				}
			}
			res, err := st.ExecContext(ctx, it.Source, it.Key, it.Target, it.Kind, it.URL, it.Title, it.Author,
				millis(it.Created), millis(it.Closed), millis(it.Updated),
				lists[0], lists[1], lists[2], it.Status, it.TeamValue, lists[3], lists[4])
			if err != nil {
				return fmt.Errorf("upsert item %s: %w", it.Key, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("upsert item %s: %w", it.Key, err)
			} else if n > 0 {
				changed[[2]string{it.Source, it.Key}] = true
			}
		}
	}

	if len(p.Milestones) > 0 {
		st, err := tx.PrepareContext(ctx, upsertMilestoneSQL)
		if err != nil {
			return fmt.Errorf("prepare milestones: %w", err)
		}
		defer st.Close()
		for i := range p.Milestones {
			m := &p.Milestones[i]
			if _, err := st.ExecContext(ctx, m.Source, m.Key, m.Title, m.URL, millis(m.Due), millis(m.Closed)); err != nil {
				return fmt.Errorf("upsert milestone %s: %w", m.Key, err)
			}
		}
	}

	// The page's new events per item, in page (rowid) order, to pack.
	added := map[[2]string][]newEvent{}
	if len(p.Events) > 0 {
		st, err := tx.PrepareContext(ctx, insertEventSQL)
		if err != nil {
			return fmt.Errorf("prepare events: %w", err)
		}
		defer st.Close()
		for i := range p.Events {
			e := &p.Events[i]
			res, err := st.ExecContext(ctx, e.Source, e.ID, e.ItemKey, millis(e.At), e.Actor, string(e.Kind),
				e.Value, e.Team, e.From, e.To)
			if err != nil {
				return fmt.Errorf("insert event %d (id %s): %w", i, e.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("insert event %d (id %s): %w", i, e.ID, err)
			} else if n > 0 {
				k := [2]string{e.Source, e.ItemKey}
				changed[k] = true
				rowid, err := res.LastInsertId()
				if err != nil {
					return fmt.Errorf("insert event %d (id %s): %w", i, e.ID, err)
				}
				added[k] = append(added[k], newEvent{e: e, rowid: rowid})
			}
		}
	}

	if len(added) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE tracked_events SET upto = (SELECT max(rowid) FROM events)`); err != nil {
			return fmt.Errorf("tracked events: %w", err)
		}
		if err := s.packAdded(ctx, tx, added, newEvents); err != nil {
			return err
		}
	}

	// One multi-row statement per table: a statement per item cost more
	// than the event inserts themselves (a full sync 1.6x slower).
	if len(newEvents) > 0 {
		if err := insertKeys(ctx, tx, `INSERT INTO stale_events (source, key) VALUES `, `(?, ?)`, ` ON CONFLICT (source, key) DO NOTHING`, newEvents, nil); err != nil {
			return fmt.Errorf("mark packed events stale: %w", err)
		}
	}

	if len(changed) > 0 {
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM item_changes`).Scan(&seq); err != nil {
			return fmt.Errorf("change sequence: %w", err)
		}
		if err := insertKeys(ctx, tx, `INSERT INTO item_changes (source, key, seq) VALUES `, `(?, ?, ?)`,
			` ON CONFLICT (source, key) DO UPDATE SET seq = excluded.seq`, changed, seq); err != nil {
			return fmt.Errorf("mark items changed: %w", err)
		}
	}

	if len(p.Identities) > 0 {
		st, err := tx.PrepareContext(ctx, upsertIdentitySQL)
		if err != nil {
			return fmt.Errorf("prepare identities: %w", err)
		}
		defer st.Close()
		for i := range p.Identities {
			id := &p.Identities[i]
			if _, err := st.ExecContext(ctx, id.Source, id.Account, id.Kind, id.Value); err != nil {
				return fmt.Errorf("upsert identity of %s: %w", id.Account, err)
			}
		}
	}

	if err := writeCommentLists(ctx, tx, p.CommentLists); err != nil {
		return err
	}

	if s.testHookAfterEvents != nil {
		if err := s.testHookAfterEvents(tctx); err != nil {
			return err
		}
	}

	now := time.Now().UnixMilli()
	if len(p.Cursors) > 0 {
		st, err := tx.PrepareContext(ctx, upsertCursorSQL)
		if err != nil {
			return fmt.Errorf("prepare cursors: %w", err)
		}
		defer st.Close()
		for name, value := range p.Cursors {
			if _, err := st.ExecContext(ctx, p.Source, p.Target, name, value, now); err != nil {
				return fmt.Errorf("upsert cursor %s: %w", name, err)
			}
		}
	}

	if len(p.ETags) > 0 {
		st, err := tx.PrepareContext(ctx, upsertETagSQL)
		if err != nil {
			return fmt.Errorf("prepare etags: %w", err)
		}
		defer st.Close()
		for key, etag := range p.ETags {
			if _, err := st.ExecContext(ctx, p.Source, p.Target, key, etag, now); err != nil {
				return fmt.Errorf("upsert etag %s: %w", key, err)
			}
		}
	}

	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Cursor returns the cursor value stored under (source, target, name); ok is
// false when there is none.
func (s *Store) Cursor(ctx context.Context, source, target, name string) (value string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT value FROM cursors WHERE source = ? AND target = ? AND name = ?`,
		source, target, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: cursor %s/%s/%s: %w", source, target, name, err)
	}
	return value, true, nil
}

// ETag returns the etag stored under (source, target, key); ok is false when
// there is none.
func (s *Store) ETag(ctx context.Context, source, target, key string) (etag string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT etag FROM etags WHERE source = ? AND target = ? AND key = ?`,
		source, target, key).Scan(&etag)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: etag %s/%s/%s: %w", source, target, key, err)
	}
	return etag, true, nil
}

// ReplaceTeamMembers replaces every stored member that came from group `via`
// (e.g. "acme/design") of source with members, in one transaction. Members
// with an empty Source or Via get source and via; a member naming another
// source or group, or without Team or Identity, is rejected (wrapping
// ErrInvalidMembers) and nothing is written. Duplicates are stored once.
func (s *Store) ReplaceTeamMembers(ctx context.Context, source, via string, members []model.TeamMember) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("store: replace team members %s/%s: %w", source, via, err)
		}
	}()
	if source == "" || via == "" {
		return fmt.Errorf("%w: empty source or via", ErrInvalidMembers)
	}
	for i, m := range members {
		switch {
		case m.Source != "" && m.Source != source:
			return fmt.Errorf("%w: member %d (%s): Source %q", ErrInvalidMembers, i, m.Identity, m.Source)
		case m.Via != "" && m.Via != via:
			return fmt.Errorf("%w: member %d (%s): Via %q", ErrInvalidMembers, i, m.Identity, m.Via)
		case m.Team == "":
			return fmt.Errorf("%w: member %d (%s): missing Team", ErrInvalidMembers, i, m.Identity)
		case m.Identity == "":
			return fmt.Errorf("%w: member %d (team %s): missing Identity", ErrInvalidMembers, i, m.Team)
		}
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE source = ? AND via = ?`, source, via); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if len(members) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO team_members (source, via, team, identity) VALUES (?, ?, ?, ?)
	ON CONFLICT DO NOTHING`)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		defer st.Close()
		for _, m := range members {
			if _, err := st.ExecContext(ctx, source, via, m.Team, m.Identity); err != nil {
				return fmt.Errorf("insert %s in %s: %w", m.Identity, m.Team, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity_check over the whole file and
// returns its findings as an error, or nil when the file is sound.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("store %s: integrity check: %w", s.path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("store %s: integrity check: %w", s.path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store %s: integrity check: %w", s.path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("store %s is corrupt: %s", s.path, strings.Join(problems, "; "))
	}
	return nil
}

// Counts returns the number of stored events per source (for the
// crossteam_store_events metric).
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT source, count(*) FROM events GROUP BY source`)
	if err != nil {
		return nil, fmt.Errorf("store: counts: %w", err)
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var src string
		var n int64
		if err := rows.Scan(&src, &n); err != nil {
			return nil, fmt.Errorf("store: counts: %w", err)
		}
		counts[src] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: counts: %w", err)
	}
	return counts, nil
}

// millis converts t to the stored form: nil (NULL) for the zero time, unix
// milliseconds otherwise.
func millis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of millis; instants come back in UTC.
func fromMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// jsonList encodes a string list as a JSON array; nil and empty become "[]".
func jsonList(l []string) (string, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// Repack rewrites the packed events (item_events) of the items marked
// stale, in transactions of up to 2,000 items so collectors' pages are not
// held up for long, and returns how many it rewrote. Readers are correct
// without it (they pack marked items on the fly); it makes the next full
// read cheap.
func (s *Store) Repack(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.repackBatch(ctx, 2000)
		total += n
		if err != nil {
			return total, fmt.Errorf("store %s: repack item events: %w", s.path, err)
		}
		if n == 0 {
			return total, nil
		}
	}
}

func (s *Store) repackBatch(ctx context.Context, limit int) (n int, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS repack_batch (source TEXT, key TEXT, PRIMARY KEY (source, key)) WITHOUT ROWID`)
	if err == nil {
		_, err = tx.ExecContext(ctx, `DELETE FROM repack_batch`)
	}
	if err == nil {
		res, err = tx.ExecContext(ctx, `INSERT INTO repack_batch SELECT source, key FROM stale_events LIMIT ?`, limit)
	}
	if err != nil {
		return 0, err
	}
	m, err := res.RowsAffected()
	if err != nil || m == 0 {
		tx.Rollback()
		return 0, err
	}
	if _, err = tx.ExecContext(ctx, repackSQL); err != nil {
		return 0, err
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM stale_events WHERE (source, key) IN (SELECT source, key FROM repack_batch)`); err != nil {
		return 0, err
	}
	return int(m), tx.Commit()
}

// insertKeys inserts one row per key (source, key[, extra]) with
// multi-row statements of up to 500 rows.
func insertKeys(ctx context.Context, tx *sql.Tx, head, row, tail string, keys map[[2]string]bool, extra any) error {
	const batch = 500
	args := make([]any, 0, 3*batch)
	var q strings.Builder
	flush := func(n int) error {
		if n == 0 {
			return nil
		}
		q.Reset()
		q.WriteString(head)
		for i := 0; i < n; i++ {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(row)
		}
		q.WriteString(tail)
		_, err := tx.ExecContext(ctx, q.String(), args...)
		args = args[:0]
		return err
	}
	n := 0
	for k := range keys {
		args = append(args, k[0], k[1])
		if extra != nil {
			args = append(args, extra)
		}
		if n++; n == batch {
			if err := flush(n); err != nil {
				return err
			}
			n = 0
		}
	}
	return flush(n)
}

// catchUp accounts for events stored without item_changes and
// stale_events being kept (by a binary from before schema 5): their items
// are marked changed and stale, so readers see them as they are.
func (s *Store) catchUp(ctx context.Context) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var tracked, top int64
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tracked_events'`).Scan(&n); err != nil || n == 0 {
		return err // a schema before 5 (tests of old versions)
	}
	if err := tx.QueryRowContext(ctx, `SELECT upto FROM tracked_events WHERE id = 1`).Scan(&tracked); err != nil {
		return fmt.Errorf("tracked events: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(rowid), 0) FROM events`).Scan(&top); err != nil {
		return fmt.Errorf("tracked events: %w", err)
	}
	if top <= tracked {
		return nil
	}
	for _, q := range []string{
		`INSERT INTO stale_events (source, key) SELECT DISTINCT source, item_key FROM events WHERE rowid > ?
		ON CONFLICT (source, key) DO NOTHING`,
		`INSERT INTO item_changes (source, key, seq)
		SELECT DISTINCT source, item_key, (SELECT coalesce(max(seq), 0) + 1 FROM item_changes) FROM events WHERE rowid > ?
		ON CONFLICT (source, key) DO UPDATE SET seq = excluded.seq`,
		// Items upserted meanwhile are read whole on the first read anyway
		// (a restarted exporter streams everything).
		`UPDATE tracked_events SET upto = (SELECT max(rowid) FROM events) WHERE ? IS NOT NULL`,
	} {
		if _, err := tx.ExecContext(ctx, q, tracked); err != nil {
			return fmt.Errorf("catch up with events stored by an older version: %w", err)
		}
	}
	s.logger.Warn("store: events stored by an older crossteam were taken into account", "path", s.path, "events", top-tracked)
	return tx.Commit()
}
