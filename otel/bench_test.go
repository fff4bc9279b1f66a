package otel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/otel"
)

// BenchmarkOverhead is one GET over loopback with a 200 of 13 bytes: the
// client alone, with this package's hooks, and with otelhttp's Transport
// under it instead. The SDK samples every span (and exports none) and
// records into a manual reader, so that the figures include what the SDK
// does with what it is given.
func BenchmarkOverhead(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"id":"42"}`+"\n\n")
	}))
	defer srv.Close()

	providers := func(b *testing.B) (*sdkmetric.MeterProvider, *sdktrace.TracerProvider) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		b.Cleanup(func() {
			mp.Shutdown(context.Background())
			tp.Shutdown(context.Background())
		})
		return mp, tp
	}
	run := func(b *testing.B, opts ...httpclient.Option) {
		c, err := httpclient.New(srv.URL, opts...)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Get(ctx, "/users/42")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}

	b.Run("client=tempest", func(b *testing.B) { run(b) })
	b.Run("client=tempest+otel", func(b *testing.B) {
		mp, tp := providers(b)
		inst, err := otel.New(otel.WithMeterProvider(mp), otel.WithTracerProvider(tp), otel.WithPropagator(propagation.TraceContext{}))
		if err != nil {
			b.Fatal(err)
		}
		run(b, httpclient.WithHooks(inst.Hooks()))
	})
	b.Run("client=tempest+otelhttp", func(b *testing.B) {
		mp, tp := providers(b)
		base := httpclient.NewTransport()
		defer base.CloseIdleConnections()
		rt := otelhttp.NewTransport(base, otelhttp.WithMeterProvider(mp), otelhttp.WithTracerProvider(tp),
			otelhttp.WithPropagators(propagation.TraceContext{}))
		run(b, httpclient.WithTransport(rt))
	})
}

// BenchmarkHooks is the hooks of one call retried once, by hand, with no
// network: metrics alone (no tracing), and metrics and spans.
func BenchmarkHooks(b *testing.B) {
	b.Run("spans=off", func(b *testing.B) {
		tl := newTelemetry(b)
		h := tl.inst(b, otel.WithTracerProvider(tracenoop.NewTracerProvider())).Hooks()
		req := &http.Request{Header: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			hookCall(h, req)
		}
	})
	b.Run("spans=on", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		defer mp.Shutdown(context.Background())
		defer tp.Shutdown(context.Background())
		inst, err := otel.New(otel.WithMeterProvider(mp), otel.WithTracerProvider(tp), otel.WithPropagator(propagation.TraceContext{}))
		if err != nil {
			b.Fatal(err)
		}
		h := inst.Hooks()
		req := &http.Request{Header: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			hookCall(h, req)
		}
	})
}
