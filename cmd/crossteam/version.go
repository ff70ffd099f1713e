package main

import (
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// The version crossteam reports (--version, crossteam_build_info, the
// landing page) is stamped at build time by `make build` and the
// Dockerfile (-X github.com/prometheus/common/version.Version=...). A plain
// `go build`, `go install` or `go run` stamps nothing: then the module
// version Go recorded (`go install ...@v1.2.3`) is used, else "devel"; the
// revision comes from Go's VCS stamp either way (version.GetRevision).
func init() {
	bi, _ := debug.ReadBuildInfo()
	version.Version = versionOf(version.Version, bi)
}

// versionOf is the stamped version, else the module version of bi, else
// "devel".
func versionOf(stamped string, bi *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "devel"
}
