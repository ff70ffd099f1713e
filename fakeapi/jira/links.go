package jira

// Issue links and due dates, as Jira serves them: GET /issueLinkType, the
// issuelinks field ({id, type, inwardIssue|outwardIssue}), and changelog
// "Link" items ("This issue is blocked by KEY") on both linked issues;
// the due date changes as a duedate changelog item.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
)

// Endpoint of the link types.
const EndpointIssueLinkType = "jira_issue_link_type" // GET /rest/api/{2,3}/issueLinkType

// FieldIssueLinks is the changelog field id of link changes.
const FieldIssueLinks = "issuelinks"

// LinkType is an issue link type: X <Outward> Y, Y <Inward> X.
type LinkType struct {
	ID, Name, Inward, Outward string
}

// DefaultLinkTypes are the link types of a new Jira Cloud site.
var DefaultLinkTypes = []LinkType{
	{ID: "10000", Name: "Blocks", Inward: "is blocked by", Outward: "blocks"},
	{ID: "10001", Name: "Cloners", Inward: "is cloned by", Outward: "clones"},
	{ID: "10002", Name: "Duplicate", Inward: "is duplicated by", Outward: "duplicates"},
	{ID: "10003", Name: "Relates", Inward: "relates to", Outward: "relates to"},
}

// IssueLink is a link on an issue: the other issue is on the inward side
// (this issue <type.Inward> Other: "is blocked by") or the outward one.
type IssueLink struct {
	ID     string
	Type   string // link type name
	Other  string // key of the linked issue
	Inward bool   // Other is the inwardIssue of this issue's entry
}

func (s *Site) linkTypesLocked() []LinkType {
	if s.linkTypes == nil {
		return DefaultLinkTypes
	}
	return s.linkTypes
}

// SetLinkTypes replaces the site's link types (a site may lack "Blocks").
func (s *Site) SetLinkTypes(types []LinkType) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.linkTypes = append([]LinkType{}, types...)
	s.version++
}

func (s *Site) linkType(name string) (LinkType, bool) {
	for _, t := range s.linkTypesLocked() {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return LinkType{}, false
}

// Link makes outward <type.Outward> inward, e.g. Link("Blocks", "API-1",
// "WEB-2") for API-1 blocks WEB-2 (WEB-2 is blocked by API-1). Both issues
// get a changelog history by actor at `at`, as Jira records them.
func (s *Site) Link(typeName, outward, inward, actor string, at time.Time) (string, error) {
	return s.relink(typeName, outward, inward, actor, at, true)
}

// Unlink removes the link Link made.
func (s *Site) Unlink(typeName, outward, inward, actor string, at time.Time) error {
	_, err := s.relink(typeName, outward, inward, actor, at, false)
	return err
}

func (s *Site) relink(typeName, outward, inward, actor string, at time.Time, add bool) (string, error) {
	s.mu.Lock()
	t, ok := s.linkType(typeName)
	out, in := s.byKey[strings.ToUpper(outward)], s.byKey[strings.ToUpper(inward)]
	var id string
	if add {
		s.seqLink++
		id = strconv.FormatInt(s.seqLink, 10)
	}
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("fakeapi: jira link type %q: %w", typeName, fakeapi.ErrNotFound)
	}
	if out == nil || in == nil {
		return "", fmt.Errorf("fakeapi: jira link %s %s %s: %w", outward, t.Outward, inward, fakeapi.ErrNotFound)
	}
	outKey, inKey := out.cur.Key, in.cur.Key
	// On the inward issue (blocked) the other one is its inwardIssue; on
	// the outward issue (blocking) its outwardIssue.
	for _, side := range []struct {
		key, other, text string
		inward           bool
	}{{inKey, outKey, t.Inward, true}, {outKey, inKey, t.Outward, false}} {
		_, err := s.change(side.key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
			item := ChangeItem{Field: "Link", FieldType: "jira", FieldID: FieldIssueLinks}
			text := "This issue " + side.text + " " + side.other
			links := append([]IssueLink(nil), is.cur.Links...)
			if add {
				links = append(links, IssueLink{ID: id, Type: t.Name, Other: side.other, Inward: side.inward})
				item.To, item.ToString = side.other, text
			} else {
				found := -1
				for i, l := range links {
					if strings.EqualFold(l.Type, t.Name) && l.Other == side.other && l.Inward == side.inward {
						found = i
					}
				}
				if found < 0 {
					return nil, nil
				}
				links = append(links[:found], links[found+1:]...)
				item.From, item.FromString = side.other, text
			}
			is.cur.Links = links
			return []ChangeItem{item}, nil
		})
		if err != nil {
			return "", err
		}
	}
	return id, nil
}

// SetDueDate sets or clears (zero) the due date, recording a duedate
// change.
func (s *Site) SetDueDate(key string, due time.Time, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		due = dateOnly(due)
		if due.Equal(is.cur.DueDate) {
			return nil, nil
		}
		item := ChangeItem{Field: "duedate", FieldType: "jira", FieldID: "duedate"}
		if !is.cur.DueDate.IsZero() {
			item.From, item.FromString = is.cur.DueDate.Format("2006-01-02"), is.cur.DueDate.Format("2006-01-02")+" 00:00:00.0"
		}
		if !due.IsZero() {
			item.To, item.ToString = due.Format("2006-01-02"), due.Format("2006-01-02")+" 00:00:00.0"
		}
		is.cur.DueDate = due
		return []ChangeItem{item}, nil
	})
}

func (rn *jiraRenderer) linkType(t LinkType) map[string]any {
	return map[string]any{"id": t.ID, "name": t.Name, "inward": t.Inward, "outward": t.Outward, "self": rn.api() + "/issueLinkType/" + t.ID}
}

func (rn *jiraRenderer) linkTypes() map[string]any {
	list := make([]map[string]any, 0, len(rn.s.linkTypesLocked()))
	for _, t := range rn.s.linkTypesLocked() {
		list = append(list, rn.linkType(t))
	}
	return map[string]any{"issueLinkTypes": list}
}

// issueLinks renders the issuelinks field.
func (rn *jiraRenderer) issueLinks(st *Issue) []map[string]any {
	out := make([]map[string]any, 0, len(st.Links))
	for _, l := range st.Links {
		t, _ := rn.s.linkType(l.Type)
		m := map[string]any{"id": l.ID, "self": rn.api() + "/issueLink/" + l.ID, "type": rn.linkType(t)}
		ref := map[string]any{"key": l.Other}
		if other := rn.s.byKey[strings.ToUpper(l.Other)]; other != nil {
			f := map[string]any{"summary": other.cur.Summary, "issuetype": rn.issueType(other.cur.Type)}
			if s := rn.s.statusLocked(other.cur.Status); s != nil {
				f["status"] = rn.status(s)
			}
			ref = map[string]any{"id": other.cur.ID, "key": other.cur.Key, "self": rn.api() + "/issue/" + other.cur.ID, "fields": f}
		}
		if l.Inward {
			m["inwardIssue"] = ref
		} else {
			m["outwardIssue"] = ref
		}
		out = append(out, m)
	}
	return out
}
