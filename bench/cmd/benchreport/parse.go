package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A result is the samples of one benchmark, across the runs of -count or
// the interleaved passes, in the order of the file.
type result struct {
	name   string // full name without the -GOMAXPROCS suffix
	group  string // "Layer" for BenchmarkLayer/client=raw, "Loopback h2" for BenchmarkLoopback/proto=h2/client=raw
	client string // the value of the client= key
	rest   string // the other keys, "url=relative"
	ns     []float64
	bytes  []float64
	allocs []float64
}

// label is the row label of r in its group's table.
func (r *result) label() string {
	if r.rest == "" {
		return r.client
	}
	return r.client + " " + r.rest
}

// benchFile is a parsed `go test -bench` output.
type benchFile struct {
	goos, goarch, pkg, cpu string
	commit                 string    // the "commit:" configuration line, "abc1234" or "abc1234-dirty"; "" when absent
	results                []*result // in order of first appearance
	byName                 map[string]*result
}

// get returns the result of group and client with the rest keys rest, or nil.
func (f *benchFile) get(group, client, rest string) *result {
	for _, r := range f.results {
		if r.group == group && r.client == client && r.rest == rest {
			return r
		}
	}
	return nil
}

// groups returns the group names in order of first appearance.
func (f *benchFile) groups() []string {
	var gs []string
	seen := map[string]bool{}
	for _, r := range f.results {
		if !seen[r.group] {
			seen[r.group] = true
			gs = append(gs, r.group)
		}
	}
	return gs
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

// parseBench reads the output of `go test -bench -benchmem`, in the Go
// benchmark format: configuration lines "key: value" and result lines
// "BenchmarkName-P  N  v ns/op  v B/op  v allocs/op".
func parseBench(rd io.Reader) (*benchFile, error) {
	f := &benchFile{byName: map[string]*result{}}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if k, v, ok := strings.Cut(text, ": "); ok && !strings.Contains(k, " ") {
			switch k {
			case "goos":
				f.goos = v
			case "goarch":
				f.goarch = v
			case "pkg":
				f.pkg = v
			case "cpu":
				f.cpu = v
			case "commit":
				if f.commit == "" {
					f.commit = strings.TrimSpace(v)
				}
			}
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue
		}
		name := trimProcs(fields[0])
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
			switch fields[i+1] {
			case "ns/op":
				r.ns = append(r.ns, v)
			case "B/op":
				r.bytes = append(r.bytes, v)
			case "allocs/op":
				r.allocs = append(r.allocs, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(f.results) == 0 {
		return nil, fmt.Errorf("no benchmark results")
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

// newResult splits "BenchmarkLayer/client=raw/url=relative" into its group,
// client and other keys. A proto= key joins the group's name:
// "BenchmarkLoopback/proto=h2/client=raw" is client raw of group
// "Loopback h2", with no other keys.
func newResult(name string) *result {
	r := &result{name: name}
	parts := strings.Split(strings.TrimPrefix(name, "Benchmark"), "/")
	r.group = parts[0]
	var rest []string
	for _, p := range parts[1:] {
		if v, ok := strings.CutPrefix(p, "client="); ok {
			r.client = v
		} else if v, ok := strings.CutPrefix(p, "proto="); ok {
			r.group += " " + v
		} else {
			rest = append(rest, p)
		}
	}
	r.rest = strings.Join(rest, " ")
	return r
}

// commitPhrase names the commit the figures were taken at: "commit
// abc1234", or "commit not recorded".
func (f *benchFile) commitPhrase() string {
	if f.commit == "" {
		return "commit not recorded"
	}
	return "commit " + f.commit
}

// passes is the number of samples of the benchmark with the most.
func (f *benchFile) passes() int {
	n := 0
	for _, r := range f.results {
		n = max(n, len(r.ns))
	}
	return n
}

// parseOutage reads the outage table written by TestOutage and returns, in
// the table's order, each client's "attempts/call (while failing)" value.
// It returns nil when there is no such table.
func parseOutage(s string) []outageRow {
	const column = "attempts/call (while failing)"
	var rows []outageRow
	col, clientCol := -1, 0
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if col >= 0 {
				break // the end of the table
			}
			continue
		}
		cells := tableCells(line)
		if col < 0 {
			for i, c := range cells {
				switch c {
				case column:
					col = i
				case "client":
					clientCol = i
				}
			}
			continue
		}
		if col >= len(cells) || clientCol >= len(cells) || strings.HasPrefix(strings.TrimLeft(cells[col], ":"), "---") {
			continue // the separator row, or a short row
		}
		v, err := strconv.ParseFloat(cells[col], 64)
		if err != nil {
			continue
		}
		rows = append(rows, outageRow{client: cells[clientCol], value: cells[col], v: v})
	}
	return rows
}

// outageRow is one client's attempts per call while the upstream failed.
type outageRow struct {
	client string
	value  string // as the table writes it, "0.037"
	v      float64
}

// tableCells splits a Markdown table row into its trimmed cells.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	cells := strings.Split(line, "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

// parseGoMod returns the required modules' versions of a go.mod file.
func parseGoMod(data string) map[string]string {
	vs := map[string]string{}
	inBlock := false
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		}
		if !inBlock {
			var ok bool
			if line, ok = strings.CutPrefix(line, "require "); !ok {
				continue
			}
		}
		f := strings.Fields(line)
		if len(f) >= 2 {
			vs[f[0]] = f[1]
		}
	}
	return vs
}
