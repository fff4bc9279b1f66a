package otel_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	otelmetric "go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/otel"
)

// nilMeterProvider returns a nil Meter: a provider that breaks its contract.
type nilMeterProvider struct{ metricnoop.MeterProvider }

func (nilMeterProvider) Meter(string, ...otelmetric.MeterOption) otelmetric.Meter { return nil }

// nilTracerProvider returns a nil Tracer.
type nilTracerProvider struct{ tracenoop.TracerProvider }

func (nilTracerProvider) Tracer(string, ...trace.TracerOption) trace.Tracer { return nil }

// Creed: never panic whatever a meter provider returns. New with a
// MeterProvider whose Meter is nil panics (nil dereference) instead of
// returning an error.
func TestAdv_R65_NilMeterDoesNotPanicNew(t *testing.T) {
	defer func() {
		if v := recover(); v != nil {
			t.Errorf("otel.New panicked on a MeterProvider returning a nil Meter: %v", v)
		}
	}()
	_, err := otel.New(otel.WithMeterProvider(nilMeterProvider{}), otel.WithTracerProvider(tracenoop.NewTracerProvider()))
	if err == nil {
		t.Log("New accepted a nil Meter")
	}
}

// nilInstMeter is a meter whose synchronous counters and histograms come
// back nil with a nil error.
type nilInstMeter struct{ metricnoop.Meter }

func (nilInstMeter) Int64Counter(string, ...otelmetric.Int64CounterOption) (otelmetric.Int64Counter, error) {
	return nil, nil
}

func (nilInstMeter) Float64Histogram(string, ...otelmetric.Float64HistogramOption) (otelmetric.Float64Histogram, error) {
	return nil, nil
}

type nilInstProvider struct{ metricnoop.MeterProvider }

func (nilInstProvider) Meter(string, ...otelmetric.MeterOption) otelmetric.Meter {
	return nilInstMeter{}
}

// panicInstMeter is a meter whose counters panic when added to.
type panicInstMeter struct{ metricnoop.Meter }

type panicCounter struct{ metricnoop.Int64Counter }

func (panicCounter) Add(context.Context, int64, ...otelmetric.AddOption) { panic("hostile counter") }

func (panicInstMeter) Int64Counter(string, ...otelmetric.Int64CounterOption) (otelmetric.Int64Counter, error) {
	return panicCounter{}, nil
}

type panicInstProvider struct{ metricnoop.MeterProvider }

func (panicInstProvider) Meter(string, ...otelmetric.MeterOption) otelmetric.Meter {
	return panicInstMeter{}
}

// R66 under a hostile meter: every call span that is started must be
// ended. With instruments that are nil, or that panic, callDone panics
// before span.End (the metrics are recorded first), and the call span is
// never ended: a span leak per call (and attemptStart panics before the
// attempt span, so the trace loses its attempts too).
func TestAdv_R66_HostileMeterEndsCallSpans(t *testing.T) {
	for name, mp := range map[string]otelmetric.MeterProvider{"nil instruments": nilInstProvider{}, "panicking instruments": panicInstProvider{}} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := tracetest.NewSpanRecorder()
				tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
				defer tp.Shutdown(context.Background())
				inst, err := otel.New(otel.WithMeterProvider(mp), otel.WithTracerProvider(tp), otel.WithPropagator(propagation.TraceContext{}))
				if err != nil {
					t.Skipf("New refused the meter: %v", err)
				}
				_, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("ok")}, inst.Hooks())
				for range 3 {
					resp, err := c.Get(context.Background(), "/")
					if err != nil {
						t.Fatal(err)
					}
					drain(t, resp)
				}
				if s, e := len(rec.Started()), len(rec.Ended()); s != e {
					t.Errorf("%d spans started, %d ended: the call spans leak when an instrument misbehaves", s, e)
				}
			})
		})
	}
}

// panicProp is a propagator whose Inject panics.
type panicProp struct{ propagation.TraceContext }

func (panicProp) Inject(context.Context, propagation.TextMapCarrier) { panic("hostile propagator") }

// R66 under a hostile propagator: attemptStart starts the attempt span,
// then Inject panics; the client drops the hook's context, so AttemptDone
// never finds the span and it is never ended.
func TestAdv_R66_PanickingPropagatorEndsAttemptSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		inst := tl.inst(t, otel.WithPropagator(panicProp{}))
		_, c := memClient(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, inst.Hooks())
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		if s, e := len(tl.spans.Started()), len(tl.spans.Ended()); s != e {
			t.Errorf("%d spans started, %d ended: the attempt span leaks when the propagator panics", s, e)
		}
	})
}

// Creed: a TracerProvider returning a nil Tracer must not break calls.
// (Held up: the hooks panic, the client recovers, the call goes on.)
func TestAdv_R66_NilTracerCallsStillWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		inst, err := otel.New(otel.WithMeterProvider(tl.mp), otel.WithTracerProvider(nilTracerProvider{}))
		if err != nil {
			t.Skipf("New refused: %v", err)
		}
		_, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("ok")},
			otel.Chain(httpclient.Hooks{}, inst.Hooks(), httpclient.Hooks{}))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
	})
}

// R67: an attribute the upstream (or a transport) controls must not make
// series without bound. error.type folds statuses of 600 and more into
// _OTHER, but http.response.status_code is recorded raw, so every distinct
// status a transport returns is a series of its own. 3000 distinct statuses
// from one origin and one method: 3000 series of tempest.client.calls (past
// the SDK's default limit of 2000, the overflow series swallows the real
// ones).
func TestAdv_R67_StatusCodeCardinalityBounded(t *testing.T) {
	tl := newTelemetry(t)
	inst := tl.inst(t, otel.WithTracerProvider(tracenoop.NewTracerProvider()))
	var mu sync.Mutex
	next := 1000
	rt := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		code := next
		next++
		mu.Unlock()
		return &http.Response{StatusCode: code, Header: http.Header{}, Body: http.NoBody, ProtoMajor: 1, ProtoMinor: 1, Request: r}, nil
	})
	c, err := httpclient.New("http://a.example", httpclient.WithTransport(rt), httpclient.WithHooks(inst.Hooks()),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3000 {
		resp, err := c.Get(context.Background(), "/")
		if err == nil {
			resp.Body.Close()
		}
	}
	ms := metrics(tl.collect(t))
	if n := len(ms["tempest.client.calls"].points); n > 1000 {
		t.Errorf("tempest.client.calls: %d series from one origin and one method, one per status code a transport returned", n)
	}
	if n := len(ms[reqDuration].points); n > 1000 {
		t.Errorf("%s: %d series from one origin and one method", reqDuration, n)
	}
}

// R67 / creed: Observe, Close the client, collect; stop twice; Observe
// again after stop; collection concurrent with calls. (Held up.)
func TestAdv_R65_ObserveLifecycle(t *testing.T) {
	tl := newTelemetry(t)
	inst := tl.inst(t)
	_, c := memClient(t, httpclienttest.ScriptFunc(func(int, *http.Request) httpclienttest.Response { return httpclienttest.Status(503) }),
		inst.Hooks(), httpclient.WithCircuitBreaker(2, time.Hour))
	stop, err := inst.Observe(c)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				resp, err := c.Get(context.Background(), "/")
				if err == nil {
					drain(t, resp)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			tl.collect(t)
		}
	})
	wg.Wait()
	c.Close()
	tl.collect(t)
	stop()
	stop()
	if _, err := inst.Observe(c); err != nil {
		t.Errorf("Observe after stop: %v", err)
	}
	if _, err := inst.Observe(c); err == nil {
		t.Error("Observe twice: no error")
	}
	if _, err := inst.Observe(nil); err == nil {
		t.Error("Observe(nil): no error")
	}
	tl.collect(t)
	_ = errors.New
}
