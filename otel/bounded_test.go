package otel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/otel"
)

// R67, R75: 10 000 paths over 1 000 origins, a tenth of them down, through a
// client that keeps state for 64 origins at most (so it forgets and meets
// origins again all the time); then a second client, with a concurrency
// limit of 1 and no queue, holds a body open for each of 200 of these
// origins (up ones) and is refused a second call to each: every metric, the breaker
// and concurrency series included, has at most WithMaxOrigins+1 series for
// each combination of its other attributes, the origins past the bound are
// "_OTHER" with no port, the _OTHER series sum theirs, and no attribute
// names a path.
func TestCardinality_R67_ThousandOriginsTenThousandPaths(t *testing.T) {
	const (
		maxOrigins = 50
		origins    = 1000
		paths      = 10000
		workers    = 8
		held       = 200 // origins of the concurrency-limited client
	)
	tl := newTelemetry(t)
	inst := tl.inst(t, otel.WithMaxOrigins(maxOrigins), otel.WithTracerProvider(tracenoop.NewTracerProvider()))
	rt := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		code := http.StatusOK
		if strings.HasSuffix(r.URL.Hostname(), "7.example") { // a tenth of the origins are down
			code = http.StatusServiceUnavailable
		}
		return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: http.Header{}, Body: http.NoBody,
			ProtoMajor: 1, ProtoMinor: 1, Request: r}, nil
	})
	c, err := httpclient.New("", httpclient.WithTransport(rt), httpclient.WithHooks(inst.Hooks()),
		httpclient.WithOriginLimit(64, 0), httpclient.WithCircuitBreaker(2, time.Hour),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 2, Backoff: func(httpclient.Attempt, *http.Response, error) time.Duration { return 0 }}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop, err := inst.Observe(c)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < paths; i += workers {
				o := i % origins
				url := fmt.Sprintf("http://h%d.example:%d/items/%d?q=%d", o, 8000+o%2, i, i)
				resp, err := c.Get(context.Background(), url)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()

	// The concurrency-limited client: one body held open per origin, and
	// a second call to each refused.
	lc, err := httpclient.New("", httpclient.WithTransport(rt), httpclient.WithHooks(inst.Hooks()),
		httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{Fixed: 1, Queue: httpclient.NoQueue}))
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	stopLC, err := inst.Observe(lc)
	if err != nil {
		t.Fatal(err)
	}
	defer stopLC()
	var bodies []io.Closer
	defer func() {
		for _, b := range bodies {
			b.Close()
		}
	}()
	for o := 0; len(bodies) < held; o++ {
		if o%10 == 7 {
			continue // down: retried with backoff, which is not what this measures
		}
		url := fmt.Sprintf("http://h%d.example:%d/held/%d?q=%d", o, 8000+o%2, o, o)
		resp, err := lc.Get(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp.Body)
		if _, err := lc.Get(context.Background(), url); !errors.Is(err, httpclient.ErrConcurrencyLimited) {
			t.Fatalf("a second call to origin %d: %v, want ErrConcurrencyLimited", o, err)
		}
	}

	ms := metrics(tl.collect(t))
	for _, name := range []string{reqDuration, "tempest.client.calls", "tempest.client.attempts", "tempest.client.retries",
		"tempest.client.breaker.transitions", "tempest.client.breaker.state", "tempest.client.fast_fails",
		"tempest.client.concurrency.limit", "tempest.client.concurrency.in_flight", "tempest.client.concurrency.queued",
		"tempest.client.concurrency.refusals"} {
		if ms[name] == nil {
			t.Errorf("%s: not recorded", name)
		}
	}
	wantNoPath(t, ms, "items", "held", "q=")
	for name, m := range ms {
		groups := map[string]map[string]bool{} // other attributes -> server.address values
		for _, p := range m.points {
			var rest []attribute.KeyValue
			addr := ""
			for _, kv := range p.attrs.ToSlice() {
				switch kv.Key {
				case "server.address":
					addr = kv.Value.AsString()
				case "server.port":
				default:
					rest = append(rest, kv)
				}
			}
			if addr == "_OTHER" && p.attrs.HasValue("server.port") {
				t.Errorf("%s: _OTHER with a port: %s", name, encode(p.attrs))
			}
			key := encode(attribute.NewSet(rest...))
			if groups[key] == nil {
				groups[key] = map[string]bool{}
			}
			groups[key][addr] = true
		}
		for key, addrs := range groups {
			if len(addrs) > maxOrigins+1 {
				t.Errorf("%s{%s}: %d origins, want at most %d", name, key, len(addrs), maxOrigins+1)
			}
		}
		if len(m.points) > 0 && name == "tempest.client.calls" {
			all := map[string]bool{}
			for _, addrs := range groups {
				for a := range addrs {
					all[a] = true
				}
			}
			if len(all) != maxOrigins+1 || !all["_OTHER"] {
				t.Errorf("%s: %d server.address values (want %d, _OTHER among them)", name, len(all), maxOrigins+1)
			}
		}
	}
	wantSum(t, ms, "tempest.client.calls", paths+2*held)
	// The concurrency series of the origins held: each has limit 1 and 1
	// in flight, summed into _OTHER past the bound; one server.address
	// value per series, at most maxOrigins+1 of them, some of the origins
	// admitted first among them.
	for _, name := range []string{"tempest.client.concurrency.limit", "tempest.client.concurrency.in_flight",
		"tempest.client.concurrency.queued", "tempest.client.concurrency.refusals"} {
		want := float64(held)
		if name == "tempest.client.concurrency.queued" {
			want = 0
		}
		wantSum(t, ms, name, want)
		own := map[string]bool{}
		for _, p := range ms[name].points {
			v, _ := p.attrs.Value("server.address")
			own[v.AsString()] = true
		}
		if len(own) > maxOrigins+1 || !own["_OTHER"] || len(own) < 2 {
			t.Errorf("%s: %d server.address values (want at most %d, _OTHER and some of the first among them)", name, len(own), maxOrigins+1)
		}
	}
	wantSum(t, ms, "tempest.client.concurrency.refusals", held, attribute.String("http.request.method", "GET"))
	if n := ms["tempest.client.fast_fails"].sum(); n == 0 {
		t.Error("no fast failure of the origins down")
	}
	// Among the origins admitted first, some are down (the workers race
	// for the first places, so which ones varies): they have open
	// circuits of their own, and the rest are summed in _OTHER.
	var ownOpen float64
	for _, p := range ms["tempest.client.breaker.state"].matching(attribute.String("tempest.breaker.state", "open")) {
		if v, _ := p.attrs.Value("server.address"); v.AsString() != "_OTHER" {
			ownOpen += p.value
		}
	}
	if ownOpen == 0 {
		t.Errorf("no admitted origin reports an open circuit:%s", ms["tempest.client.breaker.state"])
	}
	if other := ms["tempest.client.breaker.state"].sum(attribute.String("server.address", "_OTHER"),
		attribute.String("tempest.breaker.state", "open")); other < 2 {
		t.Errorf("breaker.state{_OTHER, open} = %v, want the other open circuits", other)
	}
}
