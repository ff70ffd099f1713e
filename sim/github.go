package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/model"
)

const (
	hour = time.Hour
	day  = 24 * time.Hour
	// keepAliveAfter: every handoff open at Now that is not designated
	// stalled had activity by its receiving team within this much calendar
	// time. Working time never exceeds calendar time, so with any stall
	// threshold of 72h or more these handoffs are not stalled.
	keepAliveAfter = 60 * hour
	// stalledIdleMin: designated stalled handoffs have been idle at least
	// this long (two full working weeks, well past any 4-day threshold).
	stalledIdleMin = 21 * day
	maxPhases      = 6
)

// planGitHub plans the regular items whose base creation time is at or
// before to (and, the first time, the designated stalled items and the
// milestone closings), appending their ops to the queue.
func (g *gen) planGitHub(to time.Time, initial bool) {
	now := g.p.Now.Unix()
	if initial {
		for j, m := range g.ms {
			if !m.closeAt.IsZero() {
				g.pending = append(g.pending, op{at: m.closeAt.Unix(), seq: g.nextSeq(), kind: opMilestoneClose, ms: j})
			}
		}
	}
	for _, rp := range g.repos {
		type planned struct {
			it    *itemPlan
			r     *rand.Rand
			stall int // -1 regular, else stall variant
		}
		var batch []planned
		for {
			i := rp.nextIndex
			r := g.itemRand(1, rp.idx, i)
			base := g.baseTime(float64(i)+r.Float64(), g.gap)
			if base.After(to) {
				break
			}
			rp.nextIndex++
			batch = append(batch, planned{g.newItem(rp, r, base), r, -1})
		}
		if initial {
			for k := rp.idx; k < g.p.StalledNow; k += len(g.repos) {
				r := g.itemRand(2, rp.idx, k)
				it := g.newItem(rp, r, time.Time{})
				created := g.p.Now.Add(-30*day - time.Duration(r.Int64N(int64(20*day))))
				if min := g.w.Start.Add(day); created.Before(min) {
					created = min
				}
				it.created = created.Unix()
				if k%3 == 2 {
					it.kind = model.KindPullRequest
				} else {
					it.kind = model.KindIssue
				}
				batch = append(batch, planned{it, r, k})
			}
		}
		sort.SliceStable(batch, func(a, b int) bool { return batch[a].it.created < batch[b].it.created })
		for _, b := range batch {
			it := b.it
			it.number = rp.nextNumber
			rp.nextNumber++
			it.key = fmt.Sprintf("%s#%d", rp.full, it.number)
			s := &story{g: g, it: it, r: b.r, first: len(g.pending), assigned: map[string]bool{}}
			switch {
			case b.stall >= 0:
				s.stalled(b.stall)
			case it.kind == model.KindPullRequest:
				s.pullRequest()
			default:
				s.issue()
			}
			if it.created <= now {
				s.keepAlive(now)
			}
			s.noise()
			s.history(now)
			sort.SliceStable(it.acts, func(a, b int) bool { return it.acts[a].at < it.acts[b].at })
		}
	}
}

// newItem draws an item's kind, author and creation instant (base moved
// into the author's working hours most of the time).
func (g *gen) newItem(rp *repoPlan, r *rand.Rand, base time.Time) *itemPlan {
	it := &itemPlan{source: model.SourceGitHub, repo: rp, kind: model.KindIssue}
	if r.Float64() < g.p.PRShare {
		it.kind = model.KindPullRequest
	}
	it.title = title(r, it.kind == model.KindPullRequest)
	if !base.IsZero() {
		if r.Float64() < 0.9 && !g.liveArrival(base) {
			t := g.teams[r.IntN(len(g.teams))]
			base = t.cal.workAfter(base, time.Duration(r.Int64N(int64(hour))))
		}
		it.created = base.Unix()
	}
	return it
}

// story plans one item's ops. Times only move forward (one second apart
// at least) except for ops that GitHub records in the same second.
type story struct {
	g        *gen
	it       *itemPlan
	r        *rand.Rand
	first    int // index of the item's first op in the queue
	last     int64
	assigned map[string]bool
	// keepAliveVersions are releases added by jiraKeepAlive.
	keepAliveVersions []string
}

// collected reports whether the GitHub collector keeps issue events of
// this type (the others are noise: served, never stored).
func collected(typ string) bool {
	switch typ {
	case fakegithub.EventLabeled, fakegithub.EventUnlabeled, fakegithub.EventAssigned, fakegithub.EventUnassigned,
		fakegithub.EventReviewRequested, fakegithub.EventReviewRequestRemoved, fakegithub.EventClosed, fakegithub.EventReopened,
		fakegithub.EventMerged, fakegithub.EventMilestoned, fakegithub.EventDemilestoned:
		return true
	}
	return false
}

// actorTeam is the team of a GitHub login or Jira account id.
func (g *gen) actorTeam(source, actor string) (int, bool) {
	if source == model.SourceJira {
		t, ok := g.jira.teamOf[actor]
		return t, ok
	}
	t, ok := g.teamOf[strings.ToLower(actor)]
	return t, ok
}

func (s *story) push(at int64, o op) int64 {
	o.at, o.seq, o.it = at, s.g.nextSeq(), s.it
	s.g.pending = append(s.g.pending, o)
	// Noise events are not collected, so they are no activity.
	if t, ok := s.g.actorTeam(s.it.source, o.actor); ok && !(o.kind == opEvent && !collected(o.typ)) {
		s.it.acts = append(s.it.acts, act{at: at, team: int16(t)})
	}
	return at
}

// emit plans o at t, or one second after the item's previous op.
func (s *story) emit(t time.Time, o op) int64 {
	at := max(t.Unix(), s.last+1)
	s.last = at
	return s.push(at, o)
}

// same plans o in the same second as the previous op.
func (s *story) same(o op) int64 { return s.push(s.last, o) }

func (s *story) at() time.Time { return unix(s.last) }

func (s *story) event(t time.Time, typ, actor, value string) int64 {
	return s.emit(t, op{kind: opEvent, typ: typ, actor: actor, value: value})
}

func (s *story) comment(t time.Time, actor string) int64 {
	return s.emit(t, op{kind: opComment, actor: actor, value: commentBodies[s.r.IntN(len(commentBodies))]})
}

func (s *story) handoff(kind string, from, to int, start int64, bounce bool) int {
	s.it.handoffs = append(s.it.handoffs, plannedHandoff{kind: kind, from: from, to: to, start: start, bounce: bounce})
	return len(s.it.handoffs) - 1
}

func (s *story) done(h int, at int64, reason string) {
	if hh := &s.it.handoffs[h]; hh.done == 0 {
		hh.done, hh.reason = at, reason
	}
}

// closeAll ends every open handoff of the item (it closed).
func (s *story) closeAll(at int64) {
	for h := range s.it.handoffs {
		s.done(h, at, "closed")
	}
}

// member picks someone of team t: usually a configured member, sometimes
// the contractor known only through the GitHub team.
func (s *story) member(t int) string {
	tm := s.g.teams[t]
	if s.r.Float64() < 0.1 {
		return tm.Contractor
	}
	return tm.Members[s.r.IntN(len(tm.Members))].Login
}

func (s *story) otherMember(t int, not string) string {
	for i := 0; i < 8; i++ {
		if m := s.member(t); m != not {
			return m
		}
	}
	return s.g.teams[t].Contractor
}

func (s *story) stranger() string {
	if s.r.IntN(2) == 0 {
		return botLogins[s.r.IntN(len(botLogins))]
	}
	return outsiderLogins[s.r.IntN(len(outsiderLogins))]
}

// logNormal draws a long-tailed duration with the given median.
func (s *story) logNormal(median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*s.r.NormFloat64()))
}

// pairFactor makes some team pairs slower than others (stable per seed).
func (g *gen) pairFactor(from, to int) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%d", g.p.Seed, from, to)
	x := float64(h.Sum64()%1000) / 1000
	return 0.5 + 3*x*x
}

func (s *story) pickupDelay(from, to int) time.Duration {
	d := s.logNormal(time.Duration(float64(3*hour)*s.g.pairFactor(from, to)), 1.2)
	return min(d, 150*hour)
}

func (s *story) workDelay() time.Duration { return min(s.logNormal(10*hour, 1.0), 120*hour) }

// nextTeam is where work goes after team cur: mostly down the pipeline,
// sometimes elsewhere; -1 closes the item.
func (s *story) nextTeam(cur int) int {
	n := len(s.g.teams)
	closeP := 0.25
	if cur == n-1 {
		closeP = 0.7
	}
	if s.r.Float64() < closeP {
		return -1
	}
	if cur+1 < n && s.r.Float64() < 0.65 {
		return cur + 1
	}
	o := s.r.IntN(n - 1)
	if o >= cur {
		o++
	}
	return o
}

// milestoneFor is the release an item opened at t is planned for: the
// first one due at least three days later.
func (s *story) milestoneFor(t time.Time) string {
	for _, m := range s.g.ms {
		if m.due.After(t.Add(3 * day)) {
			return m.title
		}
	}
	return ""
}

// open plans the creation with the author's labels (and milestone) in the
// same second, as GitHub records initial labels.
func (s *story) open(author string, labels []string) {
	it := s.it
	it.author = author
	s.last = it.created
	s.push(it.created, op{kind: opCreate, actor: author})
	for _, l := range labels {
		s.same(op{kind: opEvent, typ: fakegithub.EventLabeled, actor: author, value: l})
	}
	if s.r.Float64() < 0.55 {
		if m := s.milestoneFor(unix(it.created)); m != "" {
			s.same(op{kind: opEvent, typ: fakegithub.EventMilestoned, actor: author, value: m})
		}
	}
	if s.r.Float64() < 0.5 {
		s.same(op{kind: opEvent, typ: fakegithub.EventSubscribed, actor: author})
	}
}

// extraLabels are non-team labels, including the signal labels.
func (s *story) extraLabels() []string {
	var out []string
	switch x := s.r.Float64(); {
	case x < 0.45:
		out = append(out, "bug")
	case x < 0.8:
		out = append(out, "feature")
	}
	if s.r.Float64() < 0.06 {
		out = append(out, "decision")
	}
	if s.r.Float64() < 0.05 {
		out = append(out, "postmortem-action")
	}
	return out
}

// chatter adds comments by members of other teams, bots and outsiders,
// and noise events, between a and b.
func (s *story) chatter(a, b time.Time, cur int) {
	span := b.Sub(a)
	if span <= 2*time.Second {
		return
	}
	n := s.r.IntN(3)
	ts := make([]time.Duration, n)
	for i := range ts {
		ts[i] = time.Duration(s.r.Int64N(int64(span)))
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	for _, d := range ts {
		t := a.Add(d)
		switch x := s.r.Float64(); {
		case x < 0.55:
			s.comment(t, s.member(cur))
		case x < 0.7:
			o := s.r.IntN(len(s.g.teams))
			s.comment(t, s.member(o))
		case x < 0.85:
			s.comment(t, s.stranger())
		default:
			typ := []string{fakegithub.EventMentioned, fakegithub.EventReferenced, fakegithub.EventSubscribed}[s.r.IntN(3)]
			s.event(t, typ, s.member(s.r.IntN(len(s.g.teams))), "")
		}
	}
}

// issue: opened by a member (or an outsider, labelled later by the triage
// bot), then passed along the pipeline, one team at a time, with pickups
// and work in the receiving team's working hours, bounces back to the
// previous team, and finally closed.
func (s *story) issue() {
	g, r := s.g, s.r
	t0 := r.IntN(len(g.teams))
	label := func(t int) string { return g.teams[t].Labels[0] }
	if r.Float64() < 0.12 {
		s.open(outsiderLogins[r.IntN(len(outsiderLogins))], nil)
		tl := g.teams[t0].cal.workAfter(s.at(), s.logNormal(90*time.Minute, 0.8))
		s.event(tl, fakegithub.EventLabeled, triageBot, label(t0))
		for _, l := range s.extraLabels() {
			s.same(op{kind: opEvent, typ: fakegithub.EventLabeled, actor: triageBot, value: l})
		}
	} else {
		s.open(s.member(t0), append([]string{label(t0)}, s.extraLabels()...))
	}
	cur, prev, h := t0, -1, -1
	for phase := 0; ; phase++ {
		cal := g.teams[cur].cal
		// Pickup (for a handoff) or first work (for the opening team).
		var d time.Duration
		if h >= 0 {
			d = s.pickupDelay(prev, cur)
		} else {
			d = s.logNormal(2*hour, 1.0)
		}
		tp := cal.workAfter(s.at(), d)
		who := s.member(cur)
		if !s.assigned[who] && r.Float64() < 0.3 {
			s.assigned[who] = true
			s.event(tp, fakegithub.EventAssigned, who, who)
		} else {
			s.comment(tp, who)
		}
		tEnd := cal.workAfter(s.at(), s.workDelay())
		s.chatter(s.at(), tEnd, cur)
		next := -1
		if h >= 0 && r.Float64() < 0.12 {
			next = prev // bounce: straight back
		} else if phase < maxPhases {
			next = s.nextTeam(cur)
		}
		actor := s.member(cur)
		if next < 0 {
			at := s.event(tEnd, fakegithub.EventClosed, actor, "")
			s.closeAll(at)
			if r.Float64() < 0.3 {
				s.event(unix(at).Add(time.Duration(1+r.IntN(48))*hour), fakegithub.EventReferenced, s.member(cur), "")
			}
			return
		}
		at := s.event(tEnd, fakegithub.EventUnlabeled, actor, label(cur))
		s.same(op{kind: opEvent, typ: fakegithub.EventLabeled, actor: actor, value: label(next)})
		if h >= 0 {
			s.done(h, at, "owner_left")
		}
		h = s.handoff("owner", cur, next, at, h >= 0 && next == prev)
		prev, cur = cur, next
	}
}

// pullRequest: opened by a member with their team's label, review
// requested from another team's GitHub team (or one of its members, or a
// teammate), reviewed, approved and merged; some requests are withdrawn,
// some PRs are closed unmerged, bot PRs start no handoff.
func (s *story) pullRequest() {
	g, r := s.g, s.r
	n := len(g.teams)
	if r.Float64() < 0.06 {
		// A dependency bump: no team authored it, so no review handoff.
		sre := n - 1
		s.open(botLogins[0], []string{"dependencies"})
		tr := s.at().Add(time.Minute)
		s.emit(tr, op{kind: opEvent, typ: fakegithub.EventReviewRequested, actor: botLogins[0], team: g.teams[sre].GitHubTeam})
		rev := s.member(sre)
		ta := g.teams[sre].cal.workAfter(s.at(), s.pickupDelay(0, sre))
		s.emit(ta, op{kind: opReview, actor: rev, value: fakegithub.ReviewApproved})
		s.event(s.at().Add(time.Duration(1+r.IntN(30))*time.Minute), fakegithub.EventMerged, rev, "")
		return
	}
	a := r.IntN(n)
	author := s.member(a)
	s.open(author, append([]string{g.teams[a].Labels[0]}, s.extraLabels()...))
	calA := g.teams[a].cal
	tr := calA.workAfter(s.at(), s.logNormal(45*time.Minute, 1.0))

	pickTeam := func(not ...int) int {
		for {
			var b int
			if x := r.Float64(); x < 0.5 && a+1 < n {
				b = a + 1
			} else {
				b = r.IntN(n)
			}
			ok := b != a
			for _, x := range not {
				ok = ok && b != x
			}
			if ok {
				return b
			}
		}
	}
	type request struct {
		team  int
		login string // "" for a team request
		h     int
	}
	request1 := func(t time.Time, b int, same bool) request {
		rq := request{team: b, h: -1}
		o := op{kind: opEvent, typ: fakegithub.EventReviewRequested, actor: author}
		if r.Float64() < 0.75 {
			o.team = g.teams[b].GitHubTeam
		} else {
			rq.login = s.otherMember(b, author)
			o.value = rq.login
		}
		var at int64
		if same {
			at = s.same(o)
		} else {
			at = s.emit(t, o)
		}
		if b != a {
			rq.h = s.handoff("review", a, b, at, false)
		}
		return rq
	}
	var reqs []request
	if r.Float64() < 0.15 {
		// A teammate review only: no handoff.
		reqs = append(reqs, request1(tr, a, false))
	} else {
		b := pickTeam()
		first := request1(tr, b, false)
		if r.Float64() < 0.07 {
			// Withdrawn before anyone looked, then asked elsewhere.
			tw := calA.workAfter(s.at(), s.logNormal(5*hour, 0.7))
			o := op{kind: opEvent, typ: fakegithub.EventReviewRequestRemoved, actor: author, team: g.teams[b].GitHubTeam}
			if first.login != "" {
				o.team, o.value = "", first.login
			}
			at := s.emit(tw, o)
			s.done(first.h, at, "withdrawn")
			first = request1(s.at().Add(10*time.Minute), pickTeam(b), false)
		}
		reqs = append(reqs, first)
		if r.Float64() < 0.1 && n > 2 {
			reqs = append(reqs, request1(time.Time{}, pickTeam(first.team), true))
		}
	}
	// Reviews per request, in time order of their planned instants.
	type step struct {
		t      time.Time
		actor  string
		review string // "" for a comment
	}
	var steps []step
	start := s.at()
	var lastApprove time.Time
	for _, rq := range reqs {
		tm := g.teams[rq.team]
		rev := rq.login
		if rev == "" {
			rev = s.otherMember(rq.team, author)
		}
		tp := tm.cal.workAfter(start, s.pickupDelay(a, rq.team))
		switch x := r.Float64(); {
		case x < 0.35:
			steps = append(steps, step{tp, rev, fakegithub.ReviewChangesRequested})
			fix := calA.workAfter(tp, s.logNormal(4*hour, 0.8))
			steps = append(steps, step{fix, author, ""})
			tp = tm.cal.workAfter(fix, s.pickupDelay(a, rq.team)/2)
		case x < 0.6:
			steps = append(steps, step{tp, rev, fakegithub.ReviewCommented})
			tp = tm.cal.workAfter(tp, s.workDelay()/3)
		case x < 0.75:
			steps = append(steps, step{tp, s.otherMember(rq.team, author), ""})
			tp = tm.cal.workAfter(tp, s.workDelay()/3)
		}
		steps = append(steps, step{tp, rev, fakegithub.ReviewApproved})
		if tp.After(lastApprove) {
			lastApprove = tp
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].t.Before(steps[j].t) })
	for _, st := range steps {
		var at int64
		if st.review == "" {
			at = s.comment(st.t, st.actor)
		} else {
			at = s.emit(st.t, op{kind: opReview, actor: st.actor, value: st.review})
		}
		if st.review == fakegithub.ReviewApproved {
			if t, ok := g.teamOf[strings.ToLower(st.actor)]; ok {
				for _, rq := range reqs {
					if rq.h >= 0 && rq.team == t {
						s.done(rq.h, at, "approved")
					}
				}
			}
		}
	}
	tm := calA.workAfter(s.at(), s.logNormal(time.Hour, 1.0))
	if r.Float64() < 0.05 {
		at := s.event(tm, fakegithub.EventClosed, author, "")
		s.closeAll(at)
		return
	}
	at := s.event(tm, fakegithub.EventMerged, author, "")
	s.closeAll(at)
	if r.Float64() < 0.5 {
		s.event(unix(at).Add(time.Second), "head_ref_deleted", author, "")
	}
}

// stalled plans one of the designated stalled handoffs: handed over (or
// asked for review) three to six weeks before Now with no activity by the
// receiving team since; variant 0 waits unpicked, 1 was picked up and then
// dropped, 2 is a pull request review nobody looked at. After Now the
// receiving team finally acts (a few days later), unless Params.LivePace is
// set: then they stay stalled.
func (s *story) stalled(k int) {
	g, r := s.g, s.r
	n := len(g.teams)
	a := k % n
	b := (a + 1 + r.IntN(n-1)) % n
	if b == a {
		b = (a + 1) % n
	}
	now := g.p.Now
	author := s.member(a)
	handAt := now.Add(-stalledIdleMin - time.Duration(r.Int64N(int64(14*day))))
	if handAt.Unix() <= s.it.created+3600 {
		handAt = unix(s.it.created).Add(2 * hour)
	}
	var h int
	switch k % 3 {
	case 2:
		s.it.title = "Review needed: " + s.it.title
		s.open(author, []string{g.teams[a].Labels[0]})
		at := s.emit(handAt, op{kind: opEvent, typ: fakegithub.EventReviewRequested, actor: author, team: g.teams[b].GitHubTeam})
		h = s.handoff("review", a, b, at, false)
	default:
		s.open(author, []string{g.teams[a].Labels[0], "bug"})
		s.comment(unix(s.it.created).Add(time.Hour), s.member(a))
		at := s.event(handAt, fakegithub.EventUnlabeled, author, g.teams[a].Labels[0])
		s.same(op{kind: opEvent, typ: fakegithub.EventLabeled, actor: author, value: g.teams[b].Labels[0]})
		h = s.handoff("owner", a, b, at, false)
		if k%3 == 1 {
			s.comment(unix(at).Add(3*hour), s.member(b))
		}
	}
	s.it.handoffs[h].stalledAt = true
	// Only outsiders and bots in the quiet period.
	s.comment(now.Add(-10*day), botLogins[2])
	if g.p.LivePace > 0 {
		return // live: stays stalled
	}
	// After Now: the receiving team comes back to it.
	back := now.Add(time.Duration(2+r.IntN(10)) * day)
	if k%3 == 2 {
		at := s.emit(back, op{kind: opReview, actor: s.member(b), value: fakegithub.ReviewApproved})
		s.done(h, at, "approved")
		at = s.event(unix(at).Add(2*hour), fakegithub.EventMerged, author, "")
		s.closeAll(at)
		return
	}
	s.comment(back, s.member(b))
	at := s.event(back.Add(day), fakegithub.EventClosed, s.member(b), "")
	s.closeAll(at)
}

// noise adds Params.Noise extra noise events (on average) in the item's
// first days; they are served but never collected.
func (s *story) noise() {
	p := s.g.p.Noise
	if p == 0 {
		return
	}
	n := int(p)
	if s.r.Float64() < p-float64(n) {
		n++
	}
	types := []string{fakegithub.EventMentioned, fakegithub.EventSubscribed, fakegithub.EventReferenced}
	for i := 0; i < n; i++ {
		at := s.it.created + 1 + s.r.Int64N(int64(5*day/time.Second))
		who := s.stranger()
		if s.r.IntN(2) == 0 {
			who = s.member(s.r.IntN(len(s.g.teams)))
		}
		s.push(at, op{kind: opEvent, typ: types[s.r.IntN(len(types))], actor: who})
	}
}

// keepAlive makes sure every handoff open at now that is not designated
// stalled had activity by its receiving team within keepAliveAfter: a
// member of that team comments a few hours before now when it had not.
func (s *story) keepAlive(now int64) {
	it := s.it
	for h := range it.handoffs {
		hh := &it.handoffs[h]
		if hh.stalledAt || hh.start > now || (hh.done != 0 && hh.done <= now) {
			continue
		}
		last := hh.start
		for _, a := range it.acts {
			if int(a.team) == hh.to && a.at > hh.start && a.at <= now && a.at > last {
				last = a.at
			}
		}
		if now-last <= int64(keepAliveAfter/time.Second) {
			continue
		}
		at := now - int64(time.Hour/time.Second) - s.r.Int64N(int64(39*time.Hour/time.Second))
		for s.taken(at) {
			at--
		}
		s.push(at, op{kind: opComment, actor: s.member(hh.to), value: "Still on it — update coming."})
	}
}

// taken reports whether the item already has an op at instant at.
func (s *story) taken(at int64) bool {
	for i := s.first; i < len(s.g.pending); i++ {
		if s.g.pending[i].it == s.it && s.g.pending[i].at == at {
			return true
		}
	}
	return false
}

var (
	titleVerbs    = []string{"Fix", "Improve", "Add", "Remove", "Refactor", "Investigate", "Speed up", "Redesign", "Document", "Harden"}
	titleObjects  = []string{"checkout flow", "login form", "search results", "billing page", "onboarding wizard", "API rate limiting", "image uploads", "notification settings", "dark mode", "audit log", "CSV export", "password reset", "mobile navigation", "cache invalidation", "deploy pipeline"}
	titleWhere    = []string{"on Safari", "for EU customers", "under load", "after the last release", "on small screens", "in the admin area", "for new accounts", ""}
	commentBodies = []string{
		"Taking a look.", "I can reproduce this.", "Pushed a fix, please check.", "Any update here?",
		"Let's discuss in standup.", "Added screenshots.", "This blocks the release.", "Thanks for the quick turnaround!",
		"Needs a decision from product.", "Moved to the next sprint.",
	}
)

func title(r *rand.Rand, pr bool) string {
	t := titleVerbs[r.IntN(len(titleVerbs))] + " " + titleObjects[r.IntN(len(titleObjects))]
	if w := titleWhere[r.IntN(len(titleWhere))]; w != "" {
		t += " " + w
	}
	if pr && r.IntN(2) == 0 {
		return "WIP: " + t
	}
	return t
}
