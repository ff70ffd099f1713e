package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds the strict loader arbitrary YAML, seeded with every bad
// config fixture and the documented example. No input may panic; an error
// must say something; an accepted config must print (WriteSummary, Redacted)
// with every secret field masked.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yml"))
	if err != nil {
		f.Fatal(err)
	}
	files = append(files, "example.yml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("teams:\n  \"a\\\"b\\n\": {members: [\"x\\u2603\"]}\n"))
	f.Add([]byte("sources: {github: [{name: x, base_url: 'http://127.0.0.1:1/', repos: [a/b], token: sekrit-value}]}\nteams: {a: {members: [u]}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		var sb strings.Builder
		c.WriteSummary(&sb)
		red, err := c.Redacted()
		if err != nil {
			t.Fatalf("Redacted of an accepted config: %v", err)
		}
		// Every secret field of the redacted view must be masked: read it
		// back as plain YAML and look at each one.
		var view struct {
			Sources struct {
				GitHub []struct {
					Token string `yaml:"token"`
					App   *struct {
						PrivateKey string `yaml:"private_key"`
					} `yaml:"app"`
				} `yaml:"github"`
				Jira []struct {
					Token string `yaml:"token"`
				} `yaml:"jira"`
			} `yaml:"sources"`
		}
		if err := yaml.Unmarshal([]byte(red), &view); err != nil {
			t.Fatalf("Redacted is not YAML: %v", err)
		}
		masked := func(what, v string) {
			if v != "" && v != "<secret>" {
				t.Errorf("%s shown as %q in the redacted view", what, v)
			}
		}
		for _, g := range view.Sources.GitHub {
			masked("github token", g.Token)
			if g.App != nil {
				masked("github app private_key", g.App.PrivateKey)
			}
		}
		for _, j := range view.Sources.Jira {
			masked("jira token", j.Token)
		}
	})
}
