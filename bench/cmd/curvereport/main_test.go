package main

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sample is go test output as the curves print it: -count 3 of a few
// benchmarks, custom metrics, a -v header line, a skip, a foreign
// benchmark, and the closing lines.
const sample = `goos: linux
goarch: amd64
pkg: github.com/tempestsdk/tempest/bench
cpu: AMD EPYC
BenchmarkCurveKnownOrigin/origins=1-2         	  400000	      3000 ns/op	    1656 B/op	      17 allocs/op
BenchmarkCurveKnownOrigin/origins=1-2         	  400000	      2000 ns/op	    1656 B/op	      17 allocs/op
BenchmarkCurveKnownOrigin/origins=1-2         	  400000	      2500 ns/op	    1656 B/op	      17 allocs/op
BenchmarkCurveKnownOrigin/origins=100000-2    	  300000	      2600 ns/op	    1656 B/op	      17 allocs/op
BenchmarkCurveKnownOrigin/origins=100000-2    	  300000	      2700 ns/op	    1656 B/op	      17 allocs/op
BenchmarkCurveKnownOrigin/origins=100000-2    	  300000	      2800 ns/op	    1656 B/op	      17 allocs/op
BenchmarkCurveKnownOriginRaw/origins=1-2      	  300000	      2000 ns/op	    2254 B/op	      28 allocs/op
BenchmarkCurveKnownOriginRaw/origins=100000-2 	  300000	      2400 ns/op	    2254 B/op	      28 allocs/op
BenchmarkCurveNewOrigin/origins=100000/limit=evict-2   	  100000	      9000 ns/op	    2456 B/op	      24 allocs/op
BenchmarkCurveNewOrigin/origins=100000/limit=evict-2   	  100000	     11000 ns/op	    2456 B/op	      24 allocs/op
BenchmarkCurveNewOrigin/origins=100000/limit=grow-2    	  100000	      6000 ns/op	    2456 B/op	      24 allocs/op
BenchmarkCurveNewOrigin/origins=100000/limit=grow-2    	  100000	      7000 ns/op	    2456 B/op	      24 allocs/op
BenchmarkCurveOriginBytes/origins=100-2        	    2000	    500000 ns/op	      1000 B/origin	      1300 inuse-B/origin	  300000 B/op	    2600 allocs/op
BenchmarkCurveOriginBytes/origins=100000-2     	       2	 900000000 ns/op	      1030.5 B/origin	      1140 inuse-B/origin	304220376 B/op	 2602286 allocs/op
BenchmarkCurveCPU/goroutines=1-2               	  300000	      3000 ns/op	      2800 cpu-ns/op	    1656 B/op	      17 allocs/op
BenchmarkCurveCPU/goroutines=1024-2            	  300000	      2000 ns/op	      3900 cpu-ns/op	    1656 B/op	      17 allocs/op
BenchmarkCurveCPURaw/goroutines=1-2            	  300000	      3000 ns/op	      3000 cpu-ns/op	    2254 B/op	      28 allocs/op
BenchmarkCurveCPURaw/goroutines=1024-2         	  300000	      2000 ns/op	      4800 cpu-ns/op	    2254 B/op	      28 allocs/op
BenchmarkCurveHooks
BenchmarkCurveHooks/hooks=none-2               	  400000	      3000 ns/op	    1656 B/op	      17 allocs/op
BenchmarkCurveHooks/hooks=all-2                	  400000	      3300 ns/op	    1704 B/op	      18 allocs/op
BenchmarkCurveHooks/hooks=all+logger-debug-2   	  200000	      6000 ns/op	    2168 B/op	      20 allocs/op
--- SKIP: BenchmarkCurveOther
    curves_test.go:1: skipped
BenchmarkLayer/client=raw-2                    	  500000	      2000 ns/op	    1000 B/op	      28 allocs/op
PASS
ok  	github.com/tempestsdk/tempest/bench	10.0s
`

func parseSample(t *testing.T) *benchFile {
	t.Helper()
	f, err := parseBench(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseBench(t *testing.T) {
	f := parseSample(t)
	if f.goos != "linux" || f.goarch != "amd64" || f.cpu != "AMD EPYC" || f.pkg != "github.com/tempestsdk/tempest/bench" {
		t.Errorf("config: %q %q %q %q", f.goos, f.goarch, f.cpu, f.pkg)
	}
	var names []string
	for _, r := range f.results {
		names = append(names, r.name)
	}
	want := []string{
		"CurveKnownOrigin/origins=1", "CurveKnownOrigin/origins=100000", "CurveKnownOriginRaw/origins=1", "CurveKnownOriginRaw/origins=100000",
		"CurveNewOrigin/origins=100000/limit=evict", "CurveNewOrigin/origins=100000/limit=grow",
		"CurveOriginBytes/origins=100", "CurveOriginBytes/origins=100000",
		"CurveCPU/goroutines=1", "CurveCPU/goroutines=1024", "CurveCPURaw/goroutines=1", "CurveCPURaw/goroutines=1024",
		"CurveHooks/hooks=none", "CurveHooks/hooks=all", "CurveHooks/hooks=all+logger-debug",
	}
	if !slices.Equal(names, want) {
		t.Errorf("results (foreign benchmarks dropped, first appearance order):\n got %q\nwant %q", names, want)
	}
	r := f.get("NewOrigin", "origins", "100000", "limit", "grow")
	if r == nil || r.group != "NewOrigin" || r.keys["limit"] != "grow" || r.keys["origins"] != "100000" {
		t.Fatalf("get NewOrigin grow: %+v", r)
	}
	if got := r.metrics["ns/op"]; !slices.Equal(got, []float64{6000, 7000}) {
		t.Errorf("samples %v", got)
	}
	b := f.get("OriginBytes", "origins", "100000")
	if got := b.metrics["B/origin"]; !slices.Equal(got, []float64{1030.5}) {
		t.Errorf("custom metric B/origin %v", got)
	}
	if got := b.metrics["inuse-B/origin"]; !slices.Equal(got, []float64{1140}) {
		t.Errorf("custom metric inuse-B/origin %v", got)
	}
	if got := f.get("CPU", "goroutines", "1024").metrics["cpu-ns/op"]; !slices.Equal(got, []float64{3900}) {
		t.Errorf("cpu-ns/op %v", got)
	}
	if f.get("KnownOrigin", "origins", "7") != nil || f.get("Layer") != nil {
		t.Error("get found a result that is not there")
	}
	if got := f.values("KnownOrigin", "origins"); !slices.Equal(got, []string{"1", "100000"}) {
		t.Errorf("values %v", got)
	}
	if got := f.values("Hooks", "hooks"); !slices.Equal(got, []string{"none", "all", "all+logger-debug"}) {
		t.Errorf("non-numeric values keep their order: %v", got)
	}
}

func TestParseBenchErrors(t *testing.T) {
	if _, err := parseBench(strings.NewReader("PASS\nBenchmarkLayer/client=raw-2 1 2 ns/op\n")); err == nil {
		t.Error("no curve results: want an error")
	}
	if _, err := parseBench(strings.NewReader("BenchmarkCurveCPU/goroutines=1-2 10 x ns/op\n")); err == nil {
		t.Error("bad value: want an error")
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkCurveHooks/hooks=all+logger-debug-2": "BenchmarkCurveHooks/hooks=all+logger-debug",
		"BenchmarkCurveHooks/hooks=all+logger-debug":   "BenchmarkCurveHooks/hooks=all+logger-debug",
		"BenchmarkCurveKnownOrigin/origins=100000-16":  "BenchmarkCurveKnownOrigin/origins=100000",
		"BenchmarkCurveKnownOrigin/origins=100000":     "BenchmarkCurveKnownOrigin/origins=100000",
	} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 1, 9, 5}, 5},
		{[]float64{10, 1000}, 505},
	} {
		in := slices.Clone(c.in)
		if got := median(in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("median reordered its input: %v", in)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing: want NaN")
	}
	f := parseSample(t)
	if got := f.get("KnownOrigin", "origins", "1").median("ns/op"); got != 2500 {
		t.Errorf("median of 3000, 2000, 2500 = %v", got)
	}
	if got := f.get("NewOrigin", "origins", "100000", "limit", "evict").median("ns/op"); got != 10000 {
		t.Errorf("median of 9000, 11000 = %v", got)
	}
	var missing *result
	if !math.IsNaN(missing.median("ns/op")) || !math.IsNaN(f.get("CPU", "goroutines", "1").median("B/origin")) {
		t.Error("median of a missing result or unit: want NaN")
	}
}

func TestTargets(t *testing.T) {
	ts := targets(parseSample(t))
	want := []string{
		"**Met.** A known origin", // 2700/2500 = 1.08
		"**Missed.** A call to a new origin under 10 µs with 100 000 known: limit=evict 10000 ns, limit=grow 6500 ns.",
		"**Missed.** Under 1 KiB",    // 1030.5 at 100 000
		"**Met.** CPU time per call", // 3900/2800 = 1.39
		"**Met.** Every hook set",    // 1.10
	}
	if len(ts) != len(want) {
		t.Fatalf("%d targets: %q", len(ts), ts)
	}
	for i, w := range want {
		if !strings.HasPrefix(ts[i], w) {
			t.Errorf("target %d:\n got %s\nwant %s...", i, ts[i], w)
		}
	}
	if !strings.Contains(ts[0], "1.08× at 100 000 origins") {
		t.Errorf("known origin: the furthest ratio: %s", ts[0])
	}
	if !strings.Contains(ts[0], "Raw net/http over the same URLs (the control, which keeps nothing per origin): 1.20× at 100 000 origins") {
		t.Errorf("known origin: the raw control: %s", ts[0])
	}
	if !strings.Contains(ts[3], "Raw net/http over the same transport (the control): 4800 ns against 3000 ns, 1.60×") {
		t.Errorf("CPU: the raw control: %s", ts[3])
	}
	if !strings.Contains(ts[4], "all+logger-debug 2.00×") {
		t.Errorf("hooks: the logger's ratio: %s", ts[4])
	}

	empty := targets(&benchFile{})
	if len(empty) != 5 {
		t.Fatalf("%d targets without data", len(empty))
	}
	for _, s := range empty {
		if !strings.HasPrefix(s, notMeasured) {
			t.Errorf("without data: %s", s)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "curves.out")
	if err := os.WriteFile(in, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	md, svg := filepath.Join(dir, "curves.md"), filepath.Join(dir, "curves.svg")
	if err := run(in, md, svg, "abc1234-dirty", nil); err != nil {
		t.Fatal(err)
	}
	mdText, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## Cost curves", "| Commit | `abc1234-dirty` |", "| CPU | AMD EPYC |", "| Samples per benchmark | 1 to 3 |",
		"### Known origin", "| 100 000 | 2700 | 2600–2800 | 1.08× | 1656 | 17 |",
		"| 100 000 | evict | 10000 | 9000–11000 | +7300 | 2456 | 24 |",
		"| 100 000 | 1030 | 1030–1030 | 1140 | 9000 | 3042 | 26.0 |",
		"| 1024 | 3900 | 3900–3900 | 1.39× | 2000 | 17 |",
		"| all+logger-debug | 6000 | 6000–6000 | 2.00× | 2168 | 20 |",
		"![Cost curves of httpclient](curves.svg)",
	} {
		if !strings.Contains(string(mdText), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, mdText)
		}
	}
	svgText, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	checkXML(t, svgText)
	for _, want := range []string{"<polyline", "1 KiB", "new origin: 10 µs", "1.5× one goroutine", "target for all: 1.3×"} {
		if !strings.Contains(string(svgText), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}

	// Standard input, and a chart without some curves.
	partial := "BenchmarkCurveHooks/hooks=none-2 10 3000 ns/op\n"
	if err := run("-", md, svg, "", strings.NewReader(partial)); err != nil {
		t.Fatal(err)
	}
	svgText, _ = os.ReadFile(svg)
	checkXML(t, svgText)
	if !strings.Contains(string(svgText), "not measured") {
		t.Error("a panel without data should say so")
	}
	if err := run(filepath.Join(dir, "missing.out"), md, svg, "", nil); err == nil {
		t.Error("missing input: want an error")
	}
}

// checkXML fails unless data is well-formed XML with an <svg> root.
func checkXML(t *testing.T, data []byte) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("root element %q", root)
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[string]string{"1": "1", "1024": "1024", "10000": "10 000", "100000": "100 000", "1000000": "1 000 000", "all": "all"} {
		if got := fmtCount(in); got != want {
			t.Errorf("fmtCount(%q) = %q, want %q", in, got, want)
		}
	}
	for v, want := range map[float64]string{2500: "2500", 1024: "1024", 3000: "3k", 12500: "12.5k", 100000: "100k", 0.5: "0.5", 40: "40"} {
		if got := fmtTick(v); got != want {
			t.Errorf("fmtTick(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]float64{4200: 5000, 9.9: 10, 1.3: 1.5, 11000: 12500} {
		if got, _ := niceTop(v); math.Abs(got-want) > 1e-9 {
			t.Errorf("niceTop(%v) = %v, want %v", v, got, want)
		}
	}
}
