package main

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Colours: httpclient's main curve in Tempest's blue, the others apart,
// targets in red.
const (
	blue   = "#1565c0"
	orange = "#ef6c00"
	green  = "#2e7d32"
	grey   = "#757575"
	red    = "#c62828"
	purple = "#6a1b9a"
)

type point struct{ x, y float64 }

type series struct {
	name     string
	colour   string
	dash     bool
	pts      []point
	noLabels bool // values left to the tooltips and the tables, where curves crowd
	below    bool // values written below the points
}

// refLine is a horizontal line across a panel: a target.
type refLine struct {
	y      float64
	label  string
	colour string
	at     float64 // where the label sits along the line: 0 at the left, 1 at the right (anchored at its end)
}

// linePanel is one chart of medians against a count on a log x axis.
type linePanel struct {
	title, xLabel, yLabel string
	series                []series
	refs                  []refLine
}

// bar is one bar of a bar panel.
type bar struct {
	label  string
	value  float64
	colour string
}

// chart draws the curves as a self-contained SVG, four panels in a 2×2
// grid: ns/op against origins (known and new), bytes per origin against
// origins, CPU per call against goroutines, and the hooks' cost relative to
// none. A panel without data says so.
func chart(f *benchFile) string {
	const width, height, panelW, panelH, top = 980, 800, 490, 370, 50
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="16" y="26" font-size="16" font-weight="bold">Tempest httpclient cost curves (medians; dashed red lines are the targets)</text>` + "\n")

	drawLine(&b, 0, top, panelW, panelH, originsPanel(f))
	drawLine(&b, panelW, top, panelW, panelH, bytesPanel(f))
	drawLine(&b, 0, top+panelH+10, panelW, panelH, cpuPanel(f))
	drawBars(&b, panelW, top+panelH+10, panelW, panelH, "Hooks and logger: ns/op relative to none", hookBars(f),
		refLine{y: hooksMax, label: "target for all: 1.3×", colour: red})
	p("</svg>\n")
	return b.String()
}

// curve returns the points (key's value, median of unit) of group's results
// whose keys hold kv.
func curve(f *benchFile, group, key, unit string, kv ...string) []point {
	var pts []point
	for _, v := range f.values(group, key) {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x <= 0 {
			continue
		}
		r := f.get(group, append([]string{key, v}, kv...)...)
		if y := r.median(unit); !math.IsNaN(y) {
			pts = append(pts, point{x, y})
		}
	}
	return pts
}

func originsPanel(f *benchFile) linePanel {
	lp := linePanel{
		title:  "A call's cost against the origins the client knows",
		xLabel: "origins known (log scale)",
		yLabel: "ns/op",
		series: []series{
			{name: "known origin", colour: blue, below: true, pts: curve(f, "KnownOrigin", "origins", "ns/op")},
			{name: "new origin, limit=evict", colour: orange, pts: curve(f, "NewOrigin", "origins", "ns/op", "limit", "evict")},
			{name: "new origin, limit=grow", colour: green, dash: true, noLabels: true, pts: curve(f, "NewOrigin", "origins", "ns/op", "limit", "grow")},
		},
		refs: []refLine{{y: newOriginMax, label: "new origin: 10 µs", colour: red}},
	}
	if base := f.get("KnownOrigin", "origins", oneOrigin).median("ns/op"); !math.IsNaN(base) {
		lp.refs = append(lp.refs, refLine{y: base * knownFlat, label: "known: 1 origin +10%", colour: red, at: 1})
	}
	return lp
}

func bytesPanel(f *benchFile) linePanel {
	return linePanel{
		title:  "Bytes held per origin",
		xLabel: "origins held (log scale)",
		yLabel: "B/origin",
		series: []series{
			{name: "live heap (HeapAlloc)", colour: blue, below: true, pts: curve(f, "OriginBytes", "origins", "B/origin")},
			{name: "heap spans (HeapInuse)", colour: grey, dash: true, pts: curve(f, "OriginBytes", "origins", "inuse-B/origin")},
		},
		refs: []refLine{{y: originBytes, label: "1 KiB", colour: red, at: 0.3}},
	}
}

func cpuPanel(f *benchFile) linePanel {
	lp := linePanel{
		title:  "CPU time per call against concurrent goroutines",
		xLabel: "goroutines (log scale)",
		yLabel: "ns per call",
		series: []series{
			{name: "CPU (getrusage user+sys)", colour: blue, pts: curve(f, "CPU", "goroutines", "cpu-ns/op")},
			{name: "wall ns/op", colour: grey, dash: true, below: true, pts: curve(f, "CPU", "goroutines", "ns/op")},
		},
	}
	if base := f.get("CPU", "goroutines", oneGoroutine).median("cpu-ns/op"); !math.IsNaN(base) {
		lp.refs = append(lp.refs, refLine{y: base * cpuRatioMax, label: "1.5× one goroutine's CPU", colour: red})
	}
	return lp
}

func hookBars(f *benchFile) []bar {
	base := f.get("Hooks", "hooks", "none").median("ns/op")
	colours := []string{grey, blue, purple, orange}
	var bars []bar
	for i, h := range f.values("Hooks", "hooks") {
		v := f.get("Hooks", "hooks", h).median("ns/op") / base
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			bars = append(bars, bar{label: h, value: v, colour: colours[i%len(colours)]})
		}
	}
	return bars
}

// Panel margins.
const (
	padLeft, padRight, padTop, padBottom = 64.0, 20.0, 40.0, 76.0
)

// niceTop returns an axis top above v and its tick step (1, 2, 2.5 or 5
// times a power of ten), for about five ticks.
func niceTop(v float64) (top, step float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1, 0.2
	}
	rough := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(rough)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= rough {
			step = m * mag
			break
		}
	}
	return math.Ceil(v/step-1e-9) * step, step
}

// fmtTick writes an axis value: 10000 as 10k, 12500 as 12.5k, 3000 as 3k,
// but 1024 and 2500 as they are.
func fmtTick(v float64) string {
	switch {
	case v >= 10000 || (v >= 1000 && math.Mod(v, 1000) == 0):
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

func panelFrame(b *strings.Builder, x0, y0 float64, title string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="13" font-weight="bold">%s</text>`+"\n", x0+padLeft-40, y0+22, html.EscapeString(title))
}

func drawLine(b *strings.Builder, x0, y0, w, h float64, lp linePanel) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	panelFrame(b, x0, y0, lp.title)
	plotX, plotY := x0+padLeft, y0+padTop
	plotW, plotH := w-padLeft-padRight, h-padTop-padBottom

	var xs []float64
	maxY := 0.0
	for _, s := range lp.series {
		for _, pt := range s.pts {
			if !containsFloat(xs, pt.x) {
				xs = append(xs, pt.x)
			}
			maxY = max(maxY, pt.y)
		}
	}
	if len(xs) == 0 {
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">not measured</text>`+"\n", plotX+plotW/2, plotY+plotH/2)
		return
	}
	for _, r := range lp.refs {
		maxY = max(maxY, r.y)
	}
	lo, hi := math.Log10(xs[0]), math.Log10(xs[0])
	for _, x := range xs {
		lo, hi = min(lo, math.Log10(x)), max(hi, math.Log10(x))
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-0.5, hi+0.5
	}
	pad := (hi - lo) * 0.06
	lo, hi = lo-pad, hi+pad
	top, step := niceTop(maxY * 1.08)
	X := func(x float64) float64 { return plotX + (math.Log10(x)-lo)/(hi-lo)*plotW }
	Y := func(y float64) float64 { return plotY + plotH - y/top*plotH }

	// Grid, ticks, axes.
	for v := 0.0; v <= top+step/2; v += step {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", plotX, Y(v), plotX+plotW, Y(v))
		p(`<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", plotX-6, Y(v)+4, fmtTick(v))
	}
	for _, x := range xs {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#f0f0f0"/>`+"\n", X(x), plotY, X(x), plotY+plotH)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%s</text>`+"\n", X(x), plotY+plotH+16, fmtTick(x))
	}
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", plotX, plotY, plotX, plotY+plotH)
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", plotX, plotY+plotH, plotX+plotW, plotY+plotH)
	p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">%s</text>`+"\n", plotX+plotW/2, plotY+plotH+32, html.EscapeString(lp.xLabel))
	p(`<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle" fill="#333">%s</text>`+"\n", x0+14, plotY+plotH/2, html.EscapeString(lp.yLabel))

	// Targets, under the curves.
	for _, r := range lp.refs {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="6 4"/>`+"\n", plotX, Y(r.y), plotX+plotW, Y(r.y), r.colour)
		anchor := "start"
		if r.at >= 1 {
			anchor = "end"
		}
		p(`<text x="%.1f" y="%.1f" text-anchor="%s" font-size="10" fill="%s" stroke="#fff" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
			plotX+4+r.at*(plotW-8), Y(r.y)-4, anchor, r.colour, html.EscapeString(r.label))
	}

	// Curves, with their values.
	for _, s := range lp.series {
		if len(s.pts) == 0 {
			continue
		}
		var path []string
		for _, pt := range s.pts {
			path = append(path, fmt.Sprintf("%.1f,%.1f", X(pt.x), Y(pt.y)))
		}
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="5 3"`
		}
		p(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(path, " "), s.colour, dash)
		for _, pt := range s.pts {
			p(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s at %s: %s</title></circle>`+"\n",
				X(pt.x), Y(pt.y), s.colour, html.EscapeString(s.name), fmtTick(pt.x), fmtNum(pt.y))
			if s.noLabels {
				continue
			}
			dy := -7.0
			if s.below {
				dy = 15
			}
			p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10" fill="%s" stroke="#fff" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
				X(pt.x), Y(pt.y)+dy, s.colour, fmtNum(pt.y))
		}
	}

	// Legend, below the axis label.
	lx, ly := plotX-40, plotY+plotH+54
	for _, s := range lp.series {
		if len(s.pts) == 0 {
			continue
		}
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="5 3"`
		}
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", lx, ly-4, lx+18, ly-4, s.colour, dash)
		p(`<text x="%.1f" y="%.1f" font-size="11">%s</text>`+"\n", lx+22, ly, html.EscapeString(s.name))
		lx += 22 + 6.2*float64(len(s.name)) + 14
	}
}

func drawBars(b *strings.Builder, x0, y0, w, h float64, title string, bars []bar, ref refLine) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	panelFrame(b, x0, y0, title)
	plotX, plotY := x0+padLeft, y0+padTop
	plotW, plotH := w-padLeft-padRight, h-padTop-padBottom
	if len(bars) == 0 {
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">not measured</text>`+"\n", plotX+plotW/2, plotY+plotH/2)
		return
	}
	maxY := ref.y
	for _, br := range bars {
		maxY = max(maxY, br.value)
	}
	top, step := niceTop(maxY * 1.08)
	Y := func(y float64) float64 { return plotY + plotH - y/top*plotH }
	for v := 0.0; v <= top+step/2; v += step {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", plotX, Y(v), plotX+plotW, Y(v))
		p(`<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s×</text>`+"\n", plotX-6, Y(v)+4, fmtTick(v))
	}
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", plotX, plotY, plotX, plotY+plotH)
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", plotX, plotY+plotH, plotX+plotW, plotY+plotH)
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333" stroke-dasharray="2 3"/>`+"\n", plotX, Y(1), plotX+plotW, Y(1))
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="6 4"/>`+"\n", plotX, Y(ref.y), plotX+plotW, Y(ref.y), ref.colour)
	p(`<text x="%.1f" y="%.1f" font-size="10" fill="%s" stroke="#fff" stroke-width="3" paint-order="stroke">%s</text>`+"\n", plotX+4, Y(ref.y)-4, ref.colour, html.EscapeString(ref.label))
	slot := plotW / float64(len(bars))
	barW := slot * 0.6
	for i, br := range bars {
		x := plotX + float64(i)*slot + (slot-barW)/2
		p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %.2f× none</title></rect>`+"\n",
			x, Y(br.value), barW, Y(0)-Y(br.value), br.colour, html.EscapeString(br.label), br.value)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">%.2f×</text>`+"\n", x+barW/2, Y(br.value)-5, br.value)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%s</text>`+"\n", x+barW/2, plotY+plotH+16, html.EscapeString(br.label))
	}
	p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">hooks= (one known origin; dotted line: none)</text>`+"\n", plotX+plotW/2, plotY+plotH+32)
}

func containsFloat(xs []float64, x float64) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
