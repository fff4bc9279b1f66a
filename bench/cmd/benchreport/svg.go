package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// palette colours the clients; Tempest stands out, raw is grey.
var palette = map[string]string{
	"raw":           "#9e9e9e",
	"tempest":       "#1565c0",
	"retryablehttp": "#ef6c00",
	"failsafe":      "#2e7d32",
	"gobreaker":     "#6a1b9a",
	"resty":         "#c62828",
}

var fallbackColours = []string{"#00838f", "#795548", "#ad1457", "#558b2f"}

// The chart's geometry: the ratio panel, then the outage panel when there
// is an outage table.
const (
	chartMinWidth                       = 960
	chartLeft, chartRight               = 64, 24
	ratioPanelH                         = 460
	ratioUp, ratioBelow                 = 64, 110
	outagePanelH                        = 300
	outageUp, outageBelow               = 64, 60
	minBarW                             = 28.0
	groupGap                            = 28.0
	labelFont, tildeOffset, labelOffset = 10, 15, 4
)

// chart draws median ns/op relative to raw net/http, one bar group per
// benchmark group, one bar per client, a dashed line at raw's 1; a bar whose
// difference from raw is not significant (U test, p >= 0.05) carries a "~"
// above its label. Below it, when outage holds TestOutage's table, a second
// panel draws each client's upstream attempts per call while the upstream
// failed.
func chart(f *benchFile, outage string) string {
	var groups []string
	for _, g := range glanceGroups {
		if f.get(g, baseline, "") != nil {
			groups = append(groups, g)
		}
	}
	cs := clients(f)
	out := parseOutage(outage)
	colour := map[string]string{}
	next := 0
	addColour := func(c string) {
		if _, ok := colour[c]; ok {
			return
		}
		if col, ok := palette[c]; ok {
			colour[c] = col
		} else {
			colour[c] = fallbackColours[next%len(fallbackColours)]
			next++
		}
	}
	for _, c := range cs {
		addColour(c)
	}
	for _, r := range out {
		addColour(r.client)
	}

	width := max(chartMinWidth, chartLeft+chartRight+int(math.Ceil(float64(len(groups))*(groupGap+float64(len(cs))*minBarW))))
	height := ratioPanelH
	if len(out) > 0 {
		height += outagePanelH
	}

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	ratioPanel(&b, f, groups, cs, colour, width)
	if len(out) > 0 {
		outagePanel(&b, out, colour, width, ratioPanelH)
	}
	p("</svg>\n")
	return b.String()
}

// ratioPanel draws the ratios to raw, at the top of a chart width wide.
func ratioPanel(b *strings.Builder, f *benchFile, groups, cs []string, colour map[string]string, width int) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	ratio := func(g, c string) (comparison, bool) {
		base, r := f.get(g, baseline, ""), f.get(g, c, "")
		if base == nil || r == nil || len(base.ns) == 0 || len(r.ns) == 0 {
			return comparison{}, false
		}
		if base == r {
			return comparison{ratio: 1, p: 1}, true
		}
		return compare(base.ns, r.ns), true
	}
	top := 1.5
	for _, g := range groups {
		for _, c := range cs {
			if r, ok := ratio(g, c); ok && r.ratio*1.08 > top {
				top = r.ratio * 1.08 // room for the labels above the bar
			}
		}
	}
	top = math.Ceil(top*2) / 2

	left := chartLeft
	plotW, plotH := width-chartLeft-chartRight, ratioPanelH-ratioUp-ratioBelow
	up := ratioUp
	y := func(v float64) float64 { return float64(up) + float64(plotH) - v/top*float64(plotH) }
	groupW := float64(plotW) / float64(max(len(groups), 1))
	barW := (groupW - groupGap) / float64(max(len(cs), 1))

	p(`<text x="%d" y="26" font-size="16" font-weight="bold">Median ns/op relative to raw net/http (lower is faster)</text>`+"\n", left)
	p(`<text x="%d" y="46" fill="#555">Medians of the %d runs in bench.out, %s; raw net/http = 1 in each group (dashed line); ~: not significantly different from raw (p ≥ 0.05).</text>`+"\n",
		left, f.passes(), html.EscapeString(f.commitPhrase()))

	// Grid and axis.
	for v := 0.0; v <= top+1e-9; v += 0.5 {
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>`+"\n", left, y(v), left+plotW, y(v))
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="#555">%.1f×</text>`+"\n", left-6, y(v)+4, v)
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, up, left, up+plotH)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, up+plotH, left+plotW, up+plotH)

	// raw's 1, under the bars so that their labels stay readable.
	p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#333" stroke-dasharray="6 4"/>`+"\n", left, y(1), left+plotW, y(1))

	// Bars, each a <g> with its title, its bar, its label and, when the
	// difference from raw is not significant, a "~" above the label.
	for gi, g := range groups {
		x0 := float64(left) + float64(gi)*groupW + groupGap/2
		for ci, c := range cs {
			r, ok := ratio(g, c)
			if !ok || math.IsNaN(r.ratio) || math.IsInf(r.ratio, 0) {
				continue
			}
			x := x0 + float64(ci)*barW
			title := fmt.Sprintf("%s %s: %.2f× raw (p=%.3f)", g, c, r.ratio, r.p)
			if c == baseline {
				title = fmt.Sprintf("%s %s: 1 (%s ns/op)", g, c, fmtNum(median(f.get(g, c, "").ns)))
			}
			p(`<g><title>%s</title>`, html.EscapeString(title))
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x+1, y(r.ratio), barW-2, y(0)-y(r.ratio), colour[c])
			p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="%d" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">%.2f</text>`, x+barW/2, y(r.ratio)-labelOffset, labelFont, r.ratio)
			if c != baseline && !r.significant() {
				p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="%d" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">~</text>`, x+barW/2, y(r.ratio)-tildeOffset, labelFont)
			}
			p("</g>\n")
		}
		p(`<text x="%.1f" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", x0+(groupW-groupGap)/2, up+plotH+20, html.EscapeString(g))
	}

	// Legend.
	lx, ly := float64(left), float64(up+plotH+52)
	for _, c := range cs {
		p(`<rect x="%.1f" y="%.1f" width="14" height="14" fill="%s"/>`+"\n", lx, ly-11, colour[c])
		p(`<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+20, ly, html.EscapeString(c))
		lx += 30 + 8*float64(len(c)) + 20
	}
	p(`<text x="%d" y="%d" fill="#555">Layer, LayerParallel and JSON over an in-memory transport; Loopback against a server on 127.0.0.1 (h1: HTTP/1.1; h2: HTTP/2 over TLS). See benchmarks.md for p-values.</text>`+"\n", left, ratioPanelH-20)
}

// outagePanel draws each client's upstream attempts per call while the
// upstream failed, in a panel of a chart width wide from y = top.
func outagePanel(b *strings.Builder, rows []outageRow, colour map[string]string, width, top int) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	hi := 0.0
	for _, r := range rows {
		hi = max(hi, r.v)
	}
	step := niceStep(hi * 1.1 / 4)
	scale := math.Max(math.Ceil(hi*1.1/step)*step, step)

	left := chartLeft
	plotW, plotH := width-chartLeft-chartRight, outagePanelH-outageUp-outageBelow
	up := top + outageUp
	y := func(v float64) float64 { return float64(up) + float64(plotH) - v/scale*float64(plotH) }
	slot := float64(plotW) / float64(len(rows))
	barW := math.Min(slot*0.6, 80)

	p(`<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#bdbdbd"/>`+"\n", top, width, top)
	p(`<text x="%d" y="%d" font-size="16" font-weight="bold">Outage: upstream attempts per call while it failed (fewer is better)</text>`+"\n", left, top+26)
	p(`<text x="%d" y="%d" fill="#555">TestOutage (outage.out): the requests the failing upstream received over the calls started while it failed, per client.</text>`+"\n", left, top+46)
	for i := 0; float64(i)*step <= scale+1e-9; i++ {
		v := float64(i) * step
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>`+"\n", left, y(v), left+plotW, y(v))
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", left-6, y(v)+4, trimFloat(v))
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, up, left, up+plotH)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, up+plotH, left+plotW, up+plotH)
	for i, r := range rows {
		cx := float64(left) + (float64(i)+0.5)*slot
		p(`<g><title>%s: %s attempts/call while failing</title>`, html.EscapeString(r.client), html.EscapeString(r.value))
		p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, cx-barW/2, y(r.v), barW, y(0)-y(r.v), colour[r.client])
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">%s</text>`, cx, y(r.v)-labelOffset, html.EscapeString(r.value))
		p("</g>\n")
		p(`<text x="%.1f" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", cx, up+plotH+20, html.EscapeString(r.client))
	}
}

// niceStep returns the smallest of 1, 2 or 5 times a power of ten at or
// above x (x > 0), or 1 for x <= 0.
func niceStep(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= x*(1-1e-9) {
			return m * pow
		}
	}
	return 10 * pow
}

// trimFloat formats an axis value without trailing zeros: 0.5, 1, 2.5.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
