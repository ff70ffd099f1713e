package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/crossteam/crossteam/dashboards"
	"github.com/crossteam/crossteam/dashboards/grafana/fakegrafana"
)

const token = "glsa_s3cr3t-token-value"

// boards renders the real generated dashboards.
func boards(t *testing.T) []Dashboard {
	t.Helper()
	var out []Dashboard
	for _, b := range dashboards.Boards {
		data, err := b.Render()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Dashboard{UID: b.UID, Title: b.Title, JSON: data})
	}
	return out
}

func setup(t *testing.T) (*fakegrafana.Grafana, Config) {
	t.Helper()
	g := fakegrafana.New(token)
	g.AddDatasource(fakegrafana.Datasource{UID: "loki", Name: "Loki", Type: "loki", IsDefault: true})
	g.AddDatasource(fakegrafana.Datasource{UID: "prom-main", Name: "Prometheus main", Type: "prometheus", IsDefault: true})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, Config{URL: srv.URL, Token: token, FolderUID: dashboards.FolderUID, FolderTitle: dashboards.FolderTitle,
		Datasource: dashboards.DatasourceUID, Message: "crossteam v1.2.3 (abc123)", HTTPClient: srv.Client()}
}

func uids(bs []Dashboard) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.UID)
	}
	return out
}

func datasourceCurrent(t *testing.T, model map[string]any) any {
	t.Helper()
	for _, v := range model["templating"].(map[string]any)["list"].([]any) {
		v := v.(map[string]any)
		if v["name"] == "datasource" {
			return v["current"].(map[string]any)["value"]
		}
	}
	t.Fatal("no datasource variable")
	return nil
}

func TestPushCreatesThenChangesNothing(t *testing.T) {
	g, cfg := setup(t)
	bs := boards(t)
	res, err := Push(context.Background(), cfg, bs)
	if err != nil {
		t.Fatal(err)
	}
	if !res.FolderCreated || res.GrafanaVersion != "11.3.0" || res.Datasource != "prom-main" {
		t.Errorf("result %+v", res)
	}
	if !slices.Equal(res.Created, uids(bs)) || len(res.Updated)+len(res.Unchanged) != 0 {
		t.Errorf("created %v updated %v unchanged %v", res.Created, res.Updated, res.Unchanged)
	}
	if f := g.Folders(); !slices.Equal(f, []string{"crossteam"}) {
		t.Errorf("folders %v", f)
	}
	for _, b := range bs {
		d, ok := g.Dashboard(b.UID)
		if !ok {
			t.Fatalf("%s not stored", b.UID)
		}
		if d.FolderUID != "crossteam" || d.Version != 1 || !slices.Equal(d.Messages, []string{"crossteam v1.2.3 (abc123)"}) {
			t.Errorf("%s: folder %q version %d messages %q", b.UID, d.FolderUID, d.Version, d.Messages)
		}
		// No Grafana has our fixed uid here: the variable defaults to the
		// default Prometheus datasource found.
		if got := datasourceCurrent(t, d.Model); got != "prom-main" {
			t.Errorf("%s: datasource variable defaults to %v", b.UID, got)
		}
	}

	before := len(g.Requests())
	res, err = Push(context.Background(), cfg, bs)
	if err != nil {
		t.Fatal(err)
	}
	if res.FolderCreated || len(res.Created)+len(res.Updated) != 0 || !slices.Equal(res.Unchanged, uids(bs)) {
		t.Errorf("second push: %+v", res)
	}
	second := g.Requests()[before:]
	for _, r := range second {
		if strings.HasPrefix(r, "POST") {
			t.Errorf("second push wrote: %s", r)
		}
	}
	for _, b := range bs {
		if d, _ := g.Dashboard(b.UID); d.Version != 1 {
			t.Errorf("%s: version %d after an idempotent push", b.UID, d.Version)
		}
	}
}

func TestPushUpdatesChangedAndMovedDashboards(t *testing.T) {
	g, cfg := setup(t)
	bs := boards(t)
	if _, err := Push(context.Background(), cfg, bs); err != nil {
		t.Fatal(err)
	}
	g.EditDashboard("crossteam-health", func(m map[string]any) { m["title"] = "edited in the UI" })
	g.AddFolder("elsewhere", "Elsewhere")
	g.MoveDashboard("crossteam-team", "elsewhere")
	// A save that changed nothing (a new version, same model) is left alone.
	g.EditDashboard("crossteam-milestones", func(map[string]any) {})
	cfg.Message = "crossteam v1.2.4"
	res, err := Push(context.Background(), cfg, bs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Updated, []string{"crossteam-team", "crossteam-health"}) || len(res.Unchanged) != len(bs)-2 {
		t.Errorf("updated %v unchanged %v", res.Updated, res.Unchanged)
	}
	if d, _ := g.Dashboard("crossteam-team"); d.FolderUID != "crossteam" || d.Version != 2 {
		t.Errorf("team: folder %q version %d, want moved back as version 2", d.FolderUID, d.Version)
	}
	d, _ := g.Dashboard("crossteam-health")
	if d.Model["title"] != "crossteam health" || d.Version != 3 || d.Messages[len(d.Messages)-1] != "crossteam v1.2.4" {
		t.Errorf("health: title %v version %d messages %q", d.Model["title"], d.Version, d.Messages)
	}
}

func TestPushReusesFolder(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(g *fakegrafana.Grafana)
	}{
		{"folder exists", func(g *fakegrafana.Grafana) { g.AddFolder("crossteam", "Cross-team") }},
		// Created between our GET and our POST: the POST answers 409.
		{"created meanwhile", func(g *fakegrafana.Grafana) {
			g.AddFolder("crossteam", "Cross-team")
			g.Fail("GET /api/folders/crossteam", 404, `{"message":"folder not found"}`, 1)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, cfg := setup(t)
			c.setup(g)
			res, err := Push(context.Background(), cfg, boards(t))
			if err != nil {
				t.Fatal(err)
			}
			if res.FolderCreated || len(res.Created) != len(dashboards.Boards) {
				t.Errorf("%+v", res)
			}
		})
	}
}

func TestPushFolderTitleTaken(t *testing.T) {
	g, cfg := setup(t)
	g.AddFolder("other-uid", "Cross-team")
	_, err := Push(context.Background(), cfg, boards(t))
	if err == nil || !strings.Contains(err.Error(), "HTTP 409") || !strings.Contains(err.Error(), `a folder titled "Cross-team" probably exists with another uid`) {
		t.Errorf("err = %v", err)
	}
	if g.Count("POST /api/dashboards/db") != 0 {
		t.Error("dashboards were pushed without a folder")
	}
}

func TestPushDatasourceLookup(t *testing.T) {
	cases := []struct {
		name    string
		ds      []fakegrafana.Datasource
		want    string
		wantErr string
	}{
		{"fixed uid", []fakegrafana.Datasource{{UID: "p1", Name: "P1", Type: "prometheus", IsDefault: true}, {UID: "crossteam-prometheus", Name: "X", Type: "prometheus"}}, "crossteam-prometheus", ""},
		{"by name", []fakegrafana.Datasource{{UID: "p1", Name: "P1", Type: "prometheus", IsDefault: true}, {UID: "p2", Name: "crossteam-prometheus", Type: "prometheus"}}, "p2", ""},
		{"the only prometheus", []fakegrafana.Datasource{{UID: "l", Name: "L", Type: "loki", IsDefault: true}, {UID: "p3", Name: "P3", Type: "prometheus"}}, "p3", ""},
		{"none", []fakegrafana.Datasource{{UID: "l", Name: "L", Type: "loki"}}, "", "Grafana has no Prometheus datasource"},
		{"ambiguous", []fakegrafana.Datasource{{UID: "a", Name: "A", Type: "prometheus"}, {UID: "b", Name: "B", Type: "prometheus"}}, "", "A (uid a), B (uid b); pass --grafana.datasource"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := fakegrafana.New(token)
			for _, d := range c.ds {
				g.AddDatasource(d)
			}
			srv := httptest.NewServer(g)
			defer srv.Close()
			cfg := Config{URL: srv.URL, Token: token, FolderUID: "crossteam", FolderTitle: "Cross-team", Datasource: dashboards.DatasourceUID}
			res, err := Push(context.Background(), cfg, boards(t)[:1])
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, _ := g.Dashboard("crossteam-overview")
			if res.Datasource != c.want || datasourceCurrent(t, d.Model) != c.want {
				t.Errorf("datasource %s, variable %v, want %s", res.Datasource, datasourceCurrent(t, d.Model), c.want)
			}
		})
	}
}

// Grafana's refusals come back explained, naming the dashboard.
func TestPushExplainsRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(g *fakegrafana.Grafana)
		want  []string
	}{
		{"412 version-mismatch", func(g *fakegrafana.Grafana) {
			g.Fail("POST /api/dashboards/db", 412, `{"message":"The dashboard has been changed by someone else","status":"version-mismatch"}`, 1)
		}, []string{"dashboard crossteam-overview", "HTTP 412 (version-mismatch)", "someone saved a newer version meanwhile"}},
		{"412 name-exists", func(g *fakegrafana.Grafana) {
			g.Fail("POST /api/dashboards/db", 412, `{"message":"A dashboard with the same name in the folder already exists","status":"name-exists"}`, 1)
		}, []string{"HTTP 412 (name-exists)", "another dashboard in the folder has this title"}},
		{"412 plugin-dashboard", func(g *fakegrafana.Grafana) {
			g.Fail("POST /api/dashboards/db", 412, `{"message":"The dashboard belongs to plugin x.","status":"plugin-dashboard"}`, 1)
		}, []string{"HTTP 412 (plugin-dashboard)", "a plugin owns a dashboard with this uid"}},
		{"412 without status", func(g *fakegrafana.Grafana) {
			g.Fail("POST /api/dashboards/db", 412, `{}`, 1)
		}, []string{"HTTP 412 with no message", "a precondition it did not name"}},
		{"provisioned (seen before saving)", func(g *fakegrafana.Grafana) {
			g.AddFolder("crossteam", "Cross-team")
			g.PutDashboard("crossteam-overview", "Cross-team overview", "crossteam", true, "")
		}, []string{"dashboard crossteam-overview", "provisioned from files in this Grafana"}},
		{"provisioned (refused on save)", func(g *fakegrafana.Grafana) {
			g.Fail("POST /api/dashboards/db", 400, `{"message":"Cannot save provisioned dashboard"}`, 1)
		}, []string{"HTTP 400: Cannot save provisioned dashboard", "use one way or the other"}},
		{"same title, other uid: Grafana takes it over", func(g *fakegrafana.Grafana) {
			g.AddFolder("crossteam", "Cross-team")
			g.PutDashboard("hand-made", "Cross-team overview", "crossteam", false, "")
		}, []string{`Grafana saved it under uid "hand-made"`}},
		{"500 with empty JSON on save", func(g *fakegrafana.Grafana) { g.Fail("POST /api/dashboards/db", 500, `{}`, 1) },
			[]string{"HTTP 500 with no message", "see its server log"}},
		{"500 with empty body on save", func(g *fakegrafana.Grafana) { g.Fail("POST /api/dashboards/db", 500, ``, 1) },
			[]string{"HTTP 500 with no message"}},
		{"500 with empty JSON on health", func(g *fakegrafana.Grafana) { g.Fail("GET /api/health", 500, `{}`, 1) },
			[]string{`grafana health check: database ""`}},
		{"proxy HTML on health", func(g *fakegrafana.Grafana) { g.Fail("GET /api/health", 502, `<html>Bad Gateway</html>`, 1) },
			[]string{"grafana health check:"}},
		{"500 with empty JSON on folder", func(g *fakegrafana.Grafana) { g.Fail("GET /api/folders/crossteam", 500, `{}`, 1) },
			[]string{"folder crossteam: HTTP 500 with no message"}},
		{"500 on datasources", func(g *fakegrafana.Grafana) { g.Fail("GET /api/datasources", 500, ``, 1) },
			[]string{"listing datasources: HTTP 500"}},
		{"403", func(g *fakegrafana.Grafana) {
			g.Fail("GET /api/folders/crossteam", 403, `{"message":"Permission denied"}`, 1)
		},
			[]string{"HTTP 403: Permission denied", "needs the Editor role"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, cfg := setup(t)
			c.setup(g)
			_, err := Push(context.Background(), cfg, boards(t))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestPushAuth(t *testing.T) {
	g, cfg := setup(t)
	g.AllowBasicAuth("admin", "pa:ss")
	cfg.Token = "wrong-" + token
	_, err := Push(context.Background(), cfg, boards(t))
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "token was refused") {
		t.Errorf("err = %v", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error leaks the token: %v", err)
	}
	cfg.Token = "admin:pa:ss" // user:password, the password may hold colons
	if _, err := Push(context.Background(), cfg, boards(t)); err != nil {
		t.Errorf("basic auth: %v", err)
	}
	cfg.Token = ""
	if _, err := Push(context.Background(), cfg, boards(t)); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("no token: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "grafana:3000", FolderUID: "x"}, `grafana URL "grafana:3000"`},
		{Config{URL: "https://admin:pw@grafana", FolderUID: "x"}, "not in the URL"},
		{Config{URL: "https://grafana", FolderUID: strings.Repeat("x", 41)}, "want 1 to 40 characters"},
	} {
		_, err := Push(context.Background(), c.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.cfg, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("error leaks the URL password: %v", err)
		}
	}
}

// The sdk's dashboard call dereferences a nil message on a 500 with an
// empty JSON body; guard turns such a panic into an error.
func TestGuardRecoversPanics(t *testing.T) {
	_, err := guard("x", func() (int, error) {
		var p *string
		return len(*p), nil
	})
	if err == nil || !strings.Contains(err.Error(), "x: grafana client failed on Grafana's answer") {
		t.Errorf("err = %v", err)
	}
	_, err = guard("y", func() (int, error) { return 0, errors.New(`HTTP error 404: returns {"message":"nope"}`) })
	var a *APIError
	if !errors.As(err, &a) || a.Code != 404 || a.Message != "nope" {
		t.Errorf("err = %#v", err)
	}
}

// The save request carries folderUid, overwrite and message, which the
// sdk cannot send.
func TestSaveRequestShape(t *testing.T) {
	var got map[string]any
	mux := http.NewServeMux()
	g := fakegrafana.New(token)
	g.AddDatasource(fakegrafana.Datasource{UID: "crossteam-prometheus", Name: "P", Type: "prometheus"})
	mux.Handle("/", g)
	mux.HandleFunc("POST /api/dashboards/db", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.Write([]byte(`{"uid":"crossteam-overview","status":"success","version":1}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := Config{URL: srv.URL + "/", Token: token, FolderUID: "team-folder", FolderTitle: "T", Datasource: "crossteam-prometheus", Message: "m"}
	if _, err := Push(context.Background(), cfg, boards(t)[:1]); err != nil {
		t.Fatal(err)
	}
	if got["folderUid"] != "team-folder" || got["overwrite"] != true || got["message"] != "m" {
		t.Errorf("request %v", map[string]any{"folderUid": got["folderUid"], "overwrite": got["overwrite"], "message": got["message"]})
	}
	if d, _ := got["dashboard"].(map[string]any); d["uid"] != "crossteam-overview" {
		t.Errorf("dashboard uid %v", d["uid"])
	}
}
