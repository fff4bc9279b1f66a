package otel_test

import (
	"context"
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

// R67: 10 000 paths over 1 000 origins, a tenth of them down, through a
// client that keeps state for 64 origins at most (so it forgets and meets
// origins again all the time): every metric, the breaker series included, has at most
// WithMaxOrigins+1 series for each combination of its other attributes,
// the origins past the bound are "_OTHER" with no port, and no attribute
// names a path.
func TestCardinality_R67_ThousandOriginsTenThousandPaths(t *testing.T) {
	const (
		maxOrigins = 50
		origins    = 1000
		paths      = 10000
		workers    = 8
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

	ms := metrics(tl.collect(t))
	for _, name := range []string{reqDuration, "tempest.client.calls", "tempest.client.attempts", "tempest.client.retries",
		"tempest.client.breaker.transitions", "tempest.client.breaker.state", "tempest.client.fast_fails"} {
		if ms[name] == nil {
			t.Errorf("%s: not recorded", name)
		}
	}
	wantNoPath(t, ms, "items", "q=")
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
	wantSum(t, ms, "tempest.client.calls", paths)
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
