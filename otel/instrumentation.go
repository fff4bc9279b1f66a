package otel

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	global "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tempestsdk/tempest/httpclient"
)

// Instrumentation turns a client's hooks into OpenTelemetry metrics and
// spans. Make one with New, give its Hooks to httpclient.WithHooks, and
// pass the client to Observe for the breaker and concurrency series. It is safe for
// concurrent use, and one Instrumentation may serve several clients.
type Instrumentation struct {
	tracer     trace.Tracer
	prop       propagation.TextMapPropagator
	noHTTP     bool
	noAttempts bool
	spans      bool // false for trace/noop's provider: no span work at all
	origins    *origins
	hooks      httpclient.Hooks

	reqDuration     metric.Float64Histogram
	callDuration    metric.Float64Histogram
	calls           metric.Int64Counter
	attempts        metric.Int64Counter
	retries         metric.Int64Counter
	giveUps         metric.Int64Counter
	fastFails       metric.Int64Counter
	budgetExhausted metric.Int64Counter
	hedges          metric.Int64Counter
	hedgeWins       metric.Int64Counter
	transitions     metric.Int64Counter
	breakerState    metric.Int64ObservableUpDownCounter
	untilHalfOpen   metric.Float64ObservableGauge
	concRefusals    metric.Int64Counter
	concLimit       metric.Int64ObservableUpDownCounter
	concInFlight    metric.Int64ObservableUpDownCounter
	concQueued      metric.Int64ObservableUpDownCounter

	obsMu    sync.Mutex
	observed map[*httpclient.Client]struct{}
}

// New returns an Instrumentation that records on the providers the options
// name (the global ones by default). The error joins every invalid option
// and every instrument the meter refused; a provider that returns nil, or
// panics, is an error too.
func New(opts ...Option) (inst *Instrumentation, err error) {
	defer func() {
		if v := recover(); v != nil {
			inst, err = nil, fmt.Errorf("otel: a provider panicked in New: %v", v)
		}
	}()
	cfg := config{maxOrigins: DefaultMaxOrigins}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	if cfg.mp == nil {
		cfg.mp = global.GetMeterProvider()
	}
	if cfg.tp == nil {
		cfg.tp = global.GetTracerProvider()
	}
	if cfg.prop == nil {
		cfg.prop = global.GetTextMapPropagator()
	}
	_, noSpans := cfg.tp.(tracenoop.TracerProvider)
	tracer := cfg.tp.Tracer(scope, trace.WithSchemaURL(semconv.SchemaURL))
	if tracer == nil {
		return nil, errors.New("otel: the TracerProvider returned a nil Tracer")
	}
	i := &Instrumentation{
		tracer:     tracer,
		prop:       cfg.prop,
		noHTTP:     cfg.noHTTP,
		noAttempts: cfg.noAttempts,
		spans:      !noSpans,
		origins:    newOrigins(cfg.maxOrigins),
		observed:   make(map[*httpclient.Client]struct{}),
	}
	m := cfg.mp.Meter(scope, metric.WithSchemaURL(semconv.SchemaURL))
	if m == nil {
		return nil, errors.New("otel: the MeterProvider returned a nil Meter")
	}
	if err := i.instruments(m); err != nil {
		return nil, err
	}
	i.hooks = httpclient.Hooks{
		CallStart:    i.callStart,
		CallDone:     i.callDone,
		AttemptStart: i.attemptStart,
		AttemptDone:  i.attemptDone,
		Retry:        i.retry,
		GiveUp:       i.giveUp,
		StateChange:  i.stateChange,
	}
	return i, nil
}

// instruments makes every instrument and registers the callback of the
// breaker and concurrency series.
func (i *Instrumentation) instruments(m metric.Meter) error {
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		check(err)
		return c
	}
	if !i.noHTTP {
		d, err := httpconv.NewClientRequestDuration(m)
		check(err)
		i.reqDuration = d.Inst()
	}
	var err error
	i.callDuration, err = m.Float64Histogram(nameCallDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of calls through the retry loop: every attempt, wait and hedge of one request."),
		metric.WithExplicitBucketBoundaries(durationBounds...))
	check(err)
	i.calls = counter(nameCalls, "{call}", "Calls through the retry loop (one per request of a redirect chain).")
	i.attempts = counter(nameAttempts, "{attempt}", "Attempts sent, hedges included.")
	i.retries = counter(nameRetries, "{retry}", "Waits before another attempt, by the class of the attempt retried.")
	i.giveUps = counter(nameGiveUps, "{call}", "Calls that stopped retrying a retryable outcome before their attempts ran out.")
	i.fastFails = counter(nameFastFails, "{call}", "Calls an open circuit refused before any attempt.")
	i.concRefusals = counter(nameConcRefusals, "{call}", "Calls the concurrency limit refused before any attempt.")
	i.budgetExhausted = counter(nameBudgetExhausted, "{call}", "Calls that stopped retrying because the origin's retry budget was spent.")
	i.hedges = counter(nameHedges, "{hedge}", "Hedged attempts sent.")
	i.hedgeWins = counter(nameHedgeWins, "{hedge}", "Calls whose outcome came from a hedge.")
	i.transitions = counter(nameTransitions, "{transition}", "Circuit breaker state changes.")
	i.breakerState, err = m.Int64ObservableUpDownCounter(nameBreakerState, metric.WithUnit("{breaker}"),
		metric.WithDescription("Circuit breakers in each state: 1 for an origin's current state and 0 for the other two; the _OTHER series sums the origins past the bound."))
	check(err)
	i.untilHalfOpen, err = m.Float64ObservableGauge(nameUntilHalfOpen, metric.WithUnit("s"),
		metric.WithDescription("Time until an open circuit half-opens, for open circuits only; the _OTHER series has the longest."))
	check(err)
	// Up-down counters, as breaker.state (and semconv's
	// http.client.active_requests and db.client.connection.max): summed
	// over origins they count the slots, the attempts in flight and the
	// attempts queued, as the _OTHER series does.
	upDown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		c, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		check(err)
		return c
	}
	i.concLimit = upDown(nameConcLimit, "{request}",
		"Concurrency limit of each origin: the attempts it may have in flight; the _OTHER series sums the origins past the bound.")
	i.concInFlight = upDown(nameConcInFlight, "{request}",
		"Attempts holding a concurrency slot, hedges included (a response's until its body is read or closed); the _OTHER series sums the origins past the bound.")
	i.concQueued = upDown(nameConcQueued, "{request}",
		"Attempts waiting in the queue for a concurrency slot; the _OTHER series sums the origins past the bound.")
	if len(errs) > 0 {
		return fmt.Errorf("otel: making the instruments: %w", errors.Join(errs...))
	}
	for _, inst := range []any{i.callDuration, i.calls, i.attempts, i.retries, i.giveUps, i.fastFails, i.budgetExhausted,
		i.hedges, i.hedgeWins, i.transitions, i.breakerState, i.untilHalfOpen,
		i.concRefusals, i.concLimit, i.concInFlight, i.concQueued} {
		if inst == nil || reflect.ValueOf(inst).Kind() == reflect.Pointer && reflect.ValueOf(inst).IsNil() {
			return errors.New("otel: the meter returned a nil instrument")
		}
	}
	if !i.noHTTP && i.reqDuration == nil {
		return errors.New("otel: the meter returned a nil instrument")
	}
	if _, err := m.RegisterCallback(i.observe, i.breakerState, i.untilHalfOpen, i.concLimit, i.concInFlight, i.concQueued); err != nil {
		return fmt.Errorf("otel: registering the breaker and concurrency callback: %w", err)
	}
	return nil
}

// Hooks returns the hooks that record a client's calls, attempts, retries,
// give-ups and breaker transitions; pass them to httpclient.WithHooks. To
// keep hooks of your own as well, combine them with Chain. They leave
// LimitChange nil: the concurrency limit is read at collection by Observe,
// which also sees the limits an operator sets, and a hook would only add
// work on the attempt's goroutine.
func (i *Instrumentation) Hooks() httpclient.Hooks { return i.hooks }
