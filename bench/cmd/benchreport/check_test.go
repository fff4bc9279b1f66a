package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// suite is a full run's specs; change edits some before they are written.
func suite(change func(map[string]*spec)) []spec {
	specs := []spec{
		{"Layer/client=raw", around(3000), 28},
		{"Layer/client=tempest", around(2250), 18},
		{"LayerParallel/client=raw", around(3000), 28},
		{"LayerParallel/client=tempest", around(1500), 18},
		{"Loopback/proto=h1/client=raw", around(30000), 75},
		{"Loopback/proto=h1/client=tempest", around(31000), 76},
		{"Loopback/proto=h2/client=raw", around(40000), 90},
		{"Loopback/proto=h2/client=tempest", around(40000), 90},
		{"OpenCircuit/client=tempest/url=relative", around(150), 2},
		{"OpenCircuit/client=tempest/url=absolute", around(150), 1},
		{"JSON/client=raw", around(30000), 101},
		{"JSON/client=tempest", around(28000), 97},
	}
	if change != nil {
		m := map[string]*spec{}
		for i := range specs {
			m[specs[i].name] = &specs[i]
		}
		change(m)
	}
	return specs
}

// scaled is the suite's ns of s times k in every pass.
func scaled(s *spec, k float64) {
	ns := s.ns
	s.ns = func(i int) float64 { return ns(i) * k }
}

// runCheckOn writes committed and fresh and runs the check mode on them the
// way `make bench-check` does, returning the exit status and the output.
func runCheckOn(t *testing.T, committed, fresh string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	c, f := filepath.Join(dir, "benchmarks.txt"), filepath.Join(dir, "check.out")
	os.WriteFile(c, []byte(committed), 0o644)
	os.WriteFile(f, []byte(fresh), 0o644)
	var stdout, stderr bytes.Buffer
	code := realMain([]string{"-check", "-committed", c, "-fresh", f}, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// verdictOf returns the verdict column of row key in the check's table.
func verdictOf(out, key string) string {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `  +.*?  +(ok|REGRESSION|faster|not compared)$`)
	if m := re.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

func TestCheck(t *testing.T) {
	committed := genBench("abc1234", 8, suite(nil)...)
	allOK := map[string]string{"Layer": "ok", "LayerParallel": "ok", "Loopback h1": "ok", "Loopback h2": "ok", "OpenCircuit url=relative": "ok", "OpenCircuit url=absolute": "ok", "JSON": "ok"}
	with := func(key, verdict string) map[string]string {
		m := map[string]string{}
		for k, v := range allOK {
			m[k] = v
		}
		m[key] = verdict
		return m
	}
	for _, c := range []struct {
		name   string
		change func(map[string]*spec)
		code   int
		want   map[string]string
	}{
		{"same", nil, 0, allOK},
		{"tempest 20% slower", func(m map[string]*spec) { scaled(m["Layer/client=tempest"], 1.2) }, 1, with("Layer", "REGRESSION")},
		{"tempest 3% slower, within the slack", func(m map[string]*spec) { scaled(m["Layer/client=tempest"], 1.03) }, 0, allOK},
		{"tempest 20% faster", func(m map[string]*spec) { scaled(m["JSON/client=tempest"], 0.8) }, 0, with("JSON", "faster")},
		{"both slower alike: the ratio holds", func(m map[string]*spec) {
			scaled(m["LayerParallel/client=raw"], 1.5)
			scaled(m["LayerParallel/client=tempest"], 1.5)
		}, 0, allOK},
		{"an allocation more in memory", func(m map[string]*spec) { m["Layer/client=tempest"].allocs++ }, 1, with("Layer", "REGRESSION")},
		{"an allocation more on loopback", func(m map[string]*spec) { m["Loopback/proto=h1/client=tempest"].allocs++ }, 0, allOK},
		{"two allocations more on loopback", func(m map[string]*spec) { m["Loopback/proto=h2/client=tempest"].allocs += 2 }, 1, with("Loopback h2", "REGRESSION")},
		{"the open circuit is relative to raw's Layer", func(m map[string]*spec) { scaled(m["Layer/client=raw"], 0.5) }, 1, map[string]string{
			"Layer": "REGRESSION", "OpenCircuit url=relative": "REGRESSION", "OpenCircuit url=absolute": "REGRESSION",
			"LayerParallel": "ok", "Loopback h1": "ok", "Loopback h2": "ok", "JSON": "ok"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCheckOn(t, committed, genBench("def5678-dirty", 8, suite(c.change)...))
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for key, want := range c.want {
				if got := verdictOf(out, key); got != want {
					t.Errorf("%s: %q, want %q\n%s", key, got, want, out)
				}
			}
			if !strings.Contains(out, "commit abc1234") {
				t.Errorf("the committed file's commit is not printed:\n%s", out)
			}
		})
	}
}

// TestCheckPairsPasses: the machine's load moves raw and Tempest alike
// within a pass; pairing the i-th samples cancels it, so a 10% regression
// shows through a load that swings 3× between passes.
func TestCheckPairsPasses(t *testing.T) {
	load := []float64{1, 2, 1.5, 3, 1, 2.5, 1.2, 1.8}
	loaded := func(k float64) func(map[string]*spec) {
		return func(m map[string]*spec) {
			for _, name := range []string{"Layer/client=raw", "Layer/client=tempest"} {
				s := m[name]
				ns := s.ns
				f := k
				if name == "Layer/client=raw" {
					f = 1
				}
				s.ns = func(i int) float64 { return ns(i) * load[i] * f }
			}
		}
	}
	committed := genBench("abc1234", 8, suite(loaded(1))...)
	code, out, _ := runCheckOn(t, committed, genBench("", 8, suite(loaded(1.1))...))
	if code != 1 || verdictOf(out, "Layer") != "REGRESSION" {
		t.Errorf("exit %d\n%s", code, out)
	}

	rs := pairedRatios(&result{ns: []float64{100, 200, 400}}, &result{ns: []float64{50, 100, 200, 999}})
	if len(rs) != 3 || rs[0] != 0.5 || rs[1] != 0.5 || rs[2] != 0.5 {
		t.Errorf("pairedRatios: %v", rs)
	}
}

func TestCheckNotCompared(t *testing.T) {
	committed := genBench("abc1234", 8,
		spec{"Layer/client=raw", around(3000), 28},
		spec{"Layer/client=tempest", around(2250), 18},
		spec{"Loopback/client=raw", around(30000), 75},
		spec{"Loopback/client=tempest", around(30000), 75},
	)
	code, out, _ := runCheckOn(t, committed, genBench("", 8, suite(nil)...))
	if code != 0 {
		t.Errorf("exit %d\n%s", code, out)
	}
	for key, want := range map[string]string{"Layer": "ok", "Loopback": "not compared", "Loopback h1": "not compared", "JSON": "not compared"} {
		if got := verdictOf(out, key); got != want {
			t.Errorf("%s: %q, want %q\n%s", key, got, want, out)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	good := genBench("abc1234", 8, suite(nil)...)
	dir := t.TempDir()
	goodPath, emptyPath := filepath.Join(dir, "good.txt"), filepath.Join(dir, "empty.txt")
	os.WriteFile(goodPath, []byte(good), 0o644)
	os.WriteFile(emptyPath, []byte("goos: linux\nPASS\n"), 0o644)
	missing := filepath.Join(dir, "missing.txt")
	for _, c := range []struct{ committed, fresh, want string }{
		{missing, goodPath, "missing.txt"},
		{goodPath, missing, "missing.txt"},
		{emptyPath, goodPath, "no benchmark results"},
		{goodPath, emptyPath, "no benchmark results"},
	} {
		var stdout, stderr bytes.Buffer
		code := realMain([]string{"-check", "-committed", c.committed, "-fresh", c.fresh}, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s against %s: exit %d, stderr %q", c.fresh, c.committed, code, stderr.String())
		}
	}
	// No Tempest row in common: nothing compared is an error, not a pass.
	other := genBench("", 8, spec{"Other/client=raw", around(1), 1}, spec{"Other/client=tempest", around(1), 1})
	if code, out, errOut := runCheckOn(t, good, other); code != 2 || !strings.Contains(errOut, "nothing to compare") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}
