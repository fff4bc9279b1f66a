package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
)

// The cost curves of httpclient alone (not the peers): how the cost of a
// call moves with the number of origins one client knows, what a call to a
// new origin costs, the bytes the client holds per origin, the CPU time per
// call as goroutines are added, and the price of hooks and a logger. Every
// call goes over curveTransport, in memory, and reads its body to the end.
// cmd/curvereport turns `go test -bench Curve -benchmem` output into a
// Markdown section and an SVG chart.
//
//	BenchmarkCurveKnownOrigin/origins=N           a GET to one of N known origins, picked at random
//	BenchmarkCurveKnownOriginRaw/origins=N        the same with raw net/http: the control
//	BenchmarkCurveNewOrigin/origins=N/limit=evict a GET to a new origin, N known, limit N: each one evicts one
//	BenchmarkCurveNewOrigin/origins=N/limit=grow  a GET to a new origin, N known, no limit reached: the registry grows
//	BenchmarkCurveOriginBytes/origins=N           B/origin: live heap held per origin; ns/op: a client's first calls to N origins
//	BenchmarkCurveCPU/goroutines=G                cpu-ns/op: getrusage user+sys time per call, G goroutines, one origin
//	BenchmarkCurveCPURaw/goroutines=G             the same with raw net/http: the control
//	BenchmarkCurveHooks/hooks=H                   a GET with no hooks, every hook, and every hook with a logger

var (
	curveOrigins      = []int{1, 100, 10_000, 100_000}
	curveBytesOrigins = []int{100, 10_000, 100_000}
	curveGoroutines   = []int{1, 64, 1024}
)

// curveTransport answers every request with a 200 and a small JSON body, in
// memory, as bench_test.go's memTransport does.
type curveTransport struct{}

var (
	curveHeader = http.Header{"Content-Type": {"application/json"}}
	curveBody   = []byte(`{"id":42}`)
)

func (curveTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Status:        "200 OK",
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        curveHeader,
		Body:          io.NopCloser(bytes.NewReader(curveBody)),
		ContentLength: int64(len(curveBody)),
		Request:       r,
	}, nil
}

// curveGrow is an origin limit no curve reaches.
const curveGrow = math.MaxInt32

// newCurveClient builds a client with the policy (DefaultPolicy, as
// the peers get it), no base URL, the in-memory transport, and room for
// limit origins kept for an hour. The caller closes it.
func newCurveClient(tb testing.TB, limit int, opts ...httpclient.Option) *httpclient.Client {
	tb.Helper()
	p := DefaultPolicy
	c, err := httpclient.New("", append([]httpclient.Option{
		httpclient.WithTransport(curveTransport{}),
		httpclient.WithTimeout(p.Timeout),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{
			MaxAttempts:    p.Attempts,
			BackoffInitial: p.BackoffInitial,
			BackoffMax:     p.BackoffMax,
		}),
		httpclient.WithCircuitBreaker(p.FailureThreshold, p.Recovery),
		httpclient.WithOriginLimit(limit, time.Hour),
	}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// curveURL is the URL of origin i: http://o12345.example/.
func curveURL(i int) string {
	return "http://o" + strconv.Itoa(i) + ".example/"
}

func curveURLs(from, n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = curveURL(from + i)
	}
	return urls
}

// curveGet makes a GET, reads the body to its end and closes it.
func curveGet(tb testing.TB, c *httpclient.Client, ctx context.Context, url string) {
	resp, err := c.Get(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatal(resp.Status)
	}
}

// curveWarm calls every URL once, so that the client keeps state for each
// origin, and then settles the registry: it serves known origins from a
// lock-free map that it republishes once the lookups that missed it
// outnumber half its size, and the origins met since the last republishing
// (the last ones warmed) still take the locked path. Calling the last URL
// until that happens leaves every origin in the lock-free map, so that no
// republishing lands in a benchmark's timed loop.
func curveWarm(tb testing.TB, c *httpclient.Client, urls []string) {
	ctx := context.Background()
	for _, u := range urls {
		curveGet(tb, c, ctx, u)
	}
	if len(urls) > 0 {
		for range max(32, len(urls)/2) + 2 {
			curveGet(tb, c, ctx, urls[len(urls)-1])
		}
	}
}

// curveRand is xorshift64*, and intn maps its output to [0, n) with one
// multiplication and shifts (no division), so that picking an origin costs
// the same at every n.
type curveRand uint64

func (r *curveRand) intn(n int) int {
	x := uint64(*r)
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	*r = curveRand(x)
	return int((x * 2685821657736338717 >> 32) * uint64(n) >> 32)
}

// BenchmarkCurveKnownOrigin is a GET to an origin picked at random among n
// known ones, all warm, in a client whose limit keeps them all. The URLs are
// built before the timer starts.
func BenchmarkCurveKnownOrigin(b *testing.B) {
	ctx := context.Background()
	for _, n := range curveOrigins {
		b.Run("origins="+strconv.Itoa(n), func(b *testing.B) {
			c := newCurveClient(b, max(n, 1024))
			defer c.Close()
			urls := curveURLs(0, n)
			curveWarm(b, c, urls)
			rng := curveRand(0x9e3779b97f4a7c15)
			b.ReportAllocs()
			for b.Loop() {
				curveGet(b, c, ctx, urls[rng.intn(n)])
			}
		})
	}
}

// BenchmarkCurveKnownOriginRaw is BenchmarkCurveKnownOrigin's control: raw
// net/http (an http.Client with the 10 s timeout) over the same transport
// and the same random URLs. It keeps nothing per origin, so its curve is
// what touching n URLs costs any caller: Tempest's own slope is the
// difference.
func BenchmarkCurveKnownOriginRaw(b *testing.B) {
	ctx := context.Background()
	for _, n := range curveOrigins {
		b.Run("origins="+strconv.Itoa(n), func(b *testing.B) {
			hc := &http.Client{Transport: curveTransport{}, Timeout: DefaultPolicy.Timeout}
			urls := curveURLs(0, n)
			rng := curveRand(0x9e3779b97f4a7c15)
			b.ReportAllocs()
			for b.Loop() {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, urls[rng.intn(n)], nil)
				if err != nil {
					b.Fatal(err)
				}
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// curveBatch is how many new-origin URLs are built at a time, with the
// timer stopped.
const curveBatch = 4096

// BenchmarkCurveNewOrigin is a GET to an origin the client has never seen,
// a fresh URL at each iteration (built with the timer stopped), with n
// origins known:
//
//   - limit=evict: the origin limit is n, so each new origin evicts the least
//     recently used one and the registry stays at n;
//   - limit=grow: no limit is reached, so the registry grows; once it has
//     grown by max(n, 64) the client is replaced, with the timer stopped, by
//     a fresh one with n warm origins, so that it holds between n and
//     2n (n+64) origins throughout.
func BenchmarkCurveNewOrigin(b *testing.B) {
	ctx := context.Background()
	for _, n := range curveOrigins {
		for _, mode := range []string{"evict", "grow"} {
			b.Run(fmt.Sprintf("origins=%d/limit=%s", n, mode), func(b *testing.B) {
				limit, chunk := n, math.MaxInt
				if mode == "grow" {
					limit, chunk = curveGrow, max(n, 64)
				}
				known := curveURLs(0, n)
				var c *httpclient.Client
				fresh := func() {
					if c != nil {
						c.Close()
					}
					c = newCurveClient(b, limit)
					curveWarm(b, c, known)
				}
				fresh()
				defer func() { c.Close() }()
				var urls []string
				next, added := n, 0
				b.ReportAllocs()
				for b.Loop() {
					if len(urls) == 0 || added == chunk {
						b.StopTimer()
						if added == chunk {
							fresh()
							added = 0
						}
						if len(urls) == 0 {
							urls = curveURLs(next, curveBatch)
							next += curveBatch
						}
						b.StartTimer()
					}
					curveGet(b, c, ctx, urls[0])
					urls = urls[1:]
					added++
				}
			})
		}
	}
}

// curveHeap returns the live heap (HeapAlloc) and the heap spans in use
// (HeapInuse) after two collections.
func curveHeap() (live, inuse uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.HeapInuse
}

// curveHeapRuns is how many iterations of BenchmarkCurveOriginBytes measure
// the heap; the others only time the filling.
const curveHeapRuns = 3

// BenchmarkCurveOriginBytes reports the bytes a client holds per origin:
// the heap after two collections with a client that has called n origins,
// minus the heap once that client is dropped, over n. B/origin is the live
// heap (HeapAlloc), inuse-B/origin the heap spans in use (HeapInuse, with
// the allocator's rounding). The URLs are built inside the timed loop and
// not kept by the benchmark, so that whatever the client keeps of them
// counts. ns/op is a new client's first calls to n origins, one after the
// other (the registry grows from 0 to n), and B/op and allocs/op theirs.
func BenchmarkCurveOriginBytes(b *testing.B) {
	ctx := context.Background()
	for _, n := range curveBytesOrigins {
		b.Run("origins="+strconv.Itoa(n), func(b *testing.B) {
			var live, inuse float64
			runs := 0
			b.ReportAllocs()
			for b.Loop() {
				c := newCurveClient(b, n)
				for i := range n {
					curveGet(b, c, ctx, curveURL(i))
				}
				if runs >= curveHeapRuns {
					c.Close()
					continue
				}
				b.StopTimer()
				withLive, withInuse := curveHeap()
				runtime.KeepAlive(c)
				c.Close() // c's last use: the next collection may free it
				withoutLive, withoutInuse := curveHeap()
				live += (float64(withLive) - float64(withoutLive)) / float64(n)
				inuse += (float64(withInuse) - float64(withoutInuse)) / float64(n)
				runs++
				b.StartTimer()
			}
			b.ReportMetric(live/float64(runs), "B/origin")
			b.ReportMetric(inuse/float64(runs), "inuse-B/origin")
		})
	}
}

// curveCPUTime is the process's user and system CPU time (getrusage
// RUSAGE_SELF: every thread, the collector's included).
func curveCPUTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCurveCPU splits b.N GETs to one known origin among g goroutines
// and reports the process's CPU time per call (cpu-ns/op), which, unlike
// ns/op, is not divided by the 2 CPUs the goroutines share: contention
// shows as CPU burnt per call. The goroutines are started, and wait at a
// gate, before the timer and the CPU count start.
func BenchmarkCurveCPU(b *testing.B) {
	for _, g := range curveGoroutines {
		b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
			c := newCurveClient(b, 1024)
			defer c.Close()
			url := curveURL(0)
			curveWarm(b, c, []string{url})
			curveCPU(b, g, func(ctx context.Context) (*http.Response, error) { return c.Get(ctx, url) })
		})
	}
}

// BenchmarkCurveCPURaw is BenchmarkCurveCPU's control: raw net/http (an
// http.Client with the 10 s timeout) over the same transport. Its slope is
// what the goroutines cost the runtime (the collector scans every
// goroutine's stack) whatever the client.
func BenchmarkCurveCPURaw(b *testing.B) {
	for _, g := range curveGoroutines {
		b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
			hc := &http.Client{Transport: curveTransport{}, Timeout: DefaultPolicy.Timeout}
			url := curveURL(0)
			curveCPU(b, g, func(ctx context.Context) (*http.Response, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					return nil, err
				}
				return hc.Do(req)
			})
		})
	}
}

// curveCPU makes b.N calls of get on g goroutines and reports cpu-ns/op.
func curveCPU(b *testing.B, g int, get func(context.Context) (*http.Response, error)) {
	ctx := context.Background()
	gate := make(chan struct{})
	var wg, ready sync.WaitGroup
	for i := range g {
		calls := b.N / g
		if i < b.N%g {
			calls++
		}
		ready.Add(1)
		wg.Go(func() {
			ready.Done()
			<-gate
			for range calls {
				resp, err := get(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	ready.Wait()
	runtime.Gosched()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := curveCPUTime(b)
	close(gate)
	wg.Wait()
	cpu := curveCPUTime(b) - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkCurveHooks is a GET to one known origin with no hooks; with
// every hook set to a function that bumps a counter; and with those hooks
// and a logger writing text to io.Discard at Info level (retries and
// breaker changes, none here) and at Debug level (every attempt).
func BenchmarkCurveHooks(b *testing.B) {
	ctx := context.Background()
	var seen atomic.Int64
	hooks := httpclient.Hooks{
		AttemptStart: func(context.Context, *http.Request, httpclient.Attempt) context.Context {
			seen.Add(1)
			return nil
		},
		AttemptDone: func(context.Context, httpclient.Attempt, httpclient.AttemptResult) { seen.Add(1) },
		Retry:       func(context.Context, httpclient.RetryEvent) { seen.Add(1) },
		GiveUp:      func(context.Context, httpclient.Attempt, httpclient.Stop) { seen.Add(1) },
		StateChange: func(string, breaker.Change) { seen.Add(1) },
	}
	logger := func(l slog.Level) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: l}))
	}
	for _, tc := range []struct {
		name string
		opts []httpclient.Option
	}{
		{"none", nil},
		{"all", []httpclient.Option{httpclient.WithHooks(hooks)}},
		{"all+logger-info", []httpclient.Option{httpclient.WithHooks(hooks), httpclient.WithLogger(logger(slog.LevelInfo))}},
		{"all+logger-debug", []httpclient.Option{httpclient.WithHooks(hooks), httpclient.WithLogger(logger(slog.LevelDebug))}},
	} {
		b.Run("hooks="+tc.name, func(b *testing.B) {
			c := newCurveClient(b, 1024, tc.opts...)
			defer c.Close()
			url := curveURL(0)
			curveWarm(b, c, []string{url})
			seen.Store(0)
			b.ReportAllocs()
			for b.Loop() {
				curveGet(b, c, ctx, url)
			}
			if got := seen.Load(); (tc.opts != nil) != (got > 0) {
				b.Fatalf("hooks ran %d times", got)
			}
		})
	}
}
