// Package fakegrafana is an in-process Grafana HTTP API for tests: the
// subset crossteam's dashboard push uses, with the documented semantics
// (grafana/grafana docs/sources/developers/http_api): folders answer 409
// when the uid or title is taken; POST /api/dashboards/db answers 412
// version-mismatch without overwrite, 412 name-exists for a title taken in
// the folder (with overwrite, Grafana takes over that dashboard and its
// uid), 412 plugin-dashboard, 400 for a file-provisioned dashboard, moves a
// dashboard to the root when folderUid is omitted, and adds a version per
// save. Every call but /api/health needs the token. Faults inject answers.
package fakegrafana

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Datasource is a datasource Grafana knows.
type Datasource struct {
	UID       string `json:"uid"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	IsDefault bool   `json:"isDefault"`
}

// Dashboard is a stored dashboard.
type Dashboard struct {
	Model       map[string]any
	FolderUID   string
	Version     int
	Provisioned bool
	PluginID    string
	Messages    []string // one per save, the version history's messages
}

// Folder is a stored folder.
type Folder struct {
	UID, Title string
	Version    int
}

type fault struct {
	code  int
	body  string
	times int
}

// Grafana is the fake. Zero value is not usable; call New.
type Grafana struct {
	mu          sync.Mutex
	token       string
	basic       [2]string
	folders     map[string]*Folder
	dashboards  map[string]*Dashboard
	datasources []Datasource
	faults      map[string]*fault
	requests    []string
	nextID      int
}

// New returns a Grafana that accepts the bearer token.
func New(token string) *Grafana {
	return &Grafana{token: token, folders: map[string]*Folder{}, dashboards: map[string]*Dashboard{}, faults: map[string]*fault{}}
}

// AllowBasicAuth also accepts user:password.
func (g *Grafana) AllowBasicAuth(user, password string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.basic = [2]string{user, password}
}

// AddDatasource registers a datasource.
func (g *Grafana) AddDatasource(d Datasource) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.datasources = append(g.datasources, d)
}

// AddFolder creates a folder directly.
func (g *Grafana) AddFolder(uid, title string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.folders[uid] = &Folder{UID: uid, Title: title, Version: 1}
}

// PutDashboard stores a dashboard directly (as the UI, a plugin or file
// provisioning would).
func (g *Grafana) PutDashboard(uid, title, folderUID string, provisioned bool, pluginID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	g.dashboards[uid] = &Dashboard{
		Model:     map[string]any{"id": float64(g.nextID), "uid": uid, "title": title, "version": float64(1)},
		FolderUID: folderUID, Version: 1, Provisioned: provisioned, PluginID: pluginID,
	}
}

// EditDashboard changes a stored dashboard's model as a UI edit would.
func (g *Grafana) EditDashboard(uid string, edit func(model map[string]any)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.dashboards[uid]
	edit(d.Model)
	d.Version++
	d.Model["version"] = float64(d.Version)
}

// MoveDashboard moves a stored dashboard to another folder, as the UI would.
func (g *Grafana) MoveDashboard(uid, folderUID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dashboards[uid].FolderUID = folderUID
}

// Dashboard returns a copy of a stored dashboard.
func (g *Grafana) Dashboard(uid string) (Dashboard, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d, ok := g.dashboards[uid]
	if !ok {
		return Dashboard{}, false
	}
	c := *d
	c.Messages = append([]string(nil), d.Messages...)
	return c, true
}

// Folders returns the folder uids, sorted.
func (g *Grafana) Folders() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for uid := range g.folders {
		out = append(out, uid)
	}
	sort.Strings(out)
	return out
}

// Fail makes the next times requests "METHOD /path" answer code and body.
func (g *Grafana) Fail(methodPath string, code int, body string, times int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults[methodPath] = &fault{code: code, body: body, times: times}
}

// Requests returns "METHOD /path" of every request so far.
func (g *Grafana) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

// Count returns how many requests matched "METHOD /path".
func (g *Grafana) Count(methodPath string) int {
	n := 0
	for _, r := range g.Requests() {
		if r == methodPath {
			n++
		}
	}
	return n
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func msg(w http.ResponseWriter, code int, message, status string) {
	body := map[string]string{"message": message}
	if status != "" {
		body["status"] = status
	}
	reply(w, code, body)
}

func (g *Grafana) authorized(r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bearer "+g.token && g.token != "" {
		return true
	}
	u, p, ok := r.BasicAuth()
	return ok && g.basic[0] != "" && u == g.basic[0] && p == g.basic[1]
}

// ServeHTTP implements the API.
func (g *Grafana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := r.Method + " " + r.URL.Path
	g.requests = append(g.requests, key)
	if f, ok := g.faults[key]; ok && f.times > 0 {
		f.times--
		w.WriteHeader(f.code)
		_, _ = w.Write([]byte(f.body))
		return
	}
	if r.URL.Path == "/api/health" && r.Method == http.MethodGet {
		reply(w, 200, map[string]string{"commit": "fake", "database": "ok", "version": "11.3.0"})
		return
	}
	if !g.authorized(r) {
		msg(w, http.StatusUnauthorized, "Unauthorized", "")
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/folders/"):
		f, ok := g.folders[strings.TrimPrefix(r.URL.Path, "/api/folders/")]
		if !ok {
			msg(w, http.StatusNotFound, "folder not found", "")
			return
		}
		reply(w, 200, folderJSON(f))
	case r.Method == http.MethodPost && r.URL.Path == "/api/folders":
		g.createFolder(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/api/datasources":
		reply(w, 200, g.datasources)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/dashboards/uid/"):
		d, ok := g.dashboards[strings.TrimPrefix(r.URL.Path, "/api/dashboards/uid/")]
		if !ok {
			msg(w, http.StatusNotFound, "Dashboard not found", "")
			return
		}
		reply(w, 200, map[string]any{"dashboard": d.Model, "meta": map[string]any{
			"folderUid": d.FolderUID, "provisioned": d.Provisioned, "version": d.Version}})
	case r.Method == http.MethodPost && r.URL.Path == "/api/dashboards/db":
		g.saveDashboard(w, r)
	default:
		msg(w, http.StatusNotFound, "Not found", "")
	}
}

func folderJSON(f *Folder) map[string]any {
	return map[string]any{"uid": f.UID, "title": f.Title, "url": "/dashboards/f/" + f.UID, "version": f.Version}
}

func (g *Grafana) createFolder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Title == "" {
		msg(w, http.StatusBadRequest, "bad request data", "")
		return
	}
	if _, ok := g.folders[req.UID]; ok {
		msg(w, http.StatusConflict, "a folder with the same uid already exists", "")
		return
	}
	for _, f := range g.folders {
		if f.Title == req.Title {
			msg(w, http.StatusConflict, "a folder or dashboard in the general folder with the same name already exists", "")
			return
		}
	}
	f := &Folder{UID: req.UID, Title: req.Title, Version: 1}
	g.folders[req.UID] = f
	reply(w, 200, folderJSON(f))
}

func (g *Grafana) saveDashboard(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Dashboard map[string]any `json:"dashboard"`
		FolderUID string         `json:"folderUid"`
		Message   string         `json:"message"`
		Overwrite bool           `json:"overwrite"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Dashboard == nil {
		msg(w, http.StatusBadRequest, fmt.Sprintf("bad request data: %v", err), "")
		return
	}
	uid, _ := req.Dashboard["uid"].(string)
	title, _ := req.Dashboard["title"].(string)
	if len(uid) > 40 {
		msg(w, http.StatusBadRequest, "uid too long, max 40 characters", "")
		return
	}
	if title == "" {
		msg(w, http.StatusBadRequest, "Dashboard title cannot be empty", "")
		return
	}
	if req.FolderUID != "" {
		if _, ok := g.folders[req.FolderUID]; !ok {
			msg(w, http.StatusBadRequest, "folder not found", "")
			return
		}
	}
	existing, ok := g.dashboards[uid]
	if !ok {
		for otherUID, d := range g.dashboards {
			if d.FolderUID == req.FolderUID && d.Model["title"] == title {
				if !req.Overwrite {
					msg(w, http.StatusPreconditionFailed, "A dashboard with the same name in the folder already exists", "name-exists")
					return
				}
				// Grafana takes over the same-titled dashboard, uid and all.
				existing, uid = d, otherUID
				req.Dashboard["uid"] = uid
				break
			}
		}
	}
	if existing != nil {
		if existing.Provisioned {
			msg(w, http.StatusBadRequest, "Cannot save provisioned dashboard", "")
			return
		}
		if existing.PluginID != "" && !req.Overwrite {
			msg(w, http.StatusPreconditionFailed, "The dashboard belongs to plugin "+existing.PluginID+".", "plugin-dashboard")
			return
		}
		if v, _ := req.Dashboard["version"].(float64); !req.Overwrite && int(v) != existing.Version {
			msg(w, http.StatusPreconditionFailed, "The dashboard has been changed by someone else", "version-mismatch")
			return
		}
	}
	d := existing
	if d == nil {
		g.nextID++
		d = &Dashboard{}
		req.Dashboard["id"] = float64(g.nextID)
		g.dashboards[uid] = d
	} else {
		req.Dashboard["id"] = d.Model["id"]
	}
	d.Version++
	req.Dashboard["version"] = float64(d.Version)
	d.Model = req.Dashboard
	d.FolderUID = req.FolderUID // omitted: moved to the root
	d.Messages = append(d.Messages, req.Message)
	reply(w, 200, map[string]any{"id": d.Model["id"], "uid": uid, "url": "/d/" + uid, "status": "success", "version": d.Version, "slug": strings.ToLower(strings.ReplaceAll(title, " ", "-"))})
}
