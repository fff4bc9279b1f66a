package main

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// spec is one benchmark of a generated bench.out: its name without
// "Benchmark" and the -P suffix, its ns/op in each pass and its allocs/op.
type spec struct {
	name   string
	ns     func(pass int) float64
	allocs float64
}

// jitter is a fixed spread of a few percent, one factor per pass.
var jitter = []float64{1.00, 1.03, 0.98, 1.05, 0.96, 1.01, 0.99, 1.02, 0.97, 1.04}

// around is ns/op v with the jitter.
func around(v float64) func(int) float64 {
	return func(i int) float64 { return v * jitter[i%len(jitter)] }
}

// genBench writes the output of passes interleaved passes over specs, as
// `make bench` does, starting with a commit line unless commit is "".
func genBench(commit string, passes int, specs ...spec) string {
	var b strings.Builder
	if commit != "" {
		fmt.Fprintf(&b, "commit: %s\n", commit)
	}
	for i := range passes {
		b.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/tempestsdk/tempest/bench\ncpu: AMD EPYC\n")
		for _, s := range specs {
			fmt.Fprintf(&b, "Benchmark%s-2 \t  100000\t %.1f ns/op\t 1000 B/op\t %.0f allocs/op\n", s.name, s.ns(i), s.allocs)
		}
		b.WriteString("PASS\n")
	}
	return b.String()
}

func mustParse(t *testing.T, s string) *benchFile {
	t.Helper()
	f, err := parseBench(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// protoSpecs is a suite with the proto dimension on loopback.
func protoSpecs() []spec {
	return []spec{
		{"Layer/client=raw", around(3000), 28},
		{"Layer/client=tempest", around(2200), 18},
		{"Loopback/proto=h1/client=raw", around(30000), 75},
		{"Loopback/proto=h1/client=tempest", around(30300), 75},
		{"Loopback/proto=h1/client=resty", around(36000), 98},
		{"Loopback/proto=h2/client=raw", around(40000), 90},
		{"Loopback/proto=h2/client=tempest", around(40400), 90},
		{"Loopback/proto=h2/client=resty", around(47000), 110},
		{"JSON/client=raw", around(30000), 101},
		{"JSON/client=tempest", around(29000), 97},
	}
}

func TestParseProto(t *testing.T) {
	r := newResult("BenchmarkLoopback/proto=h2/client=raw")
	if r.group != "Loopback h2" || r.client != "raw" || r.rest != "" {
		t.Errorf("proto=h2: group %q client %q rest %q", r.group, r.client, r.rest)
	}
	f := mustParse(t, genBench("", 2, protoSpecs()...))
	if got := strings.Join(f.groups(), ","); got != "Layer,Loopback h1,Loopback h2,JSON" {
		t.Errorf("groups %s", got)
	}
	for _, g := range []string{"Loopback h1", "Loopback h2"} {
		if r := f.get(g, "raw", ""); r == nil || len(r.ns) != 2 {
			t.Errorf("%s raw: %+v", g, r)
		}
	}
	// A file from before the proto dimension keeps its one group.
	old := mustParse(t, genBench("", 1, spec{"Loopback/client=raw", around(1), 1}))
	if old.get("Loopback", "raw", "") == nil {
		t.Errorf("old loopback: groups %v", old.groups())
	}
}

func TestParseCommit(t *testing.T) {
	f := mustParse(t, genBench("abc1234-dirty", 1, spec{"Layer/client=raw", around(1), 1}))
	if f.commit != "abc1234-dirty" || f.commitPhrase() != "commit abc1234-dirty" {
		t.Errorf("commit %q, phrase %q", f.commit, f.commitPhrase())
	}
	f = mustParse(t, genBench("", 1, spec{"Layer/client=raw", around(1), 1}))
	if f.commit != "" || f.commitPhrase() != "commit not recorded" {
		t.Errorf("absent: commit %q, phrase %q", f.commit, f.commitPhrase())
	}
}

func report(f *benchFile, outage string) string {
	var b strings.Builder
	writeReport(&b, input{bench: f, outage: outage, svgName: "b.svg",
		machine: machine{goos: "linux", goarch: "amd64", cpus: 2, goVersion: "go1.26", date: time.Unix(0, 0)}})
	return b.String()
}

// headerParagraph is the report's first paragraph of prose.
func headerParagraph(doc string) string {
	for _, para := range strings.Split(doc, "\n\n") {
		if strings.HasPrefix(para, "Tempest's `httpclient`") {
			return para
		}
	}
	return ""
}

func TestReportCommit(t *testing.T) {
	f := mustParse(t, genBench("abc1234", 8, protoSpecs()...))
	doc := report(f, "")
	if h := headerParagraph(doc); !strings.Contains(h, "commit abc1234") || !strings.Contains(h, "takes 8 samples") {
		t.Errorf("header paragraph lacks the commit or the passes: %q", h)
	}
	if !strings.Contains(doc, "| Commit | abc1234 |") {
		t.Errorf("machine table lacks the commit:\n%s", doc)
	}
	tables := strings.Count(doc, "\n### ")
	if n := strings.Count(doc, "Medians of 8 runs at commit abc1234."); n != tables || n != 4 {
		t.Errorf("%d results tables, %d naming the commit", tables, n)
	}
	if !strings.Contains(chart(f, ""), "commit abc1234") {
		t.Errorf("chart subtitle lacks the commit")
	}

	f = mustParse(t, genBench("", 8, protoSpecs()...))
	doc = report(f, "")
	if h := headerParagraph(doc); !strings.Contains(h, "commit not recorded") {
		t.Errorf("header paragraph: %q", h)
	}
	for _, want := range []string{"| Commit | commit not recorded |", "Medians of 8 runs, commit not recorded."} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if !strings.Contains(chart(f, ""), "commit not recorded") {
		t.Errorf("chart subtitle lacks \"commit not recorded\"")
	}
}

func TestReportProto(t *testing.T) {
	f := mustParse(t, genBench("abc1234", 8, protoSpecs()...))
	doc := report(f, "")
	if !strings.Contains(doc, "| client | Layer | Loopback h1 | Loopback h2 | JSON |") {
		t.Errorf("glance header:\n%s", doc)
	}
	if !regexp.MustCompile(`\| tempest \| [^|]+ \| 1\.01× ~ \| 1\.01× ~ \|`).MatchString(doc) {
		t.Errorf("glance row of tempest:\n%s", doc)
	}
	for g, want := range map[string][]string{
		"Loopback h1": {"HTTP/1.1", "httpclient.NewTransport()"},
		"Loopback h2": {"HTTP/2 over TLS", "EnableHTTP2", "StartTLS", "httpclient.NewTransport()"},
	} {
		_, after, ok := strings.Cut(doc, "### "+g+"\n\n")
		if !ok {
			t.Errorf("no section %s", g)
			continue
		}
		doc, _, _ := strings.Cut(after, "\n")
		for _, w := range want {
			if !strings.Contains(doc, w) {
				t.Errorf("%s doc lacks %q: %s", g, w, doc)
			}
		}
	}
	svg := chart(f, "")
	for _, g := range []string{">Loopback h1</text>", ">Loopback h2</text>"} {
		if !strings.Contains(svg, g) {
			t.Errorf("chart lacks %s", g)
		}
	}
	mustXML(t, svg)
}

func mustXML(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not XML: %v", err)
			}
			return
		}
	}
}

// barOf returns the chart's <g> element whose title starts with title.
func barOf(svg, title string) string {
	for _, g := range strings.Split(svg, "<g>") {
		if strings.HasPrefix(g, "<title>"+title) {
			g, _, _ = strings.Cut(g, "</g>")
			return g
		}
	}
	return ""
}

func TestChartTilde(t *testing.T) {
	f := mustParse(t, genBench("abc1234", 8,
		spec{"Layer/client=raw", around(3000), 28},
		spec{"Layer/client=tempest", around(2200), 18},       // significantly faster
		spec{"Layer/client=gobreaker", around(3030), 28},     // not significant
		spec{"Layer/client=resty", around(7000), 52},         // significantly slower
		spec{"Loopback/proto=h2/client=raw", around(1e4), 1}, // a second group
		spec{"Loopback/proto=h2/client=tempest", around(1.01e4), 1},
	))
	svg := chart(f, "")
	mustXML(t, svg)
	for _, c := range []struct {
		title string
		tilde bool
	}{
		{"Layer raw:", false},
		{"Layer tempest:", false},
		{"Layer gobreaker:", true},
		{"Layer resty:", false},
		{"Loopback h2 tempest:", true},
	} {
		bar := barOf(svg, c.title)
		if bar == "" {
			t.Errorf("no bar %q", c.title)
			continue
		}
		if got := strings.Contains(bar, ">~</text>"); got != c.tilde {
			t.Errorf("%s: tilde %v, want %v: %s", c.title, got, c.tilde, bar)
		}
	}
	if !strings.Contains(barOf(svg, "Layer tempest:"), ">0.73</text>") {
		t.Errorf("tempest's label: %s", barOf(svg, "Layer tempest:"))
	}
}

// outageSample is bench/outage.out as TestOutage writes it.
const outageSample = `Offered load: 200 calls/s per client for 3s, a goroutine per call.

| client | breaker | calls | upstream attempts | attempts/call (while failing) | attempts/call (all) | failed calls (of which errors) | failed after recovery | p50 | p99 | max |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| raw | no | 600 | 600 | 1.000 | 1.000 | 400 (0) | 0 | 216µs | 1.96ms | 2.47ms |
| tempest | yes | 600 | 205 | 0.037 | 0.342 | 410 (397) | 10 | 5µs | 449µs | 29.24ms |
| retryablehttp | no | 600 | 1398 | 2.980 | 2.330 | 394 (0) | 0 | 31.47ms | 34.69ms | 37.88ms |
| failsafe | yes | 600 | 215 | 0.135 | 0.358 | 439 (439) | 39 | 29µs | 32.26ms | 33.33ms |
| gobreaker | yes | 600 | 205 | 0.037 | 0.342 | 410 (410) | 10 | 2µs | 11.11ms | 32.25ms |
| resty | no | 600 | 1398 | 2.982 | 2.330 | 395 (0) | 0 | 25ms | 32.19ms | 32.85ms |

Target met: no client sent the failing upstream fewer attempts per call than Tempest (0.037: 15 for 400 calls).
`

func TestParseOutage(t *testing.T) {
	rows := parseOutage(outageSample)
	var got []string
	for _, r := range rows {
		got = append(got, r.client+"="+r.value)
	}
	want := "raw=1.000 tempest=0.037 retryablehttp=2.980 failsafe=0.135 gobreaker=0.037 resty=2.982"
	if strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}
	if len(rows) > 1 && rows[1].v != 0.037 {
		t.Errorf("tempest's value %v", rows[1].v)
	}
	// The column is found by its header, wherever it is.
	rows = parseOutage("| breaker | attempts/call (while failing) | client |\n| --- | ---: | --- |\n| yes | 0.5 | x |\n")
	if len(rows) != 1 || rows[0].client != "x" || rows[0].v != 0.5 {
		t.Errorf("reordered columns: %+v", rows)
	}
	for _, s := range []string{"", "| client |\n| --- |\n| raw |\n", "no table"} {
		if rows := parseOutage(s); rows != nil {
			t.Errorf("%q: %+v", s, rows)
		}
	}
}

func svgHeight(t *testing.T, svg string) int {
	t.Helper()
	m := regexp.MustCompile(`<svg [^>]*height="(\d+)"`).FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no height: %.200s", svg)
	}
	h, _ := strconv.Atoi(m[1])
	return h
}

func TestChartOutagePanel(t *testing.T) {
	f := mustParse(t, genBench("abc1234", 8, protoSpecs()...))
	const title = "Outage: upstream attempts per call while it failed (fewer is better)"
	plain, withOutage := chart(f, ""), chart(f, outageSample)
	mustXML(t, plain)
	mustXML(t, withOutage)
	if strings.Contains(plain, "Outage:") {
		t.Errorf("a chart without an outage input has an outage panel")
	}
	if strings.Contains(chart(f, "outage not run"), "Outage:") {
		t.Errorf("a chart with no outage table has an outage panel")
	}
	if !strings.Contains(withOutage, title) {
		t.Errorf("no outage panel title")
	}
	if hp, ho := svgHeight(t, plain), svgHeight(t, withOutage); ho <= hp {
		t.Errorf("height %d with the outage panel, %d without", ho, hp)
	}
	for client, v := range map[string]string{"raw": "1.000", "tempest": "0.037", "resty": "2.982"} {
		bar := barOf(withOutage, client+": ")
		if !strings.Contains(bar, ">"+v+"</text>") || !strings.Contains(bar, "<rect") {
			t.Errorf("%s's outage bar: %q", client, bar)
		}
	}
	// Below the first panel.
	if i, j := strings.Index(withOutage, "Median ns/op relative"), strings.Index(withOutage, title); i < 0 || j < i {
		t.Errorf("panels out of order")
	}
}

func TestNiceStep(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{{0.8, 1}, {0.75, 1}, {0.3, 0.5}, {0.011, 0.02}, {3, 5}, {12, 20}, {0, 1}} {
		if got := niceStep(c.x); got != c.want {
			t.Errorf("niceStep(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

// loopTargets returns the raw target line of group g for Tempest against
// raw with the given samples.
func loopTargets(t *testing.T, raw, tempest func(int) float64, rawAllocs, tAllocs float64) []string {
	t.Helper()
	f := mustParse(t, genBench("abc1234", 8,
		spec{"Loopback/proto=h1/client=raw", raw, rawAllocs},
		spec{"Loopback/proto=h1/client=tempest", tempest, tAllocs},
		spec{"Loopback/proto=h2/client=raw", raw, rawAllocs},
		spec{"Loopback/proto=h2/client=tempest", tempest, tAllocs},
		spec{"Loopback/proto=h2/client=resty", around(50000), 100},
	))
	return targets(f, "")
}

func TestTargetsLoopback(t *testing.T) {
	const claim = "Tempest not significantly slower than raw net/http (p > 0.05) with allocations per call no more than raw's: "
	for _, c := range []struct {
		name              string
		tempest           func(int) float64
		tAllocs           float64
		verdict, contains string
	}{
		{"alike", around(30300), 75, "**Met.**", "1.01× of raw (p="},
		{"significantly slower", around(36000), 75, "**Missed.**", "1.20× of raw (p=0.000), 75 allocs/op against 75."},
		{"faster but an allocation more", around(27000), 76, "**Missed.**", "76 allocs/op against 75."},
		{"significantly faster", around(27000), 70, "**Met.**", "0.90× of raw"},
		{"not significantly slower", func(i int) float64 { return 30000 * jitter[(i+1)%len(jitter)] }, 75, "**Met.**", "of raw (p="},
	} {
		ts := loopTargets(t, around(30000), c.tempest, 75, c.tAllocs)
		for _, g := range []string{"Loopback h1", "Loopback h2"} {
			var line string
			for _, s := range ts {
				if strings.Contains(s, g+": "+claim) {
					line = s
				}
			}
			if !strings.HasPrefix(line, c.verdict+" "+g+": "+claim) || !strings.Contains(line, c.contains) {
				t.Errorf("%s, %s: got %q, want %s ... %s", c.name, g, line, c.verdict, c.contains)
			}
		}
		var peers int
		for _, s := range ts {
			if strings.Contains(s, ": no peer significantly faster than Tempest") {
				peers++
			}
		}
		if peers != 2 {
			t.Errorf("%s: %d peer targets, want one per loopback group:\n%s", c.name, peers, strings.Join(ts, "\n"))
		}
	}
}

func TestReproduce(t *testing.T) {
	doc := report(mustParse(t, genBench("abc1234", 8, protoSpecs()...)), "")
	_, repro, ok := strings.Cut(doc, "## Reproduce\n")
	if !ok {
		t.Fatal("no Reproduce section")
	}
	for _, want := range []string{"docs/benchmarks.txt", "the raw figures this page was made from", "committed", "make bench-check", "not part of `make test`", "fails on a significant regression"} {
		if !strings.Contains(repro, want) {
			t.Errorf("Reproduce lacks %q:\n%s", want, repro)
		}
	}
}
