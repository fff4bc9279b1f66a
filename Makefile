# Tempest for Go. Two commands: `make demo` runs the demo, `make test` runs
# every check that must pass. Both set themselves up; nothing is installed by hand.

SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
# Every module in the repo: the core and any nested integration module.
MODULES := $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)

BENCHSTAT := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

.PHONY: all test demo fmt-check vet staticcheck api-check api race bench bench-suite bench-report bench-check bench-syscalls bench-curves bench-load bench-otel bench-ratelimit bench-fleet bench-overload bench-concurrency bench-core bench-smoke demo-shots fuzz trust-scale

all: test

# The demo is a module of its own (cmd/tempest-demo/go.mod), so that its
# metrics endpoint may use OpenTelemetry while the core stays standard
# library only. Built there, run from here, so that paths in ARGS (-svg
# FILE) are relative to the repository: make demo ARGS='-compare'.
demo:
	cd cmd/tempest-demo && $(GO) build -o ../../.bin/tempest-demo .
	./.bin/tempest-demo $(ARGS)

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

# -race needs cgo and a C compiler. Tests that need Redis start private
# redis-server processes of their own (internal/redistest: skipped when it is
# not installed, failed under CI=true); REDIS_URL=redis://HOST:PORT/DB make
# race points those that neither kill nor restart Redis at another server.
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

# The figures of docs/benchmarks.md, each named by the commit it measured
# (-dirty: with uncommitted changes outside docs/, where the figures go).
# Not part of `make test`.
BENCH_COMMIT = $$(git rev-parse --short=7 HEAD)$$(git diff --quiet HEAD -- . ':(exclude)docs' || echo -dirty)
# The suite of Tempest beside raw net/http and its peers (bench/bench_test.go).
BENCH_SUITE := '^Benchmark(Layer|LayerParallel|Loopback|OpenCircuit|JSON)$$'
BENCH_PASSES := 1 2 3 4 5 6 7 8

# Everything: the suite, the syscalls, the cost curves, then the page.
# About 15 minutes. `make bench-load` (70 s) is apart.
bench: bench-suite bench-syscalls bench-curves bench-report

# 8 interleaved passes of the suite (every benchmark once per pass, so that
# a shared machine's drift lands on every client alike), benchstat, the
# outage run. docs/benchmarks.txt keeps the raw figures for bench-check.
bench-suite:
	set -o pipefail; cd bench && $(GO) test -c -o bench.test . && { echo "commit: $(BENCH_COMMIT)"; for i in $(BENCH_PASSES); do ./bench.test -test.run '^$$' -test.bench $(BENCH_SUITE) -test.benchmem -test.count=1 -test.timeout 30m; done; } | tee bench.out
	mkdir -p docs/bench && cp bench/bench.out docs/benchmarks.txt
	cd bench && $(BENCHSTAT) -col /client ../docs/benchmarks.txt > ../docs/bench/benchstat.txt
	cd bench && BENCH_OUTAGE_OUT=../docs/bench/outage.md $(GO) test -run '^TestOutage$$' -count=1 .

# System calls per call of each client on loopback, under strace.
bench-syscalls:
	mkdir -p docs/bench && cd bench && $(GO) run ./cmd/syscalls -n 2000 -commit "$(BENCH_COMMIT)" -md ../docs/bench/syscalls.md

# The cost curves of httpclient alone (bench/curves_test.go): 5 interleaved
# passes, then docs/bench/curves.{md,svg}.
bench-curves:
	mkdir -p docs/bench; set -o pipefail; cd bench && $(GO) test -c -o curves.test . && for i in 1 2 3 4 5; do ./curves.test -test.run '^$$' -test.bench '^BenchmarkCurve' -test.benchmem -test.count=1 -test.timeout 30m; done | tee curves.out
	cd bench && $(GO) run ./cmd/curvereport -bench curves.out -commit "$(BENCH_COMMIT)" -md ../docs/bench/curves.md -svg ../docs/bench/curves.svg

# The real-service run (bench/cmd/benchload): each client in turn, open loop
# at 2000 calls/s for 10 s against an upstream process on loopback (1% 503s,
# 0.5% resets). About 70 s. Its table goes at the top of docs/benchmarks.md.
bench-load:
	mkdir -p docs/bench && cd bench && $(GO) run ./cmd/benchload -commit "$(BENCH_COMMIT)" -md ../docs/bench/load.md -json load.out
	$(MAKE) bench-report

# The rate limiter's cost per call (issue 12): Tempest alone, with a
# per-origin limit and with a shared Gate, serial and parallel, 8
# interleaved passes; benchstat against Tempest alone. About 80 s.
bench-ratelimit:
	mkdir -p docs/bench; set -o pipefail; cd bench && $(GO) test -c -o ratelimit.test . && { echo "commit: $(BENCH_COMMIT)"; for i in $(BENCH_PASSES); do ./ratelimit.test -test.run '^$$' -test.bench '^BenchmarkRateLimit$$' -test.benchmem -test.count=1; done; } | tee ../docs/bench/ratelimit.txt
	cd bench && $(BENCHSTAT) -col /client ../docs/bench/ratelimit.txt | tee ../docs/bench/ratelimit-benchstat.txt

# The fleet's costs (issue 12; needs redis-server): the success path with
# breakers shared through Redis against without, and a rate-limit Take
# local, through Redis, and leased, in 8 interleaved passes with benchstat;
# then 3 replicas x 32 goroutines beside gobreaker v2's
# DistributedCircuitBreaker on the same Redis (docs/bench/fleet.md).
bench-fleet:
	mkdir -p docs/bench; set -o pipefail; cd bench && $(GO) test -c -o fleet.test . && { echo "commit: $(BENCH_COMMIT)"; for i in $(BENCH_PASSES); do ./fleet.test -test.run '^$$' -test.bench '^BenchmarkFleet' -test.benchmem -test.count=1; done; } | tee ../docs/bench/fleet.txt
	cd bench && $(BENCHSTAT) -col /client ../docs/bench/fleet.txt | tee ../docs/bench/fleet-benchstat.txt
	cd bench && BENCH_FLEET=1 BENCH_FLEET_OUT=../docs/bench/fleet.md ./fleet.test -test.run '^TestFleetThroughput$$' -test.v -test.count=1
	set -o pipefail; cd redisstore && FLEET_RUN=5s $(GO) test -count=1 -run 'Fleet|TripReaches' -v . | grep -E 'admitted|trip|probe|^(ok|---)' | tee ../docs/bench/fleet-redis.txt

# The concurrency limit's cost on the success path with no contention
# (issue 13): Tempest with a fixed and an adaptive limit against without,
# in memory and over loopback, 8 interleaved passes.
bench-concurrency:
	mkdir -p docs/bench; set -o pipefail; cd bench && $(GO) test -c -o concurrency.test . && { echo "commit: $(BENCH_COMMIT)"; for i in $(BENCH_PASSES); do ./concurrency.test -test.run '^$$' -test.bench '^BenchmarkConcurrencyLimit$$' -test.benchmem -test.count=1; done; } | tee ../docs/bench/concurrency.txt
	cd bench && $(BENCHSTAT) -col /client ../docs/bench/concurrency.txt | tee ../docs/bench/concurrency-benchstat.txt

# The overload model (R74; bench/overload_test.go): every client
# configuration in front of an upstream of 32 workers at 0.5x to 4x its
# capacity and through a capacity drop, 30 s of fake time (synctest) each,
# then the same model once on loopback at 2x for 10 s per configuration:
# docs/overload.{md,svg}. About 90 s. TestOverloadModel, the model's
# own checks, is in make test.
bench-overload:
	c="$(BENCH_COMMIT)"; cd bench && OVERLOAD_REPORT=1 OVERLOAD_COMMIT="$$c" OVERLOAD_OUT=../docs/overload.md $(GO) test -run '^TestOverloadReport$$' -count=1 -v -timeout 30m .
	c="$(BENCH_COMMIT)"; cd bench && OVERLOAD_LOOPBACK=1 OVERLOAD_COMMIT="$$c" OVERLOAD_OUT=../docs/overload.md $(GO) test -run '^TestOverloadLoopback$$' -count=1 -v -timeout 10m .

# The README's screenshot of the operator page during the demo's outage and
# its excerpt of /metrics (needs Chromium). Not part of make test.
demo-shots:
	scripts/observe-shot.sh

# The cost of observability (issue 11): Tempest alone, with the otel
# module (spans and metrics; metrics alone), and under otelhttp's Transport
# instead, in 8 interleaved passes at GOMAXPROCS 1 and 2; benchstat sets
# them side by side, against Tempest alone and against otelhttp. About 80 s. docs/bench/otel.txt keeps the raw figures.
bench-otel:
	mkdir -p docs/bench; set -o pipefail; cd bench && $(GO) test -c -o otel.test . && { echo "commit: $(BENCH_COMMIT)"; for i in $(BENCH_PASSES); do ./otel.test -test.run '^$$' -test.bench '^BenchmarkObservability$$' -test.benchmem -test.count=1 -test.cpu 1,2; done; } | tee ../docs/bench/otel.txt
	cd bench && { echo "# against Tempest alone"; $(BENCHSTAT) -col /client ../docs/bench/otel.txt; echo; echo "# against Tempest under otelhttp's Transport"; $(BENCHSTAT) -col '/client@(tempest+otelhttp tempest+otel tempest+otel-metrics)' ../docs/bench/otel.txt; } | tee ../docs/bench/otel-benchstat.txt

# docs/benchmarks.{md,svg} from the committed figures under docs/.
bench-report:
	cd bench && $(GO) run ./cmd/benchreport -bench ../docs/benchmarks.txt -benchstat ../docs/bench/benchstat.txt -outage ../docs/bench/outage.md -load ../docs/bench/load.md -syscalls ../docs/bench/syscalls.md -curves ../docs/bench/curves.md -notes ../docs/bench/notes.md -md ../docs/benchmarks.md -svg ../docs/benchmarks.svg

# A fresh run of the suite (6 passes) against docs/benchmarks.txt: fails
# on a significant regression of Tempest's ratio to raw net/http, or on
# more allocations. Not part of `make test`: timing needs a quiet machine.
bench-check:
	set -o pipefail; cd bench && $(GO) test -c -o bench.test . && { echo "commit: $(BENCH_COMMIT)"; for i in 1 2 3 4 5 6; do ./bench.test -test.run '^$$' -test.bench $(BENCH_SUITE) -test.benchmem -test.count=1 -test.timeout 30m; done; } | tee check.out
	cd bench && $(GO) run ./cmd/benchreport -check -committed ../docs/benchmarks.txt -fresh check.out

# The core's in-package benchmarks beside raw net/http: medians of 6 and ratios.
bench-core:
	$(GO) test ./httpclient -run '^$$' -bench . -benchmem -count 6 | tee bench.out
	awk -f scripts/benchratio.awk bench.out

# The Trust issue's measurements (R50, R57, R58): 100 000 origins through one
# client, 10 000 goroutines on loopback, a burst under a lowered descriptor
# limit. Figures go to the test log (-v); not part of `make test`.
trust-scale:
	TEMPEST_SCALE=1 $(GO) test ./httpclient -run '^TestScale_' -count=1 -v -timeout 20m | grep -E '^(=== RUN|--- |ok|FAIL|\s+scale_test)'
