package sim

import (
	"errors"
	"fmt"
	"time"
)

// Params size and shape a simulated organisation. Zero fields take the
// defaults of Small.
type Params struct {
	// Seed makes the world: the same Params give the same world.
	Seed uint64
	// Now is the instant the generated history reaches; history starts
	// Months before it. Live mode (World.Advance) continues after it.
	Now time.Time
	// Months of history before Now.
	Months int
	// Org is the GitHub organisation owning the repositories and teams.
	Org string
	// Teams, in pipeline order (work mostly flows from one to the next).
	Teams []string
	// MembersPerTeam configured members per team (each team also has one
	// contractor known only through its GitHub team).
	MembersPerTeam int
	// Repos and ItemsPerRepo: GitHub repositories and the issues plus pull
	// requests opened in each during the history window.
	Repos        int
	ItemsPerRepo int
	// PRShare is the fraction of items that are pull requests.
	PRShare float64
	// JiraProjects and JiraIssuesPerProject size the Jira site.
	JiraProjects         int
	JiraIssuesPerProject int
	// Noise is the mean number of extra noise issue events (mentioned,
	// subscribed, referenced) per GitHub item, beyond those in its story.
	Noise float64
	// HistoryDepth is the mean number of extra collected events per item
	// (story.history): comments and stale-label changes by bots on GitHub,
	// service-desk and integration comments on Jira, all by accounts in no
	// team, so they lengthen the history the collectors store without
	// adding items or changing any figure but the events counted. 0 (the
	// default) adds none and leaves the world as it was without the knob.
	HistoryDepth float64
	// StalledNow is how many GitHub handoffs are stalled at Now.
	StalledNow int
	// JiraStalledNow is how many Jira handoffs are stalled at Now.
	JiraStalledNow int
	// LivePace is how much happens after Now (live mode, World.Advance):
	// new items arrive LivePace times as often as during the history, each
	// one's story still unfolding at its own pace, on the same clock. It
	// never speeds the clock up: an event planned at t is applied when the
	// world is advanced to t. 0 is the history's rate with the designated
	// stalled handoffs resolving a few days after Now (tests); any positive
	// value keeps the designated stalled handoffs stalled (a demo on the
	// wall clock shows its stalled set for as long as it runs).
	LivePace float64
}

// Small is the demo's world: 5 teams of 4, 3 repositories with about 300
// items over 4 months, 1 Jira project with about 150 issues. It generates in
// well under a second.
func Small() Params {
	return Params{
		Seed:                 1,
		Now:                  time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC),
		Months:               4,
		Org:                  "acme",
		Teams:                []string{"design", "frontend", "backend", "qa", "sre"},
		MembersPerTeam:       4,
		Repos:                3,
		ItemsPerRepo:         100,
		PRShare:              0.35,
		JiraProjects:         1,
		JiraIssuesPerProject: 150,
		StalledNow:           5,
		JiraStalledNow:       3,
	}
}

// Large is the benchmark world: 8 teams, 20 repositories with 100,000
// issues and pull requests (about a million issue events), and a Jira site
// with 50,000 issues.
func Large() Params {
	p := Small()
	p.Months = 12
	p.Teams = []string{"design", "frontend", "backend", "qa", "sre", "data", "mobile", "security"}
	p.MembersPerTeam = 12
	p.Repos = 20
	p.ItemsPerRepo = 5000
	p.JiraProjects = 5
	p.JiraIssuesPerProject = 10000
	p.Noise = 1.4
	p.StalledNow = 40
	p.JiraStalledNow = 20
	return p
}

// withDefaults fills zero fields from Small and checks the rest.
func (p Params) withDefaults() (Params, error) {
	d := Small()
	if p.Now.IsZero() {
		p.Now = d.Now
	}
	p.Now = p.Now.UTC().Truncate(time.Second)
	if p.Months == 0 {
		p.Months = d.Months
	}
	if p.Org == "" {
		p.Org = d.Org
	}
	if len(p.Teams) == 0 {
		p.Teams = d.Teams
	}
	if p.MembersPerTeam == 0 {
		p.MembersPerTeam = d.MembersPerTeam
	}
	if p.Repos == 0 {
		p.Repos = d.Repos
	}
	if p.ItemsPerRepo == 0 {
		p.ItemsPerRepo = d.ItemsPerRepo
	}
	if p.PRShare == 0 {
		p.PRShare = d.PRShare
	}
	var errs []error
	if p.Months < 1 || p.Months > 60 {
		errs = append(errs, fmt.Errorf("sim: Months %d: want 1..60", p.Months))
	}
	if len(p.Teams) < 2 {
		errs = append(errs, fmt.Errorf("sim: Teams: want at least 2, have %d", len(p.Teams)))
	}
	seen := map[string]bool{}
	for _, t := range p.Teams {
		if t == "" || seen[t] {
			errs = append(errs, fmt.Errorf("sim: Teams: %q is empty or repeated", t))
		}
		seen[t] = true
	}
	if p.MembersPerTeam < 1 || p.MembersPerTeam > len(firstNames) {
		errs = append(errs, fmt.Errorf("sim: MembersPerTeam %d: want 1..%d", p.MembersPerTeam, len(firstNames)))
	}
	if p.Repos < 1 || p.ItemsPerRepo < 1 {
		errs = append(errs, fmt.Errorf("sim: Repos %d, ItemsPerRepo %d: want at least 1 each", p.Repos, p.ItemsPerRepo))
	}
	if p.PRShare < 0 || p.PRShare > 1 {
		errs = append(errs, fmt.Errorf("sim: PRShare %g: want 0..1", p.PRShare))
	}
	if p.Noise < 0 || p.Noise > 100 {
		errs = append(errs, fmt.Errorf("sim: Noise %g: want 0..100", p.Noise))
	}
	if p.HistoryDepth < 0 || p.HistoryDepth > 1000 {
		errs = append(errs, fmt.Errorf("sim: HistoryDepth %g: want 0..1000", p.HistoryDepth))
	}
	if p.LivePace < 0 || p.LivePace > 1e6 {
		errs = append(errs, fmt.Errorf("sim: LivePace %g: want 0..1e6", p.LivePace))
	}
	if p.JiraProjects < 0 || p.JiraIssuesPerProject < 0 || p.StalledNow < 0 || p.JiraStalledNow < 0 {
		errs = append(errs, errors.New("sim: JiraProjects, JiraIssuesPerProject, StalledNow and JiraStalledNow must not be negative"))
	}
	return p, errors.Join(errs...)
}

// firstNames make member logins ("<name>-<team>").
var firstNames = []string{
	"ana", "ben", "chloe", "dev", "emre", "fatima", "gus", "hana", "ivan", "jun",
	"kofi", "lena", "mateo", "nora", "omar", "priya", "quinn", "rosa", "sami", "tara",
}
