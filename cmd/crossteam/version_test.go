package main

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	mod := func(v string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "github.com/crossteam/crossteam", Version: v}}
	}
	for _, c := range []struct {
		stamped string
		bi      *debug.BuildInfo
		want    string
	}{
		{"1.4.0", mod("v1.3.0"), "1.4.0"},                      // make build stamps it
		{"", mod("v1.3.0"), "1.3.0"},                           // go install ...@v1.3.0
		{"", mod("(devel)"), "devel"},                          // go build in a checkout
		{"", nil, "devel"},                                     // no build info
		{"", mod("v0.0.0-20261203-abc"), "0.0.0-20261203-abc"}, // a pseudo-version
	} {
		if got := versionOf(c.stamped, c.bi); got != c.want {
			t.Errorf("versionOf(%q, %v) = %q, want %q", c.stamped, c.bi, got, c.want)
		}
	}
}
