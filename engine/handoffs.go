package engine

// The handoff rules. Everything that decides who owns an item, when a
// handoff starts, is picked up, is done, stalls or bounces lives in this file;
// the decisions are listed in the package documentation (doc.go) and each has
// a table test in handoffs_test.go.

import (
	"strings"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

// marker kinds: which kind of ownership marker set a team.
const (
	mkLabel byte = iota
	mkStatus
	mkTeamField
	mkComponent
)

// marker is an active ownership marker; the newest active one decides.
type marker struct {
	kind  byte
	value string // lower-cased label or component; empty for status/team field
	team  int
}

type assignee struct {
	id   string
	team int
}

// handoff is the engine-internal handoff record (team indexes).
type handoff struct {
	kind         string
	from, to     int
	start        time.Time
	pickup, done time.Time
	doneReason   string
	bounce       bool
	lastActivity time.Time
}

func (h *handoff) open() bool { return h.done.IsZero() }

// replay is the state of one item while its events are replayed in order.
type replay struct {
	c          *computation
	it         *model.Item
	markers    []marker
	assignees  []assignee
	status     string
	closed     bool
	closedAt   time.Time
	authorTeam int
	curOwner   int // owner now, -1 none
	lastOwner  int // last team that owned the item, -1 none
	touched    []int
	sigLabels  []string // active labels that some signal watches (lower-cased)
	milestones []string // active milestone titles
	handoffs   []handoff
	owners     []ownerAt // owner timeline (records.go)
	// Blocked: the active blocked labels, whether the status is a blocked
	// one, and the item's blocked spans (end zero: still blocked).
	blockedLabels []string
	blockedStatus bool
	spans         []span
	// scratch
	actTeams []int
	changed  []changedValue
}

type changedValue struct {
	kind  byte
	value string
}

func (r *replay) touch(t int) {
	if t < 0 {
		return
	}
	for _, x := range r.touched {
		if x == t {
			return
		}
	}
	r.touched = append(r.touched, t)
}

func (r *replay) setMarker(kind byte, value string, team int) {
	r.dropMarker(kind, value)
	if team >= 0 {
		r.markers = append(r.markers, marker{kind: kind, value: value, team: team})
	}
}

func (r *replay) dropMarker(kind byte, value string) {
	for i := range r.markers {
		if r.markers[i].kind == kind && r.markers[i].value == value {
			r.markers = append(r.markers[:i], r.markers[i+1:]...)
			return
		}
	}
}

func addString(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func dropString(list []string, v string) []string {
	for i, x := range list {
		if x == v {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// owner applies the ownership precedence: the newest active marker, then the
// most recently assigned assignee who belongs to a team, then the author's
// team (only when "author" is listed).
func (r *replay) owner() int {
	for _, rule := range r.c.e.cfg.Ownership.Precedence {
		switch rule {
		case config.ByMarker:
			if n := len(r.markers); n > 0 {
				return r.markers[n-1].team
			}
		case config.ByAssignee:
			for i := len(r.assignees) - 1; i >= 0; i-- {
				if r.assignees[i].team >= 0 {
					return r.assignees[i].team
				}
			}
		case config.ByAuthor:
			if r.authorTeam >= 0 {
				return r.authorTeam
			}
		}
	}
	return -1
}

func (r *replay) labelTeam(label string) int {
	if t, ok := r.c.e.cfg.LabelTeam(label); ok {
		return r.c.e.teamIdx[t]
	}
	return -1
}

func (r *replay) statusTeam(status string) (int, bool) {
	if m, ok := r.c.e.cfg.JiraStatus(status); ok {
		return r.c.e.teamIdx[m.Team], m.Waiting
	}
	return -1, false
}

func (r *replay) setStatus(status string) {
	r.status = status
	r.blockedStatus = r.c.e.cfg.Blocked(model.SourceJira, status)
	t, _ := r.statusTeam(status)
	r.setMarker(mkStatus, "", t)
}

func (r *replay) setTeamField(v string) {
	t := -1
	if name, ok := r.c.e.cfg.TeamFieldTeam(v); ok {
		t = r.c.e.teamIdx[name]
	}
	r.setMarker(mkTeamField, "", t)
}

func (r *replay) componentTeam(v string) int {
	if name, ok := r.c.e.cfg.ComponentTeam(v); ok {
		return r.c.e.teamIdx[name]
	}
	return -1
}

func (r *replay) addLabel(label string) {
	l := strings.ToLower(label)
	if t := r.labelTeam(label); t >= 0 {
		r.setMarker(mkLabel, l, t)
	}
	if _, ok := r.c.e.sigLabels[l]; ok {
		r.sigLabels = addString(r.sigLabels, l)
	}
	if r.c.e.cfg.Blocked(model.SourceGitHub, l) {
		r.blockedLabels = addString(r.blockedLabels, l)
	}
}

func (r *replay) removeLabel(label string) {
	l := strings.ToLower(label)
	r.dropMarker(mkLabel, l)
	r.sigLabels = dropString(r.sigLabels, l)
	r.blockedLabels = dropString(r.blockedLabels, l)
}

// span is a time the item was blocked; a zero end: still blocked.
type span struct{ start, end time.Time }

// markBlocked opens or closes the item's blocked span at an instant after
// its state changed.
func (r *replay) markBlocked(at time.Time) {
	blocked := r.blockedStatus || len(r.blockedLabels) > 0
	open := len(r.spans) > 0 && r.spans[len(r.spans)-1].end.IsZero()
	switch {
	case blocked && !open:
		r.spans = append(r.spans, span{start: at})
	case !blocked && open:
		r.spans[len(r.spans)-1].end = at
	}
}

// blockedBetween is how long the item was blocked within [from, to).
func (r *replay) blockedBetween(from, to time.Time) time.Duration {
	var d time.Duration
	for _, s := range r.spans {
		end := s.end
		if end.IsZero() || end.After(to) {
			end = to
		}
		start := s.start
		if start.Before(from) {
			start = from
		}
		if end.After(start) {
			d += end.Sub(start)
		}
	}
	return d
}

func (r *replay) assign(id string) {
	r.unassign(id)
	r.assignees = append(r.assignees, assignee{id: id, team: r.c.actorTeam(r.it.Source, id)})
}

func (r *replay) unassign(id string) {
	for i := range r.assignees {
		if r.assignees[i].id == id {
			r.assignees = append(r.assignees[:i], r.assignees[i+1:]...)
			return
		}
	}
}

// reviewTeam resolves a review request to the requested team: a GitHub team
// listed in some team's github_teams, or a user who is a member of a team.
func (r *replay) reviewTeam(ev *model.Event) int {
	if ev.Team != "" {
		if t, ok := r.c.e.ghTeams[strings.ToLower(ev.Team)]; ok {
			return t
		}
		return -1
	}
	return r.c.actorTeam(ev.Source, ev.Value)
}

// initial sets the state the item had at creation: current values that no
// event changed were there from the start (events beyond the source's history
// horizon are not available, so this is the best evidence there is).
func (r *replay) initial(evs []model.Event) {
	it := r.it
	// Values changed by some event, as "kind:lower(value)"; items have few,
	// so a reused slice beats a map here.
	changed := r.changed[:0]
	mark := func(kind byte, v string) {
		if len(it.Labels)+len(it.Assignees)+len(it.Components)+len(it.Milestones) == 0 {
			return // nothing on the record to compare with
		}
		changed = append(changed, changedValue{kind, strings.ToLower(v)})
	}
	status, statusSeen := it.Status, false
	team, teamSeen := it.TeamValue, false
	for i := range evs {
		ev := &evs[i]
		switch ev.Kind {
		case model.EventLabeled, model.EventUnlabeled:
			mark('l', ev.Value)
		case model.EventAssigned, model.EventUnassigned:
			mark('a', ev.Value)
		case model.EventComponentAdded, model.EventComponentRemoved:
			mark('c', ev.Value)
		case model.EventMilestoned, model.EventDemilestoned:
			mark('m', ev.Value)
		case model.EventStatusChanged:
			if !statusSeen {
				status, statusSeen = ev.From, true
			}
		case model.EventTeamFieldChanged:
			if !teamSeen {
				team, teamSeen = ev.From, true
			}
		}
	}
	r.changed = changed
	isChanged := func(kind byte, v string) bool {
		for _, c := range changed {
			if c.kind == kind && strings.EqualFold(c.value, v) {
				return true
			}
		}
		return false
	}
	for _, l := range it.Labels {
		if !isChanged('l', l) {
			r.addLabel(l)
		}
	}
	for _, a := range it.Assignees {
		if !isChanged('a', a) {
			r.assign(a)
		}
	}
	for _, comp := range it.Components {
		if !isChanged('c', comp) {
			r.setMarker(mkComponent, strings.ToLower(comp), r.componentTeam(comp))
		}
	}
	for _, m := range it.Milestones {
		if !isChanged('m', m) {
			r.milestones = addString(r.milestones, m)
		}
	}
	if status != "" {
		r.setStatus(status)
	}
	if team != "" {
		r.setTeamField(team)
	}
}

// item replays one item's events (ordered by time) up to the horizon and
// returns what the item contributes, independent of the instant it is
// evaluated at.
func (c *computation) item(it *model.Item, evs []model.Event) *derived {
	d := &derived{source: it.Source, key: it.Key, owner: -1}
	created := it.Created
	if created.IsZero() && len(evs) > 0 {
		created = evs[0].At
	}
	if created.IsZero() || created.After(c.horizon) {
		return d
	}
	d.counted, d.created, d.maxAt = true, created, created
	r := &c.r
	*r = replay{
		c: c, it: it,
		markers: r.markers[:0], assignees: r.assignees[:0], touched: r.touched[:0],
		sigLabels: r.sigLabels[:0], milestones: r.milestones[:0], handoffs: r.handoffs[:0],
		blockedLabels: r.blockedLabels[:0], spans: r.spans[:0],
		actTeams: r.actTeams[:0], changed: r.changed[:0], curOwner: -1, lastOwner: -1,
		owners: r.owners[:0],
	}
	r.authorTeam = c.actorTeam(it.Source, it.Author)
	r.touch(r.authorTeam)
	r.initial(evs)
	r.markBlocked(created)
	r.curOwner = r.owner()
	r.lastOwner = r.curOwner
	r.touch(r.curOwner)
	r.owners = append(r.owners, ownerAt{At: created.Unix(), Team: r.curOwner})
	hasCloseEvents := false
	cut := len(evs)
	for i := 0; i < len(evs); {
		at := evs[i].At
		if at.After(c.horizon) {
			cut = i
			break
		}
		j := i + 1
		for j < len(evs) && evs[j].At.Equal(at) {
			j++
		}
		if r.group(evs[i:j], at) {
			hasCloseEvents = true
		}
		r.markBlocked(at)
		if r.curOwner != r.owners[len(r.owners)-1].Team {
			r.owners = append(r.owners, ownerAt{At: at.Unix(), Team: r.curOwner})
		}
		d.events += int32(j - i)
		if at.After(d.maxAt) {
			d.maxAt = at
		}
		i = j
	}
	var fallbackClose time.Time
	if !hasCloseEvents && !it.Closed.IsZero() && !it.Closed.After(c.horizon) {
		// No close events stored (e.g. beyond the history horizon): take
		// the item's own close instant.
		r.closed, r.closedAt = true, it.Closed
		r.closeOpen(it.Closed)
		fallbackClose = it.Closed
		if it.Closed.After(d.maxAt) {
			d.maxAt = it.Closed
		}
	}
	c.record(d, r.handoffs)
	r.finishItem(d, created)
	d.recs = c.itemRecords(evs, cut, fallbackClose)
	return d
}

// group applies the events that share one instant. Applying all state
// changes of an instant before deciding ownership makes a label swap
// (unlabeled A, labeled B in the same second) one handoff A->B regardless of
// the order the source listed them in. It reports whether the group held a
// close, merge or reopen event.
func (r *replay) group(evs []model.Event, at time.Time) bool {
	closeEvents := false
	wasClosed := r.closed
	r.actTeams = r.actTeams[:0]
	var approvals, removals, requests []int
	for k := range evs {
		ev := &evs[k]
		switch ev.Kind {
		case model.EventLabeled:
			r.addLabel(ev.Value)
		case model.EventUnlabeled:
			r.removeLabel(ev.Value)
		case model.EventAssigned:
			r.assign(ev.Value)
		case model.EventUnassigned:
			r.unassign(ev.Value)
		case model.EventStatusChanged:
			r.setStatus(ev.To)
		case model.EventTeamFieldChanged:
			r.setTeamField(ev.To)
		case model.EventComponentAdded:
			r.setMarker(mkComponent, strings.ToLower(ev.Value), r.componentTeam(ev.Value))
		case model.EventComponentRemoved:
			r.dropMarker(mkComponent, strings.ToLower(ev.Value))
		case model.EventMilestoned:
			r.milestones = addString(r.milestones, ev.Value)
		case model.EventDemilestoned:
			r.milestones = dropString(r.milestones, ev.Value)
		case model.EventClosed, model.EventMerged:
			closeEvents = true
			r.closed, r.closedAt = true, at
		case model.EventReopened:
			closeEvents = true
			r.closed = false
		case model.EventReviewRequested:
			if t := r.reviewTeam(ev); t >= 0 {
				requests = append(requests, t)
			}
		case model.EventReviewRequestRemoved:
			if t := r.reviewTeam(ev); t >= 0 {
				removals = append(removals, t)
			}
		case model.EventReviewed:
			if strings.EqualFold(ev.Value, "approved") {
				if t := r.c.actorTeam(ev.Source, ev.Actor); t >= 0 {
					approvals = append(approvals, t)
				}
			}
		}
		if t := r.c.actorTeam(ev.Source, ev.Actor); t >= 0 {
			r.actTeams = append(r.actTeams, t)
		}
	}

	// Activity by the receiving team picks up handoffs that were open
	// before this instant; the events that create a handoff never pick it up.
	for _, t := range r.actTeams {
		r.touch(t)
		for h := range r.handoffs {
			hh := &r.handoffs[h]
			if hh.open() && hh.to == t {
				if hh.pickup.IsZero() {
					hh.pickup = at
				}
				hh.lastActivity = at
			}
		}
	}
	for _, t := range approvals {
		r.finish(KindReview, t, at, DoneApproved)
	}
	for _, t := range removals {
		r.finish(KindReview, t, at, DoneWithdrawn)
	}
	if r.closed && !wasClosed {
		r.closeOpen(at)
	}

	// Ownership.
	cur := r.owner()
	r.curOwner = cur
	for h := range r.handoffs {
		hh := &r.handoffs[h]
		if hh.kind == KindOwner && hh.open() && hh.to != cur {
			hh.done = at
			hh.doneReason = DoneOwnerLeft
			if cur < 0 {
				hh.doneReason = DoneUnowned
			}
		}
	}
	if cur >= 0 {
		r.touch(cur)
		if !r.closed && r.lastOwner >= 0 && cur != r.lastOwner {
			r.startOwner(r.lastOwner, cur, at)
		}
		r.lastOwner = cur
	}

	// Jira: the item sits in an active (non-waiting) status of the team
	// that owns it: that team has picked it up.
	if r.status != "" {
		if t, waiting := r.statusTeam(r.status); t >= 0 && !waiting {
			for h := range r.handoffs {
				hh := &r.handoffs[h]
				if hh.kind == KindOwner && hh.open() && hh.to == t && hh.pickup.IsZero() {
					hh.pickup = at
				}
			}
		}
	}

	// Review requests from the author's team to another team.
	if !r.closed && r.authorTeam >= 0 {
		for _, t := range requests {
			if t == r.authorTeam || r.openHandoff(KindReview, t) {
				continue
			}
			r.handoffs = append(r.handoffs, handoff{kind: KindReview, from: r.authorTeam, to: t, start: at})
		}
	}
	return closeEvents
}

func (r *replay) openHandoff(kind string, to int) bool {
	for h := range r.handoffs {
		if r.handoffs[h].kind == kind && r.handoffs[h].to == to && r.handoffs[h].open() {
			return true
		}
	}
	return false
}

// startOwner starts an ownership handoff from -> to, marking it a bounce when
// it returns the item to the team that handed it over last time.
func (r *replay) startOwner(from, to int, at time.Time) {
	h := handoff{kind: KindOwner, from: from, to: to, start: at}
	bc := r.c.e.cfg.Handoffs.Bounce
	if bc.Enabled {
		for i := len(r.handoffs) - 1; i >= 0; i-- {
			p := &r.handoffs[i]
			if p.kind != KindOwner {
				continue
			}
			if p.from == to && p.to == from && (bc.Window == 0 || at.Sub(p.start) <= time.Duration(bc.Window)) {
				h.bounce = true
			}
			break
		}
	}
	r.handoffs = append(r.handoffs, h)
}

func (r *replay) finish(kind string, to int, at time.Time, reason string) {
	for h := range r.handoffs {
		hh := &r.handoffs[h]
		if hh.kind == kind && hh.to == to && hh.open() {
			hh.done, hh.doneReason = at, reason
		}
	}
}

// closeOpen ends every open handoff because the item closed.
func (r *replay) closeOpen(at time.Time) {
	for h := range r.handoffs {
		if r.handoffs[h].open() {
			r.handoffs[h].done, r.handoffs[h].doneReason = at, DoneClosed
		}
	}
}
