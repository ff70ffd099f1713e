package jira

// Dependencies and record dates (engine/records.go): "is blocked by" links of
// the configured link types and the Jira date fields of record signals,
// read from the same searches and changelogs as everything else.
//
//   - GET /rest/api/{2,3}/issueLinkType, once with the other metadata,
//     resolves dependencies.jira_link_types by name to their inward
//     descriptions ("is blocked by"). A configured type the site lacks is
//     logged and reported by name (Options.OnLinkTypes, the health gauge
//     crossteam_jira_link_types_missing); the target keeps syncing.
//   - The searches ask for issuelinks (and the date fields). A link on
//     issue X with inwardIssue Y of a configured type means X is blocked
//     by Y. Changelog "Link" items ("This issue is blocked by Y") give the
//     instants links were added and removed: blocked_by_added / _removed,
//     Value = Y's key. A current link without a changelog entry predates
//     the history horizon and is stored as added at creation.
//   - Date fields: changelog changes become date_set events (Value = the
//     field id, From/To = YYYY-MM-DD); the value the issue was created with
//     (the first change's from, else the current value) is one at creation.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/crossteam/crossteam/model"
)

// linkType is an /issueLinkType entry.
type linkType struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Inward  string `json:"inward"`
	Outward string `json:"outward"`
}

// issueLink is one entry of the issuelinks field.
type issueLink struct {
	ID           string     `json:"id"`
	Type         linkType   `json:"type"`
	InwardIssue  *linkedRef `json:"inwardIssue"`
	OutwardIssue *linkedRef `json:"outwardIssue"`
}

type linkedRef struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// wantLinks reports whether dependencies are collected from this site.
func (c *Collector) wantLinks() bool { return len(c.cfg.Dependencies.JiraLinkTypes) > 0 }

// dateFields are the Jira date fields record signals read.
func (c *Collector) dateFields() []string { return c.cfg.JiraDateFields() }

// loadLinkTypes resolves the configured link types (see the file comment).
func (c *Collector) loadLinkTypes(ctx context.Context) error {
	c.linkTypes, c.linkInward = map[string]bool{}, nil
	c.missingLinkTypes = nil
	if !c.wantLinks() {
		return nil
	}
	var resp struct {
		IssueLinkTypes []linkType `json:"issueLinkTypes"`
	}
	if err := c.call(ctx, http.MethodGet, c.api+"/issueLinkType", nil, &resp); err != nil {
		return fmt.Errorf("issue link types: %w", err)
	}
	byName := map[string]linkType{}
	for _, t := range resp.IssueLinkTypes {
		byName[strings.ToLower(t.Name)] = t
	}
	for _, name := range c.cfg.Dependencies.JiraLinkTypes {
		t, ok := byName[strings.ToLower(name)]
		if !ok {
			c.missingLinkTypes = append(c.missingLinkTypes, name)
			continue
		}
		c.linkTypes[strings.ToLower(t.Name)] = true
		if t.Inward != "" {
			c.linkInward = append(c.linkInward, strings.ToLower(t.Inward))
		}
	}
	if len(c.missingLinkTypes) > 0 {
		names := make([]string, 0, len(byName))
		for _, t := range resp.IssueLinkTypes {
			names = append(names, t.Name)
		}
		sort.Strings(names)
		c.logger.Warn("dependencies.jira_link_types names link types the site does not have; their dependencies are not collected, the target keeps syncing",
			"missing", strings.Join(c.missingLinkTypes, ", "), "site_has", strings.Join(names, ", "))
	}
	if c.onLinkTypes != nil {
		c.onLinkTypes(append([]string(nil), c.missingLinkTypes...))
	}
	return nil
}

// MissingLinkTypes are the configured link types the site lacked at the
// last metadata load.
func (c *Collector) MissingLinkTypes() []string { return append([]string(nil), c.missingLinkTypes...) }

// decodeRecordFields reads issuelinks and the date fields of an issue.
func (c *Collector) decodeRecordFields(r *rawIssue, p *parsed) error {
	if c.wantLinks() {
		if raw, ok := r.Fields["issuelinks"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &p.links); err != nil {
				return fmt.Errorf("issue %s: field issuelinks: %w", p.key, err)
			}
		}
	}
	for _, f := range c.dateFields() {
		raw, ok := r.Fields[f]
		if !ok || string(raw) == "null" {
			continue
		}
		if p.dates == nil {
			p.dates = map[string]string{}
		}
		// Stored as the source gives it; the engine parses the date and
		// counts values that are not YYYY-MM-DD as invalid (the item is
		// kept). A field that is no date at all (jira_date_field naming
		// a select list, say) is stored as its raw value, cut, to be
		// counted the same way rather than failing the batch.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			s = string(raw)
			if len(s) > 40 {
				s = s[:40]
			}
		}
		p.dates[f] = dayOf(s)
	}
	return nil
}

// dayOf keeps the date part of a Jira date or date-time value.
func dayOf(s string) string {
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		return s[:10]
	}
	return s
}

// blockedBy is the key a link item of a changelog names when it says
// "This issue <inward description> KEY" for a configured link type.
func (c *Collector) blockedBy(text, key string) bool {
	t := strings.ToLower(text)
	for _, in := range c.linkInward {
		if strings.Contains(t, " "+in+" ") || strings.HasPrefix(t, in+" ") {
			return key != "" && strings.HasSuffix(t, strings.ToLower(key))
		}
	}
	return false
}

// recordEvents are the dependency and date events of an issue from its
// (sorted) histories and current fields.
func (c *Collector) recordEvents(p *parsed, hs []history) []model.Event {
	var out []model.Event
	added := map[string]bool{}
	firstFrom := map[string]*string{}
	dateFields := map[string]bool{}
	for _, f := range c.dateFields() {
		dateFields[strings.ToLower(f)] = true
	}
	for hi := range hs {
		h := &hs[hi]
		actor := c.userID(h.Author)
		for ii := range h.Items {
			it := &h.Items[ii]
			from, to, fromS, toS := str(it.From), str(it.To), str(it.FromString), str(it.ToString)
			field := strings.ToLower(it.Field)
			fid := strings.ToLower(it.FieldID)
			switch {
			case c.wantLinks() && (field == "link" || fid == "issuelinks"):
				if to != "" && c.blockedBy(toS, to) {
					added[to] = true
					out = append(out, model.Event{Source: model.SourceJira, ID: h.ID + "/link/+" + to, ItemKey: p.key,
						At: h.Created.Time, Actor: actor, Kind: model.EventBlockedByAdded, Value: to})
				}
				if from != "" && c.blockedBy(fromS, from) {
					out = append(out, model.Event{Source: model.SourceJira, ID: h.ID + "/link/-" + from, ItemKey: p.key,
						At: h.Created.Time, Actor: actor, Kind: model.EventBlockedByRemoved, Value: from})
				}
			case dateFields[fid] || (fid == "" && (field == "duedate" || field == "due date") && dateFields["duedate"]):
				f := it.FieldID
				if f == "" {
					f = "duedate"
				}
				if _, seen := firstFrom[f]; !seen {
					v := dayOf(from)
					firstFrom[f] = &v
				}
				out = append(out, model.Event{Source: model.SourceJira, ID: h.ID + "/date/" + f, ItemKey: p.key,
					At: h.Created.Time, Actor: actor, Kind: model.EventDateSet, Value: f, From: dayOf(from), To: dayOf(to)})
			}
		}
	}
	// The values the issue had at creation (before its first change, or
	// all along).
	var initial []model.Event
	for _, f := range c.dateFields() {
		v := p.dates[f]
		if ff, ok := firstFrom[f]; ok {
			v = *ff
		}
		if v != "" {
			initial = append(initial, model.Event{Source: model.SourceJira, ID: p.id + "/date/" + f + "/created", ItemKey: p.key,
				At: p.created, Kind: model.EventDateSet, Value: f, To: v})
		}
	}
	for _, l := range p.links {
		if l.InwardIssue == nil || l.InwardIssue.Key == "" || !c.linkTypes[strings.ToLower(l.Type.Name)] || added[l.InwardIssue.Key] {
			continue
		}
		initial = append(initial, model.Event{Source: model.SourceJira, ID: p.id + "/link/" + l.ID, ItemKey: p.key,
			At: p.created, Kind: model.EventBlockedByAdded, Value: l.InwardIssue.Key})
	}
	return append(initial, out...)
}
