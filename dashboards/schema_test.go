package dashboards

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

var registerPlugins sync.Once

// strictDashboard decodes JSON with Grafana's schema: unknown keys at any
// depth, wrong types and missing required fields fail.
func strictDashboard(data []byte) (dashboard.Dashboard, error) {
	registerPlugins.Do(plugins.RegisterDefaultPlugins)
	var d dashboard.Dashboard
	return d, realError(d.UnmarshalJSONStrict(data))
}

// realError turns the sdk's typed-nil cog.BuildErrors into a nil error.
func realError(err error) error {
	if errs, ok := err.(cog.BuildErrors); ok && len(errs) == 0 {
		return nil
	}
	return err
}

// committedBoards reads the committed dashboard JSON files.
func committedBoards(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, b := range Boards {
		data, err := os.ReadFile(filepath.Join(JSONDir, b.File))
		if err != nil {
			t.Fatalf("%v (run go test ./dashboards -update)", err)
		}
		out[b.File] = data
	}
	return out
}

func TestDashboardsValidateStrictly(t *testing.T) {
	for file, data := range committedBoards(t) {
		d, err := strictDashboard(data)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if err := realError(d.Validate()); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// The validator is not a rubber stamp: it rejects what Grafana would not
// understand.
func TestStrictValidationRejects(t *testing.T) {
	good := committedBoards(t)["overview.json"]
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown top-level key", `"uid": "crossteam-overview"`, `"uid": "crossteam-overview", "bogus": 1`, "unexpected field 'bogus'"},
		{"unknown nested key", `"gridPos": {`, `"gridPos": {"zz": 1, `, "unexpected field 'zz'"},
		{"wrong type", `"editable": false`, `"editable": "no"`, "editable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(string(good), c.from, c.to, 1)
			if bad == string(good) {
				t.Fatalf("fixture: %q not found", c.from)
			}
			_, err := strictDashboard([]byte(bad))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}
