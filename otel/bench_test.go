package otel_test

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tempestsdk/tempest/otel"
)

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
