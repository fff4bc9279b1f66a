// Command benchreport turns the output of the bench module's benchmarks into
// docs/benchmarks.md and docs/benchmarks.svg: the machine and the commit
// measured, medians as ratios to raw net/http with their significance, the
// issue's targets met or missed, the outage table, and benchstat's own
// output. With -check it compares a fresh run with the committed figures
// instead and fails on a significant regression.
//
// Usage (from bench/, as `make bench` runs it):
//
//	go run ./cmd/benchreport -bench bench.out [-benchstat benchstat.out] [-outage outage.out] \
//		-md ../docs/benchmarks.md -svg ../docs/benchmarks.svg
//
// bench.out is the output of interleaved passes over the whole suite, each
// `go test -run '^$' -bench . -benchmem -count=1`, so that each benchmark
// has one sample per pass in pass order; it starts with a configuration line
// "commit: <short sha>" ("<sha>-dirty" for a modified tree) that the report
// names. The significance is the Mann-Whitney U test at alpha 0.05, as
// benchstat does it. `make bench` also copies bench.out to
// docs/benchmarks.txt, the raw figures the page was made from, committed
// beside it.
//
// `make bench-check` (not part of `make test`) takes a fresh run and
// compares it with those committed figures:
//
//	go run ./cmd/benchreport -check -committed ../docs/benchmarks.txt -fresh check.out
//
// For Tempest's row in each group both files hold, it compares the per-pass
// ratios of Tempest's ns/op to raw net/http's (raw's Layer for the open
// circuit) by the U test, and the median allocs/op. A regression, a ratio
// more than 5% above the committed one at p < 0.05 or more allocations (more
// than one more on loopback, where the server allocates in the same
// process), makes it exit with status 1; a missing or empty file, 2.
//
// It uses the standard library only.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs the command with args and returns its exit status: 0, 1 for
// a regression found by -check, 2 for a usage or input error.
func realMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	benchPath := fs.String("bench", "bench.out", "`go test -bench -benchmem` output of interleaved passes")
	benchstatPath := fs.String("benchstat", "", "benchstat's output, pasted into the report (optional)")
	outagePath := fs.String("outage", "", "the outage table written by TestOutage (optional)")
	loadPath := fs.String("load", "", "bench/cmd/benchload's page, whose table goes at the top (optional)")
	syscallsPath := fs.String("syscalls", "", "bench/cmd/syscalls's table (optional)")
	curvesPath := fs.String("curves", "", "bench/cmd/curvereport's section (optional)")
	notesPath := fs.String("notes", "", "hand-written notes on where the time goes (optional)")
	goModPath := fs.String("gomod", "go.mod", "the bench module's go.mod, for the peers' versions")
	mdPath := fs.String("md", "benchmarks.md", "Markdown report to write")
	svgPath := fs.String("svg", "benchmarks.svg", "SVG chart to write")
	checkMode := fs.Bool("check", false, "compare -fresh with -committed instead of writing a report; exit 1 on a significant regression")
	committedPath := fs.String("committed", "../docs/benchmarks.txt", "with -check: the committed figures")
	freshPath := fs.String("fresh", "check.out", "with -check: a fresh run's figures")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "benchreport: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *checkMode {
		regressed, err := runCheck(*committedPath, *freshPath, stdout)
		if err != nil {
			fmt.Fprintln(stderr, "benchreport -check:", err)
			return 2
		}
		if regressed {
			return 1
		}
		return 0
	}
	frags := fragments{load: *loadPath, syscalls: *syscallsPath, curves: *curvesPath, notes: *notesPath}
	if err := run(*benchPath, *benchstatPath, *outagePath, *goModPath, *mdPath, *svgPath, frags); err != nil {
		fmt.Fprintln(stderr, "benchreport:", err)
		return 1
	}
	return 0
}

// fragments are the paths of the sections other commands write, each
// optional; a missing file leaves its section out.
type fragments struct{ load, syscalls, curves, notes string }

func run(benchPath, benchstatPath, outagePath, goModPath, mdPath, svgPath string, frags fragments) error {
	bf, err := os.Open(benchPath)
	if err != nil {
		return err
	}
	defer bf.Close()
	f, err := parseBench(bf)
	if err != nil {
		return fmt.Errorf("%s: %w", benchPath, err)
	}
	in := input{bench: f, machine: thisMachine(), svgName: filepath.Base(svgPath)}
	if benchstatPath != "" {
		if in.benchstat, err = readString(benchstatPath); err != nil {
			return err
		}
		in.benchstat = dropGoLines(in.benchstat)
	}
	if outagePath != "" {
		if in.outage, err = readString(outagePath); err != nil {
			return err
		}
	}
	if mod, err := readString(goModPath); err == nil {
		in.versions = parseGoMod(mod)
	}
	for _, fr := range []struct {
		path string
		dst  *string
	}{{frags.load, &in.load}, {frags.syscalls, &in.syscalls}, {frags.curves, &in.curves}, {frags.notes, &in.notes}} {
		if fr.path == "" {
			continue
		}
		b, err := os.ReadFile(fr.path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		*fr.dst = string(b)
	}
	var md strings.Builder
	writeReport(&md, in)
	if err := os.WriteFile(mdPath, []byte(md.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(svgPath, []byte(chart(f, in.outage)), 0o644)
}

// dropGoLines drops the go command's own lines ("go: downloading ...") from
// the output of `go run benchstat@version`.
func dropGoLines(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "go: ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func readString(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// input is everything the report is made of.
type input struct {
	bench     *benchFile
	benchstat string
	outage    string
	versions  map[string]string
	machine   machine
	svgName   string

	// Sections written by other commands, embedded as they are (links to
	// files beside them made relative to docs/).
	load, syscalls, curves, notes string
}

type machine struct {
	goos, goarch, cpu, goVersion, load string
	cpus                               int
	date                               time.Time
}

func thisMachine() machine {
	m := machine{
		goos: runtime.GOOS, goarch: runtime.GOARCH, cpus: runtime.NumCPU(),
		goVersion: runtime.Version(), date: time.Now().UTC(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.load = strings.Join(f[:3], " ")
		}
	}
	return m
}

const baseline = "raw"

// groupDocs says what each benchmark group measures.
var groupDocs = map[string]string{
	"Layer":         "The layer's own cost: a GET over one in-memory transport that returns a canned 200 with a 9-byte body, one call at a time.",
	"LayerParallel": "The same GET under `RunParallel` with `SetParallelism(32)` (64 goroutines on 2 CPUs): contention on the success path shows here.",
	"Loopback":      "A GET against a real `httptest` server on 127.0.0.1 with a warm pool, under `RunParallel` with `SetParallelism(4)`. Every client gets its own `httpclient.NewTransport()` (256 idle connections per host), so only the layers differ.",
	"Loopback h1":   "A GET against a real `httptest` server on 127.0.0.1 over plain HTTP/1.1, with a warm pool, under `RunParallel` with `SetParallelism(4)`. Every client gets its own `httpclient.NewTransport()` with the same settings (256 idle connections per host), so only the layers differ.",
	"Loopback h2":   "The same GET over HTTP/2 over TLS: an `httptest` server with `EnableHTTP2` started with `StartTLS`, on 127.0.0.1, with a warm pool, under `RunParallel` with `SetParallelism(4)`. Every client gets its own `httpclient.NewTransport()` with the same settings (trusting the server's certificate), so only the layers differ.",
	"OpenCircuit":   "The fail-fast path once the upstream is down: each breaker driven open against an always-503 in-memory transport, then a GET with a relative path (joined by the library, or by the caller's string concatenation) and with an absolute URL. raw, retryablehttp and resty have no breaker (their failing path is 3 attempts and 1.5 s of backoff) and are skipped; the ratios here are to **raw's Layer** ns/op, B/op and allocs/op.",
	"JSON":          "A POST of a 1 KiB JSON body and the decoding of a 1 KiB JSON response, over the in-memory transport; raw is net/http with `encoding/json`.",
}

// peerDocs says how each client is configured, in peers.go's terms.
var peerDocs = []struct{ name, module, config string }{
	{"raw", "", "`http.Client{Timeout: 10 * time.Second}`, requests built with `http.NewRequestWithContext`. One attempt, no breaker."},
	{"tempest", "github.com/tempestsdk/tempest", "`httpclient.New(base, WithTransport, WithTimeout(10s), WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: 500ms, BackoffMax: 8s}), WithCircuitBreaker(5, 30s))`; its other defaults stay (jitter 0.2, retry budget, request-ID propagation, which adds no header without an ID in the context). Called with a relative path."},
	{"retryablehttp", "github.com/hashicorp/go-retryablehttp", "`retryablehttp.NewClient()` with `RetryMax: 2`, `RetryWaitMin: 500ms`, `RetryWaitMax: 8s`, an `http.Client{Timeout: 10s}`, no logger (its default logs every request), `PassthroughErrorHandler` (so the last 503 comes back as a response). Default backoff (no jitter) and retry policy. **No breaker.**"},
	{"failsafe", "github.com/failsafe-go/failsafe-go", "`failsafehttp.NewRoundTripper(rt, retryPolicy, circuitBreaker)` under an `http.Client{Timeout: 10s}` (for the whole call). Retry: `failsafehttp.NewRetryPolicyBuilder().WithMaxAttempts(3).WithBackoff(500ms, 8s).AbortOnErrors(circuitbreaker.ErrOpen).ReturnLastFailure()` (without the abort it would retry an open circuit with backoff). Breaker: `circuitbreaker.NewBuilder[*http.Response]().HandleIf(transport error or 5xx but 501/505).WithFailureThreshold(5).WithDelay(30s)`; half-open admits up to 5 trial calls, failsafe's default for this configuration."},
	{"gobreaker", "github.com/sony/gobreaker/v2", "`gobreaker.NewCircuitBreaker[*http.Response](Settings{ReadyToTrip: 5 consecutive failures, Timeout: 30s})` (one half-open trial, its default) inside a simple retry loop: 3 attempts, waits 0.5 s doubling to 8 s, no jitter, stop at once on an open breaker; each attempt an `http.Client{Timeout: 10s}.Do`."},
	{"resty", "github.com/go-resty/resty/v2", "`resty.New()` (its defaults: a cookie jar, a User-Agent header, the body read into memory) with `SetTransport`, `SetTimeout(10s)`, `SetBaseURL`, `SetRetryCount(2)`, `SetRetryWaitTime(500ms)`, `SetRetryMaxWaitTime(8s)` (jittered) and a retry condition for 429 and 5xx but 501 (resty retries only errors by default). Called with a relative path. **No breaker.**"},
}

func writeReport(w io.Writer, in input) {
	f, m := in.bench, in.machine
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }

	p("# Benchmarks\n\n")
	p("<!-- Generated by `make bench` (bench/cmd/benchreport) from one run of the bench module; do not edit by hand. -->\n\n")
	n := f.passes()
	p("Tempest's `httpclient` side by side with raw `net/http` and the resilient clients Go users pick instead: ")
	p("go-retryablehttp, failsafe-go (`failsafehttp`), gobreaker v2 with a retry loop, and resty v2, all configured alike ")
	p("(3 attempts, 0.5 s initial wait, 8 s cap, a breaker at 5 failures and 30 s where the library has one, 10 s timeout, no extra headers). ")
	p("The benchmarks live in the nested module `bench/` (so the core `go.mod` never requires the peers); ")
	p("`make bench` takes %d samples of each with `-benchmem`, interleaved: it runs the whole suite %d times over (`-count=1` each), ", n, n)
	p("so that every client's samples span the same stretch of time and a shared machine's drift lands on all clients alike rather than on whichever ran during a busy minute. ")
	p("This page shows the medians as ratios to raw `net/http`, with the Mann-Whitney U test's p-value (alpha 0.05, as benchstat): `~` marks a difference that is not significant. ")
	if f.commit == "" {
		p("The figures are from one run, commit not recorded; `docs/benchmarks.txt` holds them raw.\n\n")
	} else {
		p("The figures are from a run at commit %s", f.commit)
		if strings.HasSuffix(f.commit, "-dirty") {
			p(" (with uncommitted changes in the working tree)")
		}
		p("; `docs/benchmarks.txt` holds them raw.\n\n")
	}

	if in.load != "" {
		writeLoad(w, in.load)
	}

	p("## Machine\n\n")
	p("| | |\n| --- | --- |\n")
	commit := f.commit
	if commit == "" {
		commit = "commit not recorded"
	}
	p("| Commit | %s |\n", commit)
	p("| OS/arch | %s/%s |\n", m.goos, m.goarch)
	cpu := m.cpu
	if cpu == "" {
		cpu = f.cpu
	}
	p("| CPU | %s |\n", cpu)
	p("| CPUs (`runtime.NumCPU`) | %d |\n", m.cpus)
	p("| Go | %s |\n", m.goVersion)
	p("| Date | %s |\n", m.date.Format("2006-01-02 15:04 MST"))
	if m.load != "" {
		p("| Load average when the report was written | %s |\n", m.load)
	}
	p("\nA %d-core shared machine: other engineers' builds and tests ran during these benchmarks, so read small differences through their p-values; the loopback groups, where client and server share the %d CPUs, are the noisiest.\n\n", m.cpus, m.cpus)

	p("## At a glance\n\n")
	p("Median ns/op relative to raw `net/http` in the same group (lower is faster; `~`: not significantly different from raw). Open circuit: relative to raw's Layer cost.\n\n")
	writeGlance(w, f)
	p("\n![Median ns/op relative to raw net/http](%s)\n\n", in.svgName)

	p("## Targets\n\n")
	for _, t := range targets(f, in.outage) {
		p("- %s\n", t)
	}
	p("\n")

	p("## Results\n\n")
	for _, g := range f.groups() {
		p("### %s\n\n", g)
		if d := groupDocs[g]; d != "" {
			p("%s\n\n", d)
		}
		writeGroup(w, f, g)
		p("\n")
	}

	if in.syscalls != "" {
		p("## System calls\n\n")
		p("%s\n\n", strings.TrimSpace(fragmentLinks(in.syscalls)))
	}
	if in.notes != "" {
		p("%s\n\n", strings.TrimSpace(fragmentLinks(in.notes)))
	}

	p("## Outage\n\n")
	if in.outage == "" {
		p("Not run (`BENCH_OUTAGE_OUT=outage.out go test -run TestOutage .` writes it).\n\n")
	} else {
		p("`TestOutage` (a test, not a benchmark; `make test` runs it too and asserts no timing): attempts received by the upstream per call and the callers' latency, per client. ")
		p("\"While failing\" counts the requests the upstream received while it failed over the calls started then; a failed call ended in an error (open circuit, deadline) or a 5xx.\n\n")
		p("%s\n", strings.TrimSpace(in.outage))
		p("\n")
	}

	if in.curves != "" {
		p("%s\n\n", strings.TrimSpace(fragmentLinks(stripComments(in.curves))))
	}

	p("## The clients\n\n")
	p("| client | version | configuration |\n| --- | --- | --- |\n")
	for _, d := range peerDocs {
		v := "Go's standard library"
		if d.module != "" {
			v = "`" + d.module + "` " + in.versions[d.module]
			if d.name == "tempest" {
				v = "this repository"
			}
		}
		p("| %s | %s | %s |\n", d.name, v, d.config)
	}
	p("\nEvery benchmark reads each response body to its end and closes it, reports allocations and uses `b.Loop` (`RunParallel` for the parallel groups). ")
	p("Each client is called the way its users call it: Tempest and resty, which join a base URL themselves, with a relative path; the others with the absolute URL, a constant, so raw pays for no join.\n\n")

	if in.benchstat != "" {
		p("## benchstat\n\n")
		p("`benchstat -col /client bench.out`: each client against the first column, raw (or Tempest where raw is skipped).\n\n")
		p("```\n%s\n```\n\n", strings.TrimRight(in.benchstat, "\n"))
	}

	p("## Reproduce\n\n")
	p("```\nmake bench        # writes bench/bench.out, bench/benchstat.out, bench/outage.out, docs/benchmarks.txt and this page\nmake bench-check  # a fresh run compared with docs/benchmarks.txt; fails on a significant regression\n```\n\n")
	p("`make bench` writes `docs/benchmarks.txt`, the raw figures this page was made from (%s), committed beside it. ", f.commitPhrase())
	p("`make bench-check` (not part of `make test`) takes a fresh run of the suite and compares it with `docs/benchmarks.txt`: for Tempest in each group, the per-pass ratio of its ns/op to raw `net/http`'s, by the Mann-Whitney U test, and its allocations. ")
	p("It fails on a significant regression: a ratio more than 5%% above the committed one at p < 0.05, or more allocations per call (more than one more on loopback, where the server allocates in the same process).\n\n")
	p("`make test` builds every benchmark and runs each once (`-benchtime=1x`), so they cannot rot; no test asserts a timing.\n")
}

// glanceGroups are the groups of the summary table and the chart, in order;
// "Loopback" is that of files from before the proto dimension.
var glanceGroups = []string{"Layer", "LayerParallel", "Loopback", "Loopback h1", "Loopback h2", "JSON"}

// writeGlance writes the summary table: one row per client, one column per
// group.
func writeGlance(w io.Writer, f *benchFile) {
	var present []string
	for _, g := range glanceGroups {
		if len(f.inGroup(g)) > 0 {
			present = append(present, g)
		}
	}
	opens := f.inGroup("OpenCircuit")
	fmt.Fprintf(w, "| client |")
	for _, g := range present {
		fmt.Fprintf(w, " %s |", g)
	}
	var openForms []string
	for _, r := range opens {
		if !contains(openForms, r.rest) {
			openForms = append(openForms, r.rest)
		}
	}
	for _, form := range openForms {
		fmt.Fprintf(w, " OpenCircuit %s |", form)
	}
	fmt.Fprintf(w, "\n| --- |%s\n", strings.Repeat(" ---: |", len(present)+len(openForms)))
	rawLayer := f.get("Layer", baseline, "")
	for _, client := range clients(f) {
		fmt.Fprintf(w, "| %s |", client)
		for _, g := range present {
			base, r := f.get(g, baseline, ""), f.get(g, client, "")
			fmt.Fprintf(w, " %s |", glanceCell(base, r))
		}
		for _, form := range openForms {
			fmt.Fprintf(w, " %s |", glanceCell(rawLayer, f.get("OpenCircuit", client, form)))
		}
		fmt.Fprintln(w)
	}
}

func glanceCell(base, r *result) string {
	switch {
	case r == nil:
		return "n/a"
	case base == nil:
		return fmtNum(median(r.ns)) + " ns"
	case base == r:
		return "1 (" + fmtNum(median(r.ns)) + " ns)"
	}
	c := compare(base.ns, r.ns)
	s := fmtRatio(c.ratio)
	if !c.significant() {
		s += " ~"
	}
	return s
}

// clients returns the client names in order of first appearance.
func clients(f *benchFile) []string {
	var cs []string
	for _, r := range f.results {
		if !contains(cs, r.client) {
			cs = append(cs, r.client)
		}
	}
	return cs
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// writeGroup writes a group's table: medians and ratios to raw.
func writeGroup(w io.Writer, f *benchFile, group string) {
	base := f.get(group, baseline, "")
	baseNote := "× raw"
	if group == "OpenCircuit" {
		base = f.get("Layer", baseline, "")
		baseNote = "× raw Layer"
	}
	fmt.Fprintf(w, "| client | ns/op | %s | B/op | %s | allocs/op | %s |\n", baseNote, baseNote, baseNote)
	fmt.Fprintf(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range f.inGroup(group) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.label(),
			fmtNum(median(r.ns)), ratioCell(base, r, func(r *result) []float64 { return r.ns }),
			fmtNum(median(r.bytes)), ratioCell(base, r, func(r *result) []float64 { return r.bytes }),
			fmtNum(median(r.allocs)), ratioCell(base, r, func(r *result) []float64 { return r.allocs }))
	}
	if n := len(f.inGroup(group)[0].ns); n > 0 {
		if f.commit == "" {
			fmt.Fprintf(w, "\nMedians of %d runs, commit not recorded.\n", n)
		} else {
			fmt.Fprintf(w, "\nMedians of %d runs at commit %s.\n", n, f.commit)
		}
	}
}

func ratioCell(base, r *result, metric func(*result) []float64) string {
	if base == nil || len(metric(base)) == 0 || len(metric(r)) == 0 {
		return "n/a"
	}
	if base == r {
		return "1"
	}
	c := compare(metric(base), metric(r))
	if math.IsNaN(c.ratio) || math.IsInf(c.ratio, 0) {
		return "n/a"
	}
	if !c.significant() {
		return fmt.Sprintf("%s ~ (p=%.2f)", fmtRatio(c.ratio), c.p)
	}
	return fmt.Sprintf("**%s** (p=%.3f)", fmtRatio(c.ratio), c.p)
}

func fmtRatio(r float64) string {
	switch {
	case r < 0.1:
		return fmt.Sprintf("%.3f×", r)
	default:
		return fmt.Sprintf("%.2f×", r)
	}
}

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

// loopbackGroups returns the loopback groups of f in order: "Loopback h1"
// and "Loopback h2", or "Loopback" in a file from before the proto
// dimension.
func loopbackGroups(f *benchFile) []string {
	var gs []string
	for _, g := range f.groups() {
		if g == "Loopback" || strings.HasPrefix(g, "Loopback ") {
			gs = append(gs, g)
		}
	}
	return gs
}

// targets checks the targets against the figures.
func targets(f *benchFile, outage string) []string {
	var out []string
	verdict := func(ok bool) string {
		if ok {
			return "**Met.**"
		}
		return "**Missed.**"
	}
	const tempest = "tempest"

	if raw, t := f.get("Layer", baseline, ""), f.get("Layer", tempest, ""); raw != nil && t != nil {
		c := compare(raw.ns, t.ns)
		speed := c.ratio <= 1.03 || !c.significant()
		allocs := median(t.allocs) <= median(raw.allocs)
		out = append(out, fmt.Sprintf("%s Layer cost, sequential: Tempest at or below raw net/http (no significant increase, or at most +3%%), with no more allocations: %s of raw's ns/op (p=%.3f), %s allocs/op against %s.",
			verdict(speed && allocs), fmtRatio(c.ratio), c.p, fmtNum(median(t.allocs)), fmtNum(median(raw.allocs))))
		if rp, tp := f.get("LayerParallel", baseline, ""), f.get("LayerParallel", tempest, ""); rp != nil && tp != nil {
			cp := compare(rp.ns, tp.ns)
			ok := cp.ratio <= 1.03 || !cp.significant()
			out = append(out, fmt.Sprintf("%s Layer cost, parallel (`SetParallelism(32)`): Tempest %s of raw (p=%.3f), beside %s sequentially; contention is read from the mutex and block profiles, not from this ratio.",
				verdict(ok), fmtRatio(cp.ratio), cp.p, fmtRatio(c.ratio)))
		}
	}

	for _, g := range []string{"Layer", "LayerParallel"} {
		t := f.get(g, tempest, "")
		if t == nil {
			continue
		}
		var cells, faster, unsure []string
		for _, r := range f.inGroup(g) {
			if r.client == baseline || r.client == tempest {
				continue
			}
			c := compare(t.ns, r.ns)
			cells = append(cells, fmt.Sprintf("%s %s (p=%.3f)", r.client, fmtRatio(c.ratio), c.p))
			switch {
			case c.ratio <= 1:
				faster = append(faster, r.client)
			case !c.significant():
				unsure = append(unsure, r.client)
			}
		}
		s := fmt.Sprintf("%s %s: Tempest the fastest of the peers; each peer's median relative to Tempest's: %s.",
			verdict(len(faster) == 0), g, strings.Join(cells, ", "))
		if len(faster) > 0 {
			s += " At or below Tempest's median: " + strings.Join(faster, ", ") + "."
		}
		if len(unsure) > 0 {
			s += " Tempest's lead over " + strings.Join(unsure, " and ") + " is not significant in this run."
		}
		out = append(out, s)
	}

	for _, g := range loopbackGroups(f) {
		t := f.get(g, tempest, "")
		if t == nil {
			continue
		}
		if raw := f.get(g, baseline, ""); raw != nil {
			c := compare(raw.ns, t.ns)
			ta, ra := median(t.allocs), median(raw.allocs)
			ok := (c.ratio <= 1 || c.p > alpha) && ta <= ra
			out = append(out, fmt.Sprintf("%s %s: Tempest not significantly slower than raw net/http (p > 0.05) with allocations per call no more than raw's: %s of raw (p=%.3f), %s allocs/op against %s.",
				verdict(ok), g, fmtRatio(c.ratio), c.p, fmtNum(ta), fmtNum(ra)))
		}
		var sig []string
		var all []string
		for _, r := range f.inGroup(g) {
			if r.client == tempest {
				continue
			}
			c := compare(t.ns, r.ns)
			all = append(all, fmt.Sprintf("%s %s (p=%.3f)", r.client, fmtRatio(c.ratio), c.p))
			if r.client != baseline && c.ratio < 1 && c.significant() {
				sig = append(sig, r.client)
			}
		}
		s := fmt.Sprintf("%s %s: no peer significantly faster than Tempest; relative to Tempest: %s.", verdict(len(sig) == 0), g, strings.Join(all, ", "))
		if len(sig) > 0 {
			s += " Significantly faster: " + strings.Join(sig, ", ") + "."
		}
		out = append(out, s)
	}

	if raw := f.get("Layer", baseline, ""); raw != nil {
		limit := median(raw.ns) / 15
		for _, r := range f.inGroup("OpenCircuit") {
			if r.client != tempest {
				continue
			}
			ns, allocs := median(r.ns), median(r.allocs)
			out = append(out, fmt.Sprintf("%s Open circuit, %s: at most a fifteenth of raw's layer cost (%s ns) and at most 2 allocations: %s ns/op (%s of raw's layer cost), %s allocs/op.",
				verdict(ns <= limit && allocs <= 2), r.rest, fmtNum(limit), fmtNum(ns), fmtRatio(ns/median(raw.ns)), fmtNum(allocs)))
		}
		var faster []string
		for _, r := range f.inGroup("OpenCircuit") {
			if r.client == tempest {
				continue
			}
			if t := f.get("OpenCircuit", tempest, r.rest); t != nil {
				if c := compare(t.ns, r.ns); c.ratio < 1 && c.significant() {
					faster = append(faster, fmt.Sprintf("%s %s (%s of Tempest's, %s allocs/op)", r.client, r.rest, fmtRatio(c.ratio), fmtNum(median(r.allocs))))
				}
			}
		}
		if len(faster) > 0 {
			out = append(out, "Not a target, but worth knowing: faster than Tempest on the open circuit: "+strings.Join(faster, "; ")+".")
		}
	}

	if outage != "" {
		var lines []string
		for _, line := range strings.Split(outage, "\n") {
			if strings.HasPrefix(line, "TARGET MISSED") {
				lines = append(lines, line)
			}
		}
		if len(lines) == 0 {
			out = append(out, "**Met.** Outage: no client sent the failing upstream fewer attempts per call than Tempest (see the outage table).")
		} else {
			out = append(out, "**Missed.** Outage: "+strings.Join(lines, "; ")+".")
		}
	}
	return out
}
