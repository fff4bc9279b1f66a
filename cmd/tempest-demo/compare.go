package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// compareModes are -compare's runs, in the order of the table's columns:
// when tempest has the concurrency limit (the saturate scenario), the same
// client without it too.
func compareModes(set settings) []mode {
	if set.concLimit {
		return []mode{modePlain, modeNaive, modeTempestNoLimit, modeTempest}
	}
	return []mode{modePlain, modeNaive, modeTempest}
}

func describeMode(m mode, set settings) string {
	switch m {
	case modePlain:
		return fmt.Sprintf("http.Client{Timeout: %v}, one attempt per call, request ID set by hand", set.attemptTimeout)
	case modeNaive:
		return fmt.Sprintf("the same http.Client in a hand-rolled loop: up to %d attempts, %v apart, for every method, on any error or 5xx",
			set.naiveAttempts, set.naiveSleep)
	case modeTempestNoLimit:
		return "one shared httpclient.Client with the settings above but no concurrency limit"
	}
	if set.concLimit {
		return "one shared httpclient.Client with the settings above, the adaptive concurrency limit included"
	}
	return "one shared httpclient.Client with the settings above"
}

// times names a small count of runs.
func times(n int) string {
	if n >= 2 && n <= 4 {
		return [...]string{"twice", "three times", "four times"}[n-2]
	}
	return fmt.Sprintf("%d times", n)
}

// runCompare runs the scenario once per mode, each against a fresh upstream
// and service, and prints them side by side. Its error is tempest's: the
// others are shown, not judged.
func runCompare(ctx context.Context, cfg config, stdout io.Writer, live bool) error {
	set := scale(cfg)
	modes := compareModes(set)
	if !cfg.quiet {
		fmt.Fprintf(stdout, "tempest-demo -compare: the same scenario %s, each against a fresh upstream and service\n", times(len(modes)))
		printSettings(stdout, set, "", "")
	}
	var (
		reps   []report
		tw     *world
		errs   []error
		interr bool
	)
	for i, m := range modes {
		if ctx.Err() != nil {
			interr = true
			break
		}
		v := view{out: stdout, live: live, quiet: cfg.quiet, title: m.String(), prefix: "[" + m.String() + "] "}
		v.header = func(string, string) {
			fmt.Fprintf(stdout, "run %d/%d, %s: %s\n", i+1, len(modes), m, describeMode(m, set))
		}
		w, err := runWorld(ctx, set, m, v)
		if w == nil {
			return err
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m, err))
		}
		reps = append(reps, w.report(ctx.Err() == nil))
		if m == modeTempest {
			tw = w
		}
		if !cfg.quiet {
			fmt.Fprintln(stdout)
		}
	}
	if interr || tw == nil {
		return fmt.Errorf("interrupted before the %d runs ended: %w", len(modes), ctx.Err())
	}
	printComparison(stdout, set, reps)
	rep := reps[len(reps)-1]
	if cfg.svg != "" {
		if err := writeSVG(cfg.svg, tw); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(stdout, "timeline chart of the tempest run written to %s\n", cfg.svg)
		}
	}
	for _, pr := range rep.problems {
		fmt.Fprintf(stdout, "problem (tempest): %s\n", pr)
	}
	fmt.Fprintf(stdout, "\n%s\n", rep.summary())
	return finish(ctx, tw, rep, errs)
}

func printComparison(out io.Writer, set settings, reps []report) {
	labelW, colW := 46, 22
	if len(reps) > 3 {
		colW = 21
	}
	row := func(label string, cell func(r report) string) {
		var b strings.Builder
		fmt.Fprintf(&b, "%-*s", labelW, label)
		for _, r := range reps {
			fmt.Fprintf(&b, "%*s", colW, cell(r))
		}
		fmt.Fprintln(out, strings.TrimRight(b.String(), " "))
	}
	lat := func(l []time.Duration) string {
		if len(l) == 0 {
			return "-"
		}
		return fmtDur(percentile(l, 0.5)) + " / " + fmtDur(percentile(l, 0.99))
	}
	fmt.Fprintf(out, "side by side (%v each, %d calls/s; a call counts in the phase it started in, an upstream hit in the\n"+
		"phase it arrived in; net/http itself resends a GET whose reused connection is reset, so even the plain\n"+
		"client can cost more than one hit per call):\n", set.duration, set.rate)
	row("", func(r report) string { return r.mode.String() })
	var degraded []int
	for i, ph := range set.phases {
		if ph.kind != kindHealthy {
			degraded = append(degraded, i)
		}
	}
	for _, i := range degraded {
		row(fmt.Sprintf("upstream hits during %s (per call)", set.phases[i].name), func(r report) string {
			return fmt.Sprintf("%d (%s)", r.phases[i].hits, ratio(r.phases[i].hits, r.phases[i].calls))
		})
	}
	for _, i := range degraded {
		row(fmt.Sprintf("callers' p50 / p99 during %s", set.phases[i].name), func(r report) string {
			return lat(r.phases[i].lat)
		})
	}
	var saturated []int
	for _, i := range degraded {
		if set.phases[i].kind == kindSaturated {
			saturated = append(saturated, i)
		}
	}
	for _, i := range saturated {
		name := set.phases[i].name
		row(fmt.Sprintf("successful calls' p50 / p99 during %s", name), func(r report) string {
			return lat(r.phases[i].okLat)
		})
		row(fmt.Sprintf("service's calls in flight, most during %s", name), func(r report) string {
			return fmt.Sprint(r.phases[i].inflight)
		})
		row(fmt.Sprintf("goroutines (whole process), most during %s", name), func(r report) string {
			return fmt.Sprint(r.phases[i].goroutines)
		})
		row(fmt.Sprintf("upstream: longest wait for a worker, %s", name), func(r report) string {
			return fmtDur(r.phases[i].upWait)
		})
	}
	row("callers' p50 / p99, whole run", func(r report) string { return lat(r.latency) })
	row("errors seen by the service's callers", func(r report) string {
		n := 0
		for _, v := range r.errors {
			n += v
		}
		return fmt.Sprint(n)
	})
	names := map[string]string{
		outcomeFastFail:   "circuit open (failed fast)",
		outcomeShed:       "shed (concurrency limit)",
		outcome5xx:        "upstream 5xx",
		outcome429:        "upstream 429",
		outcomeTimeout:    "timeout",
		outcomeConnection: "connection reset / EOF",
		outcomeOther:      "other",
	}
	for _, k := range errorKinds {
		if k == outcomeShed && !set.concLimit {
			continue // no run has the limit
		}
		row("  "+names[k], func(r report) string { return fmt.Sprint(r.errors[k]) })
	}
	row("unkeyed POSTs received twice / received", func(r report) string {
		return fmt.Sprintf("%d / %d", r.unkeyedDup, r.unkeyedPosts)
	})
	for _, i := range degraded {
		row(fmt.Sprintf("success rate during %s", set.phases[i].name), func(r report) string {
			return pct(successRate(r.phases[i].ok, r.phases[i].calls))
		})
	}
	row("success rate, whole run", func(r report) string {
		ok := 0
		for _, p := range r.phases {
			ok += p.ok
		}
		return pct(successRate(ok, r.calls))
	})
	last := len(set.phases) - 1
	row(fmt.Sprintf("success rate after recovery (%s phase)", set.phases[last].name), func(r report) string {
		return pct(successRate(r.phases[last].ok, r.phases[last].calls))
	})
	for _, i := range saturated {
		row(fmt.Sprintf("goodput back after %s (>= 90%% of calls ok)", set.phases[i].name), func(r report) string {
			return goodputBack(r.goodputBack)
		})
	}

	// What to read in it, from the numbers above.
	plain, naive, tw := reps[0], reps[1], reps[len(reps)-1]
	fmt.Fprintln(out, "\nreading it:")
	for _, i := range degraded {
		ph := set.phases[i]
		switch ph.kind {
		case kindOutage:
			fmt.Fprintf(out, "  - during the %s the naive loop sent the failing upstream %s requests per call, tempest %s:\n"+
				"    the breaker fails calls fast (p50 %s) instead of piling retries on an upstream that is down\n",
				ph.name, ratio(naive.phases[i].hits, naive.phases[i].calls), ratio(tw.phases[i].hits, tw.phases[i].calls),
				fmtDur(percentile(tw.phases[i].lat, 0.5)))
		case kindSlow:
			fmt.Fprintf(out, "  - while the upstream was slow, callers waited p50 %s with the plain client, %s with the naive loop\n"+
				"    (%s requests per call on an overloaded upstream), %s with tempest, whose breaker opened on the\n"+
				"    attempt timeouts and failed most calls fast, keeping the upstream at %s requests per call\n",
				fmtDur(percentile(plain.phases[i].lat, 0.5)), fmtDur(percentile(naive.phases[i].lat, 0.5)),
				ratio(naive.phases[i].hits, naive.phases[i].calls),
				fmtDur(percentile(tw.phases[i].lat, 0.5)), ratio(tw.phases[i].hits, tw.phases[i].calls))
		case kindRateLimited:
			fmt.Fprintf(out, "  - rate limited, tempest waited out Retry-After and served %s of calls; the others passed the 429 on (%s, %s)\n",
				pct(successRate(tw.phases[i].ok, tw.phases[i].calls)),
				pct(successRate(plain.phases[i].ok, plain.phases[i].calls)), pct(successRate(naive.phases[i].ok, naive.phases[i].calls)))
		case kindSaturated:
			if len(reps) < 4 {
				break
			}
			nl := reps[2] // the same client without the limit
			p := func(r report) phaseStats { return r.phases[i] }
			fmt.Fprintf(out, "  - saturated, the upstream served %d/s, %s the load. With the limiter, %d calls were shed in p50 %s and\n"+
				"    the calls that succeeded took p99 %s, a request waiting at most %s for a worker. Without it every call\n"+
				"    queued upstream (for up to %s) and those that succeeded took p99 %s (%s plain, %s naive)\n",
				set.capacity(set.saturatedTime), ofLoad(set.capacity(set.saturatedTime), set.rate),
				p(tw).shed, fmtDur(percentile(p(tw).shedLat, 0.5)), fmtDur(percentile(p(tw).okLat, 0.99)), fmtDur(p(tw).upWait),
				fmtDur(p(nl).upWait), fmtDur(percentile(p(nl).okLat, 0.99)),
				fmtDur(percentile(p(plain).okLat, 0.99)), fmtDur(percentile(p(naive).okLat, 0.99)))
			fmt.Fprintf(out, "  - the service held at most %d calls in flight with the limiter, %d without it (%d plain, %d naive);\n"+
				"    the process at most %d goroutines, against %d (%d, %d)\n",
				p(tw).inflight, p(nl).inflight, p(plain).inflight, p(naive).inflight,
				p(tw).goroutines, p(nl).goroutines, p(plain).goroutines, p(naive).goroutines)
			breaker := ""
			if n := p(nl).fastfails + nl.phases[min(i+1, len(set.phases)-1)].fastfails; n > 0 {
				breaker = fmt.Sprintf("\n    (its breaker had opened on the timeouts: %d calls failed fast)", n)
			}
			fmt.Fprintf(out, "  - after it, goodput was back in %s with the limiter; %s plain, %s naive, %s without the limiter%s\n",
				goodputBack(tw.goodputBack), goodputBack(plain.goodputBack), goodputBack(naive.goodputBack),
				goodputBack(nl.goodputBack), breaker)
		}
	}
	fmt.Fprintf(out, "  - the naive loop made the upstream receive %d POSTs without an Idempotency-Key twice (a double order each);\n"+
		"    tempest retries a POST only with a key, so: %d\n", naive.unkeyedDup, tw.unkeyedDup)
}
