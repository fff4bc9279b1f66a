package otel_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/otel"
)

const scopeName = "github.com/tempestsdk/tempest/otel"

// viaOtelhttp returns base wrapped in otelhttp's Transport on tl's
// providers.
func (tl *telemetry) viaOtelhttp(base http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(tl.tp), otelhttp.WithMeterProvider(tl.mp),
		otelhttp.WithPropagators(tl.prop))
}

// wantOneTree checks the spans of a call of three attempts (503, 503, 200)
// made with WithoutHTTPMetrics and WithoutAttemptSpans through otelhttp:
// one call span, three CLIENT spans (otelhttp's) under it, each named by its
// hit's traceparent, and http.client.request.duration counted once per
// attempt.
func wantOneTree(t *testing.T, tl *telemetry, hits []httpclienttest.Request) {
	t.Helper()
	ms := metrics(tl.collect(t))
	d := ms[reqDuration]
	if d == nil || d.scope == scopeName || ms[reqDuration+"@"+scopeName] != nil {
		t.Fatalf("%s: want otelhttp's only, got %v", reqDuration, d)
	}
	if got, attempts := d.sum(), ms["tempest.client.attempts"].sum(); got != 3 || attempts != 3 {
		t.Errorf("%s: %v data points for %v attempts, want 3 and 3:%s", reqDuration, got, attempts, d)
	}

	spans := tl.spans.Ended()
	calls, clients := spansOf(spans, trace.SpanKindInternal), spansOf(spans, trace.SpanKindClient)
	if len(calls) != 1 || len(clients) != 3 {
		t.Fatalf("%d call spans, %d CLIENT spans; want 1 and 3", len(calls), len(clients))
	}
	call := calls[0]
	if call.InstrumentationScope().Name != scopeName {
		t.Errorf("call span from %q", call.InstrumentationScope().Name)
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range clients {
		if s.InstrumentationScope().Name == scopeName {
			t.Errorf("a CLIENT span of this package: %q", s.Name())
		}
		if s.Parent().SpanID() != call.SpanContext().SpanID() || s.SpanContext().TraceID() != call.SpanContext().TraceID() {
			t.Errorf("CLIENT span %q is not a child of the call span", s.Name())
		}
		byID[s.SpanContext().SpanID()] = s
	}
	if len(hits) != 3 {
		t.Fatalf("%d hits", len(hits))
	}
	for _, h := range hits {
		_, sid := traceparentSpan(t, h.Header)
		if byID[sid] == nil {
			t.Errorf("hit %d names span %v, not one of otelhttp's", h.Hit, sid)
		}
		delete(byID, sid) // each hit its own span
	}
	var attemptEvents int
	for _, e := range call.Events() {
		if e.Name == "attempt" {
			attemptEvents++
		}
	}
	if attemptEvents != 3 {
		t.Errorf("%d attempt events on the call span, want 3", attemptEvents)
	}
}

// R67: beside otelhttp, with WithoutHTTPMetrics and WithoutAttemptSpans:
// one duration data point per attempt, and one span tree, the call span
// over otelhttp's CLIENT spans.
func TestOtelhttp_R67_OneTreeOnePointPerAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		srv := httpclienttest.NewMemoryServer(httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.Status(503), httpclienttest.OK("ok")})
		base := srv.Transport()
		inst := tl.inst(t, otel.WithoutHTTPMetrics(), otel.WithoutAttemptSpans())
		c, err := httpclient.New(srv.URL, httpclient.WithTransport(tl.viaOtelhttp(base)), httpclient.WithHooks(inst.Hooks()))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { c.Close(); base.CloseIdleConnections(); srv.Close() }()
		resp, err := c.Get(context.Background(), "/a")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		wantOneTree(t, tl, srv.Requests())
	})
}

// R67: the same over loopback TCP, with the transport of
// httpclient.NewTransport under otelhttp's, as a service would set it up.
func TestOtelhttp_R67_Loopback(t *testing.T) {
	tl := newTelemetry(t)
	srv := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.Status(503), httpclienttest.OK("ok")})
	defer srv.Close()
	base := httpclient.NewTransport()
	defer base.CloseIdleConnections() // otelhttp's Transport does not forward it
	inst := tl.inst(t, otel.WithoutHTTPMetrics(), otel.WithoutAttemptSpans())
	c, err := httpclient.New(srv.URL, httpclient.WithTransport(tl.viaOtelhttp(base)), httpclient.WithHooks(inst.Hooks()),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Get(context.Background(), "/a")
	if err != nil {
		t.Fatal(err)
	}
	drain(t, resp)
	wantOneTree(t, tl, srv.Requests())
}

// R67: why the two options exist: without them, beside otelhttp, every
// attempt is counted twice in http.client.request.duration and has two
// CLIENT spans, otelhttp's under this package's.
func TestOtelhttp_R67_WithoutTheOptionsEverythingTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		srv := httpclienttest.NewMemoryServer(httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("ok")})
		base := srv.Transport()
		c, err := httpclient.New(srv.URL, httpclient.WithTransport(tl.viaOtelhttp(base)), httpclient.WithHooks(tl.inst(t).Hooks()))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { c.Close(); base.CloseIdleConnections(); srv.Close() }()
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		ms := metrics(tl.collect(t))
		if got := ms[reqDuration].sum() + ms[reqDuration+"@"+scopeName].sum() + ms[reqDuration+"@"+otelhttp.ScopeName].sum(); got != 4 {
			t.Errorf("%s: %v data points for 2 attempts, want 4", reqDuration, got)
		}
		clients := spansOf(tl.spans.Ended(), trace.SpanKindClient)
		if len(clients) != 4 {
			t.Errorf("%d CLIENT spans for 2 attempts, want 4", len(clients))
		}
	})
}
