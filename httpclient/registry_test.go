package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// hostCounter is an in-memory upstream (synctest-safe) that counts hits per
// host and answers 503 for hosts whose name begins with "dead", 200 else.
type hostCounter struct {
	mu   sync.Mutex
	hits map[string]int
}

func (h *hostCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	if h.hits == nil {
		h.hits = map[string]int{}
	}
	h.hits[r.URL.Hostname()]++
	h.mu.Unlock()
	code := http.StatusOK
	if strings.HasPrefix(r.URL.Hostname(), "dead") {
		code = http.StatusServiceUnavailable
	}
	return &http.Response{StatusCode: code, Body: http.NoBody, Header: http.Header{}}, nil
}

func (h *hostCounter) n(host string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[host]
}

func call(t *testing.T, c *Client, u string) error {
	t.Helper()
	resp, err := c.Get(context.Background(), u)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// R58: a dead upstream's circuit outlives its origin's state. When the state
// of an origin whose circuit has not closed since it opened is dropped to
// keep the registry within its limit, the breaker is kept as a record: when
// the origin comes back, it is still open (no FailureThreshold fresh calls),
// half-opens to one probe, and its growing break carries on.
func TestRegistry_R58_OpenCircuitOutlivesEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &hostCounter{}
		c, err := New("", WithTransport(up), WithOriginLimit(4, time.Hour), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
			WithBreaker(breaker.Settings{FailureThreshold: 3, Recovery: time.Minute, MaxRecovery: time.Hour}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		flood := func(round int) {
			for i := range 20 {
				if err := call(t, c, fmt.Sprintf("http://ok%d-%d.example/", round, i)); err != nil {
					t.Fatal(err)
				}
			}
			if states, _ := c.reg.size(); states > 4 {
				t.Fatalf("%d states over a limit of 4", states)
			}
		}
		for range 3 {
			_ = call(t, c, "http://dead.example/")
		}
		flood(0)
		if c.reg.peek("http://dead.example:80") == nil {
			t.Fatal("the open circuit was forgotten")
		}
		if states, records := c.reg.size(); records != 1 || states > 4 {
			t.Fatalf("%d states, %d records: want the dead origin recorded", states, records)
		}
		if err := call(t, c, "http://dead.example/"); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("after eviction: %v, want the circuit still open", err)
		}
		for k := 1; k <= 3; k++ {
			time.Sleep(time.Until(mustBreaker(t, c, "http://dead.example").Until))
			before := up.n("dead.example")
			_ = call(t, c, "http://dead.example/") // the probe, which fails
			if err := call(t, c, "http://dead.example/"); !errors.Is(err, ErrCircuitOpen) {
				t.Fatalf("break %d: %v, want open", k, err)
			}
			if got := up.n("dead.example") - before; got != 1 {
				t.Fatalf("break %d: the dead upstream got %d calls, want its single probe", k, got)
			}
			s := mustBreaker(t, c, "http://dead.example")
			if s.Breaks != k {
				t.Fatalf("break %d: Breaks = %d: the growing break was reset", k, s.Breaks)
			}
			flood(k)
		}
	})
}

func mustBreaker(t *testing.T, c *Client, origin string) breaker.Snapshot {
	t.Helper()
	s, err := c.Breaker(origin)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// R50, R58: a flood of failing origins cannot grow the client without
// bound (the Trust issue found 20 000 failing origins all kept, each new one
// sweeping all of them): states stay within the limit, records within
// theirs, and records go once their break has been over for the idle
// expiry.
func TestRegistry_R50_BoundedUnderFloodOfFailingOrigins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &hostCounter{}
		const limit = 64
		c, err := New("", WithTransport(up), WithOriginLimit(limit, time.Second), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
			WithCircuitBreaker(1, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := range 5000 {
			_ = call(t, c, fmt.Sprintf("http://dead%d.example/", i))
			if states, records := c.reg.size(); states > limit || records > recordsPerOrigin*limit {
				t.Fatalf("after %d origins: %d states, %d records", i+1, states, records)
			}
		}
		if _, records := c.reg.size(); records == 0 {
			t.Fatal("no records: the open circuits were dropped outright")
		}
		time.Sleep(2 * time.Second)
		_ = call(t, c, "http://fresh.example/")
		if states, records := c.reg.size(); records != 0 || states > limit {
			t.Fatalf("after the idle expiry: %d states, %d records; want no record left", states, records)
		}
	})
}

// R50: the eviction at the limit drops the least recently used: an origin
// in steady use keeps its state through a flood of new origins.
func TestRegistry_R50_HotOriginSurvivesFlood(t *testing.T) {
	c, err := New("", WithTransport(okTransport), WithOriginLimit(8, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = call(t, c, "http://hot.example/")
	hot := c.reg.peek("http://hot.example:80")
	for i := range 200 {
		_ = call(t, c, fmt.Sprintf("http://cold%d.example/", i))
		_ = call(t, c, "http://hot.example/")
	}
	if c.reg.peek("http://hot.example:80") != hot {
		t.Fatal("the origin in steady use lost its state to the flood")
	}
}

// R16, R50: many spellings of one origin share its state, and the spellings
// cached for lock-free lookups are bounded.
func TestRegistry_R16_SpellingsShareOneState(t *testing.T) {
	c, err := New("", WithTransport(okTransport))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, u := range []string{"http://a.example/", "HTTP://A.example/", "http://a.EXAMPLE:80/", "http://A.Example/",
		"Http://a.example/", "hTTp://a.example:80/x", "http://a.example:080/"} {
		if err := call(t, c, u); err != nil {
			t.Fatal(u, err)
		}
	}
	if states, _ := c.reg.size(); states != 1 {
		t.Fatalf("%d states for one origin", states)
	}
	c.reg.mu.Lock()
	n := len(c.reg.byOrigin["http://a.example:80"].keys)
	c.reg.mu.Unlock()
	if n > maxKeysPerOrigin {
		t.Fatalf("%d keys cached for one origin", n)
	}
	if s := mustBreaker(t, c, "http://a.example"); s.State != breaker.Closed || s.Generation != 1 {
		t.Fatalf("%+v", s)
	}
}
