package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/model"
)

// JiraTarget is the name of the Jira target in the generated configuration.
const JiraTarget = "sim-jira"

// JiraEmail is the API user of the generated Jira target (Cloud: email
// and API token, World.JiraToken).
const JiraEmail = "crossteam-bot@acme.example"

// Jira statuses beyond the per-team "Ready for X" (waiting) and "In X"
// (active) ones: Blocked and the site's To Do belong to no team, so items
// sitting there show in crossteam_jira_unmapped_status_items.
const (
	jiraBlocked = "Blocked"
	jiraToDo    = "To Do"
	jiraDone    = "Done"
)

var projectKeys = []string{"CORE", "OPS", "DATA", "MOB", "SEC", "WEB", "PAY", "INT"}

// Jira outsiders: service desk and integration accounts in no team.
var jiraOutsiders = []string{"5b6f00servicedesk0001", "5b6f00integration0002"}

// Jira comment behaviour: the share of handoffs a receiving team picks up
// with a comment (a question before assigning anyone), and the share of
// issues on which the integration account posts a burst of more than the 20
// comments Cloud's search embeds (so the collector's completion requests
// run in every simulated sync).
const (
	jiraCommentPickupP = 0.3
	jiraCommentBurstP  = 0.03
)

var jiraBotComments = []string{"Build passed on main.", "Deployed to staging.", "Linked pull request merged.", "Reminder: this issue has no update."}

// jiraGen is the Jira side of the world.
type jiraGen struct {
	site     *fakejira.Site
	token    string
	projects []*jiraProject
	gap      time.Duration
	teamOf   map[string]int // account id -> team
	versions []jiraVersion  // per project the same names
}

type jiraProject struct {
	idx       int
	key       string
	nextIndex int                         // next regular issue index to plan
	number    int                         // last issue number given
	versions  map[string]fakejira.Version // by name
}

type jiraVersion struct {
	name     string
	due      time.Time
	released bool
}

// JiraSite returns the simulated Jira site (nil when Params has no Jira
// projects); serve it with fakejira.NewAPI and World.JiraOptions.
func (w *World) JiraSite() *fakejira.Site {
	if w.g.jira == nil {
		return nil
	}
	return w.g.jira.site
}

// JiraToken is the API token of JiraEmail on the simulated site.
func (w *World) JiraToken() string {
	if w.g.jira == nil {
		return ""
	}
	return w.g.jira.token
}

// JiraOptions are the fake Jira handler options matching the generated
// configuration (Cloud, JiraEmail with JiraToken).
func (w *World) JiraOptions() fakejira.Options {
	return fakejira.Options{Deployment: fakejira.Cloud, Users: map[string]string{JiraEmail: w.JiraToken()}}
}

func (g *gen) setupJira() error {
	p := g.p
	if p.JiraProjects == 0 || p.JiraIssuesPerProject == 0 {
		return nil
	}
	j := &jiraGen{site: fakejira.NewSite(), token: fmt.Sprintf("ATATTsim%dtoken", p.Seed), teamOf: map[string]int{}}
	j.site.Now = g.w.Clock.Now
	fail := func(err error) error { return fmt.Errorf("sim: jira: %w", err) }
	for i, t := range g.teams {
		for _, m := range t.Members {
			if _, err := j.site.AddUser(fakejira.User{AccountID: m.AccountID, DisplayName: displayName(m.Login), Email: m.Email}); err != nil {
				return fail(err)
			}
			j.teamOf[m.AccountID] = i
		}
		wait, active := jiraStatuses(t.Name)
		for _, st := range []fakejira.Status{{Name: wait, Category: fakejira.CategoryNew}, {Name: active, Category: fakejira.CategoryIndeterminate}} {
			if _, err := j.site.AddStatus(st); err != nil {
				return fail(err)
			}
		}
	}
	if _, err := j.site.AddStatus(fakejira.Status{Name: jiraBlocked, Category: fakejira.CategoryIndeterminate}); err != nil {
		return fail(err)
	}
	for _, o := range jiraOutsiders {
		if _, err := j.site.AddUser(fakejira.User{AccountID: o, DisplayName: "Automation for Jira"}); err != nil {
			return fail(err)
		}
	}
	// Releases: past sprints (released on their date), then the at-risk
	// release shared with GitHub and the next one.
	for k, m := range g.ms {
		v := jiraVersion{name: fmt.Sprintf("Sprint %d", k+1), due: m.due, released: !m.closeAt.IsZero()}
		if m.closeAt.IsZero() {
			v.name = m.title
		}
		j.versions = append(j.versions, v)
	}
	for i := 0; i < p.JiraProjects; i++ {
		key := projectKeys[i%len(projectKeys)]
		if i >= len(projectKeys) {
			key += string(rune('A' + i/len(projectKeys)))
		}
		if _, err := j.site.AddProject(fakejira.Project{Key: key, Name: strings.ToUpper(key[:1]) + strings.ToLower(key[1:])}); err != nil {
			return fail(err)
		}
		jp := &jiraProject{idx: i, key: key, versions: map[string]fakejira.Version{}}
		for _, v := range j.versions {
			got, err := j.site.AddVersion(key, fakejira.Version{Name: v.name, ReleaseDate: v.due, Released: v.released})
			if err != nil {
				return fail(err)
			}
			jp.versions[v.name] = got
		}
		j.projects = append(j.projects, jp)
	}
	j.gap = p.Now.Sub(g.w.Start) / time.Duration(p.JiraIssuesPerProject)
	g.jira = j
	return nil
}

func displayName(login string) string {
	name, team, _ := strings.Cut(login, "-")
	return strings.ToUpper(name[:1]) + name[1:] + " (" + team + ")"
}

// planJira plans the Jira issues whose base creation time is at or before
// to, like planGitHub.
func (g *gen) planJira(to time.Time, initial bool) {
	j := g.jira
	if j == nil {
		return
	}
	now := g.p.Now.Unix()
	for _, jp := range j.projects {
		type planned struct {
			it    *itemPlan
			r     *rand.Rand
			stall int
		}
		var batch []planned
		for {
			i := jp.nextIndex
			r := g.itemRand(3, jp.idx, i)
			base := g.baseTime(float64(i)+r.Float64(), j.gap)
			if base.After(to) {
				break
			}
			jp.nextIndex++
			it := &itemPlan{source: model.SourceJira, kind: model.KindJiraIssue, title: title(r, false)}
			if r.Float64() < 0.9 && !g.liveArrival(base) {
				base = g.teams[r.IntN(len(g.teams))].cal.workAfter(base, time.Duration(r.Int64N(int64(hour))))
			}
			it.created = base.Unix()
			batch = append(batch, planned{it, r, -1})
		}
		if initial {
			for k := jp.idx; k < g.p.JiraStalledNow; k += len(j.projects) {
				r := g.itemRand(4, jp.idx, k)
				it := &itemPlan{source: model.SourceJira, kind: model.KindJiraIssue, title: title(r, false)}
				created := g.p.Now.Add(-30*day - time.Duration(r.Int64N(int64(20*day))))
				if min := g.w.Start.Add(day); created.Before(min) {
					created = min
				}
				it.created = created.Unix()
				batch = append(batch, planned{it, r, k})
			}
		}
		sort.SliceStable(batch, func(a, b int) bool { return batch[a].it.created < batch[b].it.created })
		for _, b := range batch {
			it := b.it
			it.project = jp
			it.number = jp.nextNumber()
			it.key = fmt.Sprintf("%s-%d", jp.key, it.number)
			s := &story{g: g, it: it, r: b.r, first: len(g.pending), assigned: map[string]bool{}}
			if b.stall >= 0 {
				s.jiraStalled(b.stall)
			} else {
				s.jiraIssue()
			}
			if it.created <= now {
				s.jiraKeepAlive(now)
			}
			s.history(now)
			sort.SliceStable(it.acts, func(a, b int) bool { return it.acts[a].at < it.acts[b].at })
		}
	}
}

func (jp *jiraProject) nextNumber() int {
	jp.number++
	return jp.number
}

// jiraMember is a configured member's account id.
func (s *story) jiraMember(t int) string {
	ms := s.g.teams[t].Members
	return ms[s.r.IntN(len(ms))].AccountID
}

func (s *story) jiraOp(t time.Time, kind opKind, actor, value string) int64 {
	return s.emit(t, op{kind: kind, actor: actor, value: value})
}

// versionFor is the release an issue opened at t is planned for.
func (s *story) versionFor(t time.Time) string {
	for _, v := range s.g.jira.versions {
		if v.due.After(t.Add(3 * day)) {
			return v.name
		}
	}
	return ""
}

// jiraOpen plans the creation: in status, with a fix version and labels,
// none of which Jira records as history.
func (s *story) jiraOpen(reporter, status string) {
	it := s.it
	it.author = reporter
	it.jStatus0 = status
	if s.r.Float64() < 0.5 {
		if v := s.versionFor(unix(it.created)); v != "" {
			it.jVersions0 = []string{v}
		}
	}
	if s.r.Float64() < 0.06 {
		it.jLabels0 = append(it.jLabels0, "decision")
	}
	if s.r.Float64() < 0.05 {
		it.jLabels0 = append(it.jLabels0, "postmortem-action")
	}
	s.last = it.created
	s.push(it.created, op{kind: opJiraCreate, actor: reporter})
}

// jiraIssue: opened in a team's queue (or by the service desk in To Do and
// triaged), each team assigns it to someone, works on it (sometimes
// blocked), and moves it to the next team's queue, back to the previous
// team's (a bounce), or to Done.
func (s *story) jiraIssue() {
	g, r := s.g, s.r
	t0 := r.IntN(len(g.teams))
	wait := func(t int) string { w, _ := jiraStatuses(g.teams[t].Name); return w }
	active := func(t int) string { _, a := jiraStatuses(g.teams[t].Name); return a }
	if r.Float64() < 0.12 {
		desk := jiraOutsiders[0]
		s.jiraOpen(desk, jiraToDo)
		tt := g.teams[t0].cal.workAfter(s.at(), s.logNormal(2*hour, 0.8))
		s.jiraOp(tt, opJiraTransition, jiraOutsiders[1], wait(t0))
	} else {
		s.jiraOpen(s.jiraMember(t0), wait(t0))
	}
	cur, prev, h := t0, -1, -1
	assignee := ""
	burst := r.Float64() < jiraCommentBurstP
	for phase := 0; ; phase++ {
		cal := g.teams[cur].cal
		d := s.logNormal(2*hour, 1.0)
		if h >= 0 {
			d = s.pickupDelay(prev, cur)
		}
		who := s.jiraMember(cur)
		tp := cal.workAfter(s.at(), d)
		if h >= 0 && r.Float64() < jiraCommentPickupP {
			// The receiving team's first activity is a comment.
			s.jiraComment(tp, who)
			tp = cal.workAfter(s.at(), s.logNormal(90*time.Minute, 0.8))
		}
		if who != assignee {
			s.jiraOp(tp, opJiraAssign, who, who)
			assignee = who
			tp = unix(s.last).Add(time.Duration(1+r.IntN(30)) * time.Minute)
		}
		s.jiraOp(tp, opJiraTransition, who, active(cur))
		tEnd := cal.workAfter(s.at(), s.workDelay())
		if r.Float64() < 0.08 {
			mid := unix(s.last).Add(tEnd.Sub(s.at()) / 3)
			s.jiraOp(mid, opJiraTransition, who, jiraBlocked)
			s.jiraOp(cal.workAfter(s.at(), s.logNormal(6*hour, 0.8)), opJiraTransition, who, active(cur))
			tEnd = cal.workAfter(s.at(), s.workDelay()/2)
		}
		s.jiraChatter(s.at(), tEnd, cur, burst)
		burst = false
		next := -1
		if h >= 0 && r.Float64() < 0.12 {
			next = prev
		} else if phase < maxPhases {
			next = s.nextTeam(cur)
		}
		if next < 0 {
			at := s.jiraOp(tEnd, opJiraTransition, who, jiraDone)
			s.closeAll(at)
			return
		}
		at := s.jiraOp(tEnd, opJiraTransition, who, wait(next))
		if h >= 0 {
			s.done(h, at, "owner_left")
		}
		h = s.handoff("owner", cur, next, at, h >= 0 && next == prev)
		prev, cur = cur, next
	}
}

// jiraStalled plans a designated stalled Jira handoff: moved to the next
// team's queue three to five weeks before Now; variant 1 was assigned and
// then blocked (an unmapped status), variant 0 nobody touched.
func (s *story) jiraStalled(k int) {
	g, r := s.g, s.r
	n := len(g.teams)
	a := (k + 2) % n
	b := (a + 1 + r.IntN(n-1)) % n
	if b == a {
		b = (a + 1) % n
	}
	waitA, activeA := jiraStatuses(g.teams[a].Name)
	waitB, activeB := jiraStatuses(g.teams[b].Name)
	now := g.p.Now
	s.jiraOpen(s.jiraMember(a), waitA)
	who := s.jiraMember(a)
	s.jiraOp(unix(s.it.created).Add(time.Hour), opJiraAssign, who, who)
	s.jiraOp(unix(s.it.created).Add(2*time.Hour), opJiraTransition, who, activeA)
	handAt := now.Add(-stalledIdleMin - time.Duration(r.Int64N(int64(14*day))))
	if handAt.Unix() <= s.last+3600 {
		handAt = unix(s.last).Add(2 * hour)
	}
	at := s.jiraOp(handAt, opJiraTransition, who, waitB)
	h := s.handoff("owner", a, b, at, false)
	s.it.handoffs[h].stalledAt = true
	// A bot's reminder is no activity by the receiving team.
	s.jiraOp(handAt.Add(7*day), opJiraComment, jiraOutsiders[1], jiraBotComments[3])
	whoB := s.jiraMember(b)
	if k%2 == 1 {
		s.jiraOp(handAt.Add(3*time.Hour), opJiraAssign, whoB, whoB)
		s.jiraOp(handAt.Add(4*time.Hour), opJiraTransition, whoB, jiraBlocked)
	}
	if s.g.p.LivePace > 0 {
		return // live: stays stalled
	}
	// After Now the team comes back to it.
	back := now.Add(time.Duration(2+r.IntN(10)) * day)
	s.jiraOp(back, opJiraTransition, whoB, activeB)
	at = s.jiraOp(back.Add(day), opJiraTransition, whoB, jiraDone)
	s.closeAll(at)
}

// jiraComment plans a comment by actor at t.
func (s *story) jiraComment(t time.Time, actor string) int64 {
	return s.jiraOp(t, opJiraComment, actor, commentBodies[s.r.IntN(len(commentBodies))])
}

// jiraChatter adds comments between a and b: by the owning team, by
// members of other teams, by the service desk and integration accounts
// (no team, so never a pickup), and now and then a burst of integration
// comments longer than Cloud search's 20.
func (s *story) jiraChatter(a, b time.Time, cur int, burst bool) {
	span := b.Sub(a)
	if span <= 2*time.Minute {
		return
	}
	r := s.r
	n := r.IntN(3)
	if burst {
		n += 21 + r.IntN(10)
	}
	ts := make([]time.Duration, n)
	for i := range ts {
		ts[i] = time.Duration(r.Int64N(int64(span - time.Minute)))
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	for _, d := range ts {
		t := a.Add(d)
		switch x := r.Float64(); {
		case burst:
			s.jiraOp(t, opJiraComment, jiraOutsiders[1], jiraBotComments[r.IntN(len(jiraBotComments))])
		case x < 0.45:
			s.jiraComment(t, s.jiraMember(cur))
		case x < 0.7:
			s.jiraComment(t, s.jiraMember(r.IntN(len(s.g.teams))))
		default:
			s.jiraOp(t, opJiraComment, jiraOutsiders[r.IntN(len(jiraOutsiders))], jiraBotComments[r.IntN(len(jiraBotComments))])
		}
	}
}

// jiraKeepAlive is keepAlive for Jira: the receiving team adds the item to
// an open release it is not in yet (a mapped change, so it is activity).
func (s *story) jiraKeepAlive(now int64) {
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
		v := ""
		for k := len(s.g.jira.versions) - 1; k >= 0; k-- {
			jv := s.g.jira.versions[k]
			if !jv.released && !s.hasVersion(jv.name) {
				v = jv.name
				break
			}
		}
		if v == "" {
			continue // cannot happen: an item gets at most one release at creation
		}
		at := now - int64(time.Hour/time.Second) - s.r.Int64N(int64(39*time.Hour/time.Second))
		for s.taken(at) {
			at--
		}
		s.keepAliveVersions = append(s.keepAliveVersions, v)
		s.push(at, op{kind: opJiraFixVersion, actor: s.jiraMember(hh.to), value: v})
	}
}

func (s *story) hasVersion(v string) bool {
	for _, x := range s.it.jVersions0 {
		if x == v {
			return true
		}
	}
	for _, x := range s.keepAliveVersions {
		if x == v {
			return true
		}
	}
	return false
}

// applyJira writes one Jira op into the site and records the events the
// Jira collector must store for it.
func (g *gen) applyJira(o *op, at time.Time, record func(model.Event)) error {
	site, it := g.jira.site, o.it
	ev := func(id string, kind model.EventKind) model.Event {
		return model.Event{Source: model.SourceJira, ID: id, ItemKey: it.key, At: at, Actor: o.actor, Kind: kind}
	}
	bump := func() {
		if o.at > it.updated {
			it.updated = o.at
		}
	}
	switch o.kind {
	case opJiraCreate:
		got, err := site.CreateIssue(fakejira.Issue{Key: it.key, Project: it.project.key, Summary: it.title,
			Reporter: it.author, Status: it.jStatus0, FixVersions: it.jVersions0, Labels: it.jLabels0, Created: at, DueDate: it.jDue0})
		if err != nil {
			return err
		}
		it.jiraID, it.status, it.applied, it.updated = got.ID, it.jStatus0, true, o.at
		it.labels = append([]string(nil), it.jLabels0...)
		it.versions = append([]string(nil), it.jVersions0...)
		g.items = append(g.items, it)
		record(ev(got.ID+"/created", model.EventCreated))
		if !it.jDue0.IsZero() {
			// The collector stores the due date an issue was created with
			// as set at creation (records.go).
			e := ev(got.ID+"/date/duedate/created", model.EventDateSet)
			e.Actor, e.Value, e.To = "", "duedate", it.jDue0.UTC().Format("2006-01-02")
			record(e)
		}
	case opJiraLink:
		if err := g.applyJiraLink(o, at, record); err != nil {
			return err
		}
	case opJiraTransition:
		h, err := site.Transition(it.key, o.value, o.actor, at)
		if err != nil {
			return err
		}
		if h.ID == "" {
			return fmt.Errorf("transition to %q recorded no change", o.value)
		}
		e := ev(h.ID+"/status", model.EventStatusChanged)
		e.From, e.To = it.status, o.value
		record(e)
		switch {
		case o.value == jiraDone && it.status != jiraDone:
			record(ev(h.ID+"/closed", model.EventClosed))
			it.closed = o.at
		case o.value != jiraDone && it.status == jiraDone:
			record(ev(h.ID+"/reopened", model.EventReopened))
			it.closed = 0
		}
		it.status = o.value
		bump()
	case opJiraAssign:
		h, err := site.Assign(it.key, o.value, o.actor, at)
		if err != nil {
			return err
		}
		if h.ID == "" {
			return fmt.Errorf("assigning %s recorded no change", o.value)
		}
		if len(it.assignees) > 0 {
			e := ev(h.ID+"/assignee/-"+it.assignees[0], model.EventUnassigned)
			e.Value = it.assignees[0]
			record(e)
		}
		e := ev(h.ID+"/assignee/+"+o.value, model.EventAssigned)
		e.Value = o.value
		record(e)
		it.assignees = []string{o.value}
		bump()
	case opJiraFixVersion:
		h, err := site.AddFixVersion(it.key, o.value, o.actor, at)
		if err != nil {
			return err
		}
		if h.ID == "" {
			return fmt.Errorf("fix version %q recorded no change", o.value)
		}
		e := ev(h.ID+"/fixVersions/+"+o.value, model.EventMilestoned)
		e.Value = o.value
		record(e)
		it.versions = append(it.versions, o.value)
		bump()
	case opJiraComment:
		c, err := site.AddComment(it.key, o.actor, o.value, at)
		if err != nil {
			return err
		}
		record(ev("comment:"+c.ID, model.EventCommented))
		bump()
	}
	return nil
}
