package bench

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	"github.com/crossteam/crossteam/sim"
)

// changeShare changes share of the GitHub items and of the Jira issues
// (at least one of each), chosen by seed, at the real time: each GitHub
// item gets its team label moved to another team (a handoff: the other
// team's label added by a member of the current one) and each Jira issue is
// assigned to a member of another team.
func changeShare(w *sim.World, seed uint64, share float64) error {
	rng := rand.New(rand.NewPCG(seed, 0xbe4c))
	now := time.Now().UTC()
	teams := w.Teams
	type ref struct {
		repo   string
		number int
	}
	var items []ref
	for _, repo := range w.Org.Repos() {
		for _, is := range w.Org.Issues(repo) {
			items = append(items, ref{repo, is.Number})
		}
	}
	for _, i := range pick(rng, len(items), share) {
		from, to := twoTeams(rng, len(teams))
		actor := teams[from].Members[rng.IntN(len(teams[from].Members))].Login
		ev := fakegithub.Event{Issue: items[i].number, Type: fakegithub.EventLabeled, Actor: actor, Label: teams[to].Labels[0], CreatedAt: now}
		if is, ok := w.Org.Issue(items[i].repo, items[i].number); ok && contains(is.Labels, ev.Label) {
			// Already marked for that team: it hands the item back.
			ev.Type = fakegithub.EventUnlabeled
		}
		if _, err := w.Org.AddEvent(items[i].repo, ev); err != nil {
			return fmt.Errorf("bench: change %s#%d: %w", items[i].repo, items[i].number, err)
		}
	}
	site := w.JiraSite()
	if site == nil {
		return nil
	}
	issues := site.Issues()
	sort.Slice(issues, func(i, j int) bool { return issues[i].Key < issues[j].Key })
	for _, i := range pick(rng, len(issues), share) {
		from, to := twoTeams(rng, len(teams))
		actor := teams[from].Members[rng.IntN(len(teams[from].Members))].AccountID
		assignee := teams[to].Members[rng.IntN(len(teams[to].Members))].AccountID
		if _, err := site.Assign(issues[i].Key, assignee, actor, now); err != nil {
			return fmt.Errorf("bench: change %s: %w", issues[i].Key, err)
		}
	}
	return nil
}

// pick returns max(1, round(share·n)) distinct indexes below n (none for n 0).
func pick(rng *rand.Rand, n int, share float64) []int {
	if n == 0 {
		return nil
	}
	k := min(n, max(1, int(share*float64(n)+0.5)))
	return rng.Perm(n)[:k]
}

// twoTeams picks two different team indexes.
func twoTeams(rng *rand.Rand, n int) (int, int) {
	a := rng.IntN(n)
	b := (a + 1 + rng.IntN(n-1)) % n
	return a, b
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
