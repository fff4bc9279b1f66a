package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lines is an io.Writer that hands each complete line to a channel, so that
// a test waits for what the demo prints instead of sleeping.
type lines struct {
	mu   sync.Mutex
	part []byte
	all  strings.Builder
	ch   chan string
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.part = append(l.part, p...)
	for {
		i := strings.IndexByte(string(l.part), '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case l.ch <- string(l.part[:i]):
		default: // nobody waits for this line
		}
		l.part = l.part[i+1:]
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// next returns the first line from now on that matches re.
func (l *lines) next(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case s := <-l.ch:
			if m := re.FindStringSubmatch(s); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("no line matching %v; output:\n%s", re, l.String())
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// metric sums the samples of one Prometheus series name whose labels
// contain every one of want.
func metric(text, name string, want ...string) (sum float64, n int) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err == nil {
			sum += v
			n++
		}
	}
	return sum, n
}

// TestObserve_R63_PageAndMetricsDuringTheOutage runs the demo with -observe
// on loopback and reads, as the outage begins and again once the circuit has
// opened, the operator page, its JSON and the Prometheus metrics (R63, R65).
func TestObserve_R63_PageAndMetricsDuringTheOutage(t *testing.T) {
	t.Parallel()
	out := &lines{ch: make(chan string, 64)}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-duration=6s", "-rate=40", "-observe=127.0.0.1:0"}, out) }()

	base := out.next(t, regexp.MustCompile(`^operator page (http://127\.0\.0\.1:\d+)/ops/ and metrics (http://127\.0\.0\.1:\d+)/metrics`))[1]

	// The healthy phase is over: calls went through.
	out.next(t, regexp.MustCompile(`phase 2/\d outage begins`))
	m := get(t, base+"/metrics")
	if v, _ := metric(m, "tempest_client_calls_total", `http_request_method="GET"`); v < 1 {
		t.Errorf("tempest_client_calls_total{GET} = %v after the healthy phase:\n%s", v, m)
	}
	if _, n := metric(m, "http_client_request_duration_seconds_count", `http_response_status_code="200"`); n == 0 {
		t.Errorf("no http_client_request_duration_seconds series with status 200:\n%s", m)
	}
	if strings.Contains(m, "/api/") || strings.Contains(m, "X-Request-ID") {
		t.Errorf("a path or a header reached the metrics:\n%s", m)
	}

	// The outage is over: the circuit opened, calls failed fast, and the
	// page shows it.
	out.next(t, regexp.MustCompile(`phase 3/\d \S+ begins`))
	m = get(t, base+"/metrics")
	if v, _ := metric(m, "tempest_client_breaker_transitions_total", `tempest_breaker_to="open"`); v < 1 {
		t.Errorf("no transition to open in the metrics:\n%s", m)
	}
	if v, _ := metric(m, "tempest_client_fast_fails_total"); v < 1 {
		t.Errorf("no fast-fail in the metrics:\n%s", m)
	}
	if _, n := metric(m, "tempest_client_breaker_state", `tempest_breaker_state="open"`); n != 1 {
		t.Errorf("tempest_client_breaker_state{open}: %d series, want 1:\n%s", n, m)
	}
	var st struct {
		Origins []struct {
			Origin  string `json:"origin"`
			Breaker struct {
				Generation uint64 `json:"generation"`
			} `json:"breaker"`
		} `json:"origins"`
		OriginsTotal int `json:"origins_total"`
	}
	if err := json.Unmarshal([]byte(get(t, base+"/ops/state.json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.OriginsTotal != 1 || len(st.Origins) != 1 || st.Origins[0].Breaker.Generation < 1 {
		t.Errorf("state.json: %+v, want the upstream's origin with at least one state change", st)
	}
	if page := get(t, base+"/ops/"); !strings.Contains(page, `<table id="breakers"`) || !strings.Contains(page, st.Origins[0].Origin) {
		t.Errorf("the operator page lacks the breaker table or the origin:\n%s", page)
	}

	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if last := lastLine(out.String()); !summaryRE.MatchString(last) {
		t.Errorf("last line %q", last)
	}
	// The listener is closed with the run.
	if _, err := http.Get(base + "/metrics"); err == nil {
		t.Errorf("-observe still serves after the run")
	}
}
