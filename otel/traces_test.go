package otel_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/otel"
	"github.com/tempestsdk/tempest/requestid"
)

// traceparentSpan returns the parent span ID a traceparent header names.
func traceparentSpan(t *testing.T, h http.Header) (trace.TraceID, trace.SpanID) {
	t.Helper()
	v := h.Get("Traceparent")
	parts := strings.Split(v, "-")
	if len(parts) != 4 {
		t.Fatalf("traceparent %q", v)
	}
	tid, err := trace.TraceIDFromHex(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	sid, err := trace.SpanIDFromHex(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	return tid, sid
}

// intAttr returns an int attribute of s, or -1.
func intAttr(s sdktrace.ReadOnlySpan, key attribute.Key) int64 {
	if v, ok := spanAttr(s, key); ok {
		return v.AsInt64()
	}
	return -1
}

func strAttr(s sdktrace.ReadOnlySpan, key attribute.Key) string {
	v, _ := spanAttr(s, key)
	return v.String()
}

// R66: 503, 503, then 200: one INTERNAL call span with three CLIENT
// attempt spans under it, numbered, with their resend counts, statuses and
// the reason of the retry before them; the upstream saw in each hit's
// traceparent the span of the attempt that made it; the call span has a
// retry event per wait, its request ID, and no query anywhere.
func TestTraces_R66_TwoRetriesThenSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		srv, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.Status(503), httpclienttest.OK("ok")},
			tl.inst(t).Hooks())
		ctx, parent := tl.tp.Tracer("test").Start(requestid.NewContext(context.Background(), "req-1"), "handler", trace.WithSpanKind(trace.SpanKindServer))
		resp, err := c.Get(ctx, "/users/42?token=secret")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		parent.End()

		spans := tl.spans.Ended()
		calls, attempts := spansOf(spans, trace.SpanKindInternal), spansOf(spans, trace.SpanKindClient)
		if len(calls) != 1 || len(attempts) != 3 {
			t.Fatalf("%d call spans and %d attempt spans, want 1 and 3", len(calls), len(attempts))
		}
		call := calls[0]
		if call.Name() != "GET" || call.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("call span %q, parent %v: want GET under the caller's span", call.Name(), call.Parent().SpanID())
		}
		for key, want := range map[attribute.Key]string{
			"http.request.method": "GET", "server.address": "", "server.port": "", "url.scheme": "",
			"url.full": "http://upstream.test/users/42", "tempest.request_id": "req-1", "http.response.status_code": "200",
			"tempest.stop": "settled", "tempest.attempts": "3",
		} {
			if got := strAttr(call, key); got != want {
				t.Errorf("call span %s = %q, want %q", key, got, want)
			}
		}
		if _, ok := spanAttr(call, "error.type"); ok || call.Status().Code != codes.Unset {
			t.Errorf("a successful call: status %v, error.type present %v", call.Status(), ok)
		}
		var retries int
		for _, e := range call.Events() {
			if e.Name == "retry" {
				retries++
			}
		}
		if retries != 2 {
			t.Errorf("%d retry events, want 2: %v", retries, call.Events())
		}

		slices.SortFunc(attempts, func(a, b sdktrace.ReadOnlySpan) int {
			return int(intAttr(a, "tempest.attempt") - intAttr(b, "tempest.attempt"))
		})
		hits := srv.Requests()
		if len(hits) != 3 {
			t.Fatalf("%d hits", len(hits))
		}
		seen := map[trace.SpanID]bool{}
		for n, a := range attempts {
			if a.Name() != "GET" || a.Parent().SpanID() != call.SpanContext().SpanID() {
				t.Errorf("attempt %d: %q under %v, want GET under the call span", n+1, a.Name(), a.Parent().SpanID())
			}
			// tempest.hedge and tempest.probe only when set; url.scheme is
			// in url.full.
			if intAttr(a, "tempest.attempt") != int64(n+1) || intAttr(a, "tempest.hedge") != -1 || strAttr(a, "tempest.probe") != "" ||
				strAttr(a, "tempest.breaker.state") != "closed" || strAttr(a, "url.full") != "http://upstream.test/users/42" ||
				strAttr(a, "server.address") != "upstream.test" || intAttr(a, "server.port") != 80 || strAttr(a, "url.scheme") != "" {
				t.Errorf("attempt %d: %v", n+1, a.Attributes())
			}
			if got, want := intAttr(a, "http.request.resend_count"), int64(n); (n == 0 && got != -1) || (n > 0 && got != want) {
				t.Errorf("attempt %d: resend_count %d", n+1, got)
			}
			wantStatus, wantCode, wantReason := int64(503), codes.Error, ""
			if n == 2 {
				wantStatus, wantCode = 200, codes.Unset
			}
			if n > 0 {
				wantReason = "status"
			}
			if intAttr(a, "http.response.status_code") != wantStatus || a.Status().Code != wantCode || strAttr(a, "tempest.retry.reason") != wantReason {
				t.Errorf("attempt %d: status %v, %v: %v", n+1, a.Status(), wantCode, a.Attributes())
			}
			if et, _ := spanAttr(a, "error.type"); (n < 2 && et.AsString() != "503") || (n == 2 && et.Type() != attribute.EMPTY) {
				t.Errorf("attempt %d: error.type %q", n+1, et.String())
			}
			tid, sid := traceparentSpan(t, hits[n].Header)
			if tid != call.SpanContext().TraceID() || sid != a.SpanContext().SpanID() {
				t.Errorf("hit %d: traceparent names span %v, attempt %d is %v", n+1, sid, n+1, a.SpanContext().SpanID())
			}
			seen[sid] = true
		}
		if len(seen) != 3 {
			t.Errorf("the hits named %d spans, want 3", len(seen))
		}
		for _, s := range spans {
			for _, kv := range s.Attributes() {
				if strings.Contains(kv.Value.String(), "token") {
					t.Errorf("span %q: %s=%q carries the query", s.Name(), kv.Key, kv.Value.String())
				}
			}
		}
	})
}

// R66: a call the open circuit refuses has its call span only, in error,
// with tempest.stop and error.type "circuit_open", and no attempt span.
func TestTraces_R66_OpenCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		srv, c := memClient(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, tl.inst(t).Hooks())
		if err := c.Isolate(srv.URL, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(context.Background(), "/x"); !errors.Is(err, httpclient.ErrCircuitOpen) {
			t.Fatalf("err %v", err)
		}
		spans := tl.spans.Ended()
		if len(spans) != 1 || spans[0].SpanKind() != trace.SpanKindInternal {
			t.Fatalf("spans %v: want the call span alone", spans)
		}
		s := spans[0]
		if s.Status().Code != codes.Error || strAttr(s, "tempest.stop") != "circuit_open" || strAttr(s, "error.type") != "circuit_open" ||
			strAttr(s, "tempest.attempts") != "0" {
			t.Errorf("call span: %v %v", s.Status(), s.Attributes())
		}
		if strings.Contains(s.Status().Description, "/x") {
			t.Errorf("status description %q quotes the URL", s.Status().Description)
		}
	})
}

// R66: a hedge that wins: two attempt spans, tempest.hedge 0 and 1, both
// attempt 1 under the call span, each named by its own hit's traceparent.
func TestTraces_R66_HedgeWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		script := httpclienttest.ScriptFunc(func(hit int, _ *http.Request) httpclienttest.Response {
			if hit == 1 {
				return httpclienttest.Response{Status: 200, Delay: time.Second}
			}
			return httpclienttest.OK("hedge")
		})
		srv, c := memClient(t, script, tl.inst(t).Hooks(), httpclient.WithHedging(httpclient.HedgePolicy{Delay: 50 * time.Millisecond}))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		synctest.Wait()

		spans := tl.spans.Ended()
		calls, attempts := spansOf(spans, trace.SpanKindInternal), spansOf(spans, trace.SpanKindClient)
		if len(calls) != 1 || len(attempts) != 2 {
			t.Fatalf("%d call spans, %d attempt spans", len(calls), len(attempts))
		}
		byHedge := map[int64]sdktrace.ReadOnlySpan{}
		for _, a := range attempts {
			byHedge[max(intAttr(a, "tempest.hedge"), 0)] = a // absent on the attempt itself
			if intAttr(a, "tempest.attempt") != 1 || a.Parent().SpanID() != calls[0].SpanContext().SpanID() {
				t.Errorf("attempt span %v", a.Attributes())
			}
		}
		if byHedge[0] == nil || byHedge[1] == nil {
			t.Fatalf("hedges %v, want 0 and 1", byHedge)
		}
		if intAttr(byHedge[1], "http.response.status_code") != 200 || byHedge[1].Status().Code != codes.Unset {
			t.Errorf("the winning hedge: %v %v", byHedge[1].Status(), byHedge[1].Attributes())
		}
		if _, ok := spanAttr(byHedge[0], "error.type"); !ok {
			t.Errorf("the losing attempt has no error.type: %v", byHedge[0].Attributes())
		}
		for _, h := range srv.Requests() {
			_, sid := traceparentSpan(t, h.Header)
			k := int64(h.Hit - 1)
			if sid != byHedge[k].SpanContext().SpanID() {
				t.Errorf("hit %d names %v, hedge %d is %v", h.Hit, sid, k, byHedge[k].SpanContext().SpanID())
			}
		}
	})
}

// R66: a half-open probe's attempt span says so: tempest.probe and
// tempest.breaker.state half_open.
func TestTraces_R66_Probe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		srv, c := memClient(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, tl.inst(t).Hooks())
		if err := c.Isolate(srv.URL, time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		attempts := spansOf(tl.spans.Ended(), trace.SpanKindClient)
		if len(attempts) != 1 || strAttr(attempts[0], "tempest.probe") != "true" || strAttr(attempts[0], "tempest.breaker.state") != "half_open" {
			t.Fatalf("attempt spans %v", attempts)
		}
	})
}

// R66: with WithoutAttemptSpans, the call span alone, an "attempt" event
// per attempt, and the call span's context in the attempts' headers.
func TestTraces_R66_WithoutAttemptSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		srv, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("ok")},
			tl.inst(t, otel.WithoutAttemptSpans()).Hooks())
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		spans := tl.spans.Ended()
		if len(spans) != 1 {
			t.Fatalf("%d spans, want the call span alone", len(spans))
		}
		var events []string
		for _, e := range spans[0].Events() {
			if e.Name == "attempt" {
				var n, code int64
				for _, kv := range e.Attributes {
					switch kv.Key {
					case "tempest.attempt":
						n = kv.Value.AsInt64()
					case "http.response.status_code":
						code = kv.Value.AsInt64()
					}
				}
				events = append(events, strings.Repeat("x", int(n))+":"+http.StatusText(int(code)))
			}
		}
		if want := []string{"x:Service Unavailable", "xx:OK"}; !slices.Equal(events, want) {
			t.Errorf("attempt events %v, want %v", events, want)
		}
		for _, h := range srv.Requests() {
			if _, sid := traceparentSpan(t, h.Header); sid != spans[0].SpanContext().SpanID() {
				t.Errorf("hit %d names %v, want the call span", h.Hit, sid)
			}
		}
	})
}

// R66: hooks called without the context CallStart returned (a chain
// whose CallStart panicked, a caller of the hooks by hand) still record
// metrics and do not panic.
func TestHooks_R66_WithoutCallContext(t *testing.T) {
	tl := newTelemetry(t)
	h := tl.inst(t).Hooks()
	ctx := context.Background()
	a := httpclient.Attempt{Method: "BREW", Origin: "http://[::1]:8080", Path: "/", N: 2}
	actx := h.AttemptStart(ctx, &http.Request{}, a)
	h.AttemptDone(actx, a, httpclient.AttemptResult{Status: 200})
	h.Retry(ctx, httpclient.RetryEvent{Attempt: a})
	h.GiveUp(ctx, a, httpclient.StopDeadline)
	h.CallDone(ctx, httpclient.Call{Method: "GET", Origin: "junk"}, httpclient.CallResult{Err: context.Canceled})
	h.AttemptDone(ctx, httpclient.Attempt{}, httpclient.AttemptResult{})

	ms := metrics(tl.collect(t))
	wantSum(t, ms, reqDuration, 1, attribute.String("http.request.method", "_OTHER"), attribute.String("server.address", "::1"),
		attribute.Int("server.port", 8080), resend(1))
	wantSum(t, ms, "tempest.client.calls", 1, attribute.String("server.address", "_OTHER"), errType("canceled"))
	spans := tl.spans.Ended()
	if len(spans) != 1 || spans[0].Name() != "HTTP" || strAttr(spans[0], "http.request.method_original") != "BREW" ||
		strAttr(spans[0], "url.full") != "http://[::1]:8080/" {
		t.Errorf("spans %v", spans)
	}
}
