# Tempest for Go. Two commands: `make demo` runs the demo, `make test` runs
# every check that must pass. Both set themselves up; nothing is installed by hand.

SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
# Every module in the repo: the core and any nested integration module.
MODULES := $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)

BENCHSTAT := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

.PHONY: all test demo fmt-check vet staticcheck api-check api race bench bench-core bench-smoke fuzz trust-scale

all: test

demo:
	$(GO) run ./cmd/tempest-demo

test: fmt-check vet staticcheck api-check race bench-smoke
	@echo "make test: all checks passed"

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do echo "go vet $$m"; (cd $$m && $(GO) vet ./...); done

staticcheck:
	@set -e; for m in $(MODULES); do echo "staticcheck $$m"; (cd $$m && $(STATICCHECK) ./...); done

# The exported API of every module, one line per name, in api/NAME.txt (NAME
# is the last element of the module path: tempest, bench). A change to it
# fails make test until `make api` rewrites the files, for a reviewer to read
# in the diff beside the CHANGELOG.md entry that explains it.
api-check:
	@rc=0; for m in $(MODULES); do echo "apicheck $$m"; $(GO) run ./internal/apicheck -root $$m || rc=1; done; exit $$rc

api:
	@set -e; for m in $(MODULES); do $(GO) run ./internal/apicheck -root $$m -w; done

# -race needs cgo and a C compiler.
race:
	@command -v gcc >/dev/null 2>&1 || { echo "make test: -race needs gcc (apt-get install gcc)"; exit 1; }
	@set -e; for m in $(MODULES); do echo "go test -race $$m"; (cd $$m && CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 8m ./...); done

# A short live fuzz run of each parser, beyond the seed corpora that `make test` runs.
fuzz:
	$(GO) test ./httpclient -run '^$$' -fuzz FuzzParseRetryAfter -fuzztime 20s
	$(GO) test ./httpclient -run '^$$' -fuzz FuzzJoinURL -fuzztime 20s
	$(GO) test ./requestid -run '^$$' -fuzz FuzzValid -fuzztime 20s

# Every benchmark of the bench module once, so none can rot; no timing is asserted.
bench-smoke:
	cd bench && $(GO) test -run '^$$' -bench . -benchtime=1x ./...

# Tempest beside raw net/http and its peers (bench/): 6 interleaved samples of
# every benchmark, benchstat, the outage run, then docs/benchmarks.{md,svg}.
bench:
	set -o pipefail; cd bench && $(GO) test -c -o bench.test . && for i in 1 2 3 4 5 6; do ./bench.test -test.run '^$$' -test.bench . -test.benchmem -test.count=1 -test.timeout 30m; done | tee bench.out
	cd bench && $(BENCHSTAT) -col /client bench.out > benchstat.out
	cd bench && BENCH_OUTAGE_OUT=outage.out $(GO) test -run '^TestOutage$$' -count=1 .
	cd bench && $(GO) run ./cmd/benchreport -bench bench.out -benchstat benchstat.out -outage outage.out -md ../docs/benchmarks.md -svg ../docs/benchmarks.svg

# The core's in-package benchmarks beside raw net/http: medians of 6 and ratios.
bench-core:
	$(GO) test ./httpclient -run '^$$' -bench . -benchmem -count 6 | tee bench.out
	awk -f scripts/benchratio.awk bench.out

# The Trust issue's measurements (R50, R57, R58): 100 000 origins through one
# client, 10 000 goroutines on loopback, a burst under a lowered descriptor
# limit. Figures go to the test log (-v); not part of `make test`.
trust-scale:
	TEMPEST_SCALE=1 $(GO) test ./httpclient -run '^TestScale_' -count=1 -v -timeout 20m | grep -E '^(=== RUN|--- |ok|FAIL|\s+scale_test)'
