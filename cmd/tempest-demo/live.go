package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
)

// view shows a run's progress while it runs: on a terminal, a block redrawn
// each second; otherwise (CI, pipes) one plain line per phase change.
type view struct {
	out    io.Writer
	live   bool // stdout is a terminal
	quiet  bool // show nothing
	title  string
	prefix string // plain lines begin with it (the run's name with -compare)
	header func(upstreamURL, serviceURL string)
}

// watch starts showing w's progress. The function it returns draws the last
// state, and returns once the view's goroutine has stopped.
func (v view) watch(w *world) (stop func()) {
	if v.quiet {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		v.loop(w, done)
	}()
	return func() {
		close(done)
		<-stopped
	}
}

func (v view) loop(w *world, done <-chan struct{}) {
	if !v.live {
		// One line as each phase begins, on time, and one at the end.
		var last time.Duration // latencies are of the calls that ended since
		for i, ph := range w.set.phases {
			if i > 0 {
				t := time.NewTimer(time.Until(w.start.Add(ph.start)))
				select {
				case <-done:
					t.Stop()
					v.line(w.liveStats(last), -1)
					return
				case <-t.C:
				}
			}
			s := w.liveStats(last)
			v.line(s, i)
			last = s.at
		}
		<-done
		v.line(w.liveStats(last), -1)
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	drawn := 0 // lines of the live block on screen
	for {
		drawn = v.draw(w.liveStats(time.Since(w.start)-time.Second), drawn)
		select {
		case <-done:
			v.draw(w.liveStats(time.Since(w.start)-time.Second), drawn)
			return
		case <-t.C:
		}
	}
}

// liveStats is what the view shows at one moment.
type liveStats struct {
	set                                        settings
	mode                                       mode
	at                                         time.Duration
	phase                                      int
	inbound, attempts, retries, fastfails, oks int
	n                                          int // latencies that p50 and p99 are over
	p50, p99                                   time.Duration
	state                                      breaker.State
	// The saturate scenario's: the service's calls in flight, the
	// process's goroutines, the calls shed by the concurrency limit, and
	// the limiter (nil when the client has none).
	inflight, goroutines, shed int
	limit                      *limitState
}

// liveStats takes a snapshot; its latencies are those of the calls that
// ended since the given offset.
func (w *world) liveStats(since time.Duration) liveStats {
	at := time.Since(w.start)
	var limit *limitState
	if w.limits != nil {
		l := limitState{Snapshot: concurrency.Snapshot{Limit: initialLimit(w.set.limit)}}
		if ls := w.limits(); len(ls) > 0 {
			l = ls[0] // one upstream, one origin
		}
		limit = &l
	}
	goros := runtime.NumGoroutine()
	w.mu.Lock()
	defer w.mu.Unlock()
	s := liveStats{
		set:        w.set,
		mode:       w.mode,
		at:         min(at, w.set.duration),
		phase:      w.set.phaseAt(at),
		inbound:    w.inbound,
		attempts:   len(w.attemptTimes),
		retries:    w.retries,
		fastfails:  w.fastfails,
		state:      w.state,
		inflight:   w.inflight,
		goroutines: goros,
		shed:       w.shed,
		limit:      limit,
	}
	var lat []time.Duration
	for _, c := range w.calls {
		if c.outcome == outcomeOK {
			s.oks++
		}
		if c.end >= since {
			lat = append(lat, c.end-c.start)
		}
	}
	slices.Sort(lat)
	s.n, s.p50, s.p99 = len(lat), percentile(lat, 0.5), percentile(lat, 0.99)
	return s
}

func (s liveStats) breaker(color bool) string {
	if !s.mode.tempest() {
		return "none (no breaker)"
	}
	name := s.state.String()
	if !color {
		return name
	}
	code := map[breaker.State]string{breaker.Closed: "32", breaker.Open: "31", breaker.HalfOpen: "33"}[s.state]
	return "\x1b[1;" + code + "m" + name + "\x1b[0m"
}

func (s liveStats) latency() string {
	if s.n == 0 {
		return "p50 -  p99 -"
	}
	return fmt.Sprintf("p50 %s  p99 %s", fmtDur(s.p50), fmtDur(s.p99))
}

// load shows the saturate scenario's figures: the service's calls in
// flight, the goroutines, the calls shed and the concurrency limit.
func (s liveStats) load() string {
	lim := "limit off"
	if s.limit != nil {
		lim = fmt.Sprintf("limit %d (in flight %d, queued %d)", s.limit.Limit, s.limit.InFlight, s.limit.Queued)
	}
	return fmt.Sprintf("in flight %d, goroutines %d, shed %d, %s", s.inflight, s.goroutines, s.shed, lim)
}

// draw redraws the live block over the one drawn before (prev lines), with
// ANSI cursor-up and clear-line, and returns how many lines it drew.
func (v view) draw(s liveStats, prev int) int {
	const width = 32
	done := int(float64(width) * s.at.Seconds() / s.set.duration.Seconds())
	done = min(max(done, 0), width)
	ph := s.set.phases[s.phase]
	lines := []string{
		fmt.Sprintf("%-18s [%s%s] %5.1fs / %.0fs   phase %d/%d \x1b[1m%s\x1b[0m",
			v.title, strings.Repeat("█", done), strings.Repeat("░", width-done),
			s.at.Seconds(), s.set.duration.Seconds(), s.phase+1, len(s.set.phases), ph.name),
		"  upstream: " + s.set.describe(ph),
		fmt.Sprintf("  inbound %-6d attempts %-6d retries %-5d fast-fails %-6d ok %-6d",
			s.inbound, s.attempts, s.retries, s.fastfails, s.oks),
		fmt.Sprintf("  latency (last 1s) %-26s breaker %s", s.latency(), s.breaker(true)),
	}
	if s.set.workers > 0 {
		lines = append(lines, "  service: "+s.load())
	}
	var b strings.Builder
	if prev > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", prev)
	}
	for _, l := range lines {
		b.WriteString("\r\x1b[2K")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	io.WriteString(v.out, b.String())
	return len(lines)
}

// line prints one plain progress line: phase i begins, or (i < 0) the
// traffic is over.
func (v view) line(s liveStats, i int) {
	what := "traffic over;"
	if i >= 0 {
		ph := s.set.phases[i]
		what = fmt.Sprintf("phase %d/%d %s begins (%s);", i+1, len(s.set.phases), ph.name, s.set.describe(ph))
	}
	load := ""
	if s.set.workers > 0 {
		load = "; " + s.load()
	}
	fmt.Fprintf(v.out, "%st=%-6s %s so far inbound=%d attempts=%d retries=%d fastfails=%d ok=%d, %s since the last line, breaker %s%s\n",
		v.prefix, offset(s.at), what, s.inbound, s.attempts, s.retries, s.fastfails, s.oks, s.latency(), s.breaker(false), load)
}
