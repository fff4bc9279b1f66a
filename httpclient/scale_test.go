package httpclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The Trust issue's measurements, run by `make trust-scale` (TEMPEST_SCALE=1),
// not by `make test`: each takes seconds to minutes and prints figures with
// t.Log, to be read with -v. Each also checks the targets it measures.

func needScale(t *testing.T) {
	if os.Getenv("TEMPEST_SCALE") == "" {
		t.Skip("a measurement: run with TEMPEST_SCALE=1 (make trust-scale)")
	}
}

// heapLive is the heap's live bytes after a full collection.
func heapLive() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// R50, R58: 100 000 distinct origins through one client with the default
// limit, healthy and failing (recovery 1 ms): the registry's size, the heap
// in use, and the cost of a call to a new origin over the first and the
// last thousand (target: within 2x of each other and under 10 µs).
func TestScale_100kOrigins(t *testing.T) {
	needScale(t)
	for _, failing := range []bool{false, true} {
		t.Run(fmt.Sprintf("failing=%v", failing), func(t *testing.T) {
			code := http.StatusOK
			if failing {
				code = http.StatusServiceUnavailable
			}
			rt := RoundTripperFunc(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: code, Body: http.NoBody, Header: http.Header{}}, nil
			})
			const n = 100_000
			urls := make([]string, n)
			for i := range urls {
				urls[i] = fmt.Sprintf("http://o%d.example/", i)
			}
			c, err := New("", WithTransport(rt), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), WithCircuitBreaker(1, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			per := make([]time.Duration, 0, n/1000)
			for i := 0; i < n; i += 1000 {
				start := time.Now()
				for _, u := range urls[i : i+1000] {
					if resp, err := c.Get(context.Background(), u); err == nil {
						resp.Body.Close()
					}
				}
				per = append(per, time.Since(start)/1000)
			}
			states, records := c.reg.size()
			// What the client holds: the live heap with it, less without it.
			with := heapLive()
			c.Close()
			c = nil
			heap := with - heapLive()
			first, last := per[0], per[len(per)-1]
			t.Logf("origins %d: states %d (limit %d), records %d (bound %d); the client holds %.2f MiB of heap, %d B per state or record",
				n, states, defaultMaxOrigins, records, recordsPerOrigin*defaultMaxOrigins, float64(heap)/(1<<20), heap/int64(states+records))
			t.Logf("per new origin: first thousand %v, last thousand %v (ratio %.2f); median of the hundred thousands %v",
				first, last, float64(last)/float64(first), median(per))
			if states > defaultMaxOrigins || records > recordsPerOrigin*defaultMaxOrigins {
				t.Errorf("registry over its bounds")
			}
			if float64(last) > 2*float64(first) || last > 10*time.Microsecond {
				t.Errorf("a new origin costs %v at the end against %v at the start: want flat within 2x, under 10µs", last, first)
			}
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// R57: 10 000 goroutines on one client, 20 000 requests to a loopback
// server, at the process's own descriptor limit: NewTransport's bound keeps
// the burst within the descriptors, and nothing local is counted against
// the healthy upstream.
func TestScale_10kGoroutinesLoopback(t *testing.T) {
	needScale(t)
	var lim syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	var open, maxOpen atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			if v := open.Add(1); v > maxOpen.Load() {
				maxOpen.Store(v)
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	classes := map[string]int{}
	start := time.Now()
	var wg sync.WaitGroup
	for range 10_000 {
		wg.Go(func() {
			for range 2 {
				resp, err := c.Get(context.Background(), "/")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				classes[string(ClassOf(err))]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	s := mustBreaker(t, c, srv.URL)
	t.Logf("descriptor limit %d; 20000 requests from 10000 goroutines in %v: outcomes by class %v (\"\" is success); server connections at most %d; breaker %v",
		lim.Cur, time.Since(start).Round(time.Millisecond), classes, maxOpen.Load(), s.State)
	if classes[""] != 20_000 || s.State.String() != "closed" {
		t.Errorf("want every request to succeed and the circuit closed")
	}
}

// R57: 1 500 concurrent calls under a lowered descriptor limit, in a child
// process (the upstream lives here): 1 024, above NewTransport's 512
// connections per host, and 256, below it, where the burst does run out of
// descriptors. After the burst the healthy upstream's circuit is closed and
// calls succeed.
func TestScale_BurstUnderLoweredLimit(t *testing.T) {
	needScale(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond) // hold the sockets open a moment: the burst's shape, not a synchronisation
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	for _, limit := range []string{"1024", "256"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFDExhaustionChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), fdChildEnv+"="+srv.URL, "TEMPEST_FD_LIMIT="+limit, "TEMPEST_FD_CALLS=1500")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var res fdBurstResult
		lines := splitLines(out)
		for i := len(lines) - 1; i >= 0; i-- {
			if json.Unmarshal(lines[i], &res) == nil && res.Calls > 0 {
				break
			}
		}
		t.Logf("1500 concurrent calls under a %s-descriptor limit: %+v", limit, res)
		if res.State != "closed" || res.CircuitOpen > 0 || res.After != 20 {
			t.Errorf("the burst was blamed on the upstream")
		}
	}
}
