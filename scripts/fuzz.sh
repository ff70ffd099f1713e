#!/usr/bin/env bash
# Runs one fuzz target and fails unless it executed at least MIN_EXECS
# inputs: a target whose budget is eaten by minimising a large seed (17
# executions in 40 s) must not report PASS as if it had fuzzed.
#   scripts/fuzz.sh PKG TARGET FUZZTIME MIN_EXECS
set -euo pipefail
pkg=$1 target=$2 fuzztime=$3 min=$4
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s 2>&1 | tee "$out"
# go test prints "fuzz: elapsed: 3s, execs: 12345 (4115/sec), new interesting: ..." lines.
execs=$(grep -o 'execs: [0-9]*' "$out" | tail -1 | awk '{print $2}')
if [ -z "$execs" ]; then
	echo "fuzz.sh: $target: no execution count in the output" >&2
	exit 1
fi
if [ "$execs" -lt "$min" ]; then
	echo "fuzz.sh: $target ran $execs inputs in $fuzztime, below the floor of $min" >&2
	exit 1
fi
echo "fuzz.sh: $target: $execs inputs in $fuzztime (floor $min)"
