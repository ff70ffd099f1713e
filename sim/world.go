package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/model"
)

// GitHubTarget is the name of the GitHub target in the generated
// configuration (the `target` label of health metrics).
const GitHubTarget = "sim-github"

// HTMLURL is the web base the fake GitHub renders html_url fields with (the
// fakeapi default); item URLs in the ground truth use it.
const HTMLURL = "https://github.com"

// Unknown actors: bots and outsiders who belong to no team.
var (
	botLogins      = []string{"dependabot[bot]", "github-actions[bot]", "stale[bot]"}
	outsiderLogins = []string{"jdoe-customer", "open-source-fan", "partner-eng", "security-researcher"}
	triageBot      = "triage-bot"
)

// World is a generated organisation: the fake GitHub it serves, its ground
// truth, and the configuration that describes it. Methods are safe for
// concurrent use (Advance may run while the fake serves requests).
type World struct {
	Params Params
	// Start is the first instant of history; Now the instant generation
	// reached (Params.Now). Clock is the simulated clock, at Now after
	// Generate and moved by Advance; Org.Now reads it.
	Start, Now time.Time
	Clock      *fakeapi.ManualClock
	Org        *fakegithub.Org
	// GitHubToken is the token the generated configuration presents; pass
	// it to fakegithub.GitHubOptions.Tokens.
	GitHubToken string
	Teams       []Team
	Repos       []string // "org/name"

	mu       sync.Mutex
	g        *gen
	jiraBase string
}

// Team is one simulated team.
type Team struct {
	Name       string
	GitHubTeam string // "org/slug"
	Members    []Member
	// Contractor is a GitHub login that belongs to the team only through
	// its GitHub team (not listed in the configuration), so the collector
	// must expand the team to attribute their activity.
	Contractor string
	Labels     []string // GitHub labels marking the team ("team:<name>")
	cal        *calendar
}

// Member is a configured team member.
type Member struct {
	Login     string // GitHub login
	AccountID string // Jira account id
	Email     string
}

// act is an activity by a team on an item (an event whose actor is a
// member of that team).
type act struct {
	at   int64 // unix seconds
	team int16
}

// plannedHandoff is a handoff the generator created.
type plannedHandoff struct {
	kind      string // "owner" or "review"
	from, to  int
	start     int64
	done      int64 // 0: not done in the plan
	reason    string
	bounce    bool
	stalledAt bool // designated stalled at Now
}

// itemPlan is one issue, pull request (or Jira issue) and its story.
type itemPlan struct {
	source  string
	repo    *repoPlan
	number  int
	key     string
	kind    string
	title   string
	author  string
	created int64
	// ops not applied yet are in the world queue; acts and handoffs cover
	// the whole plan, including what lies after the clock.
	acts     []act
	handoffs []plannedHandoff

	// Jira: project, and the state at creation (Jira records no history
	// for it).
	project    *jiraProject
	jStatus0   string
	jLabels0   []string
	jVersions0 []string
	jDue0      time.Time // due date at creation (records.go); zero none

	// State as applied.
	jiraID    string
	status    string
	versions  []string
	applied   bool
	labels    []string
	assignees []string
	milestone string
	closed    int64
	updated   int64
}

type repoPlan struct {
	idx        int
	full       string
	nextIndex  int // next regular item index to plan
	nextNumber int
	ms         map[string]int // milestone title -> number
}

// opKind is what an op does to the fake.
type opKind uint8

const (
	opCreate opKind = iota
	opEvent
	opComment
	opReview
	opMilestoneClose
	opJiraCreate
	opJiraTransition // value: status name
	opJiraAssign     // value: account id
	opJiraFixVersion // value: version name
	opJiraComment    // value: comment body
)

// op is one planned change, applied in (at, seq) order.
type op struct {
	at    int64
	seq   uint64
	kind  opKind
	it    *itemPlan
	typ   string // event type
	actor string
	value string // label, assignee, milestone, reviewer login, review state, comment body
	team  string // requested team "org/slug"
	ms    int    // milestone plan index (opMilestoneClose)
}

// gen is the generator state behind a World.
type gen struct {
	p       Params
	w       *World
	teams   []*Team
	teamOf  map[string]int // lower(GitHub login) -> team (contractors included)
	repos   []*repoPlan
	gap     time.Duration // mean time between item creations per repo
	planned time.Time     // regular items with a base time up to here are planned
	seq     uint64
	pending []op // sorted by (at, seq)
	ms      []msPlan
	items   []*itemPlan // every planned item, in planning order
	events  []model.Event
	evSeq   []uint64 // apply order of events (parallel to events)
	applied uint64
	jira    *jiraGen // nil: no Jira site
	// records: the designed decisions, actions and dependencies
	// (records.go); blockers: blocking items by key.
	records  []*recordPlan
	blockers map[string]*itemPlan
}

type msPlan struct {
	title   string
	due     time.Time
	closeAt time.Time // zero: stays open
	closed  bool      // applied
}

// Generate builds the world described by p: teams, repositories with
// milestones, and every item's history up to p.Now, written into a new
// fakegithub.Org through its mutators.
func Generate(p Params) (*World, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	start := p.Now.AddDate(0, -p.Months, 0)
	w := &World{
		Params: p, Start: start, Now: p.Now,
		Clock:       fakeapi.NewManualClock(start),
		Org:         fakegithub.NewOrg(),
		GitHubToken: "ghp_sim" + strconv.FormatUint(p.Seed, 36) + "token0123456789",
	}
	w.Org.Now = w.Clock.Now
	g := &gen{p: p, w: w, teamOf: map[string]int{}, planned: start, blockers: map[string]*itemPlan{}}
	w.g = g
	if err := g.setupTeams(); err != nil {
		return nil, err
	}
	if err := g.setupRepos(); err != nil {
		return nil, err
	}
	if err := g.setupJira(); err != nil {
		return nil, err
	}
	g.gap = p.Now.Sub(start) / time.Duration(p.ItemsPerRepo)
	g.plan(p.Now, true)
	// About one collected event per planned op: size the records once
	// instead of copying millions of events while they grow.
	g.events = make([]model.Event, 0, len(g.pending))
	g.evSeq = make([]uint64, 0, len(g.pending))
	if err := g.applyUntil(p.Now.Unix()); err != nil {
		return nil, err
	}
	w.Clock.Set(p.Now)
	return w, nil
}

func (g *gen) setupTeams() error {
	p := g.p
	for i, name := range p.Teams {
		cal, err := newCalendar(i)
		if err != nil {
			return err
		}
		t := &Team{Name: name, GitHubTeam: p.Org + "/" + name, Labels: []string{"team:" + name}, cal: cal}
		logins := make([]string, 0, p.MembersPerTeam+1)
		for j := 0; j < p.MembersPerTeam; j++ {
			fn := firstNames[(i*7+j)%len(firstNames)]
			login := fn + "-" + name
			h := sha256.Sum256([]byte(fmt.Sprintf("%d/%s", p.Seed, login)))
			t.Members = append(t.Members, Member{
				Login:     login,
				AccountID: "5f" + hex.EncodeToString(h[:11]),
				Email:     login + "@" + p.Org + ".example",
			})
			logins = append(logins, login)
			g.teamOf[strings.ToLower(login)] = i
		}
		t.Contractor = "contractor-" + name
		logins = append(logins, t.Contractor)
		g.teamOf[strings.ToLower(t.Contractor)] = i
		if _, err := g.w.Org.AddTeam(fakegithub.Team{Org: p.Org, Slug: name, Name: name, Description: "The " + name + " team", Members: logins}); err != nil {
			return fmt.Errorf("sim: team %s: %w", name, err)
		}
		g.teams = append(g.teams, t)
		g.w.Teams = append(g.w.Teams, *t)
	}
	return nil
}

var repoNames = []string{"web", "api", "mobile", "infra", "design-system", "payments", "search", "notifications", "auth", "data-pipeline"}

func (g *gen) setupRepos() error {
	p := g.p
	g.ms = milestonePlan(p.Now, p.Months)
	for i := 0; i < p.Repos; i++ {
		name := repoNames[i%len(repoNames)]
		if i >= len(repoNames) {
			name += "-" + strconv.Itoa(i/len(repoNames)+1)
		}
		full := p.Org + "/" + name
		if err := g.w.Org.AddRepo(full); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		rp := &repoPlan{idx: i, full: full, nextNumber: 1, ms: map[string]int{}}
		for _, m := range g.ms {
			got, err := g.w.Org.AddMilestone(full, fakegithub.Milestone{
				Title: m.title, Description: "Joint release " + m.title, Creator: g.teams[0].Members[0].Login,
				DueOn: m.due, CreatedAt: g.w.Start.Add(-7 * 24 * time.Hour),
			})
			if err != nil {
				return fmt.Errorf("sim: %s: %w", full, err)
			}
			rp.ms[m.title] = got.Number
		}
		g.repos = append(g.repos, rp)
		g.w.Repos = append(g.w.Repos, full)
	}
	return nil
}

// Milestone titles; the one at risk (open, due in a few days) is shared
// with a Jira fix version so merge_sources joins them.
var releaseNames = []string{"Aurora", "Borealis", "Cirrus", "Dune", "Ember", "Fjord", "Glacier", "Harbor", "Iris", "Juniper", "Kestrel", "Lagoon", "Mesa", "Nimbus", "Orchid"}

// AtRiskMilestone is the title of the open joint milestone due in a few
// days (shared by GitHub and Jira).
func (w *World) AtRiskMilestone() string { return w.g.ms[len(w.g.ms)-2].title }

// milestonePlan: one release every four weeks. Completed ones alternate
// between on time and late, the last completed five days ago (on time);
// then one open and at risk (due in four days) and one open later.
func milestonePlan(now time.Time, months int) []msPlan {
	day := 24 * time.Hour
	past := max(months, 2)
	var out []msPlan
	base := time.Date(now.Year(), now.Month(), now.Day(), 8, 0, 0, 0, time.UTC)
	for j := 0; j < past; j++ {
		back := past - 1 - j
		due := base.Add(-3*day - time.Duration(back)*28*day)
		closeAt := due.Add(-2 * day)
		if back%2 == 1 {
			closeAt = due.Add(time.Duration(2+back%3) * day) // late
		}
		out = append(out, msPlan{due: due, closeAt: closeAt.Add(-5 * time.Hour)})
	}
	out = append(out, msPlan{due: base.Add(4 * day)}, msPlan{due: base.Add(32 * day)})
	for j := range out {
		out[j].title = fmt.Sprintf("v1.%d %s", j, releaseNames[j%len(releaseNames)])
	}
	return out
}

// plan plans items created up to to (the first time, also the designated
// stalled ones and milestone closings) and orders the queue.
func (g *gen) plan(to time.Time, initial bool) {
	if !initial && !to.After(g.planned) {
		return
	}
	n := len(g.pending)
	g.planGitHub(to, initial)
	g.planJira(to, initial)
	if initial {
		g.planRecords() // records.go
	}
	if to.After(g.planned) {
		g.planned = to
	}
	// A live demo advances every second; most seconds plan nothing new.
	if initial || len(g.pending) != n {
		g.sortPending()
	}
}

// baseTime is the base creation instant of the item at position x (index
// plus a uniform draw) of a stream whose items are gap apart during the
// history: Start + x*gap up to Now, then LivePace times denser. The map is
// continuous and increasing, so items keep their order and the history up
// to Now does not depend on LivePace.
func (g *gen) baseTime(x float64, gap time.Duration) time.Time {
	t := g.w.Start.Add(time.Duration(x * float64(gap)))
	if g.p.LivePace <= 0 || !t.After(g.p.Now) {
		return t
	}
	xNow := float64(g.p.Now.Sub(g.w.Start)) / float64(gap)
	return g.p.Now.Add(time.Duration((x - xNow) * float64(gap) / g.p.LivePace))
}

// liveArrival: an item arriving after Now at a live pace is created when
// it arrives, not moved into its author's working hours: at a pace of 600
// a night's arrivals would otherwise land in one burst at the morning.
// Its story still follows the teams' working hours.
func (g *gen) liveArrival(base time.Time) bool {
	return g.p.LivePace > 0 && base.After(g.p.Now)
}

func (g *gen) nextSeq() uint64 { g.seq++; return g.seq }

// itemRand is the RNG of one item's story: a function of the seed and the
// item's identity only, so stories do not depend on planning order.
func (g *gen) itemRand(stream uint64, a, b int) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%d", stream, a, b)
	return rand.New(rand.NewPCG(g.p.Seed, h.Sum64()))
}

// sortPending orders the queue by (at, seq).
func (g *gen) sortPending() {
	sort.Slice(g.pending, func(i, j int) bool {
		a, b := &g.pending[i], &g.pending[j]
		if a.at != b.at {
			return a.at < b.at
		}
		return a.seq < b.seq
	})
}

// Advance applies the planned history up to to (planning further items
// when to passes what is planned) and moves the clock there. Times before
// the clock are ignored.
func (w *World) Advance(to time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	to = to.UTC().Truncate(time.Second)
	if !to.After(w.Clock.Now()) {
		return nil
	}
	w.g.plan(to, false)
	if err := w.g.applyUntil(to.Unix()); err != nil {
		return err
	}
	w.Clock.Set(to)
	return nil
}

// Pending is the number of planned changes not applied yet.
func (w *World) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.g.pending)
}

// applyUntil applies every pending op at or before t.
func (g *gen) applyUntil(t int64) error {
	n := 0
	for n < len(g.pending) && g.pending[n].at <= t {
		// The clock follows the history being written, so the fakes'
		// time-dependent state (Jira's search snapshots) stays current.
		if at := g.pending[n].at; n == 0 || at != g.pending[n-1].at {
			g.w.Clock.Set(unix(at))
		}
		if err := g.apply(&g.pending[n]); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return nil // most seconds of a live demo: no copy of the queue
	}
	g.pending = append(g.pending[:0:0], g.pending[n:]...)
	return nil
}

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// apply writes one op into the fake and records what the collectors must
// store for it.
func (g *gen) apply(o *op) error {
	org := g.w.Org
	it := o.it
	at := unix(o.at)
	fail := func(err error) error {
		if it != nil {
			return fmt.Errorf("sim: %s at %s: %s %s: %w", it.key, at.Format(time.RFC3339), o.typ, o.value, err)
		}
		return fmt.Errorf("sim: at %s: %w", at.Format(time.RFC3339), err)
	}
	record := func(e model.Event) {
		g.applied++
		g.events = append(g.events, e)
		g.evSeq = append(g.evSeq, g.applied)
	}
	bump := func() {
		if o.at > it.updated {
			it.updated = o.at
		}
	}
	switch o.kind {
	case opCreate:
		_, err := org.AddIssue(it.repo.full, fakegithub.Issue{Number: it.number, Title: it.title, User: it.author,
			CreatedAt: at, PullRequest: it.kind == model.KindPullRequest})
		if err != nil {
			return fail(err)
		}
		it.applied, it.updated = true, o.at
		g.items = append(g.items, it)
		record(model.Event{Source: model.SourceGitHub, ID: "created:" + it.key, ItemKey: it.key, At: at, Actor: it.author, Kind: model.EventCreated})
	case opEvent:
		ev := fakegithub.Event{Issue: it.number, Type: o.typ, Actor: o.actor, CreatedAt: at}
		e := model.Event{Source: model.SourceGitHub, ItemKey: it.key, At: at, Actor: o.actor, Kind: model.EventKind(o.typ)}
		kept := true
		switch o.typ {
		case fakegithub.EventLabeled:
			ev.Label, e.Value = o.value, o.value
			it.labels = append(it.labels, o.value)
		case fakegithub.EventUnlabeled:
			ev.Label, e.Value = o.value, o.value
			it.labels = remove(it.labels, o.value)
		case fakegithub.EventAssigned:
			ev.Assignee, e.Value = o.value, o.value
			it.assignees = append(it.assignees, o.value)
		case fakegithub.EventUnassigned:
			ev.Assignee, e.Value = o.value, o.value
			it.assignees = remove(it.assignees, o.value)
		case fakegithub.EventReviewRequested, fakegithub.EventReviewRequestRemoved:
			if o.team != "" {
				ev.RequestedTeam, e.Team = o.team, o.team
			} else {
				ev.RequestedReviewer, e.Value = o.value, o.value
			}
		case fakegithub.EventMilestoned:
			ev.Milestone, e.Value = o.value, o.value
			it.milestone = o.value
		case fakegithub.EventDemilestoned:
			ev.Milestone, e.Value = o.value, o.value
			it.milestone = ""
		case fakegithub.EventClosed, fakegithub.EventMerged:
			it.closed = o.at
		default:
			kept = collected(o.typ) // noise: served, not collected
		}
		got, err := org.AddEvent(it.repo.full, ev)
		if err != nil {
			return fail(err)
		}
		if kept {
			bump()
			e.ID = strconv.FormatInt(got.ID, 10)
			record(e)
			if o.typ == fakegithub.EventMerged {
				// The fake records the close right after the merge.
				record(model.Event{Source: model.SourceGitHub, ID: strconv.FormatInt(got.ID+1, 10), ItemKey: it.key,
					At: at, Actor: o.actor, Kind: model.EventClosed})
			}
		}
	case opComment:
		c, err := org.AddComment(it.repo.full, fakegithub.Comment{Issue: it.number, User: o.actor, Body: o.value, CreatedAt: at})
		if err != nil {
			return fail(err)
		}
		bump()
		record(model.Event{Source: model.SourceGitHub, ID: "comment:" + strconv.FormatInt(c.ID, 10), ItemKey: it.key,
			At: at, Actor: o.actor, Kind: model.EventCommented})
	case opReview:
		rv, err := org.AddReview(it.repo.full, fakegithub.Review{PullRequest: it.number, User: o.actor, State: o.value, SubmittedAt: at,
			Body: reviewBodies[o.value]})
		if err != nil {
			return fail(err)
		}
		bump()
		record(model.Event{Source: model.SourceGitHub, ID: "review:" + strconv.FormatInt(rv.ID, 10), ItemKey: it.key,
			At: at, Actor: o.actor, Kind: model.EventReviewed, Value: strings.ToLower(o.value)})
	case opJiraCreate, opJiraTransition, opJiraAssign, opJiraFixVersion, opJiraComment, opJiraLink:
		if err := g.applyJira(o, at, record); err != nil {
			return fail(err)
		}
	case opBlockedBy:
		if err := g.applyBlockedBy(o, record); err != nil {
			return fail(err)
		}
	case opMilestoneClose:
		m := &g.ms[o.ms]
		for _, rp := range g.repos {
			if _, err := org.UpdateMilestone(rp.full, rp.ms[m.title], func(x *fakegithub.Milestone) {
				x.State, x.ClosedAt, x.UpdatedAt = "closed", at, at
			}); err != nil {
				return fail(err)
			}
		}
		m.closed = true
	}
	return nil
}

var reviewBodies = map[string]string{
	fakegithub.ReviewApproved:         "LGTM, thanks!",
	fakegithub.ReviewChangesRequested: "A few things to fix before this can go in.",
	fakegithub.ReviewCommented:        "Left some questions inline.",
}

func remove(list []string, v string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}
