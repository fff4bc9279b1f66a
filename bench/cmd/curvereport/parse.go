package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A result is the samples of one curve benchmark across the runs of -count
// (or of several runs concatenated), by unit: "ns/op", "B/op",
// "allocs/op" and the custom metrics ("cpu-ns/op", "B/origin", ...).
type result struct {
	name    string            // "CurveKnownOrigin/origins=100", without "Benchmark" and the -GOMAXPROCS suffix
	group   string            // "KnownOrigin"
	keys    map[string]string // "origins" -> "100", "limit" -> "evict"
	metrics map[string][]float64
}

// median returns the median of r's samples of unit, NaN when it has none.
func (r *result) median(unit string) float64 {
	if r == nil {
		return math.NaN()
	}
	return median(r.metrics[unit])
}

// samples returns how many samples of unit r holds.
func (r *result) samples(unit string) int {
	if r == nil {
		return 0
	}
	return len(r.metrics[unit])
}

// span returns the smallest and largest samples of unit.
func (r *result) span(unit string) (lo, hi float64) {
	if r == nil || len(r.metrics[unit]) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(r.metrics[unit]), slices.Max(r.metrics[unit])
}

// benchFile is the parsed output of `go test -bench Curve`.
type benchFile struct {
	goos, goarch, pkg, cpu string
	results                []*result // in order of first appearance
	byName                 map[string]*result
}

// get returns the result of group whose keys hold every key=value pair of
// kv ("origins", "100", "limit", "evict"), or nil.
func (f *benchFile) get(group string, kv ...string) *result {
	for _, r := range f.results {
		if r.group != group {
			continue
		}
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			if r.keys[kv[i]] != kv[i+1] {
				ok = false
				break
			}
		}
		if ok {
			return r
		}
	}
	return nil
}

// inGroup returns the results of group in order of first appearance.
func (f *benchFile) inGroup(group string) []*result {
	var rs []*result
	for _, r := range f.results {
		if r.group == group {
			rs = append(rs, r)
		}
	}
	return rs
}

// values returns the distinct values of key among group's results, in
// numeric order when they are all numbers, else in order of appearance.
func (f *benchFile) values(group, key string) []string {
	var vs []string
	for _, r := range f.inGroup(group) {
		if v, ok := r.keys[key]; ok && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	numeric := true
	for _, v := range vs {
		if _, err := strconv.Atoi(v); err != nil {
			numeric = false
		}
	}
	if numeric {
		slices.SortFunc(vs, func(a, b string) int {
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			return x - y
		})
	}
	return vs
}

// prefix is the name every curve benchmark begins with; other benchmarks
// in the input are ignored.
const prefix = "BenchmarkCurve"

// parseBench reads `go test -bench Curve -benchmem` output in the Go
// benchmark format: configuration lines "key: value" and result lines
// "BenchmarkName-P  N  v unit  v unit ...". Lines of any other kind (PASS,
// ok, --- SKIP, logs, -v headers) are skipped.
func parseBench(rd io.Reader) (*benchFile, error) {
	f := &benchFile{byName: map[string]*result{}}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if k, v, ok := strings.Cut(text, ": "); ok && !strings.ContainsAny(k, " \t") {
			switch k {
			case "goos":
				f.goos = v
			case "goarch":
				f.goarch = v
			case "pkg":
				f.pkg = v
			case "cpu":
				f.cpu = v
			}
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], prefix) {
			continue
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue
		}
		name := strings.TrimPrefix(trimProcs(fields[0]), "Benchmark")
		r := f.byName[name]
		if r == nil {
			r = newResult(name)
			f.byName[name] = r
			f.results = append(f.results, r)
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q: %v", line, fields[i], err)
			}
			r.metrics[fields[i+1]] = append(r.metrics[fields[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(f.results) == 0 {
		return nil, fmt.Errorf("no %s benchmark results", prefix)
	}
	return f, nil
}

// trimProcs drops the "-P" suffix that go test adds when GOMAXPROCS > 1.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// newResult splits "CurveNewOrigin/origins=100/limit=evict" into its group,
// "NewOrigin", and its keys. A part without "=" is kept as a key of its
// own with an empty value.
func newResult(name string) *result {
	r := &result{name: name, keys: map[string]string{}, metrics: map[string][]float64{}}
	parts := strings.Split(name, "/")
	r.group = strings.TrimPrefix(parts[0], "Curve")
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		r.keys[k] = v
	}
	return r
}

// median returns the median of xs (NaN when empty), without reordering xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
