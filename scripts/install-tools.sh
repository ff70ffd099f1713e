#!/usr/bin/env bash
# Installs the tools the test suite runs besides Go: Prometheus and promtool
# (Debian package prometheus), amtool (prometheus-alertmanager) and a
# headless browser (chromium). The end-to-end test starts a real Prometheus
# and opens the weekly review page in Chromium; the rules, their unit tests
# and the compose stack's configurations are checked with promtool and
# amtool. Does nothing when they are already there.
set -euo pipefail
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
