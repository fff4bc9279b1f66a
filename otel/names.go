package otel

import "go.opentelemetry.io/otel/attribute"

// scope is the instrumentation scope of the meter and the tracer.
const scope = "github.com/tempestsdk/tempest/otel"

// The attributes of this package. Each key has one type wherever it is
// used, as semconv requires.
const (
	attrAttempt      = attribute.Key("tempest.attempt")       // int: Attempt.N, on attempt spans
	attrAttempts     = attribute.Key("tempest.attempts")      // int: attempts a call made, on call spans
	attrHedge        = attribute.Key("tempest.hedge")         // int: Attempt.Hedge, 0 for the attempt itself
	attrProbe        = attribute.Key("tempest.probe")         // bool: a half-open probe
	attrBreakerState = attribute.Key("tempest.breaker.state") // closed, half_open, open
	attrBreakerFrom  = attribute.Key("tempest.breaker.from")  // a transition's old state
	attrBreakerTo    = attribute.Key("tempest.breaker.to")    // a transition's new state
	attrBreakerCause = attribute.Key("tempest.breaker.cause") // a transition's cause
	attrRetryReason  = attribute.Key("tempest.retry.reason")  // the httpclient.Class of the attempt retried
	attrRetryAfter   = attribute.Key("tempest.retry.after")   // bool: the wait came from Retry-After
	attrRetryWait    = attribute.Key("tempest.retry.wait")    // float: the wait in seconds, on retry events
	attrStop         = attribute.Key("tempest.stop")          // the httpclient.Stop of a call
	attrRequestID    = attribute.Key("tempest.request_id")    // the call's request ID, on call spans
	attrMethodOrig   = attribute.Key("http.request.method_original")
)

// The instruments' names.
const (
	nameCallDuration    = "tempest.client.call.duration"
	nameCalls           = "tempest.client.calls"
	nameAttempts        = "tempest.client.attempts"
	nameRetries         = "tempest.client.retries"
	nameGiveUps         = "tempest.client.give_ups"
	nameFastFails       = "tempest.client.fast_fails"
	nameBudgetExhausted = "tempest.client.budget.exhausted"
	nameHedges          = "tempest.client.hedges"
	nameHedgeWins       = "tempest.client.hedge.wins"
	nameBreakerState    = "tempest.client.breaker.state"
	nameUntilHalfOpen   = "tempest.client.breaker.until_half_open"
	nameTransitions     = "tempest.client.breaker.transitions"
	nameConcLimit       = "tempest.client.concurrency.limit"
	nameConcInFlight    = "tempest.client.concurrency.in_flight"
	nameConcQueued      = "tempest.client.concurrency.queued"
	nameConcRefusals    = "tempest.client.concurrency.refusals"
)

// durationBounds are semconv's bucket boundaries for
// http.client.request.duration, used for the call duration too.
var durationBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
