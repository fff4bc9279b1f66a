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
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/otel"
)

var (
	reqDuration  = "http.client.request.duration"
	semconvBound = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

	get      = attribute.String("http.request.method", "GET")
	post     = attribute.String("http.request.method", "POST")
	upstream = attribute.String("server.address", "upstream.test")
	port80   = attribute.Int("server.port", 80)
	schemeH  = attribute.String("url.scheme", "http")
)

func status(code int) attribute.KeyValue        { return attribute.Int("http.response.status_code", code) }
func errType(s string) attribute.KeyValue       { return attribute.String("error.type", s) }
func resend(n int) attribute.KeyValue           { return attribute.Int("http.request.resend_count", n) }
func stop(s httpclient.Stop) attribute.KeyValue { return attribute.String("tempest.stop", string(s)) }
func hedge(k int) attribute.KeyValue            { return attribute.Int("tempest.hedge", k) }

// wantUnits checks the unit of every instrument recorded.
func wantUnits(t *testing.T, ms map[string]*metric) {
	t.Helper()
	units := map[string]string{
		reqDuration:                              "s",
		"tempest.client.call.duration":           "s",
		"tempest.client.calls":                   "{call}",
		"tempest.client.attempts":                "{attempt}",
		"tempest.client.retries":                 "{retry}",
		"tempest.client.give_ups":                "{call}",
		"tempest.client.fast_fails":              "{call}",
		"tempest.client.budget.exhausted":        "{call}",
		"tempest.client.hedges":                  "{hedge}",
		"tempest.client.hedge.wins":              "{hedge}",
		"tempest.client.breaker.transitions":     "{transition}",
		"tempest.client.breaker.state":           "{breaker}",
		"tempest.client.breaker.until_half_open": "s",
		"tempest.client.concurrency.limit":       "{request}",
		"tempest.client.concurrency.in_flight":   "{request}",
		"tempest.client.concurrency.queued":      "{request}",
		"tempest.client.concurrency.refusals":    "{call}",
	}
	for name, m := range ms {
		want, ok := units[name]
		if !ok {
			t.Errorf("unexpected instrument %s", name)
			continue
		}
		if m.unit != want {
			t.Errorf("%s: unit %q, want %q", name, m.unit, want)
		}
		if m.hist {
			for _, p := range m.points {
				if !slices.Equal(p.bounds, semconvBound) {
					t.Errorf("%s: bounds %v, want semconv's %v", name, p.bounds, semconvBound)
				}
			}
		}
	}
}

// wantNoPath checks that no attribute of any point names a path or a
// query.
func wantNoPath(t *testing.T, ms map[string]*metric, fragments ...string) {
	t.Helper()
	for name, m := range ms {
		for _, p := range m.points {
			for _, kv := range p.attrs.ToSlice() {
				v := kv.Value.String()
				if strings.Contains(v, "/") || slices.ContainsFunc(fragments, func(f string) bool { return strings.Contains(v, f) }) {
					t.Errorf("%s: attribute %s=%q names a path or query", name, kv.Key, v)
				}
			}
		}
	}
}

// R65: 503, 503, then 200: a data point of http.client.request.duration
// per attempt with its status, error.type and resend count; one call, two
// retries for "status", and the call's duration is the whole call's.
func TestMetrics_R65_TwoRetriesThenSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		_, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.Status(503), httpclienttest.OK("ok")},
			tl.inst(t).Hooks())
		start := time.Now()
		resp, err := c.Get(context.Background(), "/users/42?token=secret")
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		drain(t, resp)

		ms := metrics(tl.collect(t))
		wantUnits(t, ms)
		wantNoPath(t, ms, "users", "token", "secret")
		d := ms[reqDuration]
		if d == nil || len(d.points) != 3 {
			t.Fatalf("%s: want 3 points, got %v", reqDuration, d)
		}
		base := []attribute.KeyValue{get, upstream, port80, schemeH}
		wantPoint(t, ms, reqDuration, 1, append(base, status(503), errType("503"))...)
		wantPoint(t, ms, reqDuration, 1, append(base, status(503), errType("503"), resend(1))...)
		wantPoint(t, ms, reqDuration, 1, append(base, status(200), resend(2))...)
		for _, p := range d.points {
			if n, ok := p.attrs.Value("http.request.resend_count"); ok && n.AsInt64() == 0 {
				t.Errorf("resend_count 0 recorded: %s", encode(p.attrs))
			}
			if s, _ := p.attrs.Value("http.response.status_code"); s.AsInt64() == 200 && p.attrs.HasValue("error.type") {
				t.Errorf("a success has an error.type: %s", encode(p.attrs))
			}
		}
		wantPoint(t, ms, "tempest.client.calls", 1, append(base, status(200), stop(httpclient.StopSettled))...)
		wantPoint(t, ms, "tempest.client.call.duration", 1, append(base, status(200), stop(httpclient.StopSettled))...)
		if got := ms["tempest.client.call.duration"].points[0].value; got != took.Seconds() {
			t.Errorf("call duration %vs, the call took %v", got, took)
		}
		wantPoint(t, ms, "tempest.client.attempts", 3, append(base, hedge(0))...)
		wantPoint(t, ms, "tempest.client.retries", 2, append(base,
			attribute.String("tempest.retry.reason", "status"), attribute.Bool("tempest.retry.after", false))...)
		for _, name := range []string{"tempest.client.give_ups", "tempest.client.fast_fails", "tempest.client.hedges", "tempest.client.hedge.wins"} {
			if ms[name] != nil {
				t.Errorf("%s recorded: %s", name, ms[name])
			}
		}
	})
}

// R65: a transport failure's error.type is its httpclient.Class, in
// http.client.request.duration and in the retry's reason.
func TestMetrics_R65_TransportErrorClass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		_, c := memClient(t, httpclienttest.Sequence{{Fault: httpclienttest.ResetBeforeResponse}, httpclienttest.OK("ok")},
			tl.inst(t).Hooks())
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		ms := metrics(tl.collect(t))
		wantSum(t, ms, reqDuration, 1, get, errType("reset"))
		if ps := ms[reqDuration].matching(errType("reset")); len(ps) == 1 && ps[0].attrs.HasValue("http.response.status_code") {
			t.Errorf("a failure has a status code: %s", encode(ps[0].attrs))
		}
		wantSum(t, ms, reqDuration, 1, get, status(200), resend(1))
		wantSum(t, ms, "tempest.client.retries", 1, attribute.String("tempest.retry.reason", "reset"))
	})
}

// R65: a call the open circuit refuses is a fast failure: one call with
// error.type and tempest.stop "circuit_open", no attempt.
func TestMetrics_R65_OpenCircuitFastFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		srv, c := memClient(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, tl.inst(t).Hooks())
		if err := c.Isolate(srv.URL, time.Minute); err != nil {
			t.Fatal(err)
		}
		_, err := c.Get(context.Background(), "/")
		if !errors.Is(err, httpclient.ErrCircuitOpen) {
			t.Fatalf("err %v, want ErrCircuitOpen", err)
		}
		ms := metrics(tl.collect(t))
		wantUnits(t, ms)
		wantSum(t, ms, "tempest.client.fast_fails", 1, get, upstream, port80, schemeH)
		wantSum(t, ms, "tempest.client.calls", 1, get, upstream, errType("circuit_open"), stop(httpclient.StopCircuitOpen))
		wantSum(t, ms, "tempest.client.breaker.transitions", 1, upstream, port80,
			attribute.String("tempest.breaker.from", "closed"), attribute.String("tempest.breaker.to", "open"),
			attribute.String("tempest.breaker.cause", "trip"))
		for _, name := range []string{reqDuration, "tempest.client.attempts", "tempest.client.give_ups"} {
			if ms[name] != nil {
				t.Errorf("%s recorded: %s", name, ms[name])
			}
		}
	})
}

// R65: a hedge that wins: one hedge sent and one won, an attempt of each
// racer, and the loser's duration recorded as cancelled.
func TestMetrics_R65_HedgeWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		script := httpclienttest.ScriptFunc(func(hit int, _ *http.Request) httpclienttest.Response {
			if hit == 1 {
				return httpclienttest.Response{Status: 200, Delay: time.Second}
			}
			return httpclienttest.OK("hedge")
		})
		_, c := memClient(t, script, tl.inst(t).Hooks(), httpclient.WithHedging(httpclient.HedgePolicy{Delay: 50 * time.Millisecond}))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		synctest.Wait() // the losing racer reports

		ms := metrics(tl.collect(t))
		wantUnits(t, ms)
		wantSum(t, ms, "tempest.client.hedges", 1, get, upstream)
		wantSum(t, ms, "tempest.client.hedge.wins", 1, get, upstream)
		wantSum(t, ms, "tempest.client.attempts", 1, hedge(0))
		wantSum(t, ms, "tempest.client.attempts", 1, hedge(1))
		wantSum(t, ms, reqDuration, 1, status(200))
		// The racer that lost was cancelled: class canceled, not a failure.
		if n := ms[reqDuration].sum(errType("canceled")); n != 1 {
			t.Errorf("the losing racer's duration: %v points with error.type canceled:%s", n, ms[reqDuration])
		}
		wantSum(t, ms, "tempest.client.calls", 1, status(200), stop(httpclient.StopSettled))
	})
}

// R65: a retry budget spent: the call gives up with tempest.stop "budget",
// counted in give_ups and budget.exhausted.
func TestMetrics_R65_BudgetGiveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		_, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503)}, tl.inst(t).Hooks(),
			httpclient.WithRetryBudget(httpclient.RetryBudget{Ratio: 0.001, Reserve: 1}))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		ms := metrics(tl.collect(t))
		wantSum(t, ms, "tempest.client.attempts", 2)
		wantSum(t, ms, "tempest.client.retries", 1)
		wantSum(t, ms, "tempest.client.give_ups", 1, get, upstream, stop(httpclient.StopBudget))
		wantSum(t, ms, "tempest.client.budget.exhausted", 1, get, upstream, port80)
		wantSum(t, ms, "tempest.client.calls", 1, status(503), errType("503"), stop(httpclient.StopBudget))
	})
}

// R65: a POST answered 503 is not sent again: one attempt, no retry, a
// give-up "not_idempotent".
func TestMetrics_R65_PostNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		_, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503)}, tl.inst(t).Hooks())
		resp, err := c.Post(context.Background(), "/orders", httpclient.JSON(map[string]int{"n": 1}))
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		ms := metrics(tl.collect(t))
		wantSum(t, ms, "tempest.client.attempts", 1, post)
		wantSum(t, ms, reqDuration, 1, post, status(503), errType("503"))
		if ms["tempest.client.retries"] != nil {
			t.Errorf("retries recorded: %s", ms["tempest.client.retries"])
		}
		wantSum(t, ms, "tempest.client.give_ups", 1, post, stop(httpclient.StopNotIdempotent))
		wantSum(t, ms, "tempest.client.calls", 1, post, status(503), stop(httpclient.StopNotIdempotent))
	})
}

// R65: the breaker series: an isolated origin reports open 1 (closed and
// half_open 0) and the time until it half-opens; once the break is over,
// half_open 1 and no until_half_open; after stop, nothing.
func TestMetrics_R65_BreakerGauges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		inst := tl.inst(t)
		srv, c := memClient(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, inst.Hooks())
		stopObs, err := inst.Observe(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Isolate(srv.URL, time.Minute); err != nil {
			t.Fatal(err)
		}
		state := func(s string) attribute.KeyValue { return attribute.String("tempest.breaker.state", s) }

		ms := metrics(tl.collect(t))
		wantUnits(t, ms)
		wantSum(t, ms, "tempest.client.breaker.state", 1, upstream, port80, schemeH, state("open"))
		wantSum(t, ms, "tempest.client.breaker.state", 0, upstream, state("closed"))
		wantSum(t, ms, "tempest.client.breaker.state", 0, upstream, state("half_open"))
		if n := len(ms["tempest.client.breaker.state"].points); n != 3 {
			t.Errorf("breaker.state: %d points, want 3:%s", n, ms["tempest.client.breaker.state"])
		}
		wantSum(t, ms, "tempest.client.breaker.until_half_open", 60, upstream, port80, schemeH)

		time.Sleep(61 * time.Second) // the bubble's clock: the break is over
		ms = metrics(tl.collect(t))
		wantSum(t, ms, "tempest.client.breaker.state", 1, upstream, state("half_open"))
		wantSum(t, ms, "tempest.client.breaker.state", 0, upstream, state("open"))
		if m := ms["tempest.client.breaker.until_half_open"]; m != nil && len(m.points) > 0 {
			t.Errorf("until_half_open of a half-open circuit:%s", m)
		}

		if _, err := inst.Observe(c); err == nil {
			t.Error("a second Observe of the same client: no error")
		}
		stopObs()
		stopObs()
		ms = metrics(tl.collect(t))
		if m := ms["tempest.client.breaker.state"]; m != nil && len(m.points) > 0 {
			t.Errorf("breaker.state after stop:%s", m)
		}
		if _, err := inst.Observe(nil); err == nil {
			t.Error("Observe(nil): no error")
		}
	})
}

// R65: the breaker's transitions, from the client's StateChange: opened by
// failures, half-opened after the break, closed by a successful probe.
func TestMetrics_R65_Transitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		_, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.Status(503), httpclienttest.OK("ok")},
			tl.inst(t).Hooks(), httpclient.WithCircuitBreaker(2, time.Minute), httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}))
		for range 2 {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			drain(t, resp)
		}
		time.Sleep(time.Minute)
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		ms := metrics(tl.collect(t))
		tr := func(from, to, cause string) []attribute.KeyValue {
			return []attribute.KeyValue{upstream, port80, schemeH, attribute.String("tempest.breaker.from", from),
				attribute.String("tempest.breaker.to", to), attribute.String("tempest.breaker.cause", cause)}
		}
		wantSum(t, ms, "tempest.client.breaker.transitions", 1, tr("closed", "open", "failures")...)
		wantSum(t, ms, "tempest.client.breaker.transitions", 1, tr("open", "half_open", "recovery")...)
		wantSum(t, ms, "tempest.client.breaker.transitions", 1, tr("half_open", "closed", "probe_success")...)
		wantSum(t, ms, "tempest.client.breaker.transitions", 3)
	})
}

// R65: many calls at once, hedged: every attempt started is an attempt
// finished, and every call is counted once.
func TestMetrics_R65_ConcurrentHedgedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		script := httpclienttest.ScriptFunc(func(hit int, _ *http.Request) httpclienttest.Response {
			if hit%3 == 0 {
				return httpclienttest.Response{Status: 200, Delay: 200 * time.Millisecond}
			}
			return httpclienttest.OK("ok")
		})
		_, c := memClient(t, script, tl.inst(t).Hooks(), httpclient.WithHedging(httpclient.HedgePolicy{Delay: 50 * time.Millisecond, MaxHedges: 2}))
		const calls = 40
		done := make(chan error, calls)
		for range calls {
			go func() {
				resp, err := c.Get(context.Background(), "/")
				if err == nil {
					drain(t, resp)
				}
				done <- err
			}()
		}
		for range calls {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
		synctest.Wait()
		ms := metrics(tl.collect(t))
		wantSum(t, ms, "tempest.client.calls", calls)
		started, finished := ms["tempest.client.attempts"].sum(), ms[reqDuration].sum()
		if started != finished || started < calls {
			t.Errorf("attempts started %v, finished %v, calls %d", started, finished, calls)
		}
		if h := ms["tempest.client.hedges"].sum(); started != calls+h {
			t.Errorf("attempts %v = calls %d + hedges %v?", started, calls, h)
		}
	})
}

// R65: invalid options are errors, all of them.
func TestNew_R65_InvalidOptions(t *testing.T) {
	_, err := otel.New(otel.WithMaxOrigins(0), nil)
	if err == nil || !strings.Contains(err.Error(), "WithMaxOrigins(0)") {
		t.Errorf("err %v", err)
	}
	if _, err := otel.New(otel.WithMeterProvider(nil), otel.WithTracerProvider(nil), otel.WithPropagator(nil)); err != nil {
		t.Errorf("nil providers (the globals): %v", err)
	}
}

// R65: a transition whose origin arrives in StateChange only (as the
// client's registry reports it) goes through the same bound.
func TestMetrics_R65_StateChangeHook(t *testing.T) {
	tl := newTelemetry(t)
	h := tl.inst(t, otel.WithMaxOrigins(1)).Hooks()
	h.StateChange("https://a.example:443", breaker.Change{From: breaker.Closed, To: breaker.Open, Cause: breaker.CauseFailures})
	h.StateChange("https://b.example:443", breaker.Change{From: breaker.Closed, To: breaker.Open, Cause: breaker.CauseFailureRatio})
	h.StateChange("not an origin", breaker.Change{From: breaker.Open, To: breaker.HalfOpen, Cause: breaker.Cause(200)})
	ms := metrics(tl.collect(t))
	name := "tempest.client.breaker.transitions"
	wantSum(t, ms, name, 1, attribute.String("server.address", "a.example"), attribute.Int("server.port", 443), attribute.String("url.scheme", "https"))
	wantSum(t, ms, name, 1, attribute.String("server.address", "_OTHER"), attribute.String("url.scheme", "https"),
		attribute.String("tempest.breaker.cause", "failure_ratio"))
	wantSum(t, ms, name, 1, attribute.String("server.address", "_OTHER"), attribute.String("tempest.breaker.cause", "_OTHER"))
	for _, p := range ms[name].points {
		if v, _ := p.attrs.Value("server.address"); v.AsString() == "_OTHER" && p.attrs.HasValue("server.port") {
			t.Errorf("_OTHER with a port: %s", encode(p.attrs))
		}
	}
}

// hookCall runs the hooks of a call retried once (503, then 200) by hand,
// as the client would; req stands for each attempt's request.
func hookCall(h httpclient.Hooks, req *http.Request) {
	ctx := context.Background()
	call := httpclient.Call{Method: "GET", Origin: memOrigin, Path: "/x", Max: 3}
	a1 := httpclient.Attempt{Method: "GET", Origin: memOrigin, Path: "/x", N: 1, Max: 3, Generation: 1}
	a2 := a1
	a2.N = 2
	or := func(ctx, def context.Context) context.Context {
		if ctx == nil {
			return def
		}
		return ctx
	}
	cctx := or(h.CallStart(ctx, nil, call), ctx)
	actx := or(h.AttemptStart(cctx, req, a1), cctx)
	r1 := httpclient.AttemptResult{Status: 503, Class: httpclient.ClassStatus, Duration: time.Millisecond, Outcome: breaker.Failure}
	h.AttemptDone(actx, a1, r1)
	h.Retry(cctx, httpclient.RetryEvent{Attempt: a1, Result: r1, Wait: time.Second})
	actx = or(h.AttemptStart(cctx, req, a2), cctx)
	h.AttemptDone(actx, a2, httpclient.AttemptResult{Status: 200, Duration: time.Millisecond})
	h.CallDone(cctx, call, httpclient.CallResult{Status: 200, Attempts: 2, Stop: httpclient.StopSettled, Last: a2, Duration: time.Second})
}

// R65: the metrics reuse their attribute sets: with the SDK's meter and
// no tracing (trace/noop's provider), the hooks of a retried call
// allocate one object, the call's state.
func TestMetrics_R65_RecordingReusesAttributeSets(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	tl := newTelemetry(t)
	h := tl.inst(t, otel.WithTracerProvider(tracenoop.NewTracerProvider())).Hooks()
	req := &http.Request{Header: http.Header{}}
	hookCall(h, req)
	if n := testing.AllocsPerRun(100, func() { hookCall(h, req) }); n > 1 {
		t.Errorf("%v allocations per call, want 1", n)
	}
	wantSum(t, metrics(tl.collect(t)), "tempest.client.calls", 102)
}
