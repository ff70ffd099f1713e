package config

import (
	"bytes"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestTeamMapMatchesYAML decodes team lists with TeamMap and with yaml.v3's
// own map decoding (KnownFields on): both must give the same errors, word
// for word, including those the fixtures do not cover (a key three times,
// an unknown key beside a type error, merge keys).
func TestTeamMapMatchesYAML(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"valid", "teams:\n  a: {members: [x]}\n  b:\n    members: [{github: y, email: y@example.com}]\n"},
		{"duplicate twice", "teams:\n  a: {}\n  b: {}\n  a: {}\n"},
		{"three times", "teams:\n  a: {}\n  a: {}\n  b: {}\n  a: {}\n  b: {}\n"},
		{"unknown and type error", "teams:\n  a:\n    membrs: [x]\n    members: {x: 1}\n    markers: {labels: [l]}\n"},
		{"unknown in member and status", "teams:\n  a:\n    members: [{github: x, slack: y}]\n    markers: {jira_statuses: [{name: S, wait: true}]}\n"},
		{"merge", "base: &b {members: [x]}\nteams:\n  a: {<<: *b, calendar: {timezone: UTC}}\n"},
		{"merge unknown", "base: &b {membrs: [x]}\nteams:\n  a: {<<: *b}\n"},
		{"alias team", "teams:\n  a: &t {members: [x]}\n  b: *t\n"},
		{"not a mapping", "teams: [a, b]\n"},
		{"null team", "teams:\n  a:\n  b: {members: [x]}\n"},
		{"non-string key", "teams:\n  1: {}\n  [x]: {}\n"},
	}
	decode := func(doc string, v any) string {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil {
			return cleanYAMLError([]byte(doc), err).Error()
		}
		return ""
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want struct {
				Base  any              `yaml:"base"`
				Teams map[string]*Team `yaml:"teams"`
			}
			var got struct {
				Base  any     `yaml:"base"`
				Teams TeamMap `yaml:"teams"`
			}
			w, g := decode(tt.doc, &want), decode(tt.doc, &got)
			if g != w {
				t.Errorf("TeamMap: %q\nyaml.v3: %q", g, w)
			}
			if w != "" {
				return // a failed decode is not used
			}
			if len(got.Teams) != len(want.Teams) {
				t.Errorf("TeamMap decoded %d teams, yaml.v3 %d", len(got.Teams), len(want.Teams))
			}
			for name, tw := range want.Teams {
				if tg, ok := got.Teams[name]; !ok || (tw == nil) != (tg == nil) || (tw != nil && len(tw.Members) != len(tg.Members)) {
					t.Errorf("team %q: TeamMap %+v, yaml.v3 %+v", name, tg, tw)
				}
			}
		})
	}
}
