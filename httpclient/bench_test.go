package httpclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// memTransport answers every request in memory with a small 200, so that a
// benchmark measures the layer above it and nothing else.
type memTransport struct{ status int }

var benchHeader = http.Header{"Content-Type": {"application/json"}}

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode:    m.status,
		Status:        http.StatusText(m.status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        benchHeader,
		Body:          io.NopCloser(strings.NewReader(`{"id":42}`)),
		ContentLength: 9,
		Request:       r,
	}, nil
}

const benchBase = "http://api.example.com/v1"

func drain(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// BenchmarkGet compares the success path of Client.Get with raw net/http: an
// http.Client with the same 10s timeout and a request built by
// http.NewRequestWithContext, over the same in-memory transport.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		hc := &http.Client{Timeout: 10 * time.Second, Transport: memTransport{200}}
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, benchBase+"/users/42", nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := drain(hc.Do(req)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// For reference: net/http without a timeout, the floor for any layer.
	b.Run("raw-no-timeout", func(b *testing.B) {
		hc := &http.Client{Transport: memTransport{200}}
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, benchBase+"/users/42", nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := drain(hc.Do(req)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tempest", func(b *testing.B) {
		c, err := New(benchBase, WithTransport(memTransport{200}))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		for b.Loop() {
			if err := drain(c.Get(ctx, "/users/42")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOpenCircuit measures failing fast once the circuit is open, with a
// base URL and a relative path, and with an absolute URL.
func BenchmarkOpenCircuit(b *testing.B) {
	ctx := context.Background()
	c, err := New(benchBase, WithTransport(memTransport{503}), WithCircuitBreaker(1, time.Hour), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Get(ctx, "/users/42")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	for _, tc := range []struct{ name, url string }{
		{"relative", "/users/42"},
		{"absolute", benchBase + "/users/42"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Get(ctx, tc.url); !errors.Is(err, ErrCircuitOpen) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetParallel is BenchmarkGet under RunParallel, to show contention.
func BenchmarkGetParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		hc := &http.Client{Timeout: 10 * time.Second, Transport: memTransport{200}}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, benchBase+"/users/42", nil)
				if err := drain(hc.Do(req)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("tempest", func(b *testing.B) {
		c, _ := New(benchBase, WithTransport(memTransport{200}))
		defer c.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := drain(c.Get(ctx, "/users/42")); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// R18: TestOpenCircuitAllocs_R18 pins the fail-fast path's allocations: the
// *url.Error and the joined URL, nothing else (the *CircuitOpenError is
// shared per open period).
func TestOpenCircuitAllocs_R18(t *testing.T) {
	ctx := context.Background()
	c, _ := New(benchBase, WithTransport(memTransport{503}), WithCircuitBreaker(1, time.Hour), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	defer c.Close()
	resp, _ := c.Get(ctx, "/users/42")
	resp.Body.Close()
	for _, u := range []string{"/users/42", benchBase + "/users/42"} {
		n := testing.AllocsPerRun(100, func() {
			if _, err := c.Get(ctx, u); !errors.Is(err, ErrCircuitOpen) {
				t.Fatal(err)
			}
		})
		if n > 2 {
			t.Errorf("%s: %v allocations on the open-circuit path, want <= 2", u, n)
		}
		// The saving takes nothing from the error: net/http's *url.Error
		// with the method, the whole joined URL and the shared
		// *CircuitOpenError.
		_, err := c.Get(ctx, u)
		var ue *url.Error
		var coe *CircuitOpenError
		if !errors.As(err, &ue) || ue.Op != "Get" || ue.URL != benchBase+"/users/42" || !errors.As(ue.Err, &coe) || coe.Origin != "http://api.example.com:80" {
			t.Errorf("%s: %#v, want *url.Error{Op: Get, URL: %s, Err: *CircuitOpenError}", u, err, benchBase+"/users/42")
		}
	}
}
