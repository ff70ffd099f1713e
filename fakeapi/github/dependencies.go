package github

// Issue dependencies, as GitHub serves them:
// GET /repos/{o}/{r}/issues/{n}/dependencies/blocked_by lists the issues
// (full issue objects, paginated) that block issue n; a blocking issue may
// live in another repository of the Org. Adding or removing a dependency
// moves both issues' updated_at, as on GitHub. Every issue object carries
// issue_dependencies_summary (blocked_by and blocking: the open ones;
// total_*: all), as GitHub's issue objects do, which is what lets a
// collector ask for the list only where there is one.

import (
	"fmt"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
)

// EndpointIssueBlockedBy is the blocked-by list of one issue.
const EndpointIssueBlockedBy = "issue_dependencies_blocked_by" // GET /repos/{o}/{r}/issues/{n}/dependencies/blocked_by

// depRef is a blocking issue.
type depRef struct {
	repo   *repo
	number int
}

// AddBlockedBy records that issue repoName#number is blocked by
// blockingRepo#blockingNumber, at `at` (zero: now).
func (o *Org) AddBlockedBy(repoName string, number int, blockingRepo string, blockingNumber int, at time.Time) error {
	return o.blockedBy(repoName, number, blockingRepo, blockingNumber, at, true)
}

// RemoveBlockedBy removes that dependency.
func (o *Org) RemoveBlockedBy(repoName string, number int, blockingRepo string, blockingNumber int, at time.Time) error {
	return o.blockedBy(repoName, number, blockingRepo, blockingNumber, at, false)
}

func (o *Org) blockedBy(repoName string, number int, blockingRepo string, blockingNumber int, at time.Time, add bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.repo(repoName)
	if err != nil {
		return err
	}
	br, err := o.repo(blockingRepo)
	if err != nil {
		return err
	}
	is, bis := r.issues[number], br.issues[blockingNumber]
	if is == nil || bis == nil {
		return fmt.Errorf("fakeapi: dependency %s#%d blocked by %s#%d: %w", repoName, number, blockingRepo, blockingNumber, fakeapi.ErrNotFound)
	}
	if is.PullRequest || bis.PullRequest {
		return fmt.Errorf("fakeapi: dependency %s#%d blocked by %s#%d: only issues have dependencies", repoName, number, blockingRepo, blockingNumber)
	}
	found := -1
	for i, d := range is.deps {
		if d.repo == br && d.number == blockingNumber {
			found = i
		}
	}
	switch {
	case add && found >= 0, !add && found < 0:
		return nil
	case add:
		is.deps = append(is.deps, depRef{repo: br, number: blockingNumber})
		bis.blocking = append(bis.blocking, depRef{repo: r, number: number})
	default:
		is.deps = append(is.deps[:found], is.deps[found+1:]...)
		for i, d := range bis.blocking {
			if d.repo == r && d.number == number {
				bis.blocking = append(bis.blocking[:i], bis.blocking[i+1:]...)
				break
			}
		}
	}
	t := o.orDefault(at).UTC().Truncate(time.Second)
	for _, x := range []*issue{is, bis} {
		if t.After(x.UpdatedAt) {
			x.UpdatedAt = t
		}
	}
	return nil
}

// BlockedBy lists the keys ("owner/repo#n") blocking an issue.
func (o *Org) BlockedBy(repoName string, number int) []string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, err := o.repo(repoName)
	if err != nil || r.issues[number] == nil {
		return nil
	}
	var out []string
	for _, d := range r.issues[number].deps {
		out = append(out, fmt.Sprintf("%s#%d", d.repo.fullName(), d.number))
	}
	return out
}

// blockedByList renders the blocked-by list of an issue.
func (c *renderer) blockedByList(is *issue) []*wIssue {
	out := make([]*wIssue, 0, len(is.deps))
	for _, d := range is.deps {
		if b := d.repo.issues[d.number]; b != nil {
			out = append(out, c.issue(d.repo, b))
		}
	}
	return out
}

// dependencySummary is GitHub's issue_dependencies_summary of an issue.
func dependencySummary(is *issue) *wDepSummary {
	open := func(refs []depRef) int {
		n := 0
		for _, d := range refs {
			if x := d.repo.issues[d.number]; x != nil && x.State != "closed" {
				n++
			}
		}
		return n
	}
	return &wDepSummary{BlockedBy: open(is.deps), TotalBlockedBy: len(is.deps), Blocking: open(is.blocking), TotalBlocking: len(is.blocking)}
}
