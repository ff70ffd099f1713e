package jira

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
)

// Jira status categories (statusCategory.key), as Jira spells them.
const (
	CategoryNew           = "new"           // "To Do"
	CategoryIndeterminate = "indeterminate" // "In Progress"
	CategoryDone          = "done"          // "Done"
)

// TimeLayout is the layout of Jira's date-time fields and of changelog
// `created` values given as strings ("2024-03-05T14:07:09.123+0000").
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// Changelog field ids (items[].fieldId) of the system fields the site
// records changes of. Custom fields use their own id (customfield_NNNNN).
const (
	FieldStatus      = "status"
	FieldAssignee    = "assignee"
	FieldComponents  = "components"
	FieldFixVersions = "fixVersions"
	FieldLabels      = "labels"
	FieldParent      = "parent"
	FieldResolution  = "resolution"
	FieldSummary     = "summary"
)

// Project is a Jira project.
type Project struct {
	Key  string // e.g. "DES" (required, upper case letters/digits)
	Name string // display name; defaults to Key
	ID   string // assigned by the site
}

// User is a Jira user. Cloud identifies users by AccountID; Data Center
// by Name (the user name, shown in changelog from/to) and Key.
type User struct {
	AccountID   string // Cloud account id (required; also the key of the user in the site)
	DisplayName string // defaults to AccountID
	Email       string // emailAddress; "" hides it (as Cloud does for most users)
	Name        string // Data Center user name; defaults to AccountID
	Key         string // Data Center user key; defaults to Name
}

// Status is a workflow status. Category is one of the Category*
// constants.
type Status struct {
	ID       string // assigned by the site when empty
	Name     string // required, unique (case-insensitive)
	Category string // CategoryNew, CategoryIndeterminate or CategoryDone
}

// Field is a field served by /rest/api/{2,3}/field. The site always
// has the system fields; add custom fields (a team field) with AddField.
type Field struct {
	ID     string // assigned ("customfield_100NN") when empty
	Name   string // display name, e.g. "Team"
	Custom bool
	// SchemaType/SchemaCustom are served as schema.type/schema.custom
	// (defaults "option" and ...:select for custom fields).
	SchemaType   string
	SchemaCustom string
	// Team marks the field as the site's team field: SetTeam and
	// Issue.TeamValue write it. At most one field is the team field.
	Team bool
}

// Version is a version (fix version) of a project.
type Version struct {
	ID          string    // assigned by the site
	Name        string    // required, unique within the project
	ReleaseDate time.Time // date only (the UTC date is used); zero = none
	Released    bool
	Archived    bool
}

// Issue is an issue as the site holds it. Values returned by the site
// are copies; change issues only through the mutators, which record a
// changelog history for every change, as Jira does. Creating an issue records
// no history (Jira's changelog starts with the first change).
type Issue struct {
	ID          string // assigned by the site
	Key         string // "PROJ-N"; empty in CreateIssue = next number of Project
	Project     string // project key (required)
	Type        string // issue type name; default "Task". "Epic" makes an epic, "Sub-task" a sub-task
	Summary     string
	Reporter    string // account id (users are added on first use)
	Status      string // status name; default: the first status of category new
	Assignee    string // account id; "" = unassigned
	TeamValue   string // value of the team field; "" = none
	Components  []string
	FixVersions []string // version names of the project (must exist, see AddVersion)
	Labels      []string
	Parent      string // key of the parent (epic or, for sub-tasks, the parent issue)
	Resolution  string // "" while unresolved
	Created     time.Time
	Updated     time.Time
	Resolved    time.Time   // resolutiondate; zero while unresolved
	DueDate     time.Time   // date only; zero = none
	Links       []IssueLink // issue links (links.go: Link, Unlink)
}

// History is one changelog history: the changes one user made at one
// instant.
type History struct {
	ID      string // increasing across the site
	IssueID string
	Author  string // account id
	Created time.Time
	Items   []ChangeItem
}

// Comment is one comment on an issue. Adding a comment moves the
// issue's updated but records no changelog history, as in Jira.
type Comment struct {
	ID      string // increasing across the site
	IssueID string
	Author  string // account id
	Body    string // plain text (served as a string on v2, as ADF on v3)
	Created time.Time
	Updated time.Time
}

// ChangeItem is one field change of a history. From/To are ids (status
// id, account id, version id, component id, option id) and FromString /
// ToString display values; "" is served as null.
type ChangeItem struct {
	Field      string // display name: "status", "assignee", "Fix Version", "Component", "Team", ...
	FieldType  string // "jira" or "custom"
	FieldID    string // Field* constant or a custom field id
	From       string
	FromString string
	To         string
	ToString   string
}

// Site is an in-memory Jira site (Cloud or Data Center: the model is the
// same, the API handler decides the wire format). It is safe for
// concurrent use and may be mutated while a handler serves it.
//
// A new site has the statuses "To Do" (new), "In Progress" (indeterminate)
// and "Done" (done) and the system fields; add projects, users, statuses,
// custom fields and versions, then create issues and change them.
type Site struct {
	// Now is the clock for defaults (change instants) and for the handler
	// (search lag, rate windows, relative JQL dates). Default time.Now; set
	// it before use (see ManualClock).
	Now func() time.Time
	// TimeZone is the API user's profile time zone, in which JQL date
	// literals ("2024-01-02 15:04") are evaluated. Default UTC.
	TimeZone *time.Location

	mu         sync.RWMutex
	projects   map[string]*jiraProject // key: upper-case project key
	projList   []*jiraProject
	users      map[string]*User // by account id
	byUserName map[string]*User // by Data Center name (lower case)
	statuses   []*Status
	fields     []*Field
	issues     []*jiraIssue // by id ascending (creation order)
	byKey      map[string]*jiraIssue
	byID       map[string]*jiraIssue

	seqProject, seqIssue, seqHistory, seqComment, seqVersion, seqComponent, seqStatus, seqField, seqLink int64
	// linkTypes: nil = DefaultLinkTypes (links.go).
	linkTypes []LinkType
	// version counts issue creations and changes (search result caching).
	version int64
	// trackLag is set once a handler with a search lag serves the site;
	// only then are per-change snapshots kept (large simulations without a
	// lag pay nothing for them).
	trackLag bool
}

type jiraProject struct {
	Project
	next       int
	versions   []*Version
	components map[string]string // name (lower) -> id
	compNames  map[string]string // lower -> name as first used
}

type jiraIssue struct {
	cur       Issue
	idNum     int64
	histories []*History
	comments  []*Comment // in creation order
	// snaps are the states younger than maxSearchLag (oldest first), for
	// search eventual consistency; the state before the first snap is
	// `base`, visible to every search.
	snaps []jiraSnap
	base  jiraSnap
}

// jiraSnap is the searchable state of an issue after a change at `at`.
type jiraSnap struct {
	at    time.Time
	state Issue
	nHist int // histories visible with this state
	nComm int // comments visible with this state
}

// maxSearchLag bounds Options.SearchLag: changes older than this are
// folded into an issue's base state, so keeping snapshots stays cheap for
// large simulated histories.
const maxSearchLag = time.Hour

// NewSite returns a site with the default statuses and system fields,
// no projects and no issues; its clock is time.Now and its time zone UTC.
func NewSite() *Site {
	s := &Site{
		Now: time.Now, TimeZone: time.UTC,
		projects: map[string]*jiraProject{}, users: map[string]*User{}, byUserName: map[string]*User{},
		byKey: map[string]*jiraIssue{}, byID: map[string]*jiraIssue{},
		seqProject: 10000, seqIssue: 10000, seqHistory: 10000, seqComment: 10000, seqVersion: 10000, seqComponent: 10000,
		seqStatus: 10000, seqField: 10000,
	}
	for _, st := range []Status{
		{ID: "10000", Name: "To Do", Category: CategoryNew},
		{ID: "3", Name: "In Progress", Category: CategoryIndeterminate},
		{ID: "10001", Name: "Done", Category: CategoryDone},
	} {
		st := st
		s.statuses = append(s.statuses, &st)
	}
	s.seqStatus = 10001
	for _, f := range jiraSystemFields {
		f := f
		s.fields = append(s.fields, &f)
	}
	return s
}

var jiraSystemFields = []Field{
	{ID: "summary", Name: "Summary", SchemaType: "string"},
	{ID: "status", Name: "Status", SchemaType: "status"},
	{ID: "assignee", Name: "Assignee", SchemaType: "user"},
	{ID: "reporter", Name: "Reporter", SchemaType: "user"},
	{ID: "created", Name: "Created", SchemaType: "datetime"},
	{ID: "updated", Name: "Updated", SchemaType: "datetime"},
	{ID: "resolutiondate", Name: "Resolved", SchemaType: "datetime"},
	{ID: "resolution", Name: "Resolution", SchemaType: "resolution"},
	{ID: "duedate", Name: "Due date", SchemaType: "date"},
	{ID: "issuetype", Name: "Issue Type", SchemaType: "issuetype"},
	{ID: "project", Name: "Project", SchemaType: "project"},
	{ID: "components", Name: "Components", SchemaType: "array"},
	{ID: "fixVersions", Name: "Fix versions", SchemaType: "array"},
	{ID: "labels", Name: "Labels", SchemaType: "array"},
	{ID: "parent", Name: "Parent", SchemaType: "issuelink"},
	{ID: "issuelinks", Name: "Linked Issues", SchemaType: "array"},
}

func (s *Site) now() time.Time {
	f := s.Now
	if f == nil {
		f = time.Now
	}
	return f().UTC().Truncate(time.Millisecond)
}

func (s *Site) tz() *time.Location {
	if s.TimeZone == nil {
		return time.UTC
	}
	return s.TimeZone
}

func (s *Site) at(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t.UTC().Truncate(time.Millisecond)
}

// AddProject adds a project.
func (s *Site) AddProject(p Project) (Project, error) {
	p.Key = strings.TrimSpace(p.Key)
	if p.Key == "" || strings.ContainsAny(p.Key, " -,()\"") {
		return Project{}, fmt.Errorf("fakeapi: jira project key %q is not valid", p.Key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToUpper(p.Key)
	if _, dup := s.projects[k]; dup {
		return Project{}, fmt.Errorf("fakeapi: jira project %s exists", p.Key)
	}
	if p.Name == "" {
		p.Name = p.Key
	}
	s.seqProject++
	p.ID = strconv.FormatInt(s.seqProject, 10)
	jp := &jiraProject{Project: p, next: 1, components: map[string]string{}, compNames: map[string]string{}}
	s.projects[k] = jp
	s.projList = append(s.projList, jp)
	return p, nil
}

// Projects returns the projects in creation order.
func (s *Site) Projects() []Project {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Project, len(s.projList))
	for i, p := range s.projList {
		out[i] = p.Project
	}
	return out
}

// AddUser adds a user (or replaces the one with the same account id).
func (s *Site) AddUser(u User) (User, error) {
	if u.AccountID == "" {
		return User{}, fmt.Errorf("fakeapi: jira user without account id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.addUserLocked(u), nil
}

func (s *Site) addUserLocked(u User) *User {
	if u.DisplayName == "" {
		u.DisplayName = u.AccountID
	}
	if u.Name == "" {
		u.Name = u.AccountID
	}
	if u.Key == "" {
		u.Key = u.Name
	}
	if old := s.users[u.AccountID]; old != nil {
		delete(s.byUserName, strings.ToLower(old.Name))
	}
	p := &u
	s.users[u.AccountID] = p
	s.byUserName[strings.ToLower(u.Name)] = p
	return p
}

// user returns the user with this account id, adding a plain one on first
// use so simulations need not declare every actor.
func (s *Site) user(accountID string) *User {
	if u := s.users[accountID]; u != nil {
		return u
	}
	return s.addUserLocked(User{AccountID: accountID})
}

// User returns the user with this account id.
func (s *Site) User(accountID string) (User, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.users[accountID]
	if u == nil {
		return User{}, false
	}
	return *u, true
}

// AddStatus adds a workflow status; the id is assigned when empty.
func (s *Site) AddStatus(st Status) (Status, error) {
	switch st.Category {
	case CategoryNew, CategoryIndeterminate, CategoryDone:
	default:
		return Status{}, fmt.Errorf("fakeapi: jira status %q: category %q is not new, indeterminate or done", st.Name, st.Category)
	}
	if strings.TrimSpace(st.Name) == "" {
		return Status{}, fmt.Errorf("fakeapi: jira status without a name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.statusLocked(st.Name) != nil {
		return Status{}, fmt.Errorf("fakeapi: jira status %q exists", st.Name)
	}
	if st.ID == "" {
		s.seqStatus++
		st.ID = strconv.FormatInt(s.seqStatus, 10)
	}
	s.statuses = append(s.statuses, &st)
	return st, nil
}

func (s *Site) statusLocked(name string) *Status {
	for _, st := range s.statuses {
		if strings.EqualFold(st.Name, name) {
			return st
		}
	}
	return nil
}

// Statuses returns the statuses in creation order.
func (s *Site) Statuses() []Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Status, len(s.statuses))
	for i, st := range s.statuses {
		out[i] = *st
	}
	return out
}

// AddField adds a custom field; the id is assigned when empty. A field with
// Team set becomes the site's team field.
func (s *Site) AddField(f Field) (Field, error) {
	if strings.TrimSpace(f.Name) == "" {
		return Field{}, fmt.Errorf("fakeapi: jira field without a name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Custom = true
	if f.ID == "" {
		s.seqField++
		f.ID = "customfield_" + strconv.FormatInt(s.seqField, 10)
	}
	for _, g := range s.fields {
		if g.ID == f.ID {
			return Field{}, fmt.Errorf("fakeapi: jira field %s exists", f.ID)
		}
		if f.Team && g.Team {
			return Field{}, fmt.Errorf("fakeapi: jira site already has a team field (%s)", g.ID)
		}
	}
	if f.SchemaType == "" {
		f.SchemaType = "option"
	}
	if f.SchemaCustom == "" {
		f.SchemaCustom = "com.atlassian.jira.plugin.system.customfieldtypes:select"
	}
	s.fields = append(s.fields, &f)
	return f, nil
}

// Fields returns the system and custom fields.
func (s *Site) Fields() []Field {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Field, len(s.fields))
	for i, f := range s.fields {
		out[i] = *f
	}
	return out
}

func (s *Site) teamField() *Field {
	for _, f := range s.fields {
		if f.Team {
			return f
		}
	}
	return nil
}

// AddVersion adds a version to a project.
func (s *Site) AddVersion(project string, v Version) (Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[strings.ToUpper(project)]
	if p == nil {
		return Version{}, fmt.Errorf("fakeapi: jira project %q: %w", project, fakeapi.ErrNotFound)
	}
	if v.Name == "" {
		return Version{}, fmt.Errorf("fakeapi: jira version without a name in %s", project)
	}
	if p.version(v.Name) != nil {
		return Version{}, fmt.Errorf("fakeapi: jira version %q exists in %s", v.Name, project)
	}
	s.seqVersion++
	v.ID = strconv.FormatInt(s.seqVersion, 10)
	v.ReleaseDate = dateOnly(v.ReleaseDate)
	p.versions = append(p.versions, &v)
	return v, nil
}

// UpdateVersion changes a version (release date, released, archived; the
// name too). Like Jira, it records no issue history.
func (s *Site) UpdateVersion(project, name string, f func(v *Version)) (Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[strings.ToUpper(project)]
	if p == nil {
		return Version{}, fmt.Errorf("fakeapi: jira project %q: %w", project, fakeapi.ErrNotFound)
	}
	v := p.version(name)
	if v == nil {
		return Version{}, fmt.Errorf("fakeapi: jira version %q of %s: %w", name, project, fakeapi.ErrNotFound)
	}
	id := v.ID
	f(v)
	v.ID = id
	v.ReleaseDate = dateOnly(v.ReleaseDate)
	return *v, nil
}

// Versions returns a project's versions in creation order.
func (s *Site) Versions(project string) []Version {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.projects[strings.ToUpper(project)]
	if p == nil {
		return nil
	}
	out := make([]Version, len(p.versions))
	for i, v := range p.versions {
		out[i] = *v
	}
	return out
}

func (p *jiraProject) version(name string) *Version {
	for _, v := range p.versions {
		if strings.EqualFold(v.Name, name) {
			return v
		}
	}
	return nil
}

func (s *Site) componentID(p *jiraProject, name string) string {
	k := strings.ToLower(name)
	if id, ok := p.components[k]; ok {
		return id
	}
	s.seqComponent++
	id := strconv.FormatInt(s.seqComponent, 10)
	p.components[k], p.compNames[k] = id, name
	return id
}

func dateOnly(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (is *jiraIssue) copy() Issue {
	c := is.cur
	c.Components = append([]string(nil), c.Components...)
	c.FixVersions = append([]string(nil), c.FixVersions...)
	c.Labels = append([]string(nil), c.Labels...)
	c.Links = append([]IssueLink(nil), c.Links...)
	return c
}

// CreateIssue creates an issue. Project is required; Status defaults to the
// first status of category new, Type to "Task", Created to now. Components
// are created in the project on first use; fix versions must exist. Users
// named as reporter or assignee are added on first use.
func (s *Site) CreateIssue(in Issue) (Issue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[strings.ToUpper(in.Project)]
	if p == nil {
		return Issue{}, fmt.Errorf("fakeapi: jira project %q: %w", in.Project, fakeapi.ErrNotFound)
	}
	in.Project = p.Key
	if in.Key == "" {
		in.Key = fmt.Sprintf("%s-%d", p.Key, p.next)
	}
	pk, num, ok := strings.Cut(in.Key, "-")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || !strings.EqualFold(pk, p.Key) {
		return Issue{}, fmt.Errorf("fakeapi: jira issue key %q is not %s-N", in.Key, p.Key)
	}
	if _, dup := s.byKey[strings.ToUpper(in.Key)]; dup {
		return Issue{}, fmt.Errorf("fakeapi: jira issue %s exists", in.Key)
	}
	if n >= p.next {
		p.next = n + 1
	}
	if in.Type == "" {
		in.Type = "Task"
	}
	if in.Status == "" {
		for _, st := range s.statuses {
			if st.Category == CategoryNew {
				in.Status = st.Name
				break
			}
		}
	}
	st := s.statusLocked(in.Status)
	if st == nil {
		return Issue{}, fmt.Errorf("fakeapi: jira issue %s: status %q: %w", in.Key, in.Status, fakeapi.ErrNotFound)
	}
	in.Status = st.Name
	for _, v := range in.FixVersions {
		if p.version(v) == nil {
			return Issue{}, fmt.Errorf("fakeapi: jira issue %s: version %q of %s: %w", in.Key, v, p.Key, fakeapi.ErrNotFound)
		}
	}
	if in.Parent != "" && s.byKey[strings.ToUpper(in.Parent)] == nil {
		return Issue{}, fmt.Errorf("fakeapi: jira issue %s: parent %q: %w", in.Key, in.Parent, fakeapi.ErrNotFound)
	}
	if in.TeamValue != "" && s.teamField() == nil {
		return Issue{}, fmt.Errorf("fakeapi: jira issue %s: team value without a team field (AddField with Team)", in.Key)
	}
	for _, c := range in.Components {
		s.componentID(p, c)
	}
	if in.Reporter != "" {
		s.user(in.Reporter)
	}
	if in.Assignee != "" {
		s.user(in.Assignee)
	}
	in.Created = s.at(in.Created)
	if in.Updated.Before(in.Created) {
		in.Updated = in.Created
	}
	in.Updated = in.Updated.UTC().Truncate(time.Millisecond)
	if st.Category == CategoryDone && in.Resolution == "" {
		in.Resolution = "Done"
	}
	if in.Resolution != "" && in.Resolved.IsZero() {
		in.Resolved = in.Created
	}
	in.Resolved = in.Resolved.UTC().Truncate(time.Millisecond)
	in.DueDate = dateOnly(in.DueDate)
	in.Components = append([]string(nil), in.Components...)
	in.FixVersions = append([]string(nil), in.FixVersions...)
	in.Labels = append([]string(nil), in.Labels...)
	in.Links = nil // links are made with Link, on both issues
	s.seqIssue++
	in.ID = strconv.FormatInt(s.seqIssue, 10)
	is := &jiraIssue{cur: in, idNum: s.seqIssue}
	s.snapshot(is, in.Created)
	s.version++
	s.issues = append(s.issues, is)
	s.byKey[strings.ToUpper(in.Key)] = is
	s.byID[in.ID] = is
	return is.copy(), nil
}

// trackSearchLag starts keeping snapshots; every issue's current state
// becomes its base (what a lagged search sees until the next change).
func (s *Site) trackSearchLag() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trackLag {
		return
	}
	s.trackLag = true
	for _, is := range s.issues {
		is.base = jiraSnap{at: is.cur.Updated, state: is.copy(), nHist: len(is.histories), nComm: len(is.comments)}
		is.snaps = nil
	}
	s.version++
}

// snapshot records the issue's searchable state after a change at `at`.
func (s *Site) snapshot(is *jiraIssue, at time.Time) {
	if !s.trackLag {
		return
	}
	sn := jiraSnap{at: at, state: is.copy(), nHist: len(is.histories), nComm: len(is.comments)}
	horizon := s.now().Add(-maxSearchLag)
	if at.Before(horizon) && len(is.snaps) == 0 {
		is.base = sn
		return
	}
	is.snaps = append(is.snaps, sn)
	// Fold snapshots older than the horizon into the base.
	i := 0
	for i < len(is.snaps) && is.snaps[i].at.Before(horizon) {
		i++
	}
	if i > 0 {
		is.base = is.snaps[i-1]
		is.snaps = append(is.snaps[:0], is.snaps[i:]...)
	}
}

// visible returns the state a search sees at `cut` (changes at or before
// it) and how many histories and comments go with it; ok is false when the
// issue was not yet indexed. The pointer is valid under the site lock.
func (is *jiraIssue) visible(cut time.Time, lag bool) (st *Issue, nHist, nComm int, ok bool) {
	if !lag {
		return &is.cur, len(is.histories), len(is.comments), true
	}
	for i := len(is.snaps) - 1; i >= 0; i-- {
		if sn := &is.snaps[i]; !sn.at.After(cut) {
			return &sn.state, sn.nHist, sn.nComm, true
		}
	}
	if is.base.state.ID == "" || is.base.at.After(cut) {
		return nil, 0, 0, false
	}
	return &is.base.state, is.base.nHist, is.base.nComm, true
}

// Issue returns the current state of an issue by key.
func (s *Site) Issue(key string) (Issue, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.byKey[strings.ToUpper(key)]
	if is == nil {
		return Issue{}, false
	}
	return is.copy(), true
}

// Issues returns every issue, in creation order.
func (s *Site) Issues() []Issue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Issue, len(s.issues))
	for i, is := range s.issues {
		out[i] = is.copy()
	}
	return out
}

// Histories returns an issue's changelog, in the order it was recorded.
func (s *Site) Histories(key string) []History {
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.byKey[strings.ToUpper(key)]
	if is == nil {
		return nil
	}
	out := make([]History, len(is.histories))
	for i, h := range is.histories {
		out[i] = *h
		out[i].Items = append([]ChangeItem(nil), h.Items...)
	}
	return out
}

// AddComment adds a comment by author (an account id, added on first use)
// at `at` (zero = now) and moves the issue's updated there when later; no
// changelog history is recorded (Jira keeps comments apart from the
// changelog). Comment ids increase across the site.
func (s *Site) AddComment(key, author, body string, at time.Time) (Comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.byKey[strings.ToUpper(key)]
	if is == nil {
		return Comment{}, fmt.Errorf("fakeapi: jira issue %q: %w", key, fakeapi.ErrNotFound)
	}
	if author == "" {
		return Comment{}, fmt.Errorf("fakeapi: jira issue %s: comment without an author", is.cur.Key)
	}
	at = s.at(at)
	s.user(author)
	s.seqComment++
	c := &Comment{ID: strconv.FormatInt(s.seqComment, 10), IssueID: is.cur.ID, Author: author, Body: body, Created: at, Updated: at}
	is.comments = append(is.comments, c)
	s.version++
	if at.After(is.cur.Updated) {
		is.cur.Updated = at
	}
	s.snapshot(is, at)
	return *c, nil
}

// Comments returns an issue's comments in creation order.
func (s *Site) Comments(key string) []Comment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.byKey[strings.ToUpper(key)]
	if is == nil {
		return nil
	}
	out := make([]Comment, len(is.comments))
	for i, c := range is.comments {
		out[i] = *c
	}
	return out
}

// change applies f to an issue under the lock; f returns the change items
// (none = nothing changed, no history). The history gets the next id, the
// actor and `at`; the issue's updated moves to `at` when later.
func (s *Site) change(key, actor string, at time.Time, f func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error)) (History, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.byKey[strings.ToUpper(key)]
	if is == nil {
		return History{}, fmt.Errorf("fakeapi: jira issue %q: %w", key, fakeapi.ErrNotFound)
	}
	p := s.projects[strings.ToUpper(is.cur.Project)]
	items, err := f(p, is)
	if err != nil {
		return History{}, fmt.Errorf("fakeapi: jira issue %s: %w", is.cur.Key, err)
	}
	if len(items) == 0 {
		return History{}, nil
	}
	at = s.at(at)
	if actor != "" {
		s.user(actor)
	}
	s.seqHistory++
	h := &History{ID: strconv.FormatInt(s.seqHistory, 10), IssueID: is.cur.ID, Author: actor, Created: at, Items: items}
	is.histories = append(is.histories, h)
	s.version++
	if at.After(is.cur.Updated) {
		is.cur.Updated = at
	}
	s.snapshot(is, at)
	out := *h
	out.Items = append([]ChangeItem(nil), items...)
	return out, nil
}

// Transition moves an issue to a status (by name). Entering a done-category
// status sets the resolution ("Done") and resolutiondate; leaving it clears
// them; both are items of the same history, as a Jira workflow with a
// resolution post-function records them. Moving to the current status
// records nothing.
func (s *Site) Transition(key, status, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		to := s.statusLocked(status)
		if to == nil {
			return nil, fmt.Errorf("status %q: %w", status, fakeapi.ErrNotFound)
		}
		from := s.statusLocked(is.cur.Status)
		if from == nil || from.ID == to.ID {
			return nil, nil
		}
		items := []ChangeItem{{Field: "status", FieldType: "jira", FieldID: FieldStatus,
			From: from.ID, FromString: from.Name, To: to.ID, ToString: to.Name}}
		is.cur.Status = to.Name
		switch {
		case to.Category == CategoryDone && is.cur.Resolution == "":
			items = append(items, ChangeItem{Field: "resolution", FieldType: "jira", FieldID: FieldResolution,
				To: "10000", ToString: "Done"})
			is.cur.Resolution, is.cur.Resolved = "Done", s.at(at)
		case to.Category != CategoryDone && is.cur.Resolution != "":
			items = append(items, ChangeItem{Field: "resolution", FieldType: "jira", FieldID: FieldResolution,
				From: "10000", FromString: is.cur.Resolution})
			is.cur.Resolution, is.cur.Resolved = "", time.Time{}
		}
		return items, nil
	})
}

// Resolve sets the resolution (e.g. "Won't Do") and resolutiondate without a
// status change; "" clears them.
func (s *Site) Resolve(key, resolution, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		if is.cur.Resolution == resolution {
			return nil, nil
		}
		it := ChangeItem{Field: "resolution", FieldType: "jira", FieldID: FieldResolution}
		if is.cur.Resolution != "" {
			it.From, it.FromString = "10000", is.cur.Resolution
		}
		if resolution != "" {
			it.To, it.ToString = "10001", resolution
			is.cur.Resolved = s.at(at)
		} else {
			is.cur.Resolved = time.Time{}
		}
		is.cur.Resolution = resolution
		return []ChangeItem{it}, nil
	})
}

// Assign sets the assignee (an account id; "" unassigns). The items carry
// account ids in from/to and display names in fromString/toString, as Cloud
// does (the Data Center handler serves user names in from/to).
func (s *Site) Assign(key, accountID, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		if is.cur.Assignee == accountID {
			return nil, nil
		}
		it := ChangeItem{Field: "assignee", FieldType: "jira", FieldID: FieldAssignee}
		if is.cur.Assignee != "" {
			it.From, it.FromString = is.cur.Assignee, s.user(is.cur.Assignee).DisplayName
		}
		if accountID != "" {
			it.To, it.ToString = accountID, s.user(accountID).DisplayName
		}
		is.cur.Assignee = accountID
		return []ChangeItem{it}, nil
	})
}

// SetTeam sets the team field's value ("" clears it). The site must have a
// team field (AddField with Team).
func (s *Site) SetTeam(key, value, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		tf := s.teamField()
		if tf == nil {
			return nil, fmt.Errorf("no team field (AddField with Team)")
		}
		if is.cur.TeamValue == value {
			return nil, nil
		}
		it := ChangeItem{Field: tf.Name, FieldType: "custom", FieldID: tf.ID}
		if is.cur.TeamValue != "" {
			it.From, it.FromString = optionID(is.cur.TeamValue), is.cur.TeamValue
		}
		if value != "" {
			it.To, it.ToString = optionID(value), value
		}
		is.cur.TeamValue = value
		return []ChangeItem{it}, nil
	})
}

// optionID is a stable id for a select option value.
func optionID(v string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(v); i++ {
		h = (h ^ uint32(v[i])) * 16777619
	}
	return strconv.FormatUint(uint64(h%90000+10000), 10)
}

// AddComponent adds a component (created in the project on first use).
func (s *Site) AddComponent(key, component, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		if indexFold(is.cur.Components, component) >= 0 {
			return nil, nil
		}
		id := s.componentID(p, component)
		is.cur.Components = append(is.cur.Components, component)
		return []ChangeItem{{Field: "Component", FieldType: "jira", FieldID: FieldComponents, To: id, ToString: component}}, nil
	})
}

// RemoveComponent removes a component.
func (s *Site) RemoveComponent(key, component, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		i := indexFold(is.cur.Components, component)
		if i < 0 {
			return nil, nil
		}
		name := is.cur.Components[i]
		is.cur.Components = append(is.cur.Components[:i:i], is.cur.Components[i+1:]...)
		return []ChangeItem{{Field: "Component", FieldType: "jira", FieldID: FieldComponents, From: s.componentID(p, name), FromString: name}}, nil
	})
}

// AddFixVersion adds a fix version (it must exist in the issue's project).
func (s *Site) AddFixVersion(key, version, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		v := p.version(version)
		if v == nil {
			return nil, fmt.Errorf("version %q of %s: %w", version, p.Key, fakeapi.ErrNotFound)
		}
		if indexFold(is.cur.FixVersions, v.Name) >= 0 {
			return nil, nil
		}
		is.cur.FixVersions = append(is.cur.FixVersions, v.Name)
		return []ChangeItem{{Field: "Fix Version", FieldType: "jira", FieldID: FieldFixVersions, To: v.ID, ToString: v.Name}}, nil
	})
}

// RemoveFixVersion removes a fix version.
func (s *Site) RemoveFixVersion(key, version, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		i := indexFold(is.cur.FixVersions, version)
		if i < 0 {
			return nil, nil
		}
		name := is.cur.FixVersions[i]
		id := ""
		if v := p.version(name); v != nil {
			id = v.ID
		}
		is.cur.FixVersions = append(is.cur.FixVersions[:i:i], is.cur.FixVersions[i+1:]...)
		return []ChangeItem{{Field: "Fix Version", FieldType: "jira", FieldID: FieldFixVersions, From: id, FromString: name}}, nil
	})
}

// AddLabel adds a label; RemoveLabel removes one. The item lists all labels
// space-separated before and after, as Jira records them.
func (s *Site) AddLabel(key, label, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		if strings.ContainsAny(label, " \t") || label == "" {
			return nil, fmt.Errorf("label %q: labels cannot contain spaces", label)
		}
		if indexFold(is.cur.Labels, label) >= 0 {
			return nil, nil
		}
		before := strings.Join(is.cur.Labels, " ")
		is.cur.Labels = append(is.cur.Labels, label)
		return []ChangeItem{{Field: "labels", FieldType: "jira", FieldID: FieldLabels, FromString: before, ToString: strings.Join(is.cur.Labels, " ")}}, nil
	})
}

// RemoveLabel removes a label.
func (s *Site) RemoveLabel(key, label, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		i := indexFold(is.cur.Labels, label)
		if i < 0 {
			return nil, nil
		}
		before := strings.Join(is.cur.Labels, " ")
		is.cur.Labels = append(is.cur.Labels[:i:i], is.cur.Labels[i+1:]...)
		return []ChangeItem{{Field: "labels", FieldType: "jira", FieldID: FieldLabels, FromString: before, ToString: strings.Join(is.cur.Labels, " ")}}, nil
	})
}

// SetParent sets the parent (an epic, or the parent of a sub-task; ""
// clears it). The item carries issue ids in from/to and keys in
// fromString/toString.
func (s *Site) SetParent(key, parent, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		if strings.EqualFold(is.cur.Parent, parent) {
			return nil, nil
		}
		it := ChangeItem{Field: "Parent", FieldType: "jira", FieldID: FieldParent}
		if old := s.byKey[strings.ToUpper(is.cur.Parent)]; old != nil {
			it.From, it.FromString = old.cur.ID, old.cur.Key
		}
		if parent != "" {
			np := s.byKey[strings.ToUpper(parent)]
			if np == nil {
				return nil, fmt.Errorf("parent %q: %w", parent, fakeapi.ErrNotFound)
			}
			it.To, it.ToString = np.cur.ID, np.cur.Key
			parent = np.cur.Key
		}
		is.cur.Parent = parent
		return []ChangeItem{it}, nil
	})
}

// SetSummary changes the summary.
func (s *Site) SetSummary(key, summary, actor string, at time.Time) (History, error) {
	return s.change(key, actor, at, func(p *jiraProject, is *jiraIssue) ([]ChangeItem, error) {
		if is.cur.Summary == summary {
			return nil, nil
		}
		it := ChangeItem{Field: "summary", FieldType: "jira", FieldID: FieldSummary, FromString: is.cur.Summary, ToString: summary}
		is.cur.Summary = summary
		return []ChangeItem{it}, nil
	})
}

func indexFold(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// sortedHistories returns (issue, history) pairs for bulkfetch order:
// oldest first by created, then issue id, then history id.
type jiraHistRef struct {
	is *jiraIssue
	h  *History
}

func sortHistRefs(refs []jiraHistRef) {
	sort.SliceStable(refs, func(i, j int) bool {
		a, b := refs[i], refs[j]
		if !a.h.Created.Equal(b.h.Created) {
			return a.h.Created.Before(b.h.Created)
		}
		if a.is.idNum != b.is.idNum {
			return a.is.idNum < b.is.idNum
		}
		return len(a.h.ID) < len(b.h.ID) || (len(a.h.ID) == len(b.h.ID) && a.h.ID < b.h.ID)
	})
}

// issueByKeyOrID finds an issue by key (any case) or numeric id, as Jira's
// {issueIdOrKey} parameters do; nil when there is none. s.mu must be held.
func (s *Site) issueByKeyOrID(k string) *jiraIssue {
	if is := s.byKey[strings.ToUpper(k)]; is != nil {
		return is
	}
	return s.byID[k]
}
