# Everyday targets. `make test` is the README's test command: it installs
# Prometheus, promtool, amtool and Chromium when missing (scripts/install-tools.sh) and
# runs the whole suite with them required. Long runs live in other targets.
GO ?= go

# The version stamped into the binary (crossteam --version,
# crossteam_build_info): the git tag or commit, or VERSION=... .
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
BRANCH   ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
PKGV      = github.com/prometheus/common/version
LDFLAGS   = -X $(PKGV).Version=$(VERSION) -X $(PKGV).Revision=$(REVISION) -X $(PKGV).Branch=$(BRANCH) \
            -X $(PKGV).BuildUser=$(shell whoami 2>/dev/null)@$(shell hostname 2>/dev/null) -X $(PKGV).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.PHONY: build install test tools vet screenshots bench bench-boards bench-engine bench-store bench-harness bench-xlarge bench-xlarge-items load fuzz crash soak ci

test: tools
	CROSSTEAM_REQUIRE_TOOLS=1 $(GO) test ./...

# build: ./crossteam with the version stamped; install: the same into
# $(go env GOPATH)/bin. The first build compiles modernc.org/sqlite (pure
# Go) and takes a few minutes; later builds reuse Go's cache.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o crossteam ./cmd/crossteam

install:
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags "$(LDFLAGS)" ./cmd/crossteam

tools:
	bash scripts/install-tools.sh

vet:
	$(GO) vet ./...

# Benchmarks: the engine at 100k items / 1M events, the store, and the
# harness (crossteam bench): the large simulated organisation served on
# loopback, the exporter as a child process, the table printed and written
# to BENCHMARKS.md between <!-- bench:begin --> and <!-- bench:end -->.
bench: bench-engine bench-store bench-harness

bench-harness:
	$(GO) run ./cmd/crossteam bench --bench.size=large --bench.scrapers=50 --bench.scrape-interval=1s --bench.out=BENCHMARKS.md --bench.json=bench-large.json

# xlarge: large's items, months and handoffs with a deeper history (bot
# comments and label changes, about 5.5 million events against large's
# 2.17 million), to see how memory and recomputation grow with history
# alone; xlarge-items: 2.5 times large's items over 30 months (about 5.4
# million events), how they grow with items and history together. Each
# world takes several GiB in the harness process; expect 20-30 minutes.
bench-xlarge:
	$(GO) run ./cmd/crossteam bench --bench.size=xlarge --bench.scrapers=50 --bench.scrape-interval=1s --bench.timeout=40m --bench.out= --bench.json=bench-xlarge.json

bench-xlarge-items:
	$(GO) run ./cmd/crossteam bench --bench.size=xlarge-items --bench.scrapers=50 --bench.scrape-interval=1s --bench.timeout=40m --bench.out= --bench.json=bench-xlarge-items.json

# Load: 50 scrapers, each every second, on /metrics during the large full sync
# (several minutes); fails on any failed scrape, prints p50/p99 and peak RSS.
load:
	$(GO) run ./cmd/crossteam bench --bench.size=large --bench.scrapers=50 --bench.scrape-interval=1s --bench.out=

bench-engine:
	$(GO) test ./engine -run '^$$' -bench Compute -benchtime 10x -benchmem

bench-store:
	$(GO) test ./store -run '^$$' -bench . -benchtime 3x -benchmem

# Fuzzing: each target for FUZZTIME (default 2m), minimisation capped at 2 s
# per input, and failing when a target ran fewer than FUZZMINEXECS inputs
# (scripts/fuzz.sh). The default test run replays only the seed corpora
# (fixtures, testdata, found crashers).
FUZZTIME ?= 2m
FUZZMINEXECS ?= 5000
fuzz:
	bash scripts/fuzz.sh ./config FuzzParse $(FUZZTIME) $(FUZZMINEXECS)
	bash scripts/fuzz.sh ./collectors/github FuzzMapIssueEvents $(FUZZTIME) $(FUZZMINEXECS)
	bash scripts/fuzz.sh ./collectors/github FuzzMapIssues $(FUZZTIME) $(FUZZMINEXECS)
	bash scripts/fuzz.sh ./collectors/jira FuzzSearchPage $(FUZZTIME) $(FUZZMINEXECS)
	bash scripts/fuzz.sh ./collectors/jira FuzzBulkfetchPage $(FUZZTIME) $(FUZZMINEXECS)

# Crash recovery with 40 SIGKILLs of a real exporter process (the default
# test run does 8).
crash:
	CROSSTEAM_CRASH_KILLS=40 $(GO) test ./cmd/crossteam -run '^TestCrashRecovery$$' -count=1 -v

# Soak: the demo's world on fake APIs with faults (SOAK_FAULTS, crossteam
# demo --faults syntax; empty = the test's default) for SOAK_DURATION, the
# exporter scraped, reloaded (SIGHUP) and killed at random; the store must
# end equal to a fault-free run and no incarnation's RSS may grow by more
# than SOAK_MAX_RSS_GROWTH MiB.
SOAK_DURATION ?= 30m
SOAK_FAULTS ?=
SOAK_MAX_RSS_GROWTH ?= 64
soak:
	CROSSTEAM_SOAK_DURATION=$(SOAK_DURATION) CROSSTEAM_SOAK_FAULTS=$(SOAK_FAULTS) CROSSTEAM_SOAK_MAX_RSS_GROWTH=$(SOAK_MAX_RSS_GROWTH) $(GO) test ./cmd/crossteam -run '^TestSoak$$' -count=1 -v -timeout 0

ci:
	bash .ci/run

# Board query times at a year of history (e2e/boards_bench_test.go): the
# simulated organisation at 20 teams backfilled into a real Prometheus,
# the trend rules recorded over the year, every board's queries timed over
# 90 days and a year; writes its table into BENCHMARKS.md. About half an
# hour on 2 cores.
bench-boards:
	CROSSTEAM_BENCH_BOARDS=1 CROSSTEAM_BENCH_OUT=$(CURDIR)/BENCHMARKS.md $(GO) test ./e2e -run '^TestBoardQueryTimes$$' -count=1 -v -timeout 90m

# Board screenshots for the README (docs/screenshots/<board>.png): the
# end-to-end test's set-up (the demo fed into a real Prometheus, its
# history backfilled hourly for the pictures) and every board drawn by
# package screenshots from its panels' own queries with gonum/plot, not
# by Grafana. About 6 minutes on 2 cores; the hourly backfill writes a
# temporary OpenMetrics file of about 1.6 GB.
screenshots:
	CROSSTEAM_SCREENSHOTS_OUT=$(CURDIR)/docs/screenshots $(GO) test ./e2e -run '^TestPrometheusEndToEnd$$/^board_screenshots$$' -count=1 -v -timeout 30m
