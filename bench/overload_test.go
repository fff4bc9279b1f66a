package bench

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOverloadModel checks the R74 model itself, with no limiter: its
// latencies below capacity, its capacity, its own queue cut-off above it,
// and the workers' drop and return; then that every configuration's calls
// end in outcomes the report knows. About 2 s (10 s under -race).
func TestOverloadModel(t *testing.T) {
	none := configByName(t, "none")

	t.Run("R74 0.5x: the service time alone", func(t *testing.T) {
		r := runModel(t, none, loadScenario(0.5, 30*time.Second))
		t.Log(r.line())
		// median 20 ms; p99 20 ms·e^(0.5·2.326) = 64 ms, plus a little queueing
		if r.P50 < 15*time.Millisecond || r.P50 > 25*time.Millisecond {
			t.Errorf("p50 %v, want 15–25ms", r.P50)
		}
		if r.P99 < 50*time.Millisecond || r.P99 > 80*time.Millisecond {
			t.Errorf("p99 %v, want 50–80ms", r.P99)
		}
		if r.Status503+r.Timeouts+r.Other > 0 {
			t.Errorf("%d 503s, %d timeouts, %d other (%v) at half the capacity", r.Status503, r.Timeouts, r.Other, r.OtherErr)
		}
	})

	t.Run("R74 2x: capacity, then the upstream's 500ms cut-off", func(t *testing.T) {
		r := runModel(t, none, loadScenario(2, 10*time.Second))
		t.Log(r.line())
		if r.Status503 == 0 {
			t.Error("no 503s at twice the capacity")
		}
		if r.P99 <= 400*time.Millisecond {
			t.Errorf("p99 %v, want over 400ms: the queue fills to the cut-off", r.P99)
		}
		if lo, hi := 0.95*modelCapacity, 1.01*modelCapacity; r.Goodput < lo || r.Goodput > hi {
			t.Errorf("goodput %.0f/s, want the capacity %.0f/s within -5%%/+1%%", r.Goodput, modelCapacity)
		}
		if r.Other > 0 {
			t.Errorf("%d unexpected outcomes: %v", r.Other, r.OtherErr)
		}
	})

	t.Run("R74 capacity change: half the workers, then all", func(t *testing.T) {
		s := capacityScenario(9 * time.Second) // C 16 from 3 s to 6 s
		r := runModel(t, none, s)
		t.Log(r.line(), r.PerSecond)
		for _, sec := range []int{4, 5} { // inside the drop, once the 32 jobs in service are done
			if lo, hi := 0.45*modelCapacity, 0.55*modelCapacity; float64(r.PerSecond[sec]) < lo || float64(r.PerSecond[sec]) > hi {
				t.Errorf("second %d: %d successes, want half the capacity (%.0f–%.0f)", sec, r.PerSecond[sec], lo, hi)
			}
		}
		// Without a limiter every worker is busy the moment it is back.
		if r.Recovery < 0 || r.Recovery > 1200*time.Millisecond {
			t.Errorf("recovery %v, want at most 1.2s", r.Recovery)
		}
	})

	t.Run("R74 every configuration", func(t *testing.T) {
		for _, cfg := range overloadConfigs {
			r := runModel(t, cfg, loadScenario(2, 2*time.Second))
			t.Log(r.line())
			if r.Other > 0 {
				t.Errorf("%s: %d calls ended in neither success, rejection, 503 nor timeout: %v", cfg.Name, r.Other, r.OtherErr)
			}
			if r.Successes == 0 {
				t.Errorf("%s: no successes", cfg.Name)
			}
		}
	})
}

func (r overloadResult) line() string {
	s := fmt.Sprintf("%s %s: %d calls, goodput %.0f/s, p50 %v, p99 %v, rejected %d, 503 %d, timeouts %d, peak in flight %d, served %d (for callers gone %d), wall %v",
		r.Config, r.Scenario, r.Calls, r.Goodput, ms(r.P50), ms(r.P99), r.Rejected, r.Status503, r.Timeouts, r.PeakInFlight, r.Served, r.Wasted, r.Wall.Round(time.Millisecond))
	if r.Recovery != 0 {
		s += ", recovery " + recoveryText(r.Recovery)
	}
	if r.Other > 0 {
		s += fmt.Sprintf(", OTHER %d (%v)", r.Other, r.OtherErr)
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func recoveryText(d time.Duration) string {
	if d < 0 {
		return "not within the run"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// TestOverloadReport runs every configuration at every load and through the
// capacity change, 30 s of fake time each, and writes docs/overload.md and
// docs/overload.svg (make bench-overload). Not part of make test.
func TestOverloadReport(t *testing.T) {
	if os.Getenv("OVERLOAD_REPORT") != "1" {
		t.Skip("OVERLOAD_REPORT=1 runs it (make bench-overload)")
	}
	out := envOr("OVERLOAD_OUT", "../docs/overload.md")
	const d = 30 * time.Second
	scenarios := []overloadScenario{loadScenario(0.5, d), loadScenario(1, d), loadScenario(2, d), loadScenario(4, d), capacityScenario(d)}
	var results [][]overloadResult // by scenario, then config
	wall := time.Now()
	for _, s := range scenarios {
		var row []overloadResult
		for _, cfg := range overloadConfigs {
			var runs []overloadResult
			for range max(cfg.Runs, 1) {
				r := runModel(t, cfg, s)
				t.Log(r.line())
				runs = append(runs, r)
			}
			row = append(row, medianRun(runs))
		}
		results = append(results, row)
	}
	total := time.Since(wall)
	t.Logf("all runs: %v", total.Round(time.Millisecond))

	md := overloadMarkdown(results, total)
	t.Log("\n" + md)
	svgPath := strings.TrimSuffix(out, filepath.Ext(out)) + ".svg"
	if old, err := os.ReadFile(out); err == nil { // keep the loopback figures
		if i := strings.Index(string(old), loopbackHeading); i >= 0 {
			md += "\n" + string(old[i:])
		}
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(svgPath, []byte(overloadSVG(results[len(results)-1], scenarios[len(scenarios)-1])), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s and %s", out, svgPath)
}

// medianRun is the run of median goodput, with the spread of all in
// Spread.
func medianRun(runs []overloadResult) overloadResult {
	if len(runs) == 1 {
		return runs[0]
	}
	slices.SortFunc(runs, func(a, b overloadResult) int { return cmp.Compare(a.Goodput, b.Goodput) })
	r := runs[len(runs)/2]
	p99 := func(r overloadResult) time.Duration { return r.P99 }
	rec := func(r overloadResult) time.Duration { // never sorts last
		if r.Recovery < 0 {
			return math.MaxInt64
		}
		return r.Recovery
	}
	lo, hi := slices.MinFunc(runs, byDuration(p99)), slices.MaxFunc(runs, byDuration(p99))
	r.Spread = fmt.Sprintf("%d runs: goodput %.0f–%.0f/s, p99 %s–%s", len(runs), runs[0].Goodput, runs[len(runs)-1].Goodput, ms(lo.P99), ms(hi.P99))
	if r.Recovery != 0 {
		lo, hi := slices.MinFunc(runs, byDuration(rec)), slices.MaxFunc(runs, byDuration(rec))
		r.RecoverySpread = fmt.Sprintf("%s to %s in %d runs", recoveryText(lo.Recovery), recoveryText(hi.Recovery), len(runs))
		r.Spread += ", recovery " + r.RecoverySpread
	}
	return r
}

func byDuration(f func(overloadResult) time.Duration) func(a, b overloadResult) int {
	return func(a, b overloadResult) int { return cmp.Compare(f(a), f(b)) }
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func commitLabel() string { return envOr("OVERLOAD_COMMIT", "(commit not given)") }

func overloadMarkdown(results [][]overloadResult, total time.Duration) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Overload: clients in front of a saturated upstream (R74)\n\n")
	p("Written by `make bench-overload` (bench/overload_test.go, TestOverloadReport) at %s; not to be edited by hand. ", commitLabel())
	p("Every figure comes from a simulation in fake time (testing/synctest): no network, no timing noise, the same result on any machine, except the wall times, measured on %s/%s, GOMAXPROCS %d, %s, ", runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.Version())
	p("and the figures of a configuration that draws random numbers no seed here reaches (†: run several times; the table shows the run of median goodput, the notes below it the spread).\n\n")
	p("## The model\n\n")
	p("- The upstream has C = %d workers and one FIFO queue. A request's service time is %v × e^N(0, %.1f²): median %v, mean %s, so the true capacity is C / mean = **%.0f/s**. ", modelWorkers, modelMedian, modelSigma, modelMedian, ms(modelMean), modelCapacity)
	p("A request that waited in the queue longer than %v is answered 503 at once when a worker takes it. The upstream never learns that a caller gave up: its job stays queued and is served.\n", modelQueueLimit)
	p("- Callers arrive open-loop (Poisson) at 0.5x, 1x, 2x and 4x of %.0f calls/s, for 30 s each, and have a deadline of %v each. ", modelBaseRate, modelDeadline)
	p("Arrival times and service times are drawn before the run from seeded sources, per arrival: every configuration sees the same calls.\n")
	p("- The capacity change: at 1x, C drops to %d at 10 s and returns to %d at 20 s; a worker above C finishes its job and takes no new one until the capacity returns.\n", modelWorkers/2, modelWorkers)
	p("- Each configuration sends through an in-memory `http.RoundTripper` that is the upstream: it returns when the job is answered or the request's context ends. A 200 has a 2-byte body, which every caller reads and closes.\n")
	p("- A job that waited %v is answered 503, and a service time over %v is 6.4σ away, so a caller that does not wait in its own client never reaches its %v deadline: overload shows as 503s and latency, not as timeouts or work done for callers gone.\n\n", modelQueueLimit, modelDeadline-modelQueueLimit, modelDeadline)
	p("## Configurations\n\n")
	p("- **none**: Tempest's `httpclient` with retries off (`RetryPolicy{MaxAttempts: 1}`) and the breaker off (`WithCircuitBreaker(0, 0)`).\n")
	p("- **tempest adaptive**: the same client with `WithConcurrencyLimit(ConcurrencyLimit{})`: the adaptive limit (R74) at its defaults (start 64, ratio band 1.5–2), a queue of 16 waiting at most 50 ms and never past 50 ms before the deadline (R75).\n")
	p("- **fixed refusing L=n**: the same client with `ConcurrencyLimit{Fixed: n, Queue: NoQueue}` for n = C/4, C, 4C: a full origin refuses at once.\n")
	p("- **fixed queued L=n**: the same with a queue of n callers, each waiting at most until 100 ms before its deadline (`MinLeft`; `MaxWait` an hour).\n")
	p("- **failsafe adaptive**: failsafe-go v0.9.8's adaptive limiter at its defaults (limits 1/200/20, no queue) through `failsafehttp.NewRoundTripper`, in an `http.Client`.\n")
	p("- **failsafe adaptive+queue**: the same with `WithQueueing(2, 3)`, the factors its documentation gives as the prioritized limiter's defaults (waits bounded by the caller's deadline).\n\n")
	p("## Results\n\n")
	p("Goodput: successful calls that completed within the 30 s, per second. p50 and p99: of successful calls, from arrival to the body read. ")
	p("Rejected: refused by the client's limiter. 503s: calls answered 503 by the upstream. Timeouts: calls ended by their own deadline. ")
	p("Peak in flight: callers that had arrived and not yet returned, a goroutine each. Wasted: 200s the upstream served to callers already gone. Wall: real time the run took.\n\n")
	p("| load | config | goodput/s | p50 | p99 | rejected | 503s | timeouts | peak in flight | wasted | wall |\n")
	p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range results {
		for _, r := range row {
			p("| %s | %s | %.0f | %s | %s | %d | %d | %d | %d | %d | %v |\n", r.Scenario, r.Config+dagger(r), r.Goodput, ms(r.P50), ms(r.P99), r.Rejected, r.Status503, r.Timeouts, r.PeakInFlight, r.Wasted, r.Wall.Round(time.Millisecond))
			if r.Other > 0 {
				p("| | ↳ unexpected outcomes | %d | %v | | | | | | | |\n", r.Other, r.OtherErr)
			}
		}
	}
	p("\n")
	for _, row := range results {
		for _, r := range row {
			if r.Spread != "" {
				p("- † %s, %s: %s.\n", r.Config, r.Scenario, r.Spread)
			}
		}
	}
	p("\nAll runs took %v of wall time.\n\n", total.Round(time.Second))
	p("%s", targetsMarkdown(results))

	capRow := results[len(results)-1]
	p("## The capacity change\n\n")
	p("Goodput per simulated second at 1x while C drops to %d from 10 s to 20 s; the dashed line is the true capacity (%.0f/s), the dotted one 90%% of it (%d/s).\n\n", modelWorkers/2, modelCapacity, recoveryGoal)
	p("![goodput per second through the capacity change](overload.svg)\n\n")
	p("Recovery: from 20 s, when the capacity returns, to the end of the first 1 s window (starting at 20 s or later, in steps of 100 ms) with at least %d successes. 1.0 s is the least possible.\n\n", recoveryGoal)
	p("| config | recovery | goodput 0–10 s | goodput 10–20 s | goodput 20–30 s |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, r := range capRow {
		rec := recoveryText(r.Recovery)
		if r.RecoverySpread != "" {
			rec += " (" + r.RecoverySpread + ")"
		}
		p("| %s | %s | %.0f | %.0f | %.0f |\n", r.Config+dagger(r), rec, mean(r.PerSecond[0:10]), mean(r.PerSecond[10:20]), mean(r.PerSecond[20:30]))
	}
	p("\nSuccesses per second, seconds 1 to 30:\n\n```\n")
	width := 0
	for _, r := range capRow {
		width = max(width, len([]rune(r.Config+dagger(r))))
	}
	for _, r := range capRow {
		p("%s%*s", r.Config+dagger(r), width-len([]rune(r.Config+dagger(r))), "")
		for _, n := range r.PerSecond {
			p(" %4d", n)
		}
		p("\n")
	}
	p("```\n")
	return b.String()
}

func dagger(r overloadResult) string {
	if r.Spread != "" {
		return " †"
	}
	return ""
}

func mean(xs []int) float64 {
	s := 0
	for _, x := range xs {
		s += x
	}
	return float64(s) / float64(max(len(xs), 1))
}

var chartColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939"}

// overloadSVG draws goodput per second through the capacity change, one
// line per configuration, by hand: no dependency for one chart.
func overloadSVG(rows []overloadResult, s overloadScenario) string {
	const (
		w, h           = 980, 420
		left, right    = 60, 640
		top, bottom    = 30, 370
		yMax           = 1600.0
		legendX, lineH = 660, 20
	)
	secs := s.Duration.Seconds()
	x := func(sec float64) float64 { return left + (right-left)*sec/secs }
	y := func(v float64) float64 { return bottom - (bottom-top)*v/yMax }
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	p(`<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	if len(s.Changes) == 2 {
		x0, x1 := x(s.Changes[0].At.Seconds()), x(s.Changes[1].At.Seconds())
		p(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#eeeeee"/>`+"\n", x0, top, x1-x0, bottom-top)
		p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#555">C = %d</text>`+"\n", (x0+x1)/2, top+14, s.Changes[0].Workers)
	}
	for v := 0.0; v <= yMax; v += 400 {
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), right, y(v))
		p(`<text x="%d" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left-6, y(v)+4, v)
	}
	for sec := 0.0; sec <= secs; sec += 5 {
		p(`<text x="%.1f" y="%d" text-anchor="middle">%.0f s</text>`+"\n", x(sec), bottom+16, sec)
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, bottom, right, bottom)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, top, left, bottom)
	p(`<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">successes per second</text>`+"\n", (top+bottom)/2, (top+bottom)/2)
	// The reference lines' labels go in the middle of the drop, where no
	// configuration's line comes near them.
	mid := x(s.Duration.Seconds() / 2)
	if len(s.Changes) == 2 {
		mid = x((s.Changes[0].At + s.Changes[1].At).Seconds() / 2)
	}
	p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#000" stroke-dasharray="6 4"/>`+"\n", left, y(modelCapacity), right, y(modelCapacity))
	p(`<text x="%.1f" y="%.1f" text-anchor="middle">true capacity %.0f/s</text>`+"\n", mid, y(modelCapacity)-5, modelCapacity)
	p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#000" stroke-dasharray="2 3"/>`+"\n", left, y(float64(recoveryGoal)), right, y(float64(recoveryGoal)))
	p(`<text x="%.1f" y="%.1f" text-anchor="middle">90%%: %d/s</text>`+"\n", mid, y(float64(recoveryGoal))+15, recoveryGoal)
	// Drawn last first, so that the first configurations (no limit,
	// Tempest's) lie on top; Tempest's thicker.
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		var pts []string
		for sec, n := range r.PerSecond {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(sec)+0.5), y(min(float64(n), yMax))))
		}
		width := 1.6
		if r.Config == "tempest adaptive" {
			width = 3
		}
		p(`<polyline fill="none" stroke="%s" stroke-width="%.1f" points="%s"/>`+"\n", chartColors[i%len(chartColors)], width, strings.Join(pts, " "))
	}
	for i, r := range rows {
		c := chartColors[i%len(chartColors)]
		ly := top + 10 + i*lineH
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", legendX, ly, legendX+22, ly, c)
		label := r.Config + dagger(r)
		switch {
		case r.Recovery > 0:
			label += fmt.Sprintf(" (%.1f s)", r.Recovery.Seconds())
		case r.Recovery < 0:
			label += " (not recovered)"
		}
		p(`<text x="%d" y="%d">%s</text>`+"\n", legendX+28, ly+4, html.EscapeString(label))
	}
	p(`<text x="%d" y="%d" fill="#555">(recovery to 90%%, from %.0f s)</text>`+"\n", legendX, top+10+len(rows)*lineH+4, s.restore().Seconds())
	p("</svg>\n")
	return b.String()
}

const loopbackHeading = "## Loopback"

// loopbackConfigs are the configurations TestOverloadLoopback runs, by name.
var loopbackConfigs = []string{"none", "tempest adaptive", "fixed refusing L=32", "failsafe adaptive"}

// TestOverloadLoopback is the same model once on loopback, in real time:
// the upstream behind an httptest.Server, 2x for 10 s per configuration.
// Its figures are quoted in docs/overload.md, not asserted.
func TestOverloadLoopback(t *testing.T) {
	if os.Getenv("OVERLOAD_LOOPBACK") != "1" {
		t.Skip("OVERLOAD_LOOPBACK=1 runs it (make bench-overload)")
	}
	s := loadScenario(2, 10*time.Second)
	var rows []overloadResult
	for _, name := range loopbackConfigs {
		r := runLoopback(t, configByName(t, name), s)
		t.Log(r.line())
		rows = append(rows, r)
	}

	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("%s\n\n", loopbackHeading)
	p("The same upstream as an `httptest.Server` handler, in real time on loopback (`TestOverloadLoopback`, OVERLOAD_LOOPBACK=1) at %s: %s for %v, the callers' transport keeping up to 4096 idle connections. ", commitLabel(), s.Name, s.Duration)
	p("Figures as measured on %s/%s, GOMAXPROCS %d; quoted, not asserted.\n\n", runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	p("| load | config | goodput/s | p50 | p99 | rejected | 503s | timeouts | peak in flight | wasted | wall |\n")
	p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		p("| %s | %s | %.0f | %s | %s | %d | %d | %d | %d | %d | %v |\n", r.Scenario, r.Config, r.Goodput, ms(r.P50), ms(r.P99), r.Rejected, r.Status503, r.Timeouts, r.PeakInFlight, r.Wasted, r.Wall.Round(time.Millisecond))
		if r.Other > 0 {
			p("| | ↳ other outcomes | %d | %v | | | | | | | |\n", r.Other, r.OtherErr)
		}
	}
	t.Log("\n" + b.String())

	out := envOr("OVERLOAD_OUT", "../docs/overload.md")
	old, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%v: run TestOverloadReport first (make bench-overload)", err)
	}
	doc := string(old)
	if i := strings.Index(doc, loopbackHeading); i >= 0 {
		doc = doc[:i]
	}
	doc = strings.TrimRight(doc, "\n") + "\n\n" + b.String()
	if err := os.WriteFile(out, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runLoopback is runModel in real time over a real server and transport.
func runLoopback(t *testing.T, cfg overloadConfig, s overloadScenario) overloadResult {
	t.Helper()
	at, svc := s.draw()
	u := newUpstream(modelWorkers)
	srv := httptest.NewServer(u)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	do, closeFn, err := cfg.New(tr)
	if err != nil {
		t.Fatalf("%s: %v", cfg.Name, err)
	}
	defer closeFn()
	warmLoopback(t, do, srv.URL)

	rec := newRecorder(at, svc, cfg.Rejected)
	wall := time.Now()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < len(at); {
		// Launch every call that is due, then wait for the next: the
		// scheduled arrival, not the launch, is what latency counts from.
		for now := time.Since(start); i < len(at) && at[i] <= now; i++ {
			n := i // i is the outer loop's, shared by every iteration
			wg.Go(func() { rec.call(n, start, srv.URL, do) })
		}
		if i < len(at) {
			time.Sleep(at[i] - time.Since(start))
		}
	}
	wg.Wait()
	<-u.stop()
	res := rec.result(cfg.Name, s)
	res.Served, _, res.Wasted = u.stats()
	res.Wall = time.Since(wall)
	return res
}

// warmLoopback makes one call so that the first arrivals do not pay for setup.
func warmLoopback(t *testing.T, do doFunc, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), modelDeadline)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set(serviceHeader, "1000000")
	resp, err := do(req)
	if err != nil {
		t.Fatalf("warm-up call: %v", err)
	}
	resp.Body.Close()
}

// targetsMarkdown is the targets for the adaptive limit against
// what tempest adaptive did, and failsafe-go's default beside it.
func targetsMarkdown(results [][]overloadResult) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	find := func(row []overloadResult, name string) (overloadResult, bool) {
		i := slices.IndexFunc(row, func(r overloadResult) bool { return r.Config == name })
		if i < 0 {
			return overloadResult{}, false
		}
		return row[i], true
	}
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	p("## Targets\n\n")
	p("The issue's targets for the adaptive limit (asserted, on shorter runs, by bench's TestOverloadTargets and concurrency's TestAdaptive_R74_OverloadModel), against this run:\n\n")
	p("| load | target | tempest adaptive | | failsafe adaptive |\n| --- | --- | --- | --- | --- |\n")
	var base overloadResult
	for _, row := range results {
		ours, ok := find(row, "tempest adaptive")
		if !ok {
			continue
		}
		fs, _ := find(row, "failsafe adaptive")
		switch sc := ours.Scenario; {
		case sc == "0.5x":
			base, _ = find(row, "none")
			p("| %s | no refusal, the latency of no limit (p50 %s, p99 %s) | %d refused, p50 %s, p99 %s | %s | %d refused, p99 %s |\n",
				sc, ms(base.P50), ms(base.P99), ours.Rejected, ms(ours.P50), ms(ours.P99), mark(ours.Rejected == 0 && ours.P50 == base.P50 && ours.P99 <= base.P99+2*time.Millisecond), fs.Rejected, ms(fs.P99))
		case ours.Recovery != 0:
			p("| %s | 90%% of capacity within 2 s of its return | %s | %s | %s |\n", sc, recoveryText(ours.Recovery), mark(ours.Recovery > 0 && ours.Recovery <= 2*time.Second), recoveryText(fs.Recovery))
		default:
			ok := ours.Goodput >= 0.95*modelCapacity && ours.P99 <= 150*time.Millisecond && ours.PeakInFlight <= 4*modelWorkers
			p("| %s | goodput ≥ %.0f/s, p99 ≤ 150ms, ≤ %d in flight | %.0f/s, p99 %s, %d | %s | %.0f/s, p99 %s, %d |\n",
				sc, 0.95*modelCapacity, 4*modelWorkers, ours.Goodput, ms(ours.P99), ours.PeakInFlight, mark(ok), fs.Goodput, ms(fs.P99), fs.PeakInFlight)
		}
	}
	p("\n")
	return b.String()
}
