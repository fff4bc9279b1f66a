package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
)

// The benchmarks are named Benchmark<Group>/client=<peer>[/url=<form>], so
// that `benchstat -col /client` sets the clients side by side, raw first.
//
// Every client is called the way its users call it: Tempest and resty, which
// join a base URL and a relative path themselves, with the relative path; the
// others with the absolute URL, a constant, so that raw net/http pays for no
// join. Every benchmark reads each body to its end and closes it.

const (
	memBase = "http://api.example.com/v1"
	memPath = "/users/42"
	memURL  = memBase + memPath
)

// memTransport answers every request in memory, so that a benchmark measures
// the layer above it and nothing else: it reads and closes the request body,
// as a transport does, and returns status with a fresh reader over body.
type memTransport struct {
	status int
	body   []byte
}

var memHeader = http.Header{"Content-Type": {"application/json"}}

func (m *memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    m.status,
		Status:        http.StatusText(m.status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        memHeader,
		Body:          io.NopCloser(bytes.NewReader(m.body)),
		ContentLength: int64(len(m.body)),
		Request:       r,
	}, nil
}

var smallBody = []byte(`{"id":42}`)

// newClient builds p's client with the policy, closed at the end of
// the benchmark or test.
func newClient(tb testing.TB, p Peer, base string, rt http.RoundTripper, pol Policy) Client {
	tb.Helper()
	c, err := p.New(base, rt, pol)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// callURL is the URL p's users pass: relative when the library joins it.
func callURL(p Peer, base, path string) string {
	if p.BaseURL {
		return path
	}
	return base + path
}

// layerURL is callURL for the in-memory benchmarks, with constants.
func layerURL(p Peer) string {
	if p.BaseURL {
		return memPath
	}
	return memURL
}

// BenchmarkLayer is the layer's own cost: a GET over the in-memory
// transport, one at a time.
func BenchmarkLayer(b *testing.B) {
	ctx := context.Background()
	for _, p := range Peers {
		b.Run("client="+p.Name, func(b *testing.B) {
			c := newClient(b, p, memBase, &memTransport{status: 200, body: smallBody}, DefaultPolicy)
			url := layerURL(p)
			b.ReportAllocs()
			for b.Loop() {
				if st, err := c.Get(ctx, url); err != nil || st != 200 {
					b.Fatal(st, err)
				}
			}
		})
	}
}

// BenchmarkLayerParallel is BenchmarkLayer from 32 goroutines per CPU, to
// show contention on the success path.
func BenchmarkLayerParallel(b *testing.B) {
	ctx := context.Background()
	for _, p := range Peers {
		b.Run("client="+p.Name, func(b *testing.B) {
			c := newClient(b, p, memBase, &memTransport{status: 200, body: smallBody}, DefaultPolicy)
			url := layerURL(p)
			b.SetParallelism(32)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if st, err := c.Get(ctx, url); err != nil || st != 200 {
						b.Error(st, err)
						return
					}
				}
			})
		})
	}
}

// loopbackParallelism is the RunParallel multiplier of BenchmarkLoopback:
// 4 goroutines per CPU, each with its warm connection.
const loopbackParallelism = 4

// BenchmarkLoopback is a GET against a real server on 127.0.0.1 with a warm
// pool, in parallel, over HTTP/1.1 (plain) and HTTP/2 (TLS). Every client
// gets a transport of its own from httpclient.NewTransport (256 idle
// connections per host, where Go's default of 2 would make the benchmark
// measure dials), so that only the layers differ.
func BenchmarkLoopback(b *testing.B) {
	ctx := context.Background()
	for _, proto := range []string{"h1", "h2"} {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(smallBody)
		}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // extra h2 dials the client abandons
		if proto == "h2" {
			srv.EnableHTTP2 = true
			srv.StartTLS()
		} else {
			srv.Start()
		}
		for _, p := range Peers {
			b.Run("proto="+proto+"/client="+p.Name, func(b *testing.B) {
				rt := loopbackTransport(srv)
				defer rt.CloseIdleConnections()
				c := newClient(b, p, srv.URL, rt, DefaultPolicy)
				url := callURL(p, srv.URL, memPath)
				warm(b, c, url, loopbackParallelism*maxProcs())
				b.SetParallelism(loopbackParallelism)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if st, err := c.Get(ctx, url); err != nil || st != 200 {
							b.Error(st, err)
							return
						}
					}
				})
			})
		}
		srv.Close()
	}
}

// loopbackTransport is httpclient.NewTransport, trusting srv's certificate
// when it has one.
func loopbackTransport(srv *httptest.Server) *http.Transport {
	rt := httpclient.NewTransport()
	if srv.TLS != nil {
		rt.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	}
	return rt
}

// warm opens n connections, as many as the benchmark's goroutines, and
// leaves them idle in the pool.
func warm(b *testing.B, c Client, url string, n int) {
	for range 3 {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if st, err := c.Get(context.Background(), url); err != nil || st != 200 {
					b.Error(st, err)
				}
			})
		}
		wg.Wait()
	}
}

// BenchmarkOpenCircuit is the fail-fast path once the upstream is down: each
// breaker is driven open against an always-503 in-memory transport, then a
// GET is timed with a relative path (joined by the library, or by the
// caller's concatenation) and with an absolute URL. Raw net/http,
// go-retryablehttp and resty have no breaker: their failing path is three
// attempts and 1.5 s of backoff per call, not a fast path, so they are
// skipped, and the report compares this path with raw's layer cost.
func BenchmarkOpenCircuit(b *testing.B) {
	for _, p := range Peers {
		b.Run("client="+p.Name, func(b *testing.B) {
			if !p.Breaker {
				b.Skipf("%s has no circuit breaker", p.Name)
			}
			c := newClient(b, p, memBase, &memTransport{status: 503, body: smallBody}, DefaultPolicy)
			openBreaker(b, p, c, memURL)
			for _, u := range []struct{ form, url string }{
				{"relative", memPath},
				{"absolute", memURL},
			} {
				b.Run("url="+u.form, func(b *testing.B) {
					ctx := context.Background()
					b.ReportAllocs()
					for b.Loop() {
						if _, err := c.Get(ctx, u.url); !errors.Is(err, p.ErrOpen) {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// openBreaker makes FailureThreshold calls that each end, by their deadline,
// after a first failed attempt, and checks that the breaker is then open.
func openBreaker(tb testing.TB, p Peer, c Client, url string) {
	tb.Helper()
	for range DefaultPolicy.FailureThreshold {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		c.Get(ctx, url)
		cancel()
	}
	if _, err := c.Get(context.Background(), url); !errors.Is(err, p.ErrOpen) {
		tb.Fatalf("%s: breaker not open after %d failures: %v", p.Name, DefaultPolicy.FailureThreshold, err)
	}
}

// BenchmarkJSON is a POST of a 1 KiB JSON body and the decoding of a 1 KiB
// JSON response, over the in-memory transport; raw is net/http with
// encoding/json.
func BenchmarkJSON(b *testing.B) {
	ctx := context.Background()
	in := NewPayload()
	resp, err := json.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range Peers {
		b.Run("client="+p.Name, func(b *testing.B) {
			c := newClient(b, p, memBase, &memTransport{status: 200, body: resp}, DefaultPolicy)
			url := layerURL(p)
			b.ReportAllocs()
			for b.Loop() {
				var out Payload
				if err := c.PostJSON(ctx, url, in, &out); err != nil {
					b.Fatal(err)
				}
				if out.ID != in.ID {
					b.Fatal("decoded", out.ID)
				}
			}
		})
	}
}
