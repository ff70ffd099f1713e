package syncer

import (
	"sync/atomic"
	"time"

	jiracollector "github.com/crossteam/crossteam/collectors/jira"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/model"
)

// CommentPolicy is the Jira collectors' comment policy
// (jiracollector.CommentPolicy): the engine's CommentJudge under the
// configuration, team members and identity facts of the syncer's engine
// state, replaced (with a new generation) whenever that state is rebuilt:
// a reload, new members or identity facts, a restart. Before the first
// recomputation it has no answer, and the collectors fetch everything.
type CommentPolicy struct {
	gen   atomic.Uint64
	judge atomic.Pointer[engine.CommentJudge]
}

var _ jiracollector.CommentPolicy = (*CommentPolicy)(nil)

// CutCommentsMatter asks the current judge; true without one.
func (p *CommentPolicy) CutCommentsMatter(it *model.Item, evs []model.Event, ids []model.Identity, cut time.Time) bool {
	j := p.judge.Load()
	if j == nil {
		return true
	}
	return j.CutCommentsMatter(it, evs, ids, cut)
}

// Generation is the number of judges set so far.
func (p *CommentPolicy) Generation() uint64 { return p.gen.Load() }

func (p *CommentPolicy) set(j *engine.CommentJudge) {
	p.judge.Store(j)
	p.gen.Add(1)
}

// commentPolicied is a target that takes a comment policy (the Jira
// collector); Run injects the syncer's before the target's first sync.
type commentPolicied interface {
	SetCommentPolicy(jiracollector.CommentPolicy)
}

// Comments returns the syncer's comment policy.
func (s *Syncer) Comments() *CommentPolicy { return &s.comments }
