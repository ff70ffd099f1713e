package fakegrafana

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The fake follows Grafana's documented answers; the push tests rely on it.
func TestDocumentedSemantics(t *testing.T) {
	g := New("tok")
	g.AddFolder("f1", "Folder one")
	g.PutDashboard("plug", "Plugin board", "f1", false, "some-plugin")
	g.PutDashboard("prov", "Provisioned", "f1", true, "")
	srv := httptest.NewServer(g)
	defer srv.Close()

	call := func(method, path, body, auth string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return resp.StatusCode, m
	}
	const bearer = "Bearer tok"
	dash := func(uid, title string, version int, folder string, overwrite bool) string {
		b, _ := json.Marshal(map[string]any{"dashboard": map[string]any{"uid": uid, "title": title, "version": version}, "folderUid": folder, "overwrite": overwrite})
		return string(b)
	}
	steps := []struct {
		name, method, path, body, auth string
		code                           int
		status, message                string
	}{
		{"health needs no auth", "GET", "/api/health", "", "", 200, "", ""},
		{"everything else does", "GET", "/api/folders/f1", "", "", 401, "", "Unauthorized"},
		{"wrong token", "GET", "/api/folders/f1", "", "Bearer nope", 401, "", "Unauthorized"},
		{"folder", "GET", "/api/folders/f1", "", bearer, 200, "", ""},
		{"missing folder", "GET", "/api/folders/zz", "", bearer, 404, "", "folder not found"},
		{"folder uid taken", "POST", "/api/folders", `{"uid":"f1","title":"Other"}`, bearer, 409, "", "same uid"},
		{"folder title taken", "POST", "/api/folders", `{"uid":"f2","title":"Folder one"}`, bearer, 409, "", "same name"},
		{"create", "POST", "/api/dashboards/db", dash("d1", "One", 0, "f1", false), bearer, 200, "success", ""},
		{"stale version without overwrite", "POST", "/api/dashboards/db", dash("d1", "One", 0, "f1", false), bearer, 412, "version-mismatch", ""},
		{"current version", "POST", "/api/dashboards/db", dash("d1", "One", 1, "f1", false), bearer, 200, "success", ""},
		{"overwrite", "POST", "/api/dashboards/db", dash("d1", "One", 0, "f1", true), bearer, 200, "success", ""},
		{"same title in folder", "POST", "/api/dashboards/db", dash("d2", "One", 0, "f1", false), bearer, 412, "name-exists", ""},
		{"plugin dashboard", "POST", "/api/dashboards/db", dash("plug", "Plugin board", 1, "f1", false), bearer, 412, "plugin-dashboard", ""},
		{"provisioned", "POST", "/api/dashboards/db", dash("prov", "Provisioned", 1, "f1", true), bearer, 400, "", "Cannot save provisioned dashboard"},
		{"unknown folder", "POST", "/api/dashboards/db", dash("d3", "Three", 0, "nope", true), bearer, 400, "", "folder not found"},
		{"long uid", "POST", "/api/dashboards/db", dash(strings.Repeat("u", 41), "Long", 0, "", true), bearer, 400, "", "uid too long"},
		{"no folderUid moves to root", "POST", "/api/dashboards/db", dash("d1", "One", 3, "", false), bearer, 200, "success", ""},
	}
	for _, s := range steps {
		code, body := call(s.method, s.path, s.body, s.auth)
		if code != s.code || (s.status != "" && body["status"] != s.status) || !strings.Contains(asString(body["message"]), s.message) {
			t.Errorf("%s: %d %v, want %d status %q message %q", s.name, code, body, s.code, s.status, s.message)
		}
	}
	d, _ := g.Dashboard("d1")
	if d.Version != 4 || d.FolderUID != "" || len(d.Messages) != 4 {
		t.Errorf("d1: version %d folder %q saves %d, want 4, root, 4", d.Version, d.FolderUID, len(d.Messages))
	}
	// With overwrite, a same-titled dashboard is taken over, uid and all.
	code, body := call("POST", "/api/dashboards/db", dash("d9", "Plugin board", 0, "f1", true), bearer)
	if code != 200 || body["uid"] != "plug" {
		t.Errorf("take over: %d %v", code, body)
	}
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}
