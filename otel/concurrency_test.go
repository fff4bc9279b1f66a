package otel_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/otel"
)

// concTransport answers in memory: 503 for the path /busy, 200 for any
// other, each with a body of its own that holds the attempt's concurrency
// slot until the caller reads it to the end or closes it (R75).
var concTransport = roundTripperFunc(func(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	code := http.StatusOK
	if r.URL.Path == "/busy" {
		code = http.StatusServiceUnavailable
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("body")), ContentLength: 4, ProtoMajor: 1, ProtoMinor: 1, Request: r}, nil
})

// concClient returns a client of http://upstream.test (memOrigin) over
// concTransport with inst's hooks and the concurrency limit l, observed by
// inst until the end of the test. Inside a synctest bubble call it in the
// bubble.
func concClient(t *testing.T, inst *otel.Instrumentation, l httpclient.ConcurrencyLimit, opts ...httpclient.Option) *httpclient.Client {
	t.Helper()
	c, err := httpclient.New("http://upstream.test", append([]httpclient.Option{httpclient.WithTransport(concTransport),
		httpclient.WithHooks(inst.Hooks()), httpclient.WithConcurrencyLimit(l)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := inst.Observe(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		c.Close()
	})
	return c
}

// wantOnePoint checks that name has exactly one point, whose attributes
// are exactly kv, with value want.
func wantOnePoint(t *testing.T, ms map[string]*metric, name string, want float64, kv ...attribute.KeyValue) {
	t.Helper()
	if m := ms[name]; m == nil || len(m.points) != 1 {
		t.Errorf("%s: want one point, got:%s", name, m)
	}
	wantPoint(t, ms, name, want, kv...)
}

// wantNone checks that none of names was recorded.
func wantNone(t *testing.T, ms map[string]*metric, names ...string) {
	t.Helper()
	for _, name := range names {
		if m := ms[name]; m != nil && len(m.points) > 0 {
			t.Errorf("%s recorded:%s", name, m)
		}
	}
}

// R65, R75: a fixed concurrency limit of 2 with no queue, two calls
// holding their bodies open and a third refused: the series say limit 2,
// in flight 2, queued 0; the refusal is one concurrency.refusals and no
// fast failure, a call with tempest.stop "concurrency_limited" whose span
// is a call span with no attempt span. Once the bodies are closed, nothing
// is in flight and the limit stays.
func TestMetrics_R75_ConcurrencyLimitSeries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		c := concClient(t, tl.inst(t), httpclient.ConcurrencyLimit{Fixed: 2, Queue: httpclient.NoQueue})
		ctx := context.Background()
		var held []*http.Response
		for _, path := range []string{"/a", "/b"} {
			resp, err := c.Get(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, resp)
		}
		_, err := c.Get(ctx, "/c")
		var le *httpclient.ConcurrencyLimitError
		if !errors.As(err, &le) || le.Limit != 2 || le.InFlight != 2 {
			t.Fatalf("the third call: err %v, want a *ConcurrencyLimitError of limit 2 with 2 in flight", err)
		}
		if n, why := httpclient.Attempts(nil, err); n != 0 || why != httpclient.StopConcurrencyLimited {
			t.Fatalf("Attempts: %d, %q; want 0, %q", n, why, httpclient.StopConcurrencyLimited)
		}

		base := []attribute.KeyValue{upstream, port80, schemeH}
		ms := metrics(tl.collect(t))
		wantUnits(t, ms)
		wantOnePoint(t, ms, "tempest.client.concurrency.limit", 2, base...)
		wantOnePoint(t, ms, "tempest.client.concurrency.in_flight", 2, base...)
		wantOnePoint(t, ms, "tempest.client.concurrency.queued", 0, base...)
		wantOnePoint(t, ms, "tempest.client.concurrency.refusals", 1, append(base, get)...)
		wantNone(t, ms, "tempest.client.fast_fails", "tempest.client.give_ups", "tempest.client.retries")
		wantPoint(t, ms, "tempest.client.calls", 1, append(base, get, errType("concurrency_limited"), stop(httpclient.StopConcurrencyLimited))...)
		wantSum(t, ms, "tempest.client.calls", 3)
		wantSum(t, ms, "tempest.client.attempts", 2)
		wantSum(t, ms, reqDuration, 2)
		// The breaker series of the same origin beside them.
		wantSum(t, ms, "tempest.client.breaker.state", 1, upstream, attribute.String("tempest.breaker.state", "closed"))

		spans := tl.spans.Ended()
		calls, attempts := spansOf(spans, trace.SpanKindInternal), spansOf(spans, trace.SpanKindClient)
		if len(calls) != 3 || len(attempts) != 2 {
			t.Fatalf("%d call spans and %d attempt spans, want 3 and 2", len(calls), len(attempts))
		}
		refused := slices.IndexFunc(calls, func(s sdktrace.ReadOnlySpan) bool {
			return slices.Contains(s.Attributes(), attribute.String("tempest.stop", "concurrency_limited"))
		})
		if refused < 0 {
			t.Fatal("no call span with tempest.stop concurrency_limited")
		}
		s := calls[refused]
		if et, _ := spanAttr(s, "error.type"); s.Status().Code != codes.Error || et.AsString() != "concurrency_limited" {
			t.Errorf("the refused call's span: status %v, error.type %q; want Error, concurrency_limited", s.Status(), et.AsString())
		}
		if n, _ := spanAttr(s, "tempest.attempts"); n.AsInt64() != 0 {
			t.Errorf("the refused call's span: tempest.attempts %v, want 0", n.AsInt64())
		}

		for _, resp := range held {
			drain(t, resp)
		}
		ms = metrics(tl.collect(t))
		wantOnePoint(t, ms, "tempest.client.concurrency.limit", 2, base...)
		wantOnePoint(t, ms, "tempest.client.concurrency.in_flight", 0, base...)
		wantOnePoint(t, ms, "tempest.client.concurrency.queued", 0, base...)
		wantSum(t, ms, "tempest.client.concurrency.refusals", 1)

		// A slot is free again: the next call is sent.
		resp, err := c.Get(ctx, "/d")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		ms = metrics(tl.collect(t))
		wantSum(t, ms, "tempest.client.concurrency.refusals", 1)
		wantSum(t, ms, "tempest.client.attempts", 3)
		wantOnePoint(t, ms, "tempest.client.concurrency.in_flight", 0, base...)
	})
}

// R75: a call waiting for a slot is in the queued series while the
// attempt holding the slot is in in_flight; admitted once the body is
// closed, it is no refusal.
func TestMetrics_R75_ConcurrencyQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		c := concClient(t, tl.inst(t), httpclient.ConcurrencyLimit{Fixed: 1, Queue: 1, MaxWait: time.Second})
		ctx := context.Background()
		resp, err := c.Get(ctx, "/a")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			r, err := c.Get(ctx, "/b")
			if err == nil {
				drain(t, r)
			}
			done <- err
		}()
		synctest.Wait() // the second call waits in the queue

		base := []attribute.KeyValue{upstream, port80, schemeH}
		ms := metrics(tl.collect(t))
		wantOnePoint(t, ms, "tempest.client.concurrency.limit", 1, base...)
		wantOnePoint(t, ms, "tempest.client.concurrency.in_flight", 1, base...)
		wantOnePoint(t, ms, "tempest.client.concurrency.queued", 1, base...)

		drain(t, resp)
		if err := <-done; err != nil {
			t.Fatalf("the queued call: %v", err)
		}
		ms = metrics(tl.collect(t))
		wantOnePoint(t, ms, "tempest.client.concurrency.in_flight", 0, base...)
		wantOnePoint(t, ms, "tempest.client.concurrency.queued", 0, base...)
		wantNone(t, ms, "tempest.client.concurrency.refusals", "tempest.client.fast_fails")
		wantSum(t, ms, "tempest.client.calls", 2, stop(httpclient.StopSettled))
	})
}

// R65, R75: a retry the concurrency limit refuses ends the call with its
// last outcome (503): a give-up with tempest.stop "concurrency_limited",
// as every other early stop, and neither a refusal (an attempt was made)
// nor a fast failure.
func TestMetrics_R75_RefusedRetryIsAGiveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		c := concClient(t, tl.inst(t), httpclient.ConcurrencyLimit{Fixed: 1, Queue: httpclient.NoQueue},
			httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 3,
				Backoff: func(httpclient.Attempt, *http.Response, error) time.Duration { return 10 * time.Millisecond }}))
		ctx := context.Background()
		type result struct {
			resp *http.Response
			err  error
		}
		got := make(chan result, 1)
		go func() {
			resp, err := c.Get(ctx, "/busy")
			got <- result{resp, err}
		}()
		synctest.Wait() // 503, its body buffered and its slot given back; the call waits to retry
		held, err := c.Get(ctx, "/a")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the retry finds the slot taken
		r := <-got
		if r.err != nil || r.resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("the retried call: %v, %v; want its last outcome, 503", r.resp, r.err)
		}
		if n, why := httpclient.Attempts(r.resp, nil); n != 1 || why != httpclient.StopConcurrencyLimited {
			t.Errorf("Attempts: %d, %q; want 1, %q", n, why, httpclient.StopConcurrencyLimited)
		}
		drain(t, r.resp)
		drain(t, held)

		base := []attribute.KeyValue{get, upstream, port80, schemeH}
		ms := metrics(tl.collect(t))
		wantUnits(t, ms)
		wantOnePoint(t, ms, "tempest.client.give_ups", 1, append(base, stop(httpclient.StopConcurrencyLimited))...)
		wantNone(t, ms, "tempest.client.concurrency.refusals", "tempest.client.fast_fails", "tempest.client.budget.exhausted")
		wantPoint(t, ms, "tempest.client.calls", 1, append(base, status(503), errType("503"), stop(httpclient.StopConcurrencyLimited))...)
		wantSum(t, ms, "tempest.client.retries", 1)
		wantSum(t, ms, "tempest.client.attempts", 2)
		wantOnePoint(t, ms, "tempest.client.concurrency.in_flight", 0, upstream, port80, schemeH)
	})
}

// R65, R75: a client without a concurrency limit has no concurrency
// series, and an observed client with a limit and no breaker has no
// breaker series for its origins.
func TestMetrics_R75_SeriesOnlyWhereTheyExist(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		inst := tl.inst(t)
		plain, err := httpclient.New("http://plain.test", httpclient.WithTransport(concTransport), httpclient.WithHooks(inst.Hooks()))
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		stop, err := inst.Observe(plain)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		limited := concClient(t, inst, httpclient.ConcurrencyLimit{Fixed: 3}, httpclient.WithCircuitBreaker(0, 0))
		for _, c := range []*httpclient.Client{plain, limited} {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			drain(t, resp)
		}
		if n := len(limited.Breakers()); n != 0 {
			t.Fatalf("WithCircuitBreaker(0, 0): %d breakers", n)
		}
		ms := metrics(tl.collect(t))
		plainAddr := attribute.String("server.address", "plain.test")
		wantSum(t, ms, "tempest.client.breaker.state", 1, plainAddr)
		for _, name := range []string{"tempest.client.concurrency.limit", "tempest.client.concurrency.in_flight", "tempest.client.concurrency.queued"} {
			if n := len(ms[name].matching(plainAddr)); n != 0 {
				t.Errorf("%s: a series for the client without a limit:%s", name, ms[name])
			}
		}
		wantOnePoint(t, ms, "tempest.client.concurrency.limit", 3, upstream, port80, schemeH)
		if n := len(ms["tempest.client.breaker.state"].matching(upstream)); n != 0 {
			t.Errorf("breaker.state: %d points for the origin with no breaker:%s", n, ms["tempest.client.breaker.state"])
		}
	})
}

// R66, R75: Chain combines every hook field of httpclient.Hooks: one set
// in two hook sets runs both, in order. It goes over the fields by
// reflection, so that a field added to Hooks and not chained fails here.
func TestChain_R75_EveryHookField(t *testing.T) {
	ctxType := reflect.TypeFor[context.Context]()
	ht := reflect.TypeFor[httpclient.Hooks]()
	for i := range ht.NumField() {
		f := ht.Field(i)
		if f.Type.Kind() != reflect.Func {
			continue
		}
		var ran []string
		mk := func(name string) httpclient.Hooks {
			var h httpclient.Hooks
			fn := reflect.MakeFunc(f.Type, func([]reflect.Value) []reflect.Value {
				ran = append(ran, name)
				out := make([]reflect.Value, f.Type.NumOut())
				for j := range out {
					out[j] = reflect.Zero(f.Type.Out(j))
				}
				return out
			})
			reflect.ValueOf(&h).Elem().Field(i).Set(fn)
			return h
		}
		chained := reflect.ValueOf(otel.Chain(mk("a"), httpclient.Hooks{}, mk("b"))).Field(i)
		if chained.IsNil() {
			t.Errorf("Hooks.%s: not chained", f.Name)
			continue
		}
		args := make([]reflect.Value, f.Type.NumIn())
		for j := range args {
			if f.Type.In(j) == ctxType {
				args[j] = reflect.ValueOf(context.Background())
			} else {
				args[j] = reflect.Zero(f.Type.In(j))
			}
		}
		chained.Call(args)
		if want := []string{"a", "b"}; !slices.Equal(ran, want) {
			t.Errorf("Hooks.%s: ran %v, want %v", f.Name, ran, want)
		}
	}
}

// R75: Chain forwards LimitChange to every hook set that has one, in order,
// with its arguments, and raises the first panic once all have run. An
// Instrumentation's hooks leave it nil (the limit is observed), so a
// user's LimitChange chained with them is the chain's.
func TestChain_R75_LimitChange(t *testing.T) {
	type change struct {
		who, origin string
		from, to    int
	}
	var got []change
	rec := func(who string) httpclient.Hooks {
		return httpclient.Hooks{LimitChange: func(origin string, from, to int) { got = append(got, change{who, origin, from, to}) }}
	}
	inst, err := otel.New(otel.WithMeterProvider(newTelemetry(t).mp), otel.WithTracerProvider(tracenoop.NewTracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	if inst.Hooks().LimitChange != nil {
		t.Error("Instrumentation.Hooks sets LimitChange")
	}
	h := otel.Chain(inst.Hooks(), rec("a"), httpclient.Hooks{}, rec("b"))
	h.LimitChange(memOrigin, 20, 10)
	want := []change{{"a", memOrigin, 20, 10}, {"b", memOrigin, 20, 10}}
	if !slices.Equal(got, want) {
		t.Errorf("LimitChange ran %v, want %v", got, want)
	}

	got = nil
	bad := httpclient.Hooks{LimitChange: func(string, int, int) { panic("first") }}
	worse := httpclient.Hooks{LimitChange: func(string, int, int) { panic("second") }}
	h = otel.Chain(bad, rec("a"), worse)
	func() {
		defer func() {
			if v := recover(); v != "first" {
				t.Errorf("LimitChange panicked with %v, want the first panic", v)
			}
		}()
		h.LimitChange(memOrigin, 1, 2)
	}()
	if want := []change{{"a", memOrigin, 1, 2}}; !slices.Equal(got, want) {
		t.Errorf("beside panicking hooks, LimitChange ran %v, want %v", got, want)
	}
	if otel.Chain(inst.Hooks()).LimitChange != nil {
		t.Error("a chain with no LimitChange has one")
	}
}

// R65, R75: through the Prometheus exporter the concurrency series are
// gauges named without a unit suffix (an annotation unit adds none) and
// the refusals a counter with _total, with the values of a limit of 1,
// one body held and one call refused.
func TestPrometheus_R75_ConcurrencyNames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, mp := promSetup(t)
		inst, err := otel.New(otel.WithMeterProvider(mp), otel.WithTracerProvider(tracenoop.NewTracerProvider()))
		if err != nil {
			t.Fatal(err)
		}
		c := concClient(t, inst, httpclient.ConcurrencyLimit{Fixed: 1, Queue: httpclient.NoQueue})
		resp, err := c.Get(context.Background(), "/a")
		if err != nil {
			t.Fatal(err)
		}
		defer drain(t, resp)
		if _, err := c.Get(context.Background(), "/b"); !errors.Is(err, httpclient.ErrConcurrencyLimited) {
			t.Fatalf("err %v, want ErrConcurrencyLimited", err)
		}
		lines := scrape(t, h)
		text := strings.Join(lines, "\n")
		for _, typ := range []string{
			"tempest_client_concurrency_limit gauge",
			"tempest_client_concurrency_in_flight gauge",
			"tempest_client_concurrency_queued gauge",
			"tempest_client_concurrency_refusals_total counter",
		} {
			if !slices.Contains(lines, "# TYPE "+typ) {
				t.Errorf("no # TYPE %s in:\n%s", typ, text)
			}
		}
		var samples []string
		for _, l := range lines {
			if !strings.HasPrefix(l, "#") {
				samples = append(samples, sample(l))
			}
		}
		common := `server_address="upstream.test",server_port="80",url_scheme="http"`
		for _, want := range []string{
			`tempest_client_concurrency_limit{` + common + `} 1`,
			`tempest_client_concurrency_in_flight{` + common + `} 1`,
			`tempest_client_concurrency_queued{` + common + `} 0`,
			`tempest_client_concurrency_refusals_total{http_request_method="GET",` + common + `} 1`,
		} {
			if !slices.Contains(samples, sample(want)) {
				t.Errorf("no sample\n\t%s\nin:\n%s", want, text)
			}
		}
	})
}
