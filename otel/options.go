package otel

import (
	"fmt"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// DefaultMaxOrigins is how many distinct origins get series of their own
// when WithMaxOrigins is not given.
const DefaultMaxOrigins = 100

// Option configures an Instrumentation in New. A nil Option is ignored;
// among repeated options the last wins.
type Option func(*config)

type config struct {
	mp         metric.MeterProvider
	tp         trace.TracerProvider
	prop       propagation.TextMapPropagator
	maxOrigins int
	noHTTP     bool // WithoutHTTPMetrics
	noAttempts bool // WithoutAttemptSpans
	errs       []error
}

// WithMeterProvider sets where the metrics go. Default: the global
// provider (otel.GetMeterProvider) as it is when New runs. A nil mp means
// the default.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithTracerProvider sets where the spans go. Default: the global provider
// (otel.GetTracerProvider) as it is when New runs. A nil tp means the
// default. With trace/noop's provider no span is made at all, and the
// hooks of a call allocate one small object: metrics alone.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithPropagator sets the propagator that writes each attempt's span
// context into its request headers (traceparent, for W3C Trace Context).
// Default: the global propagator (otel.GetTextMapPropagator) as it is when
// New runs. A nil p means the default.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.prop = p }
}

// WithMaxOrigins bounds the origins that get series of their own: the
// first n distinct origins the Instrumentation sees (in any hook, or in a
// client's breakers through Observe) keep their server.address and
// server.port for as long as it lives; every origin after them is reported
// as server.address "_OTHER", with no server.port. So each metric has at
// most n+1 series for every combination of its other attributes, and never
// more, even when a client forgets origins (httpclient.WithOriginLimit)
// and meets them again. Spans are not bounded: they name the real origin.
// Default DefaultMaxOrigins (100); n < 1 is an error.
func WithMaxOrigins(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.errs = append(c.errs, fmt.Errorf("otel: WithMaxOrigins(%d): must be at least 1", n))
			return
		}
		c.maxOrigins = n
	}
}

// WithoutHTTPMetrics leaves out http.client.request.duration, for a client
// whose transport already records it per physical request (otelhttp's
// Transport does): with both, every attempt would be counted twice. The
// tempest.* metrics are kept.
func WithoutHTTPMetrics() Option {
	return func(c *config) { c.noHTTP = true }
}

// WithoutAttemptSpans leaves out the CLIENT span of each attempt, for a
// client whose transport makes one per physical request (otelhttp's
// Transport does): the call span stays, and the transport's spans become
// its children, since each attempt's context derives from the call's. What
// the attempt spans would have said (attempt number, hedge, probe, status,
// error.type) is added to the call span as an "attempt" event per attempt,
// and the call span's context is injected into each attempt's headers,
// for a transport that injects nothing of its own.
func WithoutAttemptSpans() Option {
	return func(c *config) { c.noAttempts = true }
}
