#!/bin/sh
# One-shot of the compose stack (service prometheus-history): on the
# stack's first start, load the exporter's history (OpenMetrics written by
# `crossteam demo --demo.backfill-out`, or by `crossteam backfill` in the
# history-export service of deploy/compose.real.yml) into Prometheus' data
# directory before Prometheus starts, so the trend panels have months of data
# when Grafana opens. Later starts find the marker and do nothing.
# Tested by deploy/deploy_test.go (TestHistoryBackfillScript).
set -eu
file=${CROSSTEAM_HISTORY_FILE:-/backfill/history.om}
data=${PROMETHEUS_DATA:-/prometheus}
wait_s=${CROSSTEAM_HISTORY_WAIT:-300}
marker="$data/.crossteam-history-backfilled"

if [ -e "$marker" ]; then
	echo "crossteam history: already loaded ($(cat "$marker")); nothing to do"
	exit 0
fi
n=0
while [ ! -s "$file" ]; do
	if [ "$n" -ge "$wait_s" ]; then
		echo "crossteam history: no $file after ${wait_s}s: the exporter writes it once its first snapshot holds the history (demo: --demo.backfill-out; real sources: the history-export service)" >&2
		exit 1
	fi
	n=$((n + 1))
	sleep 1
done
# Month-long blocks: promtool reads the file once per block, so 2h blocks
# (its default) cost one pass per 2 hours of history.
promtool tsdb create-blocks-from openmetrics --max-block-duration=744h "$file" "$data"
date -u +%Y-%m-%dT%H:%M:%SZ >"$marker"
echo "crossteam history: loaded $file into $data"
