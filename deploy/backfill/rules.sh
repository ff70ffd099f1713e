#!/bin/sh
# One-shot of the compose stack (service prometheus-rules-history): once
# Prometheus runs with the backfilled history, evaluate the recording rules
# over that history (`promtool tsdb create-blocks-from rules`) into its data
# directory; Prometheus picks the new blocks up within a minute. The boards'
# trend panels read these rules; the rules that read recorded series get a
# second pass once Prometheus shows the first one's. Later starts find the
# marker and do nothing.
# Tested by deploy/deploy_test.go (TestRulesBackfillScript).
set -eu
data=${PROMETHEUS_DATA:-/prometheus}
url=${PROMETHEUS_URL:-http://prometheus:9090}
rules=${CROSSTEAM_RULES:-/etc/crossteam/dashboards/rules/crossteam.rules.yml}
days=${CROSSTEAM_HISTORY_DAYS:-130}
marker="$data/.crossteam-rules-backfilled"

if [ -e "$marker" ]; then
	echo "crossteam rules history: already evaluated ($(cat "$marker")); nothing to do"
	exit 0
fi
# Samples older than the retention are deleted at the next compaction: say
# so instead of losing them silently.
retention=$(wget -qO- "$url/api/v1/status/flags" | sed -n 's/.*"storage\.tsdb\.retention\.time":"\([^"]*\)".*/\1/p')
case "$retention" in
*y) keep=$((${retention%y} * 365)) ;;
*w) keep=$((${retention%w} * 7)) ;;
*d) keep=${retention%d} ;;
*) keep="" ;;
esac
case "$keep" in
'' | *[!0-9]*) echo "crossteam rules history: cannot read Prometheus' retention (\"$retention\"); not checked against the ${days} days of history" >&2 ;;
*) if [ "$keep" -lt "$days" ]; then
	echo "crossteam rules history: Prometheus keeps ${retention} (--storage.tsdb.retention.time), shorter than the ${days} days of history: the older part will be deleted; raise the retention to at least ${days}d" >&2
fi ;;
esac
end=$(date +%s)
start=$((end - days * 86400))
# Month-long blocks where promtool has the flag (2.44+): it queries each
# rule once per block, 1,560 times over 130 days with its default 2h blocks.
set -- --url="$url" --start="$start" --end="$end" --output-dir="$data"
if promtool tsdb create-blocks-from rules --help 2>&1 | grep -q -- '--max-block-duration'; then
	set -- "$@" --max-block-duration=744h
fi
promtool tsdb create-blocks-from rules "$@" "$rules"
# A second pass for the rules that read other recorded series (the per-pair
# quantiles and the per-to_team buckets read the increases the first pass
# wrote): promtool queries Prometheus, which must first load the first
# pass's blocks (it looks for new blocks about once a minute). The first
# level is evaluated again to the same values; Prometheus merges the
# overlapping blocks.
wait=${CROSSTEAM_RULES_WAIT:-300}
poll=${CROSSTEAM_RULES_POLL:-10}
probe="count(pair:crossteam_handoff_pickup_seconds_bucket:increase7d)"
at=$((start + 8 * 86400))
waited=0
while :; do
	if wget -qO- "$url/api/v1/query?query=$probe&time=$at" 2>/dev/null | grep -q '"result":\[{'; then
		promtool tsdb create-blocks-from rules "$@" "$rules"
		break
	fi
	if [ "$waited" -ge "$wait" ]; then
		echo "crossteam rules history: Prometheus did not show the first pass's recorded series within ${wait}s; the rules that read them (per-pair p50/p90, per-to_team buckets) have no history before now" >&2
		break
	fi
	sleep "$poll"
	waited=$((waited + poll))
done
date -u +%Y-%m-%dT%H:%M:%SZ >"$marker"
echo "crossteam rules history: evaluated $rules over ${days} days into $data"
