package sim

import (
	"math/rand/v2"
	"sort"

	fakegithub "github.com/crossteam/crossteam/fakeapi/github"
	fakejira "github.com/crossteam/crossteam/fakeapi/jira"
	"github.com/crossteam/crossteam/model"
)

// staleLabel is the label the stale bot adds and removes in an item's
// deep history (Params.HistoryDepth); it marks no team and no signal.
const staleLabel = "stale"

// historyComments are what the CI bot writes on GitHub items.
var historyComments = []string{
	"CI: all checks passed.", "CI: 1 check failed, retrying.", "Preview deployed.", "Coverage unchanged.",
	"This item has had no activity recently; it will be marked stale.",
}

// history adds the item's deep history: Params.HistoryDepth extra
// collected events on average (exponentially distributed, so some items
// carry long histories), at free instants between its creation and its
// last planned op (Now at most, for an item created by Now). Every one is
// by an account in no team — on GitHub a CI bot's comment or the stale
// bot adding or removing staleLabel, on Jira a service-desk or integration
// comment — so it is no team's activity (no pickup, no un-stalling, no
// keep-alive), marks no team, milestone or signal, and changes no figure
// but the events counted. A Jira issue takes at most what keeps its
// comments within the CommentCap its search embeds, so the collector
// stores them all from the search without the comment endpoint.
//
// The draws come from the item's own stream, not its story's, so the
// stories (and with HistoryDepth 0 the whole world) are those of the
// same seed without it.
func (s *story) history(now int64) {
	d := s.g.p.HistoryDepth
	if d == 0 {
		return
	}
	it := s.it
	var r *rand.Rand
	if it.source == model.SourceJira {
		r = s.g.itemRand(6, it.project.idx, it.number)
	} else {
		r = s.g.itemRand(5, it.repo.idx, it.number)
	}
	// floor(X + U) with U uniform has the mean of X.
	n := int(d*r.ExpFloat64() + r.Float64())
	taken := map[int64]bool{}
	hi, comments := it.created, 0
	for i := s.first; i < len(s.g.pending); i++ {
		o := &s.g.pending[i]
		if o.it != it {
			continue
		}
		taken[o.at] = true
		hi = max(hi, o.at)
		if o.kind == opJiraComment {
			comments++
		}
	}
	if it.created <= now {
		hi = min(hi, now)
	}
	lo := it.created + 1
	if it.source == model.SourceJira {
		n = min(n, fakejira.CommentCap-comments)
	}
	// At most one op in every other free second of the span.
	n = min(n, int(hi-lo+1-int64(len(taken)))/2)
	if n <= 0 {
		return
	}
	ats := make([]int64, 0, n)
	for len(ats) < n {
		at := lo + r.Int64N(hi-lo+1)
		for at >= lo && taken[at] {
			at--
		}
		if at < lo {
			continue
		}
		taken[at] = true
		ats = append(ats, at)
	}
	sort.Slice(ats, func(i, j int) bool { return ats[i] < ats[j] })
	stale := false
	for _, at := range ats {
		switch {
		case it.source == model.SourceJira:
			k := r.IntN(len(jiraOutsiders))
			s.push(at, op{kind: opJiraComment, actor: jiraOutsiders[k], value: jiraBotComments[r.IntN(len(jiraBotComments))]})
		case r.Float64() < 0.6:
			s.push(at, op{kind: opComment, actor: botLogins[1], value: historyComments[r.IntN(len(historyComments))]})
		case stale:
			s.push(at, op{kind: opEvent, typ: fakegithub.EventUnlabeled, actor: botLogins[2], value: staleLabel})
			stale = false
		default:
			s.push(at, op{kind: opEvent, typ: fakegithub.EventLabeled, actor: botLogins[2], value: staleLabel})
			stale = true
		}
	}
}
