package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/crossteam/crossteam/model"
)

// CommentList is the state of one item's comment list when the source cut
// it (Jira Cloud's search embeds the oldest 20 comments and their total):
// the oldest Fetched of Total comments are stored as events, the newest of
// them written at Cut. Fetched < Total: the rest was deferred, because it
// could change no figure under the configuration of the time (engine
// CommentJudge); it is completed from startAt = Fetched when it can.
type CommentList struct {
	Source, Key, Target string
	Total, Fetched      int
	Cut                 time.Time
}

// Deferred reports whether comments of the list are not stored.
func (c CommentList) Deferred() bool { return c.Fetched < c.Total }

const upsertCommentListSQL = `INSERT INTO comment_lists (source, key, target, total, fetched, cut_at)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (source, key) DO UPDATE SET target = excluded.target, total = excluded.total,
	fetched = excluded.fetched, cut_at = excluded.cut_at`

func (p *Page) validateCommentLists() error {
	for i := range p.CommentLists {
		c := &p.CommentLists[i]
		switch {
		case c.Source != p.Source:
			return fmt.Errorf("comment list %d (key %q): Source %q differs from the page's", i, c.Key, c.Source)
		case c.Key == "":
			return fmt.Errorf("comment list %d: missing Key", i)
		case c.Total < 0 || c.Fetched < 0:
			return fmt.Errorf("comment list %d (key %q): negative count", i, c.Key)
		}
	}
	return nil
}

// writeCommentLists upserts a page's comment lists in its transaction, so
// an item's events and what is known to be missing from them commit
// together.
func writeCommentLists(ctx context.Context, tx *sql.Tx, lists []CommentList) error {
	if len(lists) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, upsertCommentListSQL)
	if err != nil {
		return fmt.Errorf("prepare comment lists: %w", err)
	}
	defer st.Close()
	for i := range lists {
		c := &lists[i]
		if _, err := st.ExecContext(ctx, c.Source, c.Key, c.Target, c.Total, c.Fetched, millis(c.Cut)); err != nil {
			return fmt.Errorf("upsert comment list %s: %w", c.Key, err)
		}
	}
	return nil
}

// CommentLists returns the stored comment lists of one target, by key.
func (s *Store) CommentLists(ctx context.Context, source, target string) (map[string]CommentList, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, total, fetched, cut_at FROM comment_lists
	WHERE source = ? AND target = ?`, source, target)
	if err != nil {
		return nil, fmt.Errorf("store %s: comment lists: %w", s.path, err)
	}
	defer rows.Close()
	out := map[string]CommentList{}
	for rows.Next() {
		c := CommentList{Source: source, Target: target}
		var cut sql.NullInt64
		if err := rows.Scan(&c.Key, &c.Total, &c.Fetched, &cut); err != nil {
			return nil, fmt.Errorf("store %s: comment lists: %w", s.path, err)
		}
		c.Cut = fromMillis(cut)
		out[c.Key] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store %s: comment lists: %w", s.path, err)
	}
	return out, nil
}

// DeferredComments counts, per target of source, the items whose comment
// list is not stored whole (crossteam_jira_comments_deferred).
func (s *Store) DeferredComments(ctx context.Context, source, target string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM comment_lists
	WHERE source = ? AND target = ? AND fetched < total`, source, target).Scan(&n); err != nil {
		return 0, fmt.Errorf("store %s: deferred comments: %w", s.path, err)
	}
	return n, nil
}

// ItemHistory returns one stored item (nil when not stored) and its events
// in the order Load returns them, from one read transaction.
func (s *Store) ItemHistory(ctx context.Context, source, key string) (*model.Item, []model.Event, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("store %s: item %s: %w", s.path, key, err)
	}
	defer tx.Rollback()
	in := interner{}
	var (
		it                       model.Item
		created, closed, updated sql.NullInt64
		lists                    [5][]byte
	)
	err = tx.QueryRowContext(ctx, `SELECT source, key, target, kind, url, title, author,
	created_at, closed_at, updated_at, milestones, labels, assignees, status, team_value, components, signals
	FROM items WHERE source = ? AND key = ?`, source, key).Scan(&it.Source, &it.Key, &it.Target, &it.Kind, &it.URL, &it.Title, &it.Author,
		&created, &closed, &updated, &lists[0], &lists[1], &lists[2], &it.Status, &it.TeamValue, &lists[3], &lists[4])
	var item *model.Item
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return nil, nil, fmt.Errorf("store %s: item %s: %w", s.path, key, err)
	default:
		it.Created, it.Closed, it.Updated = fromMillis(created), fromMillis(closed), fromMillis(updated)
		for j, dst := range [...]*[]string{&it.Milestones, &it.Labels, &it.Assignees, &it.Components, &it.Signals} {
			if *dst, err = decodeList(lists[j], in); err != nil {
				return nil, nil, fmt.Errorf("store %s: item %s: %s: %w", s.path, key, itemListColumns[j], err)
			}
		}
		item = &it
	}
	evs, err := readEvents(ctx, tx, in, 0, `SELECT `+eventColumns+` FROM events
	WHERE source = ? AND item_key = ? ORDER BY at, rowid`, source, key)
	if err != nil {
		return nil, nil, fmt.Errorf("store %s: events of %s: %w", s.path, key, err)
	}
	return item, evs, nil
}
