// Package grafana pushes crossteam's dashboards to a running Grafana through
// its HTTP API: health check, a folder with a fixed uid (created or
// reused), datasource lookup, then one upsert per dashboard into that folder
// by folderUid, with overwrite and a commit-style message.
//
// grafana-tools/sdk's client does the health, folder and datasource calls.
// Its dashboard calls cannot send folderUid or a message, lose the 412
// status, and dereference a nil message on a non-200 answer (a 500 with an
// empty JSON body panics), so dashboards go through a small typed request
// here, and every sdk call is guarded. A push is idempotent: a dashboard
// whose stored JSON and folder already match is left alone, so a second
// run changes nothing (Grafana would otherwise add a version per save).
//
// Use the API for Grafanas you do not provision from files: Grafana refuses
// to save a file-provisioned dashboard through the API.
package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/grafana-tools/sdk"
)

// Dashboard is one dashboard to push.
type Dashboard struct {
	UID   string
	Title string
	JSON  []byte // the generated dashboard model
}

// Config says where and how to push.
type Config struct {
	URL         string // Grafana base URL, e.g. https://grafana.example.com
	Token       string // service-account token, or user:password for basic auth; never logged
	FolderUID   string
	FolderTitle string
	// Datasource names the Prometheus datasource (uid or name) the
	// dashboards' datasource variable should default to. When Grafana has
	// none by that uid or name, its default Prometheus datasource is used.
	Datasource string
	Message    string // version message recorded with every saved dashboard
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Result says what a push did.
type Result struct {
	GrafanaVersion string
	FolderCreated  bool
	Datasource     string   // uid the dashboards default to
	Created        []string // dashboard uids
	Updated        []string
	Unchanged      []string
}

// Push makes Grafana hold exactly the given dashboards in the folder.
func Push(ctx context.Context, cfg Config, boards []Dashboard) (Result, error) {
	var res Result
	c, err := newClient(cfg)
	if err != nil {
		return res, err
	}
	if res.GrafanaVersion, err = c.health(ctx); err != nil {
		return res, err
	}
	if res.FolderCreated, err = c.ensureFolder(ctx, cfg.FolderUID, cfg.FolderTitle); err != nil {
		return res, err
	}
	ds, err := c.findDatasource(ctx, cfg.Datasource)
	if err != nil {
		return res, err
	}
	res.Datasource = ds.UID
	for _, b := range boards {
		model, err := withDatasource(b.JSON, ds)
		if err != nil {
			return res, fmt.Errorf("dashboard %s: %w", b.UID, err)
		}
		outcome, err := c.upsert(ctx, b, model, cfg.FolderUID, cfg.Message)
		if err != nil {
			return res, err
		}
		switch outcome {
		case created:
			res.Created = append(res.Created, b.UID)
		case updated:
			res.Updated = append(res.Updated, b.UID)
		default:
			res.Unchanged = append(res.Unchanged, b.UID)
		}
		c.logger.Info("dashboard pushed", "uid", b.UID, "outcome", outcome.String())
	}
	return res, nil
}

type client struct {
	base   *url.URL
	http   *http.Client
	sdk    *sdk.Client
	logger *slog.Logger
}

// authTransport adds the credentials to every request (the sdk's and
// ours), so the token never sits in a URL or an error message.
type authTransport struct {
	token string
	next  http.RoundTripper
}

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if user, pass, ok := strings.Cut(a.token, ":"); ok {
		r.SetBasicAuth(user, pass)
	} else if a.token != "" {
		r.Header.Set("Authorization", "Bearer "+a.token)
	}
	return a.next.RoundTrip(r)
}

func newClient(cfg Config) (*client, error) {
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("grafana URL %q: want http(s)://host[:port][/path]", cfg.URL)
	}
	if base.User != nil {
		return nil, errors.New("grafana URL: put credentials in CROSSTEAM_GRAFANA_TOKEN or --grafana.token-file, not in the URL")
	}
	if cfg.FolderUID == "" || len(cfg.FolderUID) > 40 {
		return nil, fmt.Errorf("folder uid %q: want 1 to 40 characters", cfg.FolderUID)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	authed := *hc
	authed.Transport = authTransport{token: cfg.Token, next: next}
	s, err := sdk.NewClient(base.String(), "", &authed)
	if err != nil {
		return nil, fmt.Errorf("grafana URL %q: %w", cfg.URL, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &client{base: base, http: &authed, sdk: s, logger: logger}, nil
}

// guard runs an sdk call, turning a panic inside it into an error.
func guard[T any](what string, f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: grafana client failed on Grafana's answer: %v", what, r)
		}
	}()
	v, err = f()
	if err != nil {
		err = fmt.Errorf("%s: %w", what, sdkError(err))
	}
	return v, err
}

// sdkHTTPError matches the sdk's "HTTP error <code>: returns <body>".
var sdkHTTPError = regexp.MustCompile(`(?s)^HTTP error (\d+): returns (.*)$`)

// APIError is a non-2xx answer from Grafana.
type APIError struct {
	Code    int
	Status  string // Grafana's "status" field, e.g. version-mismatch
	Message string
	Hint    string // what it means for a crossteam push
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Code)
	if e.Status != "" {
		fmt.Fprintf(&b, " (%s)", e.Status)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else {
		b.WriteString(" with no message")
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "; %s", e.Hint)
	}
	return b.String()
}

// parseAPIError reads Grafana's error body {"message", "status"}.
func parseAPIError(code int, body []byte) *APIError {
	e := &APIError{Code: code}
	var m struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	if json.Unmarshal(body, &m) == nil {
		e.Message, e.Status = m.Message, m.Status
	} else if s := strings.TrimSpace(string(body)); s != "" {
		const max = 200 // an HTML error page from a proxy, cut
		if len(s) > max {
			s = s[:max] + "…"
		}
		e.Message = s
	}
	switch code {
	case http.StatusUnauthorized:
		e.Hint = "the token was refused; check CROSSTEAM_GRAFANA_TOKEN or --grafana.token-file"
	case http.StatusForbidden:
		e.Hint = "the token lacks permission; it needs the Editor role (folders and dashboards) in the organisation"
	}
	return e
}

func sdkError(err error) error {
	if m := sdkHTTPError.FindStringSubmatch(err.Error()); m != nil {
		code, _ := strconv.Atoi(m[1])
		return parseAPIError(code, []byte(m[2]))
	}
	return err
}

func codeOf(err error) int {
	var a *APIError
	if errors.As(err, &a) {
		return a.Code
	}
	return 0
}

func (c *client) health(ctx context.Context) (string, error) {
	h, err := guard("grafana health check", func() (sdk.HealthResponse, error) { return c.sdk.GetHealth(ctx) })
	if err != nil {
		return "", err
	}
	// The sdk decodes any answer, even a 500; a healthy Grafana says so.
	if h.Database != "ok" {
		return "", fmt.Errorf("grafana health check: database %q, want \"ok\" (is %s a Grafana?)", h.Database, c.base.Redacted())
	}
	return h.Version, nil
}

// ensureFolder reuses the folder with the fixed uid or creates it.
func (c *client) ensureFolder(ctx context.Context, uid, title string) (created bool, err error) {
	f, err := guard("folder "+uid, func() (sdk.Folder, error) { return c.sdk.GetFolderByUID(ctx, uid) })
	if err == nil {
		if f.UID != uid {
			return false, fmt.Errorf("folder %s: Grafana answered with folder %q", uid, f.UID)
		}
		return false, nil
	}
	if codeOf(err) != http.StatusNotFound {
		return false, err
	}
	_, err = guard("creating folder "+uid, func() (sdk.Folder, error) {
		return c.sdk.CreateFolder(ctx, sdk.Folder{UID: uid, Title: title})
	})
	if err == nil {
		c.logger.Info("folder created", "uid", uid, "title", title)
		return true, nil
	}
	if codeOf(err) != http.StatusConflict {
		return false, err
	}
	// 409: created meanwhile (then it is ours to reuse), or another folder
	// already has the title.
	if _, gerr := guard("folder "+uid, func() (sdk.Folder, error) { return c.sdk.GetFolderByUID(ctx, uid) }); gerr == nil {
		return false, nil
	}
	return false, fmt.Errorf("%w; a folder titled %q probably exists with another uid: rename it, or pass --grafana.folder-uid with its uid", err, title)
}

// findDatasource picks the Prometheus datasource the dashboards default to.
func (c *client) findDatasource(ctx context.Context, want string) (sdk.Datasource, error) {
	all, err := guard("listing datasources", func() ([]sdk.Datasource, error) { return c.sdk.GetAllDatasources(ctx) })
	if err != nil {
		return sdk.Datasource{}, err
	}
	var proms []string
	var def *sdk.Datasource
	for i, d := range all {
		if d.Type != "prometheus" {
			continue
		}
		if d.UID == want || d.Name == want {
			return d, nil
		}
		proms = append(proms, fmt.Sprintf("%s (uid %s)", d.Name, d.UID))
		if d.IsDefault {
			def = &all[i]
		}
	}
	if def != nil {
		return *def, nil
	}
	if len(proms) == 1 {
		for _, d := range all {
			if d.Type == "prometheus" {
				return d, nil
			}
		}
	}
	if len(proms) == 0 {
		return sdk.Datasource{}, fmt.Errorf("datasource %q: Grafana has no Prometheus datasource; add one that scrapes crossteam", want)
	}
	return sdk.Datasource{}, fmt.Errorf("datasource %q: not found and no default among the Prometheus datasources %s; pass --grafana.datasource", want, strings.Join(proms, ", "))
}

// withDatasource sets the dashboard's datasource variable to default to ds.
func withDatasource(model []byte, ds sdk.Datasource) (json.RawMessage, error) {
	var d map[string]any
	if err := json.Unmarshal(model, &d); err != nil {
		return nil, fmt.Errorf("decoding the dashboard: %w", err)
	}
	templating, _ := d["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	found := false
	for _, v := range list {
		v, _ := v.(map[string]any)
		if v["type"] == "datasource" && v["name"] == "datasource" {
			v["current"] = map[string]any{"text": ds.Name, "value": ds.UID}
			found = true
		}
	}
	if !found {
		return nil, errors.New("no datasource variable")
	}
	return json.Marshal(d)
}

type outcome int

const (
	unchanged outcome = iota
	created
	updated
)

func (o outcome) String() string {
	return [...]string{"unchanged", "created", "updated"}[o]
}

// storedDashboard is GET /api/dashboards/uid/:uid.
type storedDashboard struct {
	Dashboard map[string]any `json:"dashboard"`
	Meta      struct {
		FolderUID   string `json:"folderUid"`
		Provisioned bool   `json:"provisioned"`
		Version     int    `json:"version"`
	} `json:"meta"`
}

// saveRequest is POST /api/dashboards/db, with the fields the sdk lacks.
type saveRequest struct {
	Dashboard json.RawMessage `json:"dashboard"`
	FolderUID string          `json:"folderUid"`
	Message   string          `json:"message,omitempty"`
	Overwrite bool            `json:"overwrite"`
}

type saveResponse struct {
	UID     string `json:"uid"`
	Version int    `json:"version"`
	Status  string `json:"status"`
}

func (c *client) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading Grafana's answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseAPIError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding Grafana's answer (HTTP %d): %w", resp.StatusCode, err)
	}
	return nil
}

// sameModel says whether Grafana's stored model equals ours, ignoring the
// fields Grafana sets itself.
func sameModel(stored map[string]any, ours json.RawMessage) bool {
	var o map[string]any
	if json.Unmarshal(ours, &o) != nil {
		return false
	}
	strip := func(m map[string]any) map[string]any {
		c := make(map[string]any, len(m))
		for k, v := range m {
			if k != "id" && k != "version" {
				c[k] = v
			}
		}
		return c
	}
	return reflect.DeepEqual(strip(stored), strip(o))
}

func (c *client) upsert(ctx context.Context, b Dashboard, model json.RawMessage, folderUID, message string) (outcome, error) {
	what := fmt.Sprintf("dashboard %s (%q)", b.UID, b.Title)
	var stored storedDashboard
	err := c.do(ctx, http.MethodGet, "/api/dashboards/uid/"+url.PathEscape(b.UID), nil, &stored)
	exists := err == nil
	if err != nil && codeOf(err) != http.StatusNotFound {
		return 0, fmt.Errorf("%s: reading the stored version: %w", what, err)
	}
	if exists {
		if stored.Meta.Provisioned {
			return 0, fmt.Errorf("%s: it is provisioned from files in this Grafana, which refuses API saves; push with another --grafana.folder-uid to a Grafana that does not provision crossteam's files, or drop the file provider", what)
		}
		if stored.Meta.FolderUID == folderUID && sameModel(stored.Dashboard, model) {
			return unchanged, nil
		}
	}
	var resp saveResponse
	err = c.do(ctx, http.MethodPost, "/api/dashboards/db", saveRequest{Dashboard: model, FolderUID: folderUID, Message: message, Overwrite: true}, &resp)
	if err != nil {
		explainSave(err)
		return 0, fmt.Errorf("%s: saving: %w", what, err)
	}
	if resp.UID != b.UID {
		return 0, fmt.Errorf("%s: Grafana saved it under uid %q", what, resp.UID)
	}
	if exists {
		return updated, nil
	}
	return created, nil
}

// explainSave adds what a refused save means for a crossteam push.
func explainSave(err error) {
	var a *APIError
	if !errors.As(err, &a) {
		return
	}
	switch {
	case a.Code == http.StatusPreconditionFailed && a.Status == "version-mismatch":
		a.Hint = "someone saved a newer version meanwhile; run the push again to overwrite it"
	case a.Code == http.StatusPreconditionFailed && a.Status == "name-exists":
		a.Hint = "another dashboard in the folder has this title; rename or move it (crossteam keys its dashboards by uid)"
	case a.Code == http.StatusPreconditionFailed && a.Status == "plugin-dashboard":
		a.Hint = "a plugin owns a dashboard with this uid; remove the plugin's dashboard first"
	case strings.Contains(strings.ToLower(a.Message), "provisioned"):
		a.Hint = "the dashboard is provisioned from files in this Grafana, which refuses API saves; use one way or the other per Grafana"
	case a.Code == http.StatusPreconditionFailed:
		a.Hint = "Grafana refused the save for a precondition it did not name"
	case a.Code >= 500 && a.Message == "":
		a.Hint = "Grafana failed without saying why; see its server log"
	}
}
