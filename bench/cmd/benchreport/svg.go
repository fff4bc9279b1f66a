package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// chartGroups are the groups the chart shows, each as a group of bars.
var chartGroups = []string{"Layer", "LayerParallel", "Loopback", "JSON"}

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

// chart draws median ns/op relative to raw net/http, one bar group per
// benchmark group, one bar per client, a dashed line at raw's 1.
func chart(f *benchFile) string {
	var groups []string
	for _, g := range chartGroups {
		if f.get(g, baseline, "") != nil {
			groups = append(groups, g)
		}
	}
	cs := clients(f)
	colour := map[string]string{}
	for i, c := range cs {
		if col, ok := palette[c]; ok {
			colour[c] = col
		} else {
			colour[c] = fallbackColours[i%len(fallbackColours)]
		}
	}

	// Ratios and the scale.
	ratio := func(g, c string) float64 {
		base, r := f.get(g, baseline, ""), f.get(g, c, "")
		if base == nil || r == nil {
			return math.NaN()
		}
		return median(r.ns) / median(base.ns)
	}
	top := 1.5
	for _, g := range groups {
		for _, c := range cs {
			if r := ratio(g, c); !math.IsNaN(r) && r > top {
				top = r
			}
		}
	}
	top = math.Ceil(top*2) / 2

	const (
		width, height          = 960, 460
		left, right, up, below = 64, 24, 64, 110
		plotW, plotH           = width - left - right, height - up - below
	)
	y := func(v float64) float64 { return up + plotH - v/top*plotH }
	groupW := float64(plotW) / float64(max(len(groups), 1))
	gap := 28.0
	barW := (groupW - gap) / float64(max(len(cs), 1))

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="%d" y="26" font-size="16" font-weight="bold">Median ns/op relative to raw net/http (lower is faster)</text>`+"\n", left)
	p(`<text x="%d" y="46" fill="#555">Medians of the runs in bench.out; raw net/http = 1 in each group (dashed line).</text>`+"\n", left)

	// Grid and axis.
	for v := 0.0; v <= top+1e-9; v += 0.5 {
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>`+"\n", left, y(v), left+plotW, y(v))
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="#555">%.1f×</text>`+"\n", left-6, y(v)+4, v)
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, up, left, up+plotH)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", left, up+plotH, left+plotW, up+plotH)

	// raw's 1, under the bars so that their labels stay readable.
	p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#333" stroke-dasharray="6 4"/>`+"\n", left, y(1), left+plotW, y(1))

	// Bars.
	for gi, g := range groups {
		x0 := float64(left) + float64(gi)*groupW + gap/2
		for ci, c := range cs {
			r := ratio(g, c)
			if math.IsNaN(r) {
				continue
			}
			x := x0 + float64(ci)*barW
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.2f× raw</title></rect>`+"\n",
				x+1, y(r), barW-2, y(0)-y(r), colour[c], html.EscapeString(g), html.EscapeString(c), r)
			p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">%.2f</text>`+"\n", x+barW/2, y(r)-4, r)
		}
		p(`<text x="%.1f" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", x0+(groupW-gap)/2, up+plotH+20, html.EscapeString(g))
	}

	// Legend.
	lx, ly := float64(left), float64(up+plotH+52)
	for _, c := range cs {
		p(`<rect x="%.1f" y="%.1f" width="14" height="14" fill="%s"/>`+"\n", lx, ly-11, colour[c])
		p(`<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+20, ly, html.EscapeString(c))
		lx += 30 + 8*float64(len(c)) + 20
	}
	p(`<text x="%d" y="%d" fill="#555">Layer, LayerParallel and JSON over an in-memory transport; Loopback against a server on 127.0.0.1. See benchmarks.md for p-values.</text>`+"\n", left, height-20)
	p("</svg>\n")
	return b.String()
}
