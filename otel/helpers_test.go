package otel_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/otel"
)

// telemetry is an in-memory SDK: a manual reader for the metrics, a
// recorder for the spans, W3C Trace Context for propagation.
type telemetry struct {
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	prop   propagation.TextMapPropagator
}

func newTelemetry(t testing.TB) *telemetry {
	t.Helper()
	tl := &telemetry{
		reader: sdkmetric.NewManualReader(),
		spans:  tracetest.NewSpanRecorder(),
		prop:   propagation.TraceContext{},
	}
	tl.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tl.reader))
	tl.tp = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(tl.spans))
	t.Cleanup(func() {
		tl.mp.Shutdown(context.Background())
		tl.tp.Shutdown(context.Background())
	})
	return tl
}

// inst returns an Instrumentation on tl's providers.
func (tl *telemetry) inst(t testing.TB, opts ...otel.Option) *otel.Instrumentation {
	t.Helper()
	base := []otel.Option{otel.WithMeterProvider(tl.mp), otel.WithTracerProvider(tl.tp), otel.WithPropagator(tl.prop)}
	inst, err := otel.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func (tl *telemetry) collect(t testing.TB) *metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tl.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return &rm
}

// point is one data point, whatever its instrument's kind.
type point struct {
	attrs  attribute.Set
	value  float64   // a sum's or gauge's value
	count  uint64    // a histogram's count
	bounds []float64 // a histogram's bucket boundaries
}

// metric is what a collection holds for one instrument.
type metric struct {
	name, unit string
	scope      string
	points     []point
	hist       bool
}

// metrics returns the instruments of rm by name; an instrument recorded by
// two scopes (this package and otelhttp) is keyed name@scope for the
// second.
func metrics(rm *metricdata.ResourceMetrics) map[string]*metric {
	out := make(map[string]*metric)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			mm := &metric{name: m.Name, unit: m.Unit, scope: sm.Scope.Name}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					mm.points = append(mm.points, point{attrs: p.Attributes, value: float64(p.Value)})
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					mm.points = append(mm.points, point{attrs: p.Attributes, value: p.Value})
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					mm.points = append(mm.points, point{attrs: p.Attributes, value: float64(p.Value)})
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					mm.points = append(mm.points, point{attrs: p.Attributes, value: p.Value})
				}
			case metricdata.Histogram[float64]:
				mm.hist = true
				for _, p := range d.DataPoints {
					mm.points = append(mm.points, point{attrs: p.Attributes, count: p.Count, value: p.Sum, bounds: p.Bounds})
				}
			case metricdata.Histogram[int64]:
				mm.hist = true
				for _, p := range d.DataPoints {
					mm.points = append(mm.points, point{attrs: p.Attributes, count: p.Count, value: float64(p.Sum)})
				}
			}
			key := m.Name
			if _, dup := out[key]; dup {
				key += "@" + sm.Scope.Name
			}
			out[key] = mm
		}
	}
	return out
}

// matching returns the points whose attributes include every one of kv.
func (m *metric) matching(kv ...attribute.KeyValue) []point {
	if m == nil {
		return nil
	}
	var out []point
	for _, p := range m.points {
		ok := true
		for _, want := range kv {
			if got, has := p.attrs.Value(want.Key); !has || got != want.Value {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

// sum adds the values (or, for a histogram, the counts) of the points that
// match kv.
func (m *metric) sum(kv ...attribute.KeyValue) float64 {
	var s float64
	for _, p := range m.matching(kv...) {
		if m.hist {
			s += float64(p.count)
		} else {
			s += p.value
		}
	}
	return s
}

// wantSum checks the sum of name's points that match kv.
func wantSum(t *testing.T, ms map[string]*metric, name string, want float64, kv ...attribute.KeyValue) {
	t.Helper()
	m := ms[name]
	if m == nil {
		if want != 0 {
			t.Errorf("%s: not recorded, want %v", name, want)
		}
		return
	}
	if got := m.sum(kv...); got != want {
		t.Errorf("%s%v = %v, want %v; points: %s", name, kv, got, want, m)
	}
}

// wantPoint checks that name has a point whose attributes are exactly kv,
// with value (for a histogram, count) want.
func wantPoint(t *testing.T, ms map[string]*metric, name string, want float64, kv ...attribute.KeyValue) {
	t.Helper()
	m := ms[name]
	set := attribute.NewSet(kv...)
	if m != nil {
		for _, p := range m.points {
			if p.attrs.Equals(&set) {
				got := p.value
				if m.hist {
					got = float64(p.count)
				}
				if got != want {
					t.Errorf("%s{%s} = %v, want %v", name, encode(set), got, want)
				}
				return
			}
		}
	}
	t.Errorf("%s: no point {%s}; points:%s", name, encode(set), m)
}

func (m *metric) String() string {
	if m == nil {
		return " none"
	}
	var b strings.Builder
	for _, p := range m.points {
		fmt.Fprintf(&b, "\n\t{%s} value=%v count=%d", encode(p.attrs), p.value, p.count)
	}
	return b.String()
}

func encode(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// spanAttr returns the value of key on span s.
func spanAttr(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// spansOf returns the ended spans of the given kind.
func spansOf(spans []sdktrace.ReadOnlySpan, kind trace.SpanKind) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.SpanKind() == kind {
			out = append(out, s)
		}
	}
	return out
}

// memClient starts a memory upstream and a client of it with inst's hooks;
// both are cleaned up at the end of the test. Inside a synctest bubble
// call it in the bubble.
func memClient(t *testing.T, script httpclienttest.Script, hooks httpclient.Hooks, opts ...httpclient.Option) (*httpclienttest.Server, *httpclient.Client) {
	t.Helper()
	srv := httpclienttest.NewMemoryServer(script)
	tr := srv.Transport()
	c, err := httpclient.New(srv.URL, append([]httpclient.Option{httpclient.WithTransport(tr), httpclient.WithHooks(hooks)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		tr.CloseIdleConnections()
		srv.Close()
	})
	return srv, c
}

// drain reads and closes a response body.
func drain(t *testing.T, resp *http.Response) {
	t.Helper()
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// memOrigin is the origin of httpclienttest's memory server.
const memOrigin = "http://upstream.test:80"

// roundTripperFunc adapts a function to http.RoundTripper.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
