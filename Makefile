# Everyday targets. The default test run is `go test ./...` (README); long
# runs live here.
GO ?= go

.PHONY: test vet bench bench-engine bench-store fuzz crash ci

test:
	$(GO) test ./...

vet:
	$(GO) vet ./...

# Benchmarks: the engine at 100k items / 1M events, and the store.
bench: bench-engine bench-store

bench-engine:
	$(GO) test ./engine -run '^$$' -bench Compute -benchtime 10x -benchmem

bench-store:
	$(GO) test ./store -run '^$$' -bench . -benchtime 3x -benchmem

# Fuzzing: each target for FUZZTIME (default 2m). The default test run
# replays only the seed corpora (fixtures, testdata, found crashers).
FUZZTIME ?= 2m
fuzz:
	$(GO) test ./config -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./collectors/github -run '^$$' -fuzz '^FuzzMapIssueEvents$$' -fuzztime $(FUZZTIME)
	$(GO) test ./collectors/github -run '^$$' -fuzz '^FuzzMapIssues$$' -fuzztime $(FUZZTIME)

# Crash recovery with 40 SIGKILLs of a real exporter process (the default
# test run does 8).
crash:
	CROSSTEAM_CRASH_KILLS=40 $(GO) test ./cmd/crossteam -run '^TestCrashRecovery$$' -count=1 -v

ci:
	bash .ci/run
