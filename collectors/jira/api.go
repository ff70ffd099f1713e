package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/crossteam/crossteam/internal/cpulane"
)

// Wire types of the endpoints go-jira v1.17.0 does not model (or models
// without what crossteam needs: changelog total, fieldId, epoch `created`).

// searchJQLRequest is the body of POST /rest/api/3/search/jql. Fields and
// Expand are re-sent on every page (the endpoint forgets them).
type searchJQLRequest struct {
	JQL           string   `json:"jql"`
	NextPageToken string   `json:"nextPageToken,omitempty"`
	MaxResults    int      `json:"maxResults"`
	Fields        []string `json:"fields"`
	Expand        string   `json:"expand,omitempty"`
}

// searchJQLPage is a search/jql answer: no total, a token until isLast.
type searchJQLPage struct {
	Issues        []rawIssue `json:"issues"`
	IsLast        bool       `json:"isLast"`
	NextPageToken string     `json:"nextPageToken"`
}

// searchDCPage is a Data Center /rest/api/2/search answer.
type searchDCPage struct {
	StartAt    int        `json:"startAt"`
	MaxResults int        `json:"maxResults"`
	Total      int        `json:"total"`
	Issues     []rawIssue `json:"issues"`
}

// rawIssue keeps fields undecoded: the team field's key is only known at
// run time, and a bad field must be reported by name.
type rawIssue struct {
	ID        string                     `json:"id"`
	Key       string                     `json:"key"`
	Fields    map[string]json.RawMessage `json:"fields"`
	Changelog *changelog                 `json:"changelog"`
}

// changelog is IssueBean.changelog (PageOfChangelogs): go-jira's Changelog
// has no total, so truncation could not be seen.
type changelog struct {
	StartAt    int       `json:"startAt"`
	MaxResults int       `json:"maxResults"`
	Total      int       `json:"total"`
	Histories  []history `json:"histories"`
}

type history struct {
	ID      string     `json:"id"`
	Author  *user      `json:"author"`
	Created flexTime   `json:"created"`
	Items   []histItem `json:"items"`
}

// histItem keeps fieldId (absent from go-jira's ChangelogItems).
type histItem struct {
	Field      string  `json:"field"`
	FieldType  string  `json:"fieldtype"`
	FieldID    string  `json:"fieldId"`
	From       *string `json:"from"`
	FromString *string `json:"fromString"`
	To         *string `json:"to"`
	ToString   *string `json:"toString"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// commentPage is the comment field of a searched issue (PageOfComments)
// and the answer of GET /issue/{key}/comment. Cloud's search/jql embeds at
// most 20 comments; total tells whether some were cut.
type commentPage struct {
	StartAt    int       `json:"startAt"`
	MaxResults int       `json:"maxResults"`
	Total      int       `json:"total"`
	Comments   []comment `json:"comments"`
}

// UnmarshalJSON also takes a bare array of comments, the form Atlassian's
// own OpenAPI search examples show for fields.comment (all there is).
func (p *commentPage) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var list []comment
		if err := json.Unmarshal(t, &list); err != nil {
			return err
		}
		*p = commentPage{MaxResults: len(list), Total: len(list), Comments: list}
		return nil
	}
	type plain commentPage
	return json.Unmarshal(b, (*plain)(p))
}

// comment keeps what the mapping reads; the body (a string on v2, an ADF
// document on v3) is not decoded.
type comment struct {
	ID      string   `json:"id"`
	Author  *user    `json:"author"`
	Created flexTime `json:"created"`
}

type bulkRequest struct {
	IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
	FieldIDs       []string `json:"fieldIds,omitempty"`
	MaxResults     int      `json:"maxResults"`
	NextPageToken  string   `json:"nextPageToken,omitempty"`
}

type bulkPage struct {
	IssueChangeLogs []struct {
		IssueID         string    `json:"issueId"`
		ChangeHistories []history `json:"changeHistories"`
	} `json:"issueChangeLogs"`
	NextPageToken string `json:"nextPageToken"`
}

type user struct {
	AccountID    string `json:"accountId"`
	Name         string `json:"name"`
	Key          string `json:"key"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
}

type statusCategory struct {
	Key string `json:"key"`
}

type status struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	StatusCategory statusCategory `json:"statusCategory"`
}

type field struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Custom bool   `json:"custom"`
}

type issueType struct {
	Name           string `json:"name"`
	Subtask        bool   `json:"subtask"`
	HierarchyLevel *int   `json:"hierarchyLevel"`
}

// isEpic: hierarchy level 1 (Cloud and recent DC), else the type name.
func (t *issueType) isEpic() bool {
	if t == nil {
		return false
	}
	if t.HierarchyLevel != nil {
		return *t.HierarchyLevel == 1
	}
	return strings.EqualFold(t.Name, "epic")
}

type version struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Released    bool   `json:"released"`
	ReleaseDate string `json:"releaseDate"`
}

type named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type parentRef struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Summary   string     `json:"summary"`
		IssueType *issueType `json:"issuetype"`
	} `json:"fields"`
}

// flexTime is a changelog `created`: an ISO string
// ("2024-03-05T14:07:09.123+0000") everywhere except changelog bulkfetch,
// whose documented example is an epoch-milliseconds number.
type flexTime struct{ time.Time }

// Layouts of Jira date-times seen in the wild.
var timeLayouts = []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05.999-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano}

func parseJiraTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a Jira date-time", s)
}

func (t *flexTime) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch {
	case s == "null" || s == `""`:
		t.Time = time.Time{}
		return nil
	case strings.HasPrefix(s, `"`):
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			t.Time = time.UnixMilli(ms).UTC()
			return nil
		}
		p, err := parseJiraTime(v)
		t.Time = p
		return err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("created %s is neither a date-time string nor an epoch number", s)
	}
	t.Time = time.UnixMilli(int64(f)).UTC()
	return nil
}

// decodeAttempts bounds how often one request is sent when its 2xx answer
// does not decode (see call).
const decodeAttempts = 3

// apiError is a non-2xx Jira answer, with Jira's errorMessages.
type apiError struct {
	Status   int
	Messages []string
	Path     string
}

func (e *apiError) Error() string {
	msg := strings.Join(e.Messages, "; ")
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s: HTTP %d: %s", e.Path, e.Status, msg)
}

// Errors a sync can end with; tests and callers match them with errors.Is.
var (
	ErrDeployment = errors.New("wrong deployment")
	ErrAuth       = errors.New("authentication failed")
	ErrJQL        = errors.New("JQL rejected")
)

// call sends one request through go-jira and decodes a 2xx JSON answer into
// out. Non-2xx answers become *apiError (wrapped with a hint for 401/403,
// 404/410 and 400); the body of an error answer is read for Jira's
// errorMessages, never echoed with credentials (requests carry them only in
// headers).
//
// A 2xx answer whose body does not decode (cut or garbled on the way) is
// asked again, at most decodeAttempts times in all: every request crossteam
// sends reads, so repeating one is safe, and a sync that needs many
// requests (comment completions) would otherwise rarely finish on a flaky
// link. Each attempt decodes into a fresh value, so a partial decode never
// leaks into the result.
func (c *Collector) call(ctx context.Context, method, path string, body, out any) error {
	var resp *gojira.Response
	var err error
	for attempt := 1; ; attempt++ {
		var req *http.Request
		req, err = c.client.NewRequestWithContext(ctx, method, path, body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		var dst any
		var fresh reflect.Value
		if out != nil {
			fresh = reflect.New(reflect.TypeOf(out).Elem())
			dst = fresh.Interface()
		}
		resp, err = c.client.Do(req, nil)
		if err == nil {
			err = cpulane.Decode(ctx, resp.Body, dst) // read whole, then decoded in the CPU lane
		}
		if err == nil {
			if out != nil {
				reflect.ValueOf(out).Elem().Set(fresh.Elem())
			}
			return nil
		}
		decodeFailed := resp != nil && resp.Response != nil && resp.StatusCode >= 200 && resp.StatusCode < 300
		if !decodeFailed || attempt >= decodeAttempts || ctx.Err() != nil {
			break
		}
		c.logger.Debug("answer did not decode; asking again", "path", strings.SplitN(path, "?", 2)[0], "attempt", attempt, "err", err)
	}
	if resp == nil || resp.Response == nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	ae := &apiError{Status: resp.StatusCode, Path: strings.SplitN(path, "?", 2)[0]}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		var je struct {
			ErrorMessages []string          `json:"errorMessages"`
			Errors        map[string]string `json:"errors"`
		}
		if json.Unmarshal(b, &je) == nil {
			ae.Messages = je.ErrorMessages
			for k, v := range je.Errors {
				ae.Messages = append(ae.Messages, k+": "+v)
			}
		}
	}
	bare, _, _ := strings.Cut(path, "?")
	switch {
	case ae.Status == http.StatusGone && strings.HasSuffix(bare, "/search"):
		return fmt.Errorf("%w: the site answered 410 Gone for %s, the search API that Jira Cloud removed (CHANGE-2046): "+
			"this is a Jira Cloud site, set `deployment: cloud` for this target: %w", ErrDeployment, bare, ae)
	case ae.Status == http.StatusNotFound && c.cloud && (strings.HasPrefix(bare, "rest/api/3/") || strings.HasSuffix(bare, "/search/jql")):
		return fmt.Errorf("%w: the site has no %s: if this is Jira Server or Data Center, set `deployment: datacenter` for this target: %w",
			ErrDeployment, path, ae)
	case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
		how := "the email and API token (Cloud)"
		if !c.cloud {
			how = "the personal access token (Data Center)"
		}
		return fmt.Errorf("%w (HTTP %d on %s): check %s and the Browse projects permission", ErrAuth, ae.Status, bare, how)
	case ae.Status == http.StatusBadRequest && strings.Contains(path, "search"):
		return fmt.Errorf("%w by Jira: %q: %w", ErrJQL, strings.Join(ae.Messages, "; "), ae)
	}
	return ae
}

// newClient builds the go-jira client over the auth and rate transports.
func newClient(baseURL string, rt http.RoundTripper) (*gojira.Client, error) {
	return gojira.NewClient(&http.Client{Transport: rt}, baseURL)
}
