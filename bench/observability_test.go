package bench

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
	tempestotel "github.com/tempestsdk/tempest/otel"
)

// BenchmarkObservability is the success path of one GET over loopback
// (HTTP/1.1, a 200 with a small JSON body), with Tempest alone, with the
// otel module's hooks (spans and metrics, or metrics alone), and with
// otelhttp's Transport under Tempest instead. The SDK samples every span
// (AlwaysSample; nothing is exported) and records into a manual reader, so
// that nothing is sampled away: the figures include what the SDK does with
// what it is given. `make bench-otel` runs it in interleaved passes.
func BenchmarkObservability(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(smallBody)
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
	run := func(b *testing.B, rt http.RoundTripper, opts ...httpclient.Option) {
		c, err := httpclient.New(srv.URL, append([]httpclient.Option{httpclient.WithTransport(rt)}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Get(ctx, memPath)
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(resp, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	withOtel := func(b *testing.B, spans bool) {
		mp, tp := providers(b)
		opts := []tempestotel.Option{tempestotel.WithMeterProvider(mp), tempestotel.WithPropagator(propagation.TraceContext{})}
		if spans {
			opts = append(opts, tempestotel.WithTracerProvider(tp))
		} else {
			opts = append(opts, tempestotel.WithTracerProvider(tracenoop.NewTracerProvider()))
		}
		inst, err := tempestotel.New(opts...)
		if err != nil {
			b.Fatal(err)
		}
		rt := loopbackTransport(srv)
		defer rt.CloseIdleConnections()
		run(b, rt, httpclient.WithHooks(inst.Hooks()))
	}

	b.Run("client=tempest", func(b *testing.B) {
		rt := loopbackTransport(srv)
		defer rt.CloseIdleConnections()
		run(b, rt)
	})
	b.Run("client=tempest+otel", func(b *testing.B) { withOtel(b, true) })
	b.Run("client=tempest+otel-metrics", func(b *testing.B) { withOtel(b, false) })
	b.Run("client=tempest+otelhttp", func(b *testing.B) {
		mp, tp := providers(b)
		base := loopbackTransport(srv)
		defer base.CloseIdleConnections()
		rt := otelhttp.NewTransport(base, otelhttp.WithMeterProvider(mp), otelhttp.WithTracerProvider(tp),
			otelhttp.WithPropagators(propagation.TraceContext{}))
		run(b, rt)
	})
}
