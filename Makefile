# Everyday targets. The default test run is `go test ./...` (README); long
# runs live here.
GO ?= go

.PHONY: test vet bench bench-engine bench-store ci

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

ci:
	bash .ci/run
