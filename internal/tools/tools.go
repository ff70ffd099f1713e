// Package tools finds the external linters the tests run (Grafana's
// dashboard-linter, Cloudflare's pint), which scripts/install-tools.sh
// builds from pinned sources into the user cache folder.
package tools

import (
	"os"
	"os/exec"
	"path/filepath"
)

// Find returns the path of the executable name: on PATH, else in
// $CROSSTEAM_TOOLS_BIN, else in <user cache>/crossteam-tools/bin. When it
// is in none, ok is false and dirs lists the folders looked in.
func Find(name string) (path string, dirs []string, ok bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil, true
	}
	if d := os.Getenv("CROSSTEAM_TOOLS_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	if c, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(c, "crossteam-tools", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, dirs, true
		}
	}
	return "", dirs, false
}
