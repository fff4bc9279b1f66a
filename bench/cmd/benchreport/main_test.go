package main

import (
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/tempestsdk/tempest/bench
cpu: AMD EPYC
BenchmarkLayer/client=raw-2         	  500000	      2000 ns/op	    1000 B/op	      28 allocs/op
BenchmarkLayer/client=raw-2         	  500000	      2100 ns/op	    1000 B/op	      28 allocs/op
BenchmarkLayer/client=raw-2         	  500000	      2050 ns/op	    1000 B/op	      28 allocs/op
BenchmarkLayer/client=raw-2         	  500000	      1990 ns/op	    1000 B/op	      28 allocs/op
BenchmarkLayer/client=tempest-2     	  700000	      1500 ns/op	     800 B/op	      18 allocs/op
BenchmarkLayer/client=tempest-2     	  700000	      1510 ns/op	     800 B/op	      18 allocs/op
BenchmarkLayer/client=tempest-2     	  700000	      1490 ns/op	     800 B/op	      18 allocs/op
BenchmarkLayer/client=tempest-2     	  700000	      1520 ns/op	     800 B/op	      18 allocs/op
--- SKIP: BenchmarkOpenCircuit/client=raw
    bench_test.go:1: raw has no circuit breaker
BenchmarkOpenCircuit/client=tempest/url=relative-2 	 9000000	       100.5 ns/op	      96 B/op	       2 allocs/op
BenchmarkOpenCircuit/client=tempest/url=relative-2 	 9000000	       101.5 ns/op	      96 B/op	       2 allocs/op
PASS
`

func TestParseBench(t *testing.T) {
	f, err := parseBench(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if f.goos != "linux" || f.cpu != "AMD EPYC" {
		t.Errorf("config: %q %q", f.goos, f.cpu)
	}
	if got := f.groups(); strings.Join(got, ",") != "Layer,OpenCircuit" {
		t.Errorf("groups %v", got)
	}
	r := f.get("OpenCircuit", "tempest", "url=relative")
	if r == nil || len(r.ns) != 2 || median(r.ns) != 101 || median(r.allocs) != 2 {
		t.Fatalf("OpenCircuit: %+v", r)
	}
	if raw := f.get("Layer", "raw", ""); median(raw.ns) != 2025 {
		t.Errorf("median %v", median(raw.ns))
	}
}

func TestUTest(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6}
	y := []float64{7, 8, 9, 10, 11, 12}
	// Complete separation of 6 and 6: 2 of the 924 splits are as extreme.
	if p := utest(x, y); math.Abs(p-2.0/924) > 1e-12 {
		t.Errorf("separated: p = %v, want %v", p, 2.0/924)
	}
	if p := utest(x, x); p != 1 {
		t.Errorf("same samples: p = %v, want 1", p)
	}
	if p := utest([]float64{5, 5, 5}, []float64{5, 5, 5}); p != 1 {
		t.Errorf("all tied: p = %v, want 1", p)
	}
	// Large samples take the normal approximation.
	var a, b []float64
	for i := range 15 {
		a = append(a, float64(i))
		b = append(b, float64(i)+100)
	}
	if p := utest(a, b); p > 1e-4 {
		t.Errorf("large separated: p = %v", p)
	}
}

func TestParseGoMod(t *testing.T) {
	vs := parseGoMod("module m\n\ngo 1.25\n\nrequire x.org/a v1.2.3\n\nrequire (\n\tx.org/b v0.1.0\n\tx.org/c v2.0.0 // indirect\n)\n")
	if vs["x.org/a"] != "v1.2.3" || vs["x.org/b"] != "v0.1.0" || vs["x.org/c"] != "v2.0.0" {
		t.Errorf("%v", vs)
	}
}

// TestRun writes a report and a chart from a sample and checks that the
// chart is well-formed XML and the report holds the tables and targets.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	bench := filepath.Join(dir, "bench.out")
	outage := filepath.Join(dir, "outage.out")
	os.WriteFile(bench, []byte(sample), 0o644)
	os.WriteFile(outage, []byte("| client |\n| --- |\n| raw |\n\nTarget met: fine.\n"), 0o644)
	md, svg := filepath.Join(dir, "b.md"), filepath.Join(dir, "b.svg")
	load := filepath.Join(dir, "load.md")
	os.WriteFile(load, []byte("# Load\n\n| | |\n| --- | --- |\n| Commit | abc1234 |\n| Date | 2026-11-30 |\n| Offered load | 2000 calls/s |\n\n| client | p50 |\n| --- | ---: |\n| raw | 224µs |\n| tempest | 230µs |\n\n- notes\n"), 0o644)
	syscalls := filepath.Join(dir, "syscalls.md")
	os.WriteFile(syscalls, []byte("| proto | client | syscalls/call |\n| --- | --- | ---: |\n| h1 | raw | 5.41 |\n"), 0o644)
	curves := filepath.Join(dir, "curves.md")
	os.WriteFile(curves, []byte("## Cost curves\n\n<!-- generated -->\n\n![Cost curves](curves.svg)\n"), 0o644)
	frags := fragments{load: load, syscalls: syscalls, curves: curves, notes: filepath.Join(dir, "absent.md")}
	if err := run(bench, "", outage, "../../go.mod", md, svg, frags); err != nil {
		t.Fatal(err)
	}
	doc, _ := os.ReadFile(md)
	if i, j := strings.Index(string(doc), "## Real-service run"), strings.Index(string(doc), "## Machine"); i < 0 || i > j {
		t.Errorf("the real-service run is not at the top:\n%s", doc)
	}
	for _, want := range []string{"## Machine", "### Layer", "0.74×", "**Met.** Layer cost, sequential", "Open circuit, url=relative", "Target met: fine.", "github.com/sony/gobreaker/v2` v",
		"at commit abc1234, 2026-11-30", "| tempest | 230µs |", "## System calls", "| h1 | raw | 5.41 |", "![Cost curves](bench/curves.svg)"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(string(doc), "<!-- generated -->") {
		t.Error("a fragment's own comment was kept")
	}
	img, _ := os.ReadFile(svg)
	d := xml.NewDecoder(strings.NewReader(string(img)))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("chart is not XML: %v", err)
			}
			break
		}
	}
}
