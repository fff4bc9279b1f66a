package main

import (
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// writeSVG writes the run's timeline chart to path.
func writeSVG(path string, w *world) error {
	if err := os.WriteFile(path, w.timelineSVG(), 0o644); err != nil {
		return fmt.Errorf("-svg: %w", err)
	}
	return nil
}

// The chart's geometry, in SVG user units (pixels when shown at 100%).
const (
	svgW, svgH   = 1160, 640
	plotL, plotR = 70.0, 1080.0 // the time axis
	phaseTop     = 46.0
	phaseH       = 28.0
	plotT, plotB = 84.0, 470.0 // the chart area
)

var stateFill = map[breaker.State]struct {
	color   string
	opacity float64
}{
	breaker.Closed:   {"#2e9d48", 0.14},
	breaker.Open:     {"#d93a3a", 0.24},
	breaker.HalfOpen: {"#f0a020", 0.75},
}

// series describes one polyline.
type series struct {
	name, label, color, dash string
	width                    float64
}

var (
	seriesSuccess  = series{"success-rate", "success rate of calls (left axis)", "#1f5fbf", "", 2.5}
	seriesAttempts = series{"attempts-per-second", "upstream attempts per second (right axis)", "#6a2c91", "", 2}
	seriesFast     = series{"fast-fails-per-second", "fast-fails per second (right axis)", "#e07b00", "6 4", 2}
)

// timelineSVG draws, over time: the scenario's phases as labelled bands
// above the chart, the breaker's state as coloured bands behind it (closed
// green, open red, half-open amber), and polylines for the calls' success
// rate, the attempts per second and the fast-fails per second, with axes and
// a legend. It is hand-written SVG, valid XML, with class and data-*
// attributes that tests and tools can read.
func (w *world) timelineSVG() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	set := w.set
	d := set.duration
	bucket := max(d/56, 200*time.Millisecond)
	nb := int((d + bucket - 1) / bucket)
	calls, oks, fast, attempts := make([]int, nb), make([]int, nb), make([]int, nb), make([]int, nb)
	idx := func(t time.Duration) int { return min(max(int(t/bucket), 0), nb-1) }
	for _, c := range w.calls {
		i := idx(c.start)
		calls[i]++
		switch c.outcome {
		case outcomeOK:
			oks[i]++
		case outcomeFastFail:
			fast[i]++
		}
	}
	for _, t := range w.attemptTimes {
		attempts[idx(t)]++
	}
	perSec := func(n int) float64 { return float64(n) / bucket.Seconds() }
	peak := 0.0
	for i := range nb {
		peak = max(peak, perSec(attempts[i]), perSec(fast[i]))
	}
	rateMax := niceCeil(max(peak, 10))

	x := func(t time.Duration) float64 {
		return plotL + (plotR-plotL)*min(max(t.Seconds()/d.Seconds(), 0), 1)
	}
	yPct := func(p float64) float64 { return plotB - (plotB-plotT)*p/100 }
	yRate := func(v float64) float64 { return plotB - (plotB-plotT)*v/rateMax }

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13" data-scenario="%s" data-duration-seconds="%.3f">`+"\n",
		svgW, svgH, svgW, svgH, esc(set.scenario), d.Seconds())
	title := fmt.Sprintf("tempest-demo timeline: scenario %q, %v at %d calls/s, %s", set.scenario, d, set.rate, w.mode)
	p("<title>%s</title>\n", esc(title))
	p(`<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", svgW, svgH)
	p(`<text x="%.0f" y="28" font-size="18" font-weight="bold" fill="#222">%s</text>`+"\n", plotL, esc(title))

	// Phases: one labelled band each.
	p(`<g id="phases">` + "\n")
	for i, ph := range set.phases {
		x0, x1 := x(ph.start), x(ph.end)
		fill := [2]string{"#e4e7ee", "#cdd3df"}[i%2]
		p(`<rect class="phase" data-phase="%s" data-start-seconds="%.3f" data-end-seconds="%.3f" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n",
			esc(ph.name), ph.start.Seconds(), ph.end.Seconds(), x0, phaseTop, x1-x0, phaseH, fill)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#222">%s</text>`+"\n",
			(x0+x1)/2, phaseTop+phaseH/2+5, esc(ph.name))
	}
	p("</g>\n")

	// The breaker's state over time, behind the chart.
	p(`<g id="breaker-states">` + "\n")
	state, from := breaker.Closed, time.Duration(0)
	band := func(s breaker.State, t0, t1 time.Duration) {
		if t1 < t0 || t0 >= d || (t1 == t0 && s != breaker.HalfOpen) {
			return
		}
		x0, x1 := x(t0), x(t1)
		width := max(x1-x0, 3) // a half-open period lasts one probe: keep it visible
		f := stateFill[s]
		p(`<rect class="breaker" data-state="%s" data-start-seconds="%.3f" data-end-seconds="%.3f" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="%.2f"/>`+"\n",
			s, t0.Seconds(), min(t1, d).Seconds(), x0, plotT, width, plotB-plotT, f.color, f.opacity)
	}
	if w.mode == modeTempest {
		for _, c := range w.changes {
			at := w.since(c.At)
			band(state, from, at)
			state, from = c.To, max(at, 0)
		}
		band(state, from, d)
	}
	p("</g>\n")

	// Grid, axes and ticks.
	p(`<g id="axes" stroke="#999" stroke-width="1">` + "\n")
	for _, v := range []float64{0, 25, 50, 75, 100} {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", plotL, yPct(v), plotR, yPct(v))
	}
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", plotL, plotT, plotL, plotB)
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", plotR, plotT, plotR, plotB)
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", plotL, plotB, plotR, plotB)
	for _, ph := range set.phases[1:] {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#666" stroke-dasharray="4 4"/>`+"\n",
			x(ph.start), phaseTop, x(ph.start), plotB)
	}
	step := tickStep(d)
	for t := time.Duration(0); t <= d; t += step {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", x(t), plotB, x(t), plotB+5)
	}
	p("</g>\n")
	p(`<g id="labels" fill="#333" font-size="12">` + "\n")
	for t := time.Duration(0); t <= d; t += step {
		p(`<text x="%.1f" y="%.1f" text-anchor="middle">%gs</text>`+"\n", x(t), plotB+19, t.Seconds())
	}
	for _, v := range []float64{0, 25, 50, 75, 100} {
		p(`<text x="%.1f" y="%.1f" text-anchor="end">%.0f%%</text>`+"\n", plotL-6, yPct(v)+4, v)
		p(`<text x="%.1f" y="%.1f">%g</text>`+"\n", plotR+6, yPct(v)+4, rateMax*v/100)
	}
	p(`<text x="%.1f" y="%.1f" text-anchor="middle">time since the start (s)</text>`+"\n", (plotL+plotR)/2, plotB+38)
	p(`<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">success rate, calls started in each %v</text>`+"\n",
		(plotT+plotB)/2, bucket)
	p(`<text transform="translate(%.1f %.1f) rotate(90)" text-anchor="middle">per second</text>`+"\n",
		plotR+52, (plotT+plotB)/2)
	p("</g>\n")

	// The series.
	var pts []string
	for i := range nb {
		if calls[i] > 0 {
			mid := time.Duration(i)*bucket + bucket/2
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(mid), yPct(successRate(oks[i], calls[i]))))
		}
	}
	polyline(&b, seriesSuccess, pts)
	for _, s := range []struct {
		series
		counts []int
	}{{seriesAttempts, attempts}, {seriesFast, fast}} {
		pts = pts[:0]
		for i := range nb {
			mid := time.Duration(i)*bucket + bucket/2
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(mid), yRate(perSec(s.counts[i]))))
		}
		polyline(&b, s.series, pts)
	}

	// The legend.
	p(`<g id="legend" font-size="12" fill="#222">` + "\n")
	lx, ly := plotL, plotB+62
	for _, s := range []breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen} {
		f := stateFill[s]
		p(`<rect x="%.1f" y="%.1f" width="22" height="13" fill="%s" fill-opacity="%.2f" stroke="#888"/>`+"\n",
			lx, ly-10, f.color, max(f.opacity, 0.3))
		p(`<text x="%.1f" y="%.1f">breaker %s</text>`+"\n", lx+28, ly+1, s)
		lx += 170
	}
	lx, ly = plotL, plotB+88
	for _, s := range []series{seriesSuccess, seriesAttempts, seriesFast} {
		dash := ""
		if s.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
		}
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`+"\n",
			lx, ly-4, lx+28, ly-4, s.color, s.width, dash)
		p(`<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+34, ly+1, esc(s.label))
		lx += 330
	}
	p(`<text x="%.1f" y="%.1f" fill="#555">phases above the chart; the dashed lines mark where each begins. Real HTTP on loopback, counted from the client's hooks.</text>`+"\n",
		plotL, ly+26)
	p("</g>\n</svg>\n")
	return []byte(b.String())
}

func polyline(b *strings.Builder, s series, pts []string) {
	dash := ""
	if s.dash != "" {
		dash = fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
	}
	fmt.Fprintf(b, `<polyline class="series" data-series="%s" fill="none" stroke="%s" stroke-width="%.1f" stroke-linejoin="round"%s points="%s"/>`+"\n",
		s.name, s.color, s.width, dash, strings.Join(pts, " "))
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= v {
			return m * mag
		}
	}
	return 10 * mag
}

// tickStep picks the time axis's tick spacing: about 8 to 16 ticks.
func tickStep(d time.Duration) time.Duration {
	for _, s := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second,
		2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute} {
		if d/s <= 16 {
			return s
		}
	}
	return 2 * time.Minute
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
