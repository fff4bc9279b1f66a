package otel_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/otel"
)

// quick retries, so that the examples do not wait.
var quick = httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond})

// sdk is what an application sets up: an SDK meter and tracer provider
// (here in memory, for the examples to print what they record).
type sdk struct {
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func newSDK() *sdk {
	s := &sdk{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	s.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	s.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.spans))
	return s
}

func (s *sdk) shutdown() {
	s.mp.Shutdown(context.Background())
	s.tp.Shutdown(context.Background())
}

// print prints, for each instrument named, its series: the attributes
// keys given and the value (a histogram's count).
func (s *sdk) print(name string, keys ...attribute.Key) {
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, m := range metrics(&rm) {
		if m.name != name {
			continue
		}
		for _, p := range m.points {
			var parts []string
			for _, k := range keys {
				if v, ok := p.attrs.Value(k); ok {
					parts = append(parts, string(k)+"="+v.String())
				}
			}
			v := p.value
			if m.hist {
				v = float64(p.count)
			}
			lines = append(lines, fmt.Sprintf("%s{%s} %v", name, strings.Join(parts, ","), v))
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
}

func fetch(client *httpclient.Client, path string) {
	resp, err := client.Get(context.Background(), path)
	if err != nil {
		fmt.Println("error:", httpclient.ClassOf(err))
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// Turn it on for a client: its hooks in httpclient.WithHooks. Here the
// upstream answers 503 once, then 200.
func ExampleNew() {
	s := newSDK()
	defer s.shutdown()
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("hello")})
	defer upstream.Close()

	inst, err := otel.New(otel.WithMeterProvider(s.mp), otel.WithTracerProvider(s.tp))
	if err != nil {
		log.Fatal(err)
	}
	client, err := httpclient.New(upstream.URL, httpclient.WithHooks(inst.Hooks()), quick)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fetch(client, "/greeting?lang=en")

	s.print("http.client.request.duration", "http.response.status_code", "error.type", "http.request.resend_count")
	s.print("tempest.client.retries", "tempest.retry.reason")
	s.print("tempest.client.calls", "http.response.status_code", "tempest.stop")
	// Output:
	// http.client.request.duration{http.response.status_code=200,http.request.resend_count=1} 1
	// http.client.request.duration{http.response.status_code=503,error.type=503} 1
	// tempest.client.retries{tempest.retry.reason=status} 1
	// tempest.client.calls{http.response.status_code=200,tempest.stop=settled} 1
}

// The spans of a call: a call span and a CLIENT span per attempt under it;
// the upstream sees the attempt's own span in traceparent.
func ExampleInstrumentation_Hooks() {
	s := newSDK()
	defer s.shutdown()
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("hello")})
	defer upstream.Close()

	inst, err := otel.New(otel.WithMeterProvider(s.mp), otel.WithTracerProvider(s.tp), otel.WithPropagator(propagation.TraceContext{}))
	if err != nil {
		log.Fatal(err)
	}
	client, err := httpclient.New(upstream.URL, httpclient.WithHooks(inst.Hooks()), quick)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fetch(client, "/greeting")

	hits := upstream.Requests()
	for _, span := range s.spans.Ended() {
		attempt, _ := spanAttr(span, "tempest.attempt")
		code, _ := spanAttr(span, "http.response.status_code")
		seen := ""
		if attempt.AsInt64() > 0 && strings.Contains(hits[attempt.AsInt64()-1].Header.Get("Traceparent"), span.SpanContext().SpanID().String()) {
			seen = ", named in its request's traceparent"
		}
		fmt.Printf("%s %s: attempt %d, status %d%s\n", span.SpanKind(), span.Name(), attempt.AsInt64(), code.AsInt64(), seen)
	}
	// Output:
	// client GET: attempt 1, status 503, named in its request's traceparent
	// client GET: attempt 2, status 200, named in its request's traceparent
	// internal GET: attempt 0, status 200
}

// The breakers of a client, read when the meter collects.
func ExampleInstrumentation_Observe() {
	s := newSDK()
	defer s.shutdown()
	inst, err := otel.New(otel.WithMeterProvider(s.mp), otel.WithTracerProvider(s.tp))
	if err != nil {
		log.Fatal(err)
	}
	client, err := httpclient.New("https://api.example.com", httpclient.WithHooks(inst.Hooks()))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	stop, err := inst.Observe(client)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()

	if err := client.Isolate("https://api.example.com", time.Hour); err != nil {
		log.Fatal(err)
	}
	s.print("tempest.client.breaker.state", "server.address", "tempest.breaker.state")
	// Output:
	// tempest.client.breaker.state{server.address=api.example.com,tempest.breaker.state=closed} 0
	// tempest.client.breaker.state{server.address=api.example.com,tempest.breaker.state=half_open} 0
	// tempest.client.breaker.state{server.address=api.example.com,tempest.breaker.state=open} 1
}

// Hooks of your own beside the Instrumentation's.
func ExampleChain() {
	s := newSDK()
	defer s.shutdown()
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(502), httpclienttest.OK("hello")})
	defer upstream.Close()
	inst, err := otel.New(otel.WithMeterProvider(s.mp), otel.WithTracerProvider(s.tp))
	if err != nil {
		log.Fatal(err)
	}
	mine := httpclient.Hooks{
		Retry: func(_ context.Context, e httpclient.RetryEvent) {
			fmt.Printf("retrying after attempt %d: %d\n", e.Attempt.N, e.Result.Status)
		},
	}
	client, err := httpclient.New(upstream.URL, httpclient.WithHooks(otel.Chain(inst.Hooks(), mine)), quick)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fetch(client, "/")
	s.print("tempest.client.retries", "tempest.retry.reason")
	// Output:
	// retrying after attempt 1: 502
	// tempest.client.retries{tempest.retry.reason=status} 1
}

// Past the first n origins, every origin is "_OTHER".
func ExampleWithMaxOrigins() {
	s := newSDK()
	defer s.shutdown()
	inst, err := otel.New(otel.WithMeterProvider(s.mp), otel.WithTracerProvider(s.tp), otel.WithMaxOrigins(2))
	if err != nil {
		log.Fatal(err)
	}
	ok := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})
	client, err := httpclient.New("", httpclient.WithHooks(inst.Hooks()), httpclient.WithTransport(ok))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	for _, host := range []string{"a.example", "b.example", "c.example", "d.example", "a.example"} {
		fetch(client, "https://"+host+"/")
	}
	s.print("tempest.client.calls", "server.address", "server.port")
	// Output:
	// tempest.client.calls{server.address=_OTHER} 2
	// tempest.client.calls{server.address=a.example,server.port=443} 2
	// tempest.client.calls{server.address=b.example,server.port=443} 1
}

// Beside otelhttp's Transport: otelhttp's CLIENT span is each attempt's
// span, under the call span, and its http.client.request.duration the
// only one.
func ExampleWithoutAttemptSpans() {
	s := newSDK()
	defer s.shutdown()
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("hello")})
	defer upstream.Close()

	inst, err := otel.New(otel.WithMeterProvider(s.mp), otel.WithTracerProvider(s.tp),
		otel.WithoutAttemptSpans(), otel.WithoutHTTPMetrics())
	if err != nil {
		log.Fatal(err)
	}
	base := httpclient.NewTransport()
	defer base.CloseIdleConnections() // otelhttp's Transport does not pass it on
	rt := otelhttp.NewTransport(base, otelhttp.WithTracerProvider(s.tp), otelhttp.WithMeterProvider(s.mp))
	client, err := httpclient.New(upstream.URL, httpclient.WithHooks(inst.Hooks()), httpclient.WithTransport(rt), quick)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fetch(client, "/")

	// otelhttp's span ends with the response body, after the call's: in
	// the order the spans began.
	spans := s.spans.Ended()
	slices.SortFunc(spans, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	call := spans[0]
	for _, span := range spans {
		under := ""
		if span.Parent().SpanID() == call.SpanContext().SpanID() {
			under = " under the call span"
		}
		fmt.Printf("%s %q from %s%s\n", span.SpanKind(), span.Name(), span.InstrumentationScope().Name, under)
	}
	s.print("http.client.request.duration", "http.response.status_code")
	// Output:
	// internal "GET" from github.com/tempestsdk/tempest/otel
	// client "HTTP GET" from go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp under the call span
	// client "HTTP GET" from go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp under the call span
	// http.client.request.duration{http.response.status_code=200} 1
	// http.client.request.duration{http.response.status_code=503} 1
}
