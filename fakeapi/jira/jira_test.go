package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
)

var jiraT0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// newJiraTestSite builds a site with project A (n issues) and project B
// (one issue), a team field, users, a status "In Review" and a version.
func newJiraTestSite(t *testing.T, n int) (*Site, *fakeapi.ManualClock) {
	t.Helper()
	clock := fakeapi.NewManualClock(jiraT0.Add(24 * time.Hour))
	s := NewSite()
	s.Now = clock.Now
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddProject(Project{Key: "A"}))
	must(s.AddProject(Project{Key: "B"}))
	must(s.AddUser(User{AccountID: "acc-alice", DisplayName: "Alice", Email: "alice@example.com", Name: "alice"}))
	must(s.AddUser(User{AccountID: "acc-bob", DisplayName: "Bob", Name: "bob"}))
	must(s.AddStatus(Status{Name: "In Review", Category: CategoryIndeterminate}))
	must(s.AddField(Field{Name: "Team", Team: true}))
	must(s.AddVersion("A", Version{Name: "1.0", ReleaseDate: jiraT0.Add(72 * time.Hour)}))
	for i := 0; i < n; i++ {
		must(s.CreateIssue(Issue{Project: "A", Summary: fmt.Sprintf("issue %d", i+1), Reporter: "acc-alice",
			Created: jiraT0.Add(time.Duration(i) * time.Minute), Labels: []string{fmt.Sprintf("l%d", i%3)}}))
	}
	must(s.CreateIssue(Issue{Project: "B", Summary: "b", Reporter: "acc-bob", Created: jiraT0}))
	return s, clock
}

type jiraClient struct {
	t    *testing.T
	srv  *httptest.Server
	auth func(r *http.Request)
}

func newJiraClient(t *testing.T, api *API, cloud bool) *jiraClient {
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c := &jiraClient{t: t, srv: srv}
	if cloud {
		c.auth = func(r *http.Request) { r.SetBasicAuth("bot@example.com", "tok") }
	} else {
		c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer pat") }
	}
	return c
}

func (c *jiraClient) do(method, path string, body any) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.srv.URL+path, rd)
	if c.auth != nil {
		c.auth(req)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (c *jiraClient) json(method, path string, body any, out any) http.Header {
	c.t.Helper()
	st, h, b := c.do(method, path, body)
	if st != http.StatusOK {
		c.t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return h
}

func cloudAPI(s *Site, f fakeapi.Faults) *API {
	return NewAPI(s, Options{Users: map[string]string{"bot@example.com": "tok"}, Faults: f})
}

type searchPage struct {
	Issues []struct {
		ID     string         `json:"id"`
		Key    string         `json:"key"`
		Fields map[string]any `json:"fields"`
		Log    *struct {
			Total     int               `json:"total"`
			Histories []json.RawMessage `json:"histories"`
		} `json:"changelog"`
	} `json:"issues"`
	IsLast        bool   `json:"isLast"`
	NextPageToken string `json:"nextPageToken"`
	Total         *int   `json:"total"`
	StartAt       int    `json:"startAt"`
}

func TestJiraCloudSearchPagingByToken(t *testing.T) {
	s, _ := newJiraTestSite(t, 250)
	c := newJiraClient(t, cloudAPI(s, fakeapi.Faults{}), true)
	var keys []string
	token, pages := "", 0
	for {
		var p searchPage
		c.json("POST", "/rest/api/3/search/jql", map[string]any{"jql": "project = A ORDER BY id ASC", "maxResults": 1000,
			"fields": []string{"summary", "status"}, "nextPageToken": token}, &p)
		pages++
		if p.Total != nil {
			t.Fatal("search/jql must not answer total")
		}
		for _, is := range p.Issues {
			keys = append(keys, is.Key)
			if _, ok := is.Fields["summary"]; !ok || len(is.Fields) != 2 {
				t.Fatalf("fields = %v, want summary and status", is.Fields)
			}
		}
		if p.IsLast {
			if p.NextPageToken != "" {
				t.Fatal("last page with a token")
			}
			break
		}
		token = p.NextPageToken
	}
	// maxResults is capped at 100 with fields: 3 pages for 250 issues.
	if pages != 3 || len(keys) != 250 || keys[0] != "A-1" || keys[249] != "A-250" {
		t.Fatalf("pages=%d keys=%d first=%s", pages, len(keys), keys[0])
	}
	// Default fields: id only, up to 5000 per page.
	var p searchPage
	c.json("GET", "/rest/api/2/search/jql?jql="+url.QueryEscape("project in (A, B)")+"&maxResults=5000", nil, &p)
	if len(p.Issues) != 251 || !p.IsLast || p.Issues[0].Key != "" || p.Issues[0].ID == "" {
		t.Fatalf("id-only page: %d issues, last=%v, first=%+v", len(p.Issues), p.IsLast, p.Issues[0])
	}
	// A token for another query is refused.
	st, _, b := c.do("POST", "/rest/api/3/search/jql", map[string]any{"jql": "project = B", "nextPageToken": token})
	if st != 400 || !strings.Contains(string(b), "token") {
		t.Fatalf("foreign token: %d %s", st, b)
	}
}

func TestJiraDataCenterSearchByStartAt(t *testing.T) {
	s, _ := newJiraTestSite(t, 120)
	if _, err := s.Assign("A-1", "acc-bob", "acc-alice", jiraT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	api := NewAPI(s, Options{Deployment: DataCenter, Tokens: []string{"pat"}})
	c := newJiraClient(t, api, false)
	var got []string
	for start := 0; ; {
		var p searchPage
		c.json("GET", fmt.Sprintf("/rest/api/2/search?jql=%s&startAt=%d&maxResults=50&expand=changelog&fields=summary,assignee",
			url.QueryEscape("project = A ORDER BY key ASC"), start), nil, &p)
		if p.Total == nil || *p.Total != 120 || p.StartAt != start {
			t.Fatalf("total=%v startAt=%d", p.Total, p.StartAt)
		}
		for _, is := range p.Issues {
			got = append(got, is.Key)
		}
		if start == 0 {
			h := p.Issues[0].Log
			if h == nil || h.Total != 1 || len(h.Histories) != 1 {
				t.Fatalf("A-1 changelog = %+v", h)
			}
			var hist struct {
				Created string           `json:"created"`
				Items   []map[string]any `json:"items"`
			}
			json.Unmarshal(h.Histories[0], &hist)
			if _, err := time.Parse(TimeLayout, hist.Created); err != nil {
				t.Errorf("DC created %q: %v", hist.Created, err)
			}
			if _, has := hist.Items[0]["fieldId"]; has || hist.Items[0]["to"] != "bob" || hist.Items[0]["from"] != nil {
				t.Errorf("DC assignee item = %v, want user name in to and no fieldId", hist.Items[0])
			}
		}
		start += len(p.Issues)
		if start >= *p.Total {
			break
		}
	}
	if len(got) != 120 {
		t.Fatalf("got %d issues", len(got))
	}
	for _, path := range []string{"/rest/api/2/search/jql?jql=project%3DA", "/rest/api/3/field"} {
		if st, _, _ := c.do("GET", path, nil); st != 404 {
			t.Errorf("DC %s = %d, want 404", path, st)
		}
	}
	if st, _, _ := c.do("POST", "/rest/api/3/changelog/bulkfetch", map[string]any{"issueIdsOrKeys": []string{"A-1"}}); st != 404 {
		t.Errorf("DC bulkfetch = %d, want 404", st)
	}
}

func TestJiraCloudLegacySearchGone(t *testing.T) {
	s, _ := newJiraTestSite(t, 1)
	c := newJiraClient(t, cloudAPI(s, fakeapi.Faults{}), true)
	for _, path := range []string{"/rest/api/2/search?jql=project%3DA", "/rest/api/3/search?jql=project%3DA"} {
		st, _, b := c.do("GET", path, nil)
		if st != http.StatusGone || string(b) != MsgJiraSearchRemoved {
			t.Errorf("%s = %d %s", path, st, b)
		}
	}
}

func TestJiraJQLErrors(t *testing.T) {
	s, _ := newJiraTestSite(t, 1)
	c := newJiraClient(t, cloudAPI(s, fakeapi.Faults{}), true)
	for _, tc := range []struct{ jql, want string }{
		{"", "Unbounded JQL"},
		{"ORDER BY id", "Unbounded JQL"},
		{"project = A AND", "Error in the JQL Query"},
		{"summary ~ foo", "Error in the JQL Query: Field 'summary' does not exist"},
		{`updated >= "yesterday"`, "Error in the JQL Query: Date value 'yesterday'"},
		{`project = "A`, "not terminated"},
		{"project in (A, B", "Error in the JQL Query"},
		{"project in (A, NOPE)", "The value 'NOPE' does not exist for the field 'project'."},
	} {
		st, _, b := c.do("POST", "/rest/api/3/search/jql", map[string]any{"jql": tc.jql})
		var e struct {
			ErrorMessages []string          `json:"errorMessages"`
			Errors        map[string]string `json:"errors"`
		}
		if err := json.Unmarshal(b, &e); err != nil || st != 400 || len(e.ErrorMessages) != 1 || e.Errors == nil ||
			!strings.Contains(e.ErrorMessages[0], tc.want) {
			t.Errorf("jql %q: %d %s, want 400 with %q", tc.jql, st, b, tc.want)
		}
	}
}

func TestJiraJQLEvaluation(t *testing.T) {
	s, clock := newJiraTestSite(t, 5)
	s.TimeZone = time.FixedZone("UTC+2", 2*3600)
	// A-2 updated at t0+1h; A-3 moves to In Review at t0+2h30m.
	if _, err := s.Assign("A-2", "acc-bob", "acc-alice", jiraT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition("A-3", "In Review", "acc-bob", jiraT0.Add(150*time.Minute)); err != nil {
		t.Fatal(err)
	}
	clock.Set(jiraT0.Add(3 * time.Hour))
	c := newJiraClient(t, cloudAPI(s, fakeapi.Faults{}), true)
	keys := func(jql string) string {
		var p searchPage
		c.json("POST", "/rest/api/3/search/jql", map[string]any{"jql": jql, "fields": []string{"key"}, "maxResults": 100}, &p)
		var out []string
		for _, is := range p.Issues {
			out = append(out, is.Key)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ jql, want string }{
		{"project = A ORDER BY id DESC", "A-5,A-4,A-3,A-2,A-1"},
		{"project in (A, B) AND key in (A-1, B-1)", "A-1,B-1"},
		{"issue in (A-2) OR id in (10003)", "A-2,A-3"},
		// 11:00 at UTC+2 is 09:00 UTC = t0: the issues updated at or after t0.
		{`project = A AND updated >= "2025-03-03 11:00" ORDER BY updated ASC`, "A-1,A-4,A-5,A-2,A-3"},
		// 12:30 at UTC+2 = t0+1h30m: only A-3 (t0+2h30m).
		{`project = A AND updated >= "2025/03/03 12:30"`, "A-3"},
		{"updated >= -1h", "A-3"},
		{"updated >= -121m ORDER BY updated DESC", "A-3,A-2"},
		{`status = "In Review"`, "A-3"},
		{"project = A AND labels = l1", "A-2,A-5"},
		{"project = A AND labels in (l0, l2) AND NOT key = A-1", "A-3,A-4"},
		{"(project = B OR labels = l2) AND status != Done", "A-3,B-1"},
		{"assignee = acc-bob", "A-2"},
		{"project = A AND issuetype = Task ORDER BY created DESC, id ASC", "A-5,A-4,A-3,A-2,A-1"},
	} {
		if got := keys(tc.jql); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.jql, got, tc.want)
		}
	}
}

func TestJiraSearchLag(t *testing.T) {
	s, clock := newJiraTestSite(t, 2)
	clock.Set(jiraT0.Add(10 * time.Hour))
	api := NewAPI(s, Options{Users: map[string]string{"bot@example.com": "tok"}, SearchLag: 2 * time.Minute})
	c := newJiraClient(t, api, true)
	now := clock.Now()
	if _, err := s.Transition("A-1", "In Progress", "acc-alice", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIssue(Issue{Project: "A", Summary: "new", Created: now}); err != nil {
		t.Fatal(err)
	}
	search := func() map[string]string {
		var p searchPage
		c.json("POST", "/rest/api/3/search/jql", map[string]any{"jql": "project = A", "fields": []string{"status"}, "maxResults": 100}, &p)
		out := map[string]string{}
		for _, is := range p.Issues {
			out[is.Key] = is.Fields["status"].(map[string]any)["name"].(string)
		}
		return out
	}
	if got := search(); len(got) != 2 || got["A-1"] != "To Do" {
		t.Fatalf("within the lag: %v, want the old state of A-1 and A-3 not found", got)
	}
	// The changelog endpoint is current.
	var cl struct{ Total int }
	c.json("GET", "/rest/api/3/issue/A-1/changelog", nil, &cl)
	if cl.Total != 1 {
		t.Fatalf("changelog total = %d", cl.Total)
	}
	clock.Advance(2 * time.Minute)
	if got := search(); len(got) != 3 || got["A-1"] != "In Progress" {
		t.Fatalf("after the lag: %v", got)
	}
}

func TestJiraBulkChangelog(t *testing.T) {
	s, _ := newJiraTestSite(t, 3)
	// 45 histories alternating status and assignee; A-2: a team change
	// and a summary change at earlier instants.
	for i := 0; i < 45; i++ {
		at := jiraT0.Add(time.Duration(i+10) * time.Minute)
		var err error
		if i%2 == 0 {
			st := []string{"In Progress", "To Do"}[i/2%2]
			_, err = s.Transition("A-1", st, "acc-alice", at)
		} else {
			_, err = s.Assign("A-1", []string{"acc-bob", "acc-alice"}[i/2%2], "acc-alice", at)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetTeam("A-2", "Design", "acc-bob", jiraT0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSummary("A-2", "renamed", "acc-bob", jiraT0.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	teamID := ""
	for _, f := range s.Fields() {
		if f.Team {
			teamID = f.ID
		}
	}
	c := newJiraClient(t, cloudAPI(s, fakeapi.Faults{}), true)
	type bulk struct {
		IssueChangeLogs []struct {
			IssueID         string `json:"issueId"`
			ChangeHistories []struct {
				ID      string           `json:"id"`
				Created json.RawMessage  `json:"created"`
				Items   []map[string]any `json:"items"`
			} `json:"changeHistories"`
		} `json:"issueChangeLogs"`
		NextPageToken string `json:"nextPageToken"`
	}
	var ids []string
	var created []int64
	token, pages := "", 0
	for {
		var b bulk
		c.json("POST", "/rest/api/3/changelog/bulkfetch", map[string]any{"issueIdsOrKeys": []string{"A-1", "A-2", "A-3"},
			"fieldIds": []string{"status", "assignee", teamID}, "maxResults": 20, "nextPageToken": token}, &b)
		pages++
		for _, l := range b.IssueChangeLogs {
			for _, h := range l.ChangeHistories {
				var ms int64
				if err := json.Unmarshal(h.Created, &ms); err != nil {
					t.Fatalf("created %s is not an epoch number", h.Created)
				}
				created = append(created, ms)
				ids = append(ids, l.IssueID+"/"+h.ID)
				for _, it := range h.Items {
					if it["fieldId"] == "summary" {
						t.Fatal("summary not filtered out")
					}
				}
			}
		}
		if b.NextPageToken == "" {
			break
		}
		token = b.NextPageToken
	}
	// 46 histories (45 + the team change; the summary change is filtered):
	// pages of 20 -> 3.
	if pages != 3 || len(ids) != 46 {
		t.Fatalf("pages=%d histories=%d", pages, len(ids))
	}
	if !sort.SliceIsSorted(created, func(i, j int) bool { return created[i] < created[j] }) {
		t.Fatal("not oldest first")
	}
	if created[0] != jiraT0.Add(5*time.Minute).UnixMilli() || !strings.HasPrefix(ids[0], "10002/") {
		t.Fatalf("first = %s at %d, want A-2's team change", ids[0], created[0])
	}
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"issueIdsOrKeys": []string{}}, "between 1 and 1000"},
		{map[string]any{"issueIdsOrKeys": make([]string, 1001)}, "between 1 and 1000"},
		{map[string]any{"issueIdsOrKeys": []string{"A-1"}, "fieldIds": []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}}, "at most 10"},
	} {
		if st, _, b := c.do("POST", "/rest/api/3/changelog/bulkfetch", tc.body); st != 400 || !strings.Contains(string(b), tc.want) {
			t.Errorf("bulkfetch %v: %d %s", tc.body, st, b)
		}
	}

	// expand=changelog on search/jql: the 40 newest of 45, total 45.
	var p searchPage
	c.json("GET", "/rest/api/3/search/jql?jql=key%3DA-1&fields=status&expand=changelog", nil, &p)
	if l := p.Issues[0].Log; l == nil || l.Total != 45 || len(l.Histories) != 40 {
		t.Fatalf("expand=changelog = %+v", l)
	}
	var first struct{ ID string }
	json.Unmarshal(p.Issues[0].Log.Histories[0], &first)
	if want := s.Histories("A-1")[5].ID; first.ID != want {
		t.Errorf("first embedded history %s, want %s (the 6th)", first.ID, want)
	}
	// Issue changelog endpoint: oldest first, startAt paging by 100 max.
	var cl struct {
		Total, StartAt, MaxResults int
		IsLast                     bool
		NextPage                   string
		Values                     []struct{ ID string }
	}
	c.json("GET", "/rest/api/3/issue/A-1/changelog?startAt=40&maxResults=500", nil, &cl)
	if cl.Total != 45 || cl.StartAt != 40 || cl.MaxResults != 100 || !cl.IsLast || len(cl.Values) != 5 {
		t.Fatalf("issue changelog = %+v", cl)
	}
}

func TestJiraAuth(t *testing.T) {
	s, _ := newJiraTestSite(t, 1)
	c := newJiraClient(t, cloudAPI(s, fakeapi.Faults{}), true)
	for name, auth := range map[string]func(r *http.Request){
		"none":         nil,
		"wrong token":  func(r *http.Request) { r.SetBasicAuth("bot@example.com", "nope") },
		"bearer cloud": func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") },
	} {
		c.auth = auth
		st, _, b := c.do("GET", "/rest/api/3/field", nil)
		if st != 401 || !strings.Contains(string(b), `"errorMessages"`) {
			t.Errorf("%s: %d %s", name, st, b)
		}
	}
	dc := newJiraClient(t, NewAPI(s, Options{Deployment: DataCenter, Tokens: []string{"pat"}}), false)
	if st, _, _ := dc.do("GET", "/rest/api/2/field", nil); st != 200 {
		t.Errorf("DC bearer = %d", st)
	}
	dc.auth = func(r *http.Request) { r.SetBasicAuth("bot@example.com", "pat") }
	if st, _, _ := dc.do("GET", "/rest/api/2/field", nil); st != 401 {
		t.Errorf("DC basic with a PAT as password = %d, want 401", st)
	}
}

func TestJiraFaultsAndRateHeaders(t *testing.T) {
	s, clock := newJiraTestSite(t, 1)
	api := cloudAPI(s, fakeapi.Faults{TooManyRate: 1, RetryAfter: 7 * time.Second})
	c := newJiraClient(t, api, true)
	st, h, _ := c.do("GET", "/rest/api/3/status", nil)
	if st != 429 || h.Get("Retry-After") != "7" || h.Get("RateLimit-Reason") != "jira-burst-based" {
		t.Fatalf("429: %d %v", st, h)
	}
	api.SetFaults(fakeapi.Faults{ServerErrorRate: 1})
	st, h, _ = c.do("GET", "/rest/api/3/status", nil)
	if st != 503 || h.Get("Retry-After") != "5" {
		t.Fatalf("503: %d %v", st, h)
	}
	api.SetFaults(fakeapi.Faults{TruncateRate: 1})
	st, _, b := c.do("GET", "/rest/api/3/status", nil)
	if st != 200 || json.Valid(b) {
		t.Fatalf("truncate: %d valid=%v", st, json.Valid(b))
	}
	api.SetFaults(fakeapi.Faults{})
	api.SetRateLimit(10)
	api.ResetRequests()
	// The window started with the first request; 3 used so far.
	for i := 0; i < 7; i++ {
		st, h, _ = c.do("GET", "/rest/api/3/status", nil)
	}
	if st != 200 || h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-NearLimit") != "true" || h.Get("X-RateLimit-Limit") != "10" {
		t.Fatalf("at the limit: %d %v", st, h)
	}
	st, h, _ = c.do("GET", "/rest/api/3/status", nil)
	if st != 429 || h.Get("Retry-After") != "60" {
		t.Fatalf("past the limit: %d Retry-After=%q", st, h.Get("Retry-After"))
	}
	clock.Advance(time.Minute)
	st, h, _ = c.do("GET", "/rest/api/3/status", nil)
	if st != 200 || h.Get("X-RateLimit-NearLimit") != "" {
		t.Fatalf("new window: %d near=%q", st, h.Get("X-RateLimit-NearLimit"))
	}
	api.SetNearLimit(true)
	if _, h, _ = c.do("GET", "/rest/api/3/status", nil); h.Get("X-RateLimit-NearLimit") != "true" {
		t.Fatal("SetNearLimit not applied")
	}
	api.SetNearLimit(false)
	f, err := fakeapi.ParseFaults("nearlimit=true")
	if err != nil || !f.NearLimit || f.String() != "nearlimit=true" {
		t.Fatalf("ParseFaults nearlimit: %+v %v", f, err)
	}
	api.SetFaults(f)
	if _, h, _ = c.do("GET", "/rest/api/3/status", nil); h.Get("X-RateLimit-NearLimit") != "true" {
		t.Fatal("Faults.NearLimit not applied")
	}
	if got := api.CountByEndpoint(); got["jira_status 200"] != 10 || got["jira_status 429"] != 1 {
		t.Fatalf("counts = %v", got)
	}
}

// TestJiraShapesMatchFixtures checks that the fake's payloads carry every
// key the real examples in ../shared/fixtures/jira carry, for the parts the
// collector reads.
func TestJiraShapesMatchFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "jira")
	if _, err := os.Stat(dir); err != nil {
		dir = filepath.Join("testdata")
	}
	load := func(name string, v any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Skipf("fixtures not available: %v", err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := newJiraTestSite(t, 1)
	if _, err := s.Assign("A-1", "acc-bob", "acc-alice", jiraT0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c := newJiraClient(t, cloudAPI(s, fakeapi.Faults{}), true)
	keysOf := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	missing := func(what string, want, got map[string]any) {
		t.Helper()
		for _, k := range keysOf(want) {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: key %q of the fixture missing (fake has %v)", what, k, keysOf(got))
			}
		}
	}
	// Bulkfetch.
	var fx struct {
		IssueChangeLogs []struct {
			ChangeHistories []map[string]any `json:"changeHistories"`
		} `json:"issueChangeLogs"`
	}
	load("atlassian-openapi-examples/changelog-bulkfetch.POST.200.json", &fx)
	var got struct {
		IssueChangeLogs []map[string]any `json:"issueChangeLogs"`
	}
	c.json("POST", "/rest/api/3/changelog/bulkfetch", map[string]any{"issueIdsOrKeys": []string{"A-1"}}, &got)
	gh := got.IssueChangeLogs[0]["changeHistories"].([]any)[0].(map[string]any)
	wantH := fx.IssueChangeLogs[0].ChangeHistories[0]
	missing("bulkfetch history", wantH, gh)
	missing("bulkfetch item", wantH["items"].([]any)[0].(map[string]any), gh["items"].([]any)[0].(map[string]any))
	if _, isNum := gh["created"].(float64); !isNum {
		t.Errorf("bulkfetch created = %T, want a number as in the fixture", gh["created"])
	}
	// Issue changelog page.
	var fxc, gc map[string]any
	load("atlassian-openapi-examples/issue-changelog.GET.200.json", &fxc)
	c.json("GET", "/rest/api/3/issue/A-1/changelog?maxResults=1", nil, &gc)
	for _, k := range []string{"maxResults", "startAt", "total", "isLast", "values", "self"} {
		if _, ok := gc[k]; !ok {
			t.Errorf("issue changelog: key %q missing", k)
		}
		if _, ok := fxc[k]; !ok {
			t.Errorf("fixture changed: key %q missing", k)
		}
	}
	missing("issue changelog item", fxc["values"].([]any)[0].(map[string]any)["items"].([]any)[0].(map[string]any),
		gc["values"].([]any)[0].(map[string]any)["items"].([]any)[0].(map[string]any))
	// Statuses and fields (go-jira mocks).
	var fxs, gs, fxf, gf []map[string]any
	load("go-jira-mocks/all_statuses.json", &fxs)
	c.json("GET", "/rest/api/3/status", nil, &gs)
	missing("status", fxs[0], gs[0])
	missing("statusCategory", fxs[0]["statusCategory"].(map[string]any), gs[0]["statusCategory"].(map[string]any))
	load("go-jira-mocks/all_fields.json", &fxf)
	c.json("GET", "/rest/api/3/field", nil, &gf)
	missing("field", fxf[1], gf[0])
	// search/jql page and issue (jira-cli hand-made new-style page).
	var fxq map[string]any
	load("jira-cli/search.json", &fxq)
	var gq map[string]any
	c.json("POST", "/rest/api/3/search/jql", map[string]any{"jql": "key = A-1", "fields": []string{"*all"}}, &gq)
	for _, k := range []string{"issues", "isLast"} {
		if _, ok := gq[k]; !ok {
			t.Errorf("search/jql: key %q missing", k)
		}
	}
	fi := fxq["issues"].([]any)[2].(map[string]any)["fields"].(map[string]any)
	gi := gq["issues"].([]any)[0].(map[string]any)["fields"].(map[string]any)
	for _, k := range []string{"issuetype", "created", "labels", "assignee", "updated", "status", "summary", "reporter", "resolution"} {
		if _, ok := fi[k]; !ok {
			t.Fatalf("fixture changed: %s", k)
		}
		if _, ok := gi[k]; !ok {
			t.Errorf("search/jql issue: field %q missing", k)
		}
	}
	for _, k := range []string{"created", "updated"} {
		if _, err := time.Parse(TimeLayout, fi[k].(string)); err != nil {
			t.Fatalf("fixture %s: %v", k, err)
		}
		if _, err := time.Parse(TimeLayout, gi[k].(string)); err != nil {
			t.Errorf("fake %s %q: %v", k, gi[k], err)
		}
	}
}

func TestJiraMutatorsRecordHistories(t *testing.T) {
	s, _ := newJiraTestSite(t, 1)
	at := jiraT0.Add(time.Hour)
	steps := []struct {
		f    func() (History, error)
		want []ChangeItem
	}{
		{func() (History, error) { return s.Transition("A-1", "Done", "acc-bob", at) }, []ChangeItem{
			{Field: "status", FieldType: "jira", FieldID: "status", From: "10000", FromString: "To Do", To: "10001", ToString: "Done"},
			{Field: "resolution", FieldType: "jira", FieldID: "resolution", To: "10000", ToString: "Done"}}},
		{func() (History, error) { return s.Transition("A-1", "In Progress", "acc-bob", at.Add(time.Minute)) }, []ChangeItem{
			{Field: "status", FieldType: "jira", FieldID: "status", From: "10001", FromString: "Done", To: "3", ToString: "In Progress"},
			{Field: "resolution", FieldType: "jira", FieldID: "resolution", From: "10000", FromString: "Done"}}},
		{func() (History, error) { return s.AddFixVersion("A-1", "1.0", "acc-bob", at.Add(2*time.Minute)) }, []ChangeItem{
			{Field: "Fix Version", FieldType: "jira", FieldID: "fixVersions", To: "10001", ToString: "1.0"}}},
		{func() (History, error) { return s.AddComponent("A-1", "UX", "acc-bob", at.Add(3*time.Minute)) }, []ChangeItem{
			{Field: "Component", FieldType: "jira", FieldID: "components", To: "10001", ToString: "UX"}}},
		{func() (History, error) { return s.RemoveComponent("A-1", "ux", "acc-bob", at.Add(4*time.Minute)) }, []ChangeItem{
			{Field: "Component", FieldType: "jira", FieldID: "components", From: "10001", FromString: "UX"}}},
		{func() (History, error) { return s.AddLabel("A-1", "x", "acc-bob", at.Add(5*time.Minute)) }, []ChangeItem{
			{Field: "labels", FieldType: "jira", FieldID: "labels", FromString: "l0", ToString: "l0 x"}}},
		{func() (History, error) { return s.SetTeam("A-1", "Design", "acc-bob", at.Add(6*time.Minute)) }, []ChangeItem{
			{Field: "Team", FieldType: "custom", FieldID: "customfield_10001", To: optionID("Design"), ToString: "Design"}}},
	}
	prev := int64(0)
	for i, st := range steps {
		h, err := st.f()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if fmt.Sprint(h.Items) != fmt.Sprint(st.want) {
			t.Errorf("step %d items:\n got %+v\nwant %+v", i, h.Items, st.want)
		}
		var id int64
		fmt.Sscan(h.ID, &id)
		if id <= prev || h.Author != "acc-bob" {
			t.Errorf("step %d: id %s not increasing or author %q", i, h.ID, h.Author)
		}
		prev = id
	}
	is, _ := s.Issue("A-1")
	if !is.Updated.Equal(at.Add(6*time.Minute)) || is.Resolution != "" || !is.Resolved.IsZero() || is.TeamValue != "Design" ||
		strings.Join(is.FixVersions, ",") != "1.0" || len(is.Components) != 0 {
		t.Errorf("issue after changes = %+v", is)
	}
	// No-op changes record nothing.
	if h, err := s.SetTeam("A-1", "Design", "acc-bob", at.Add(time.Hour)); err != nil || h.ID != "" {
		t.Errorf("no-op SetTeam: %+v %v", h, err)
	}
	if len(s.Histories("A-1")) != len(steps) {
		t.Errorf("histories = %d", len(s.Histories("A-1")))
	}
	if _, err := s.AddFixVersion("A-1", "9.9", "acc-bob", at); err == nil {
		t.Error("unknown version accepted")
	}
}

// jiraCommentPage is the comment field of a search hit and the answer of
// GET /issue/{key}/comment.
type jiraCommentPage struct {
	StartAt    int `json:"startAt"`
	MaxResults int `json:"maxResults"`
	Total      int `json:"total"`
	Comments   []struct {
		ID     string          `json:"id"`
		Author map[string]any  `json:"author"`
		Body   json.RawMessage `json:"body"`
		Create string          `json:"created"`
		Update string          `json:"updated"`
	} `json:"comments"`
}

// TestJiraComments: AddComment bumps updated without a history; search
// serves the comment field only when asked, Cloud the first 20 with the
// total, Data Center all; the comment endpoint pages by startAt (at most
// 100) on both; bodies are ADF on v3 and strings on v2.
func TestJiraComments(t *testing.T) {
	s, clock := newJiraTestSite(t, 2)
	c0 := jiraT0.Add(2 * time.Hour)
	for i := 0; i < 25; i++ {
		author := []string{"acc-alice", "acc-bob"}[i%2]
		if _, err := s.AddComment("A-1", author, fmt.Sprintf("comment %d", i), c0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AddComment("A-2", "acc-new", "hello", c0)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "10026" || got.IssueID == "" || !got.Created.Equal(c0) {
		t.Fatalf("26th comment = %+v, want id 10026 created %v", got, c0)
	}
	if _, err := s.AddComment("A-99", "acc-bob", "x", c0); err == nil {
		t.Fatal("comment on a missing issue accepted")
	}
	if is, _ := s.Issue("A-1"); !is.Updated.Equal(c0.Add(24 * time.Minute)) {
		t.Fatalf("A-1 updated = %v, want the last comment's instant %v", is.Updated, c0.Add(24*time.Minute))
	}
	if h := s.Histories("A-1"); len(h) != 0 {
		t.Fatalf("comments recorded %d histories, want none", len(h))
	}
	if u, ok := s.User("acc-new"); !ok || u.AccountID != "acc-new" {
		t.Fatal("comment author not added as a user")
	}
	if n := len(s.Comments("A-1")); n != 25 {
		t.Fatalf("Comments(A-1) = %d, want 25", n)
	}
	clock.Set(jiraT0.Add(48 * time.Hour))

	searchComments := func(t *testing.T, c *jiraClient, method, path string, body any) map[string]jiraCommentPage {
		t.Helper()
		var p struct {
			Issues []struct {
				Key    string                     `json:"key"`
				Fields map[string]json.RawMessage `json:"fields"`
			} `json:"issues"`
		}
		c.json(method, path, body, &p)
		out := map[string]jiraCommentPage{}
		for _, is := range p.Issues {
			raw, ok := is.Fields["comment"]
			if !ok {
				continue
			}
			var cp jiraCommentPage
			if err := json.Unmarshal(raw, &cp); err != nil {
				t.Fatal(err)
			}
			out[is.Key] = cp
		}
		return out
	}
	bodyText := func(t *testing.T, raw json.RawMessage, v3 bool) string {
		t.Helper()
		if !v3 {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("v2 body %s: %v", raw, err)
			}
			return s
		}
		var doc struct {
			Type    string `json:"type"`
			Content []struct {
				Content []struct{ Text string } `json:"content"`
			} `json:"content"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || doc.Type != "doc" || len(doc.Content) != 1 || len(doc.Content[0].Content) != 1 {
			t.Fatalf("v3 body %s is not an ADF document: %v", raw, err)
		}
		return doc.Content[0].Content[0].Text
	}

	t.Run("cloud", func(t *testing.T) {
		api := cloudAPI(s, fakeapi.Faults{})
		c := newJiraClient(t, api, true)
		if got := searchComments(t, c, "POST", "/rest/api/3/search/jql", map[string]any{"jql": "project = A", "fields": []string{"status"}}); len(got) != 0 {
			t.Fatalf("comment field served without being asked: %v", got)
		}
		got := searchComments(t, c, "POST", "/rest/api/3/search/jql", map[string]any{"jql": "project = A", "fields": []string{"status", "comment"}})
		a1, a2 := got["A-1"], got["A-2"]
		if a1.Total != 25 || len(a1.Comments) != CommentCap || a1.Comments[0].ID != "10001" || a1.Comments[19].ID != "10020" {
			t.Fatalf("A-1 comment field: total %d, %d comments (%v..), want 25 and the first 20 (10001..10020)", a1.Total, len(a1.Comments), a1.Comments[0].ID)
		}
		if a2.Total != 1 || len(a2.Comments) != 1 || a2.Comments[0].Author["accountId"] != "acc-new" {
			t.Fatalf("A-2 comment field = %+v", a2)
		}
		if tm, err := time.Parse(TimeLayout, a1.Comments[3].Create); err != nil || !tm.Equal(c0.Add(3*time.Minute)) {
			t.Fatalf("created %q (%v), want %v", a1.Comments[3].Create, err, c0.Add(3*time.Minute))
		}
		if b := bodyText(t, a1.Comments[3].Body, true); b != "comment 3" {
			t.Fatalf("v3 body = %q", b)
		}
		// The comment endpoint: 25 in pages of 10, then the cap of 100.
		var ids []string
		for start := 0; start < 25; start += 10 {
			var p jiraCommentPage
			c.json("GET", fmt.Sprintf("/rest/api/3/issue/A-1/comment?startAt=%d&maxResults=10", start), nil, &p)
			if p.Total != 25 || p.StartAt != start || p.MaxResults != 10 || len(p.Comments) != min(10, 25-start) {
				t.Fatalf("page at %d: %+v", start, p)
			}
			for _, cm := range p.Comments {
				ids = append(ids, cm.ID)
			}
		}
		if len(ids) != 25 || ids[0] != "10001" || ids[24] != "10025" {
			t.Fatalf("paged ids = %v", ids)
		}
		var p jiraCommentPage
		c.json("GET", "/rest/api/2/issue/A-1/comment?maxResults=1000", nil, &p)
		if p.MaxResults != 100 || len(p.Comments) != 25 {
			t.Fatalf("maxResults=1000 -> %d (%d comments), want capped at 100", p.MaxResults, len(p.Comments))
		}
		if b := bodyText(t, p.Comments[24].Body, false); b != "comment 24" {
			t.Fatalf("v2 body = %q", b)
		}
		if st, _, _ := c.do("GET", "/rest/api/3/issue/A-99/comment", nil); st != http.StatusNotFound {
			t.Fatalf("comments of a missing issue: %d, want 404", st)
		}
		if n := api.CountByEndpoint()[EndpointIssueComment+" 200"]; n != 4 {
			t.Fatalf("request log: %d %s 200, want 4 (%v)", n, EndpointIssueComment, api.CountByEndpoint())
		}
	})
	t.Run("datacenter", func(t *testing.T) {
		api := NewAPI(s, Options{Deployment: DataCenter, Tokens: []string{"pat"}})
		c := newJiraClient(t, api, false)
		got := searchComments(t, c, "GET", "/rest/api/2/search?jql=project%3DA&fields=comment", nil)
		if a1 := got["A-1"]; a1.Total != 25 || len(a1.Comments) != 25 || a1.Comments[24].Author["name"] != "alice" {
			t.Fatalf("DC A-1 comment field: total %d, %d comments, want all 25 by user name", a1.Total, len(a1.Comments))
		}
		var p jiraCommentPage
		c.json("GET", "/rest/api/2/issue/A-1/comment?startAt=20", nil, &p)
		if p.Total != 25 || len(p.Comments) != 5 || p.Comments[0].ID != "10021" {
			t.Fatalf("DC comment page at 20: %+v", p)
		}
		if st, _, _ := c.do("GET", "/rest/api/3/issue/A-1/comment", nil); st != http.StatusNotFound {
			t.Fatalf("DC v3 comment endpoint: %d, want 404", st)
		}
		if n := api.CountByEndpoint()[EndpointIssueComment+" 200"]; n != 1 {
			t.Fatalf("request log: %d %s 200, want 1 (%v)", n, EndpointIssueComment, api.CountByEndpoint())
		}
	})
}

// TestJiraCommentsSearchLag: a comment younger than the search lag is not
// in search results yet (the issue's older state is), but the comment
// endpoint has it.
func TestJiraCommentsSearchLag(t *testing.T) {
	s, clock := newJiraTestSite(t, 1)
	clock.Set(jiraT0.Add(10 * time.Hour))
	api := NewAPI(s, Options{Users: map[string]string{"bot@example.com": "tok"}, SearchLag: 2 * time.Minute})
	c := newJiraClient(t, api, true)
	if _, err := s.AddComment("A-1", "acc-bob", "on it", clock.Now()); err != nil {
		t.Fatal(err)
	}
	total := func() int {
		var p struct {
			Issues []struct {
				Fields struct {
					Comment jiraCommentPage `json:"comment"`
				} `json:"fields"`
			} `json:"issues"`
		}
		c.json("POST", "/rest/api/3/search/jql", map[string]any{"jql": "key = A-1", "fields": []string{"comment"}}, &p)
		if len(p.Issues) != 1 {
			t.Fatalf("%d issues", len(p.Issues))
		}
		return p.Issues[0].Fields.Comment.Total
	}
	if n := total(); n != 0 {
		t.Fatalf("within the lag: %d comments, want 0", n)
	}
	var p jiraCommentPage
	c.json("GET", "/rest/api/3/issue/A-1/comment", nil, &p)
	if p.Total != 1 {
		t.Fatalf("comment endpoint total = %d, want 1", p.Total)
	}
	clock.Advance(2 * time.Minute)
	if n := total(); n != 1 {
		t.Fatalf("after the lag: %d comments, want 1", n)
	}
}

// TestJiraCommentShapeMatchesFixture: a comment the fake serves has every
// key of the comment in Atlassian's search/jql example except visibility
// (restricted comments, which the site does not model), with an ADF body
// on v3 as in the example of the v3 search.
func TestJiraCommentShapeMatchesFixture(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "jira")
	if _, err := os.Stat(dir); err != nil {
		dir = filepath.Join("testdata")
	}
	b, err := os.ReadFile(filepath.Join(dir, "atlassian-openapi-examples", "search-legacy-deprecated.GET.200.json"))
	if err != nil {
		t.Skipf("fixtures not available: %v", err)
	}
	var fx struct {
		Issues []struct {
			Fields struct {
				Comment []map[string]any `json:"comment"`
			} `json:"fields"`
		} `json:"issues"`
	}
	if err := json.Unmarshal(b, &fx); err != nil || len(fx.Issues) == 0 || len(fx.Issues[0].Fields.Comment) == 0 {
		t.Fatalf("fixture has no comment: %v", err)
	}
	want := fx.Issues[0].Fields.Comment[0]
	s, _ := newJiraTestSite(t, 1)
	if _, err := s.AddComment("A-1", "acc-bob", "hello", jiraT0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c := newJiraClient(t, cloudAPI(s, fakeapi.Faults{}), true)
	var got struct {
		Comments []map[string]any `json:"comments"`
	}
	c.json("GET", "/rest/api/3/issue/A-1/comment", nil, &got)
	if len(got.Comments) != 1 {
		t.Fatalf("%d comments", len(got.Comments))
	}
	g := got.Comments[0]
	for k := range want {
		if _, ok := g[k]; !ok && k != "visibility" {
			t.Errorf("comment: key %q of the fixture missing (fake has %v)", k, g)
		}
	}
	for k := range want["author"].(map[string]any) {
		if _, ok := g["author"].(map[string]any)[k]; !ok {
			t.Errorf("comment author: key %q of the fixture missing", k)
		}
	}
	wb, gb := want["body"].(map[string]any), g["body"].(map[string]any)
	if wb["type"] != gb["type"] || wb["version"] != gb["version"] {
		t.Errorf("v3 body = %v, want an ADF document like %v", gb, wb)
	}
}
