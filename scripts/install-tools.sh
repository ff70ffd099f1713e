#!/usr/bin/env bash
# Installs the tools the test suite runs besides Go: Prometheus and promtool
# (Debian package prometheus), amtool (prometheus-alertmanager), a headless
# browser (chromium), and two linters built from pinned sources:
# Grafana's dashboard-linter and Cloudflare's pint. The end-to-end test
# starts a real Prometheus and opens the weekly review page in Chromium; the
# rules, their unit tests and the compose stack's configurations are checked
# with promtool and amtool; the boards with dashboard-linter --strict and the
# rules with pint (dashboards/linters_test.go). Does nothing when they are
# already there.
#
# The linters come from the shared tools folder beside the repository
# (../shared/tools/build-linters.sh, or $CROSSTEAM_SHARED_TOOLS): neither
# installs with `go install` from the module proxy. They go to
# $CROSSTEAM_TOOLS_BIN (default ~/.cache/crossteam-tools/bin), where the
# tests find them; the first build takes about 4 minutes on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tools=${CROSSTEAM_SHARED_TOOLS:-$here/../shared/tools}
bin=${CROSSTEAM_TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/crossteam-tools/bin}
if ! [ -x "$bin/dashboard-linter" ] || ! [ -x "$bin/pint" ]; then
	if ! [ -x "$tools/build-linters.sh" ]; then
		echo "install-tools: $tools/build-linters.sh not found: set CROSSTEAM_SHARED_TOOLS to the folder holding it" >&2
		exit 1
	fi
	echo "install-tools: building dashboard-linter and pint into $bin (about 4 minutes the first time)" >&2
	"$tools/build-linters.sh" "$bin" >/dev/null
fi
if command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v amtool >/dev/null &&
	{ command -v chromium >/dev/null || command -v chromium-browser >/dev/null; }; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null; then SUDO=sudo; else
		echo "install-tools: need root or sudo to apt-get install prometheus prometheus-alertmanager chromium" >&2
		exit 1
	fi
fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager chromium
