package engine

import (
	"strings"
	"sync"
	"time"

	"github.com/crossteam/crossteam/model"
)

// CommentJudge decides, under one configuration, team members and set of
// identity facts, whether the part of a Jira comment list that Cloud's
// search cut can change any figure the engine derives (doc.go, "Cut
// comments", states the rule and why it is exact). The Jira collector asks
// it before paying one request per issue for the rest of the list.
//
// A CommentJudge is safe for concurrent use.
type CommentJudge struct {
	mu sync.Mutex
	e  *Engine
	// full derives at the live horizon (everything known), at derives at
	// the cut instant; both memoise actor teams.
	full, at *computation
	// commenters: the teams an unknown Jira actor may belong to (a member
	// configured with a Jira id or an email); none when empty.
	commenters []bool
	nComment   int
}

// CommentJudge returns the judge of this engine's configuration and team
// members over the stored identity facts.
func (e *Engine) CommentJudge(identities []model.Identity) *CommentJudge {
	aliases := aliasesOf(identities)
	j := &CommentJudge{
		e:    e,
		full: &computation{e: e, horizon: farFuture, teamMemo: map[string]map[string]int{}, aliases: aliases},
		// the same aliases map: withIdentities extends both at once
		at:         &computation{e: e, teamMemo: map[string]map[string]int{}, aliases: aliases},
		commenters: make([]bool, len(e.teams)),
	}
	for i, name := range e.teams {
		for _, m := range e.cfg.Teams[name].Members {
			if m.Jira != "" || m.Email != "" {
				j.commenters[i] = true
				j.nComment++
				break
			}
		}
	}
	return j
}

// CutCommentsMatter reports whether comments on item it written at or
// after cut, by actors not known, can change any figure at any instant,
// given the item's known events evs (stored and just fetched, ordered by
// time; the comments embedded in the search included). cut is the instant
// of the last embedded comment: the list is oldest first, so every comment
// not embedded was written at or after it. It errs on the side of true.
//
// ids are identity facts the caller has just seen for the item's actors
// (a sync's page is not stored yet when it asks); facts of accounts the
// judge was built with take precedence.
func (j *CommentJudge) CutCommentsMatter(it *model.Item, evs []model.Event, ids []model.Identity, cut time.Time) bool {
	if j.nComment == 0 {
		return false // no Jira actor can belong to a team: a comment is no one's activity
	}
	if it == nil || cut.IsZero() {
		return true
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	defer j.withIdentities(ids)()

	// 1. Pickups and last activity. A comment at u by a member of B picks
	// up (or is the last activity of) every handoff to B open at u, the
	// ones done at u included. Only a handoff to a team no Jira actor can
	// be in, or one done strictly before cut, is out of its reach, at
	// every instant (Compute at a past asOf included).
	d := j.full.item(it, evs)
	if !d.counted {
		return true // created after every known event: nothing to reason on
	}
	for _, h := range j.full.r.handoffs {
		if !j.commenters[h.to] {
			continue
		}
		if h.done.IsZero() || !h.done.Before(cut) {
			return true
		}
	}
	fullClosed, fullMs := d.closed, len(d.ms) > 0

	// 2. Touched teams: a comment by a member of B adds B to the teams
	// that owned or acted on the item, which the item cycle time's teams
	// label, the joint milestones' team counts and the records' teams
	// read. Those already touched by cut are touched at every later
	// instant; if they include every team a commenter can be in, nothing
	// can be added.
	j.at.horizon = cut
	da := j.at.item(it, evs)
	if !da.counted {
		return true
	}
	touched := make([]bool, len(j.e.teams))
	added := 0
	for _, t := range j.at.r.touched {
		touched[t] = true
	}
	for t, c := range j.commenters {
		if c && !touched[t] {
			added++
		}
	}
	if added == 0 {
		return false
	}
	nTouched := len(j.at.r.touched)
	closedLater, msLater, labels := false, false, false
	for i := range evs {
		ev := &evs[i]
		switch ev.Kind {
		case model.EventClosed, model.EventMerged:
			closedLater = closedLater || !ev.At.Before(cut)
		case model.EventMilestoned:
			msLater = msLater || !ev.At.Before(cut)
		case model.EventLabeled, model.EventUnlabeled:
			labels = labels || j.recordLabel(ev.Value)
		}
	}
	// Item cycle time: observed while closed, under teamsBucket(touched);
	// "4+" cannot move, an empty set becomes observed.
	if (fullClosed || da.closed || closedLater || !it.Closed.IsZero()) && nTouched < 4 {
		return true
	}
	// Joint milestones: per-team item counts of every milestone the item
	// is in at some instant at or after cut.
	if fullMs || len(da.ms) > 0 || msLater {
		return true
	}
	// Records (decisions, post-mortem actions): their teams.
	if j.e.recs.any {
		for _, name := range it.Signals {
			if i, ok := j.e.sigNames[name]; ok && j.e.cfg.Signals[i].IsRecord() {
				return true
			}
		}
		if labels {
			return true
		}
		for _, l := range it.Labels {
			if j.recordLabel(l) {
				return true
			}
		}
	}
	return false
}

// recordLabel: some record signal watches the label.
func (j *CommentJudge) recordLabel(label string) bool {
	for _, s := range j.e.sigLabels[strings.ToLower(label)] {
		if j.e.cfg.Signals[s].IsRecord() {
			return true
		}
	}
	return false
}

// withIdentities adds the facts of accounts the judge does not know to
// both computations' aliases (forgetting the memoised teams of those
// accounts) and returns the function that removes them again.
func (j *CommentJudge) withIdentities(ids []model.Identity) func() {
	if len(ids) == 0 {
		return func() {}
	}
	aliases := j.full.aliases // shared by both computations
	added := aliasesOfNew(aliases, ids)
	forget := func() {
		for _, k := range added {
			for _, c := range []*computation{j.full, j.at} {
				delete(c.teamMemo[k[0]], k[1])
			}
		}
	}
	forget()
	return func() {
		for _, k := range added {
			delete(aliases, k)
		}
		forget()
	}
}

// aliasesOfNew adds to aliases the facts of ids whose account it has no
// entry for, and returns those accounts.
func aliasesOfNew(aliases map[[2]string][]string, ids []model.Identity) [][2]string {
	fresh := map[[2]string]bool{}
	var out [][2]string
	for _, k := range sortedAccounts(ids) {
		if _, ok := aliases[k]; !ok {
			fresh[k] = true
			out = append(out, k)
		}
	}
	var mine []model.Identity
	for _, id := range ids {
		if fresh[[2]string{id.Source, id.Account}] {
			mine = append(mine, id)
		}
	}
	for k, v := range aliasesOf(mine) {
		aliases[k] = v
	}
	return out
}

func sortedAccounts(ids []model.Identity) [][2]string {
	seen := map[[2]string]bool{}
	var out [][2]string
	for _, id := range ids {
		k := [2]string{id.Source, id.Account}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
