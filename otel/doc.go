// Package otel records what an httpclient.Client does as OpenTelemetry
// metrics and spans, through the client's hooks: one span per call and one
// per attempt, the HTTP semantic conventions' client metric per attempt,
// and tempest.* metrics for what only the retry loop knows (retries,
// give-ups, hedges, fast failures, the breakers, the concurrency limit).
//
// It is a module of its own (github.com/tempestsdk/tempest/otel), so that
// the core module keeps no dependency. It uses the OpenTelemetry API only:
// the application brings the SDK and its exporters.
//
// # Turning it on
//
//	inst, err := otel.New() // the global providers and propagator
//	...
//	client, err := httpclient.New(base, httpclient.WithHooks(inst.Hooks()))
//	...
//	stop, err := inst.Observe(client) // the breaker and concurrency series
//	defer stop()
//
// A client with hooks of its own combines them with [Chain]:
// httpclient.WithHooks(otel.Chain(inst.Hooks(), mine)).
//
// # Spans
//
// In the manner of gRPC's OpenTelemetry retry design (gRFC A72), a call
// (one request of a redirect chain, through the retry loop) is an INTERNAL
// span named after the method ("GET"; "HTTP" for a method semconv does
// not know). Each attempt, hedges included, is a CLIENT span under it, the
// physical request of the HTTP semantic conventions, with the same name.
// The propagator writes the attempt span's context into that attempt's
// request (traceparent), so the upstream's span is a child of the attempt
// that reached it, and each attempt names a span of its own.
//
// An attempt span carries what semconv requires of an HTTP client span:
// http.request.method (and http.request.method_original for "_OTHER"),
// server.address, server.port and url.full (the escaped path and no query:
// the client never gives hooks the query); and tempest.attempt (1 for the
// first), tempest.hedge (k for a k-th hedge; absent on the attempt
// itself), tempest.probe (true on a half-open probe; absent otherwise),
// tempest.breaker.state at admission (closed or half_open; absent with the
// breaker disabled), http.request.resend_count from the second attempt on,
// tempest.retry.reason (why the attempt before was retried) and, at its
// end, http.response.status_code and error.type. The call span carries
// http.request.method, url.full and tempest.request_id (the request ID of
// its context), and at its end http.response.status_code, error.type,
// tempest.stop (why the retry loop ended, an httpclient.Stop) and
// tempest.attempts; a "retry" event marks each wait (tempest.attempt of the
// attempt retried, tempest.retry.wait in seconds, tempest.retry.reason,
// tempest.retry.after). Attributes are few on purpose: a span's cost grows
// with them.
//
// Status Error goes, as semconv has it for clients, on a span whose
// outcome is a failure or a 4xx or 5xx response, except an attempt of
// class "canceled", which keeps its error.type but not the Error status:
// its caller gave up, the upstream did not fail. A call an open circuit refused has its call span only,
// with Error, error.type and tempest.stop "circuit_open"; so has a call the
// concurrency limit refused, with "concurrency_limited". No span records
// an error's text: a transport's errors may quote the URL, query and all.
//
// # Metrics
//
// Durations are in seconds, with semconv's bucket boundaries. Every
// metric carries server.address, server.port and url.scheme, and all but
// the breaker ones and the observed concurrency ones http.request.method;
// none carries a path or query.
//
//	http.client.request.duration (histogram, s): each attempt
//	    http.response.status_code, error.type, http.request.resend_count (semconv)
//	tempest.client.call.duration (histogram, s): each call
//	    http.response.status_code, error.type, tempest.stop
//	tempest.client.calls (counter, {call}): as call.duration
//	tempest.client.attempts (counter, {attempt}): attempts sent, hedges included
//	    tempest.hedge
//	tempest.client.retries (counter, {retry}): waits before another attempt
//	    tempest.retry.reason, tempest.retry.after
//	tempest.client.give_ups (counter, {call}): Hooks.GiveUp
//	    tempest.stop
//	tempest.client.fast_fails (counter, {call}): calls an open circuit refused, no attempt made
//	tempest.client.concurrency.refusals (counter, {call}): calls the concurrency limit refused, no attempt made
//	tempest.client.budget.exhausted (counter, {call}): give-ups for a spent retry budget
//	tempest.client.hedges (counter, {hedge}): hedges sent
//	tempest.client.hedge.wins (counter, {hedge}): calls whose outcome came from a hedge
//	tempest.client.breaker.transitions (counter, {transition}): Hooks.StateChange
//	    tempest.breaker.from, tempest.breaker.to, tempest.breaker.cause (no method)
//	tempest.client.breaker.state (observable up-down counter, {breaker}): Observe
//	    tempest.breaker.state; per origin 1 for its state, 0 for the other two
//	tempest.client.breaker.until_half_open (observable gauge, s): Observe, open circuits only
//	tempest.client.concurrency.limit (observable up-down counter, {request}): Observe
//	    per origin its concurrency limit (no method); only with httpclient.WithConcurrencyLimit
//	tempest.client.concurrency.in_flight (observable up-down counter, {request}): Observe
//	    attempts holding a slot (a response's until its body is read or closed)
//	tempest.client.concurrency.queued (observable up-down counter, {request}): Observe
//	    attempts waiting for a slot
//
// error.type is the status code for a 4xx or 5xx response (semconv), the
// httpclient.Class of a failure ("timeout", "reset", "circuit_open"...),
// and absent for a success. tempest.retry.reason is the Class of the
// attempt retried ("status" for a retried 429 or 5xx). The enumerated
// values are snake_case, as httpclient's Class and Stop are: the breaker's
// half-open state is "half_open", its causes "probe_success" and so on.
//
// The breaker series are up-down counters rather than gauges because they
// add up: summed over origins they count the circuits in each state. So
// are the concurrency series (as semconv's http.client.active_requests and
// db.client.connection.max are): summed over origins they count the slots,
// the attempts in flight and those queued, and an _OTHER series is the sum
// of its origins. until_half_open does not add up (the _OTHER series has
// the longest), so it is a gauge. The observed series are read at
// collection time from the clients given to [Instrumentation.Observe],
// with Client.Breakers and Client.ConcurrencyLimits, which are pure reads;
// a client without a concurrency limit has no concurrency series. The
// hooks leave Hooks.LimitChange alone: the limit series show each change
// at the next collection, an operator's (Client.SetConcurrencyLimit, which
// the hook does not hear) included.
//
// A call the concurrency limit refused before its first attempt is counted
// in concurrency.refusals, never in fast_fails, which counts the open
// circuit's refusals only; a retry it refused ends the call with its last
// outcome, and counts in give_ups with tempest.stop "concurrency_limited",
// as every other early stop does.
//
// # Bounded series
//
// Metrics name no more origins than [WithMaxOrigins] allows (100 by
// default): the first n origins seen keep their own series for as long as
// the Instrumentation lives, and every other one is server.address
// "_OTHER" with no server.port. So each metric has at most n+1 series for
// every combination of its other attributes, whatever the client's own
// origin registry forgets and meets again. The attribute sets in use are
// built once and reused, so recording a measurement allocates nothing.
//
// # Prometheus
//
// To serve the metrics on /metrics, give New a MeterProvider whose reader
// is OpenTelemetry's Prometheus exporter
// (go.opentelemetry.io/otel/exporters/prometheus), and serve its registry
// with promhttp (see Example_prometheus). One instrumentation then feeds
// both OTLP and Prometheus users, with no second set of collectors to keep
// in step; the exporter writes the names Prometheus expects, the unit as a
// suffix and _total on counters: http_client_request_duration_seconds,
// tempest_client_calls_total, tempest_client_retries_total,
// tempest_client_breaker_state, tempest_client_breaker_until_half_open_seconds,
// tempest_client_concurrency_limit, tempest_client_concurrency_in_flight,
// tempest_client_concurrency_queued, tempest_client_concurrency_refusals_total
// and so on (an annotation unit such as {request} adds no suffix).
// prometheus.WithoutScopeInfo drops the otel_scope_* labels.
//
// # Beside otelhttp
//
// This package alone is the recommended setup: it knows attempts,
// hedges, probes, retries and give-ups, which a transport cannot tell
// apart. otelhttp's Transport, given to httpclient.WithTransport, sees
// each physical request instead, with its httptrace detail (DNS,
// connection, TLS events). It records http.client.request.duration and a
// CLIENT span per request too, so with both, give New [WithoutHTTPMetrics]
// and [WithoutAttemptSpans]: the duration is then recorded once per attempt
// (by otelhttp), and otelhttp's span is the attempt span, a child of the
// call span, since every attempt's context derives from the call's; the
// call span gets an "attempt" event per attempt in their place. otelhttp's
// Transport does not pass CloseIdleConnections on: keep the transport under
// it and close that one's idle connections yourself.
//
// For metrics alone, give New trace/noop's TracerProvider: no span work is
// done, and the hooks of a call allocate one small object.
//
// # Hooks
//
// The hooks never panic and hold no lock of theirs while they call the
// OpenTelemetry API; attempts of a hedge race run them concurrently.
package otel
