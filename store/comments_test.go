package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/crossteam/crossteam/model"
)

// TestCommentListsMigrateFromV5: a store written at schema version 5
// (before comment_lists) opens, migrates to 6 and loses nothing; comment
// lists are then written with their page, upserted, read per target and
// counted as deferred while fetched < total.
func TestCommentListsMigrateFromV5(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v5.db")
	all := migrations
	migrations = all[:5]
	s, err := Open(ctx, path, nil)
	if err != nil {
		migrations = all
		t.Fatal(err)
	}
	it := model.Item{Source: model.SourceJira, Key: "P-1", Target: "site", Kind: model.KindJiraIssue, Title: "old",
		Created: at(1, 0, 0), Labels: []string{"x"}}
	c1 := model.Event{Source: model.SourceJira, ID: "comment:1", ItemKey: "P-1", At: at(1, 1, 0), Actor: "ann", Kind: model.EventCommented}
	c2 := model.Event{Source: model.SourceJira, ID: "comment:2", ItemKey: "P-1", At: at(1, 2, 0), Actor: "bob", Kind: model.EventCommented}
	err = s.ApplyPage(ctx, Page{Source: model.SourceJira, Target: "site", Items: []model.Item{it}, Events: []model.Event{c2, c1},
		Cursors: map[string]string{"updated": "w"}})
	if err == nil {
		if _, err = s.w.Exec(`SELECT count(*) FROM comment_lists`); err == nil {
			err = errors.New("comment_lists exists at version 5")
		} else {
			err = nil
		}
	}
	var want any
	if err == nil {
		want = mustLoad(t, s)
	}
	s.Close()
	migrations = all
	if err != nil {
		t.Fatal(err)
	}

	s = openMigrated(t, ctx, path)
	if got := mustLoad(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after migration Load differs:\n got %+v\nwant %+v", got, want)
	}
	if v, ok, err := s.Cursor(ctx, model.SourceJira, "site", "updated"); err != nil || !ok || v != "w" {
		t.Fatalf("cursor after migration %q %v %v", v, ok, err)
	}
	if l, err := s.CommentLists(ctx, model.SourceJira, "site"); err != nil || len(l) != 0 {
		t.Fatalf("comment lists of a migrated store: %v %v; want none", l, err)
	}

	// ItemHistory: the item and its events in time order (not insertion
	// order); an unknown item is nil with no events.
	gotIt, evs, err := s.ItemHistory(ctx, model.SourceJira, "P-1")
	if err != nil {
		t.Fatal(err)
	}
	wantIt := it
	wantIt.Created = it.Created.UTC()
	if !reflect.DeepEqual(*gotIt, wantIt) {
		t.Errorf("ItemHistory item %+v, want %+v", *gotIt, wantIt)
	}
	if len(evs) != 2 || evs[0].ID != "comment:1" || evs[1].ID != "comment:2" || evs[1].Actor != "bob" {
		t.Errorf("ItemHistory events %+v", evs)
	}
	if gotIt, evs, err := s.ItemHistory(ctx, model.SourceJira, "P-9"); err != nil || gotIt != nil || len(evs) != 0 {
		t.Errorf("ItemHistory of an unknown item: %v %v %v", gotIt, evs, err)
	}

	// Written with a page, upserted by (source, key).
	deferred := CommentList{Source: model.SourceJira, Key: "P-1", Target: "site", Total: 30, Fetched: 20, Cut: at(1, 2, 0)}
	other := CommentList{Source: model.SourceJira, Key: "P-2", Target: "other", Total: 25, Fetched: 25, Cut: at(1, 3, 0)}
	mustApply(t, s, Page{Source: model.SourceJira, Target: "site", CommentLists: []CommentList{deferred, other}})
	l, err := s.CommentLists(ctx, model.SourceJira, "site")
	if err != nil {
		t.Fatal(err)
	}
	deferred.Cut = deferred.Cut.UTC()
	if !reflect.DeepEqual(l, map[string]CommentList{"P-1": deferred}) || !l["P-1"].Deferred() {
		t.Errorf("comment lists %+v, want only %+v", l, deferred)
	}
	if n, err := s.DeferredComments(ctx, model.SourceJira, "site"); err != nil || n != 1 {
		t.Errorf("deferred of site = %d, %v; want 1", n, err)
	}
	if n, err := s.DeferredComments(ctx, model.SourceJira, "other"); err != nil || n != 0 {
		t.Errorf("deferred of other = %d, %v; want 0 (complete)", n, err)
	}
	deferred.Fetched = 30
	mustApply(t, s, Page{Source: model.SourceJira, Target: "site", CommentLists: []CommentList{deferred}})
	if n, err := s.DeferredComments(ctx, model.SourceJira, "site"); err != nil || n != 0 {
		t.Errorf("deferred after completion = %d, %v; want 0", n, err)
	}
	if l, _ := s.CommentLists(ctx, model.SourceJira, "site"); l["P-1"].Fetched != 30 || l["P-1"].Deferred() {
		t.Errorf("after the upsert %+v", l["P-1"])
	}

	// Validated before anything is written.
	err = s.ApplyPage(ctx, Page{Source: model.SourceJira, Target: "site", Items: []model.Item{{Source: model.SourceJira, Key: "P-3"}},
		CommentLists: []CommentList{{Source: model.SourceGitHub, Key: "P-3"}}})
	if err == nil {
		t.Fatal("a comment list of another source was accepted")
	}
	if it, _, _ := s.ItemHistory(ctx, model.SourceJira, "P-3"); it != nil {
		t.Error("the invalid page's item was written")
	}
}
