package bench

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// fastPolicy is DefaultPolicy with millisecond waits, for tests.
var fastPolicy = Policy{
	Attempts:         3,
	BackoffInitial:   time.Millisecond,
	BackoffMax:       2 * time.Millisecond,
	FailureThreshold: 5,
	Recovery:         time.Hour,
	Timeout:          10 * time.Second,
}

// countingTransport is a memTransport that counts its requests.
type countingTransport struct {
	memTransport
	n atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.memTransport.RoundTrip(r)
}

// TestPeersAlike checks that every client is configured alike: one attempt
// on success, Attempts attempts on a 503 that then comes back with a nil
// error, a breaker (where the library has one) that opens after
// FailureThreshold failures and then fails fast without an attempt.
func TestPeersAlike(t *testing.T) {
	ctx := context.Background()
	for _, p := range Peers {
		t.Run(p.Name, func(t *testing.T) {
			ok := &countingTransport{memTransport: memTransport{status: 200, body: smallBody}}
			c := newClient(t, p, memBase, ok, fastPolicy)
			if st, err := c.Get(ctx, callURL(p, memBase, memPath)); err != nil || st != 200 {
				t.Fatalf("GET: %d, %v", st, err)
			}
			if n := ok.n.Load(); n != 1 {
				t.Errorf("success: %d attempts, want 1", n)
			}

			down := &countingTransport{memTransport: memTransport{status: 503, body: smallBody}}
			c = newClient(t, p, memBase, down, fastPolicy)
			st, err := c.Get(ctx, callURL(p, memBase, memPath))
			if err != nil || st != 503 {
				t.Fatalf("GET on 503: %d, %v; want 503 and no error", st, err)
			}
			want := int64(1)
			if p.Name != "raw" {
				want = int64(fastPolicy.Attempts)
			}
			if n := down.n.Load(); n != want {
				t.Errorf("503: %d attempts, want %d", n, want)
			}
			if !p.Breaker {
				return
			}
			c.Get(ctx, memURL) // 6 failures in all
			before := down.n.Load()
			if _, err := c.Get(ctx, memPath); !errors.Is(err, p.ErrOpen) {
				t.Fatalf("after %d failures, relative: %v, want %v", 2*fastPolicy.Attempts, err, p.ErrOpen)
			}
			if _, err := c.Get(ctx, memURL); !errors.Is(err, p.ErrOpen) {
				t.Fatalf("after %d failures, absolute: %v, want %v", 2*fastPolicy.Attempts, err, p.ErrOpen)
			}
			if n := down.n.Load(); n != before {
				t.Errorf("open circuit: %d attempts sent", n-before)
			}
		})
	}
}

// TestOpenBreaker checks the benchmarks' way of opening a breaker with the
// issue's policy, whose 0.5 s waits the callers' deadlines cut short.
func TestOpenBreaker(t *testing.T) {
	for _, p := range Peers {
		if !p.Breaker {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			c := newClient(t, p, memBase, &memTransport{status: 503, body: smallBody}, DefaultPolicy)
			openBreaker(t, p, c, memURL)
		})
	}
}

// TestPostJSON checks each client's JSON round trip, and that the payload is
// 1 KiB.
func TestPostJSON(t *testing.T) {
	in := NewPayload()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 1000 || len(b) > 1100 {
		t.Fatalf("payload is %d bytes, want about 1 KiB", len(b))
	}
	for _, p := range Peers {
		t.Run(p.Name, func(t *testing.T) {
			c := newClient(t, p, memBase, &echoTransport{}, fastPolicy)
			var out Payload
			if err := c.PostJSON(context.Background(), callURL(p, memBase, memPath), in, &out); err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(out)
			if string(got) != string(b) {
				t.Errorf("round trip:\n got %s\nwant %s", got, b)
			}
		})
	}
}

// echoTransport answers a POST with its own body, after checking the method
// and the Content-Type.
type echoTransport struct{}

func (echoTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		r.Body.Close()
		return (&memTransport{status: 400}).RoundTrip(r)
	}
	var buf json.RawMessage
	err := json.NewDecoder(r.Body).Decode(&buf)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	return (&memTransport{status: 200, body: buf}).RoundTrip(r)
}
