package otel

import (
	"context"
	"net/http"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/requestid"
)

// callKey and attemptKey find an Instrumentation's own states in a
// context; another Instrumentation's are other keys.
type (
	callKey    struct{ i *Instrumentation }
	attemptKey struct{ i *Instrumentation }
)

// callState is the context CallStart returns: the call's context with its
// span, answering callKey with itself, so that one allocation carries
// both. The hooks of the call's attempts and retries find it there.
type callState struct {
	context.Context
	key    callKey
	span   trace.Span // nil when the Instrumentation makes no spans
	origin *origin
	method string               // http.request.method
	common []attribute.KeyValue // the request's span attributes, shared by the call's spans

	mu     sync.Mutex
	reason httpclient.Class // the class of the last attempt retried; "" before the first retry
}

func (s *callState) Value(key any) any {
	if k, ok := key.(callKey); ok && k == s.key {
		return s
	}
	return s.Context.Value(key)
}

// recording reports whether the call's span takes attributes and events.
func (s *callState) recording() bool { return s != nil && s.span != nil && s.span.IsRecording() }

// attemptState is the context AttemptStart returns, carrying the
// attempt's span to AttemptDone.
type attemptState struct {
	context.Context
	key  attemptKey
	span trace.Span
}

func (s *attemptState) Value(key any) any {
	if k, ok := key.(attemptKey); ok && k == s.key {
		return s
	}
	return s.Context.Value(key)
}

// call returns the call's state from a hook's context; nil when CallStart
// did not run or its context was dropped.
func (i *Instrumentation) call(ctx context.Context) *callState {
	s, _ := ctx.Value(callKey{i}).(*callState)
	return s
}

// series returns the origin series and method of a call, from its state
// when there is one.
func (i *Instrumentation) series(s *callState, origin, m string) (*origin, string) {
	if s != nil {
		return s.origin, s.method
	}
	return i.origins.lookup(origin), method(m)
}

// The span kinds, as options made once.
var (
	internalSpan = trace.WithSpanKind(trace.SpanKindInternal)
	clientSpan   = trace.WithSpanKind(trace.SpanKindClient)
)

// spanName is semconv's HTTP span name with no url.template: the method,
// or "HTTP" for a method it does not know.
func spanName(m string) string {
	if m == other {
		return "HTTP"
	}
	return m
}

// attemptAttrs returns the attributes every attempt span of a request to
// origin o starts with, as semconv requires them of an HTTP client span:
// http.request.method (and the original, for _OTHER), server.address,
// server.port and url.full (the path, with no query or userinfo, which the
// client never passes to hooks). Spans name the real origin, also one past
// the bound, whose series o is an _OTHER.
func attemptAttrs(o *origin, m, rawMethod, originName, path string) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 9)
	kv = append(kv, semconv.HTTPRequestMethodKey.String(m))
	if m == other {
		kv = append(kv, attrMethodOrig.String(rawMethod))
	}
	if o.urlBase != "" {
		return append(kv, semconv.ServerAddress(o.address), semconv.ServerPort(o.port), semconv.URLFull(o.urlBase+path))
	}
	if scheme, host, port, ok := splitOrigin(originName); ok {
		kv = append(kv, semconv.ServerAddress(host), semconv.ServerPort(port), semconv.URLFull(urlBase(scheme, host, port)+path))
	}
	return kv
}

// callAttrs returns what a call span starts with: the method and url.full,
// which names the origin too (the attempt spans carry the rest), and the
// request ID. Few, because a span's cost grows with its attributes.
func callAttrs(attempt []attribute.KeyValue, ctx context.Context) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 4)
	for _, a := range attempt {
		switch a.Key {
		case semconv.HTTPRequestMethodKey, attrMethodOrig, semconv.URLFullKey:
			kv = append(kv, a)
		}
	}
	if id, ok := requestid.FromContext(ctx); ok {
		kv = append(kv, attrRequestID.String(id))
	}
	return kv
}

func (i *Instrumentation) callStart(ctx context.Context, _ *http.Request, c httpclient.Call) context.Context {
	s := &callState{Context: ctx, key: callKey{i}, origin: i.origins.lookup(c.Origin), method: method(c.Method)}
	if !i.spans {
		return s
	}
	s.common = attemptAttrs(s.origin, s.method, c.Method, c.Origin, c.Path)
	s.Context, s.span = i.tracer.Start(ctx, spanName(s.method), internalSpan, trace.WithAttributes(callAttrs(s.common, ctx)...))
	if s.Context == nil { // a tracer that breaks its contract
		s.Context = ctx
	}
	return s
}

func (i *Instrumentation) callDone(ctx context.Context, c httpclient.Call, r httpclient.CallResult) {
	s := i.call(ctx)
	if s != nil && s.span != nil {
		// Ended whatever the meter does: a panicking instrument must not
		// leave the span open.
		defer s.span.End()
	}
	o, m := i.series(s, c.Origin, c.Method)
	var class string
	if r.Err != nil {
		class = string(httpclient.ClassOf(r.Err))
	}
	et := errorType(r.Status, class)
	ms := o.measure(i.origins, setKey{kind: kindCall, method: m, status: metricStatus(r.Status), errType: et, stop: string(r.Stop)})
	i.calls.Add(ctx, 1, ms.add...)
	i.callDuration.Record(ctx, r.Duration.Seconds(), ms.rec...)
	if r.Attempts == 0 {
		// Refused before any attempt: by the open circuit (a fast
		// failure) or by the concurrency limit (R75), never both. A
		// retry refused is a give-up, counted by GiveUp with its Stop.
		switch r.Stop {
		case httpclient.StopCircuitOpen:
			i.fastFails.Add(ctx, 1, o.measure(i.origins, setKey{kind: kindMethod, method: m}).add...)
		case httpclient.StopConcurrencyLimited:
			i.concRefusals.Add(ctx, 1, o.measure(i.origins, setKey{kind: kindMethod, method: m}).add...)
		}
	}
	if r.Last.Hedge > 0 {
		i.hedgeWins.Add(ctx, 1, o.measure(i.origins, setKey{kind: kindMethod, method: m}).add...)
	}
	if s == nil || s.span == nil {
		return
	}
	if s.span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 4)
		if r.Status != 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(r.Status))
		}
		if et != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(et))
			s.span.SetStatus(codes.Error, class)
		}
		attrs = append(attrs, attrStop.String(string(r.Stop)), attrAttempts.Int(r.Attempts))
		s.span.SetAttributes(attrs...)
	}
}

func (i *Instrumentation) attemptStart(ctx context.Context, req *http.Request, a httpclient.Attempt) context.Context {
	s := i.call(ctx)
	o, m := i.series(s, a.Origin, a.Method)
	i.attempts.Add(ctx, 1, o.measure(i.origins, setKey{kind: kindAttemptStart, method: m, n: a.Hedge}).add...)
	if a.Hedge > 0 {
		i.hedges.Add(ctx, 1, o.measure(i.origins, setKey{kind: kindMethod, method: m}).add...)
	}
	if i.noAttempts || !i.spans {
		i.inject(ctx, req)
		return nil
	}
	var common []attribute.KeyValue
	var reason httpclient.Class
	if s != nil {
		common = s.common
		if a.N > 1 {
			s.mu.Lock()
			reason = s.reason
			s.mu.Unlock()
		}
	} else {
		common = attemptAttrs(o, m, a.Method, a.Origin, a.Path)
	}
	attrs := appendAttempt(append(make([]attribute.KeyValue, 0, len(common)+6), common...), a)
	if reason != "" {
		attrs = append(attrs, attrRetryReason.String(string(reason)))
	}
	actx, span := i.tracer.Start(ctx, spanName(m), clientSpan, trace.WithAttributes(attrs...))
	if actx == nil || span == nil { // a tracer that breaks its contract
		i.inject(ctx, req)
		return nil
	}
	defer func() {
		// A propagator that panics loses this context (the client drops
		// a panicking hook's), and with it the span: end it here.
		if v := recover(); v != nil {
			span.End()
			panic(v)
		}
	}()
	i.inject(actx, req)
	return &attemptState{Context: actx, key: attemptKey{i}, span: span}
}

// appendAttempt appends what an attempt span or event says of the
// attempt itself.
func appendAttempt(kv []attribute.KeyValue, a httpclient.Attempt) []attribute.KeyValue {
	kv = append(kv, attrAttempt.Int(a.N))
	if a.Hedge > 0 {
		kv = append(kv, attrHedge.Int(a.Hedge))
	}
	if a.Probe {
		kv = append(kv, attrProbe.Bool(true))
	}
	if a.Generation != 0 { // 0: the breaker is disabled
		kv = append(kv, attrBreakerState.String(stateName(a.Breaker)))
	}
	if a.N > 1 {
		kv = append(kv, semconv.HTTPRequestResendCount(a.N-1))
	}
	return kv
}

// inject writes the span context of ctx into the attempt's headers with
// the propagator. req is the attempt's own copy (Hooks.AttemptStart).
func (i *Instrumentation) inject(ctx context.Context, req *http.Request) {
	if req == nil {
		return
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	i.prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
}

func (i *Instrumentation) attemptDone(ctx context.Context, a httpclient.Attempt, r httpclient.AttemptResult) {
	s := i.call(ctx)
	as, _ := ctx.Value(attemptKey{i}).(*attemptState)
	if as != nil {
		defer as.span.End() // whatever the meter does
	}
	o, m := i.series(s, a.Origin, a.Method)
	et := errorType(r.Status, string(r.Class))
	if i.reqDuration != nil {
		i.reqDuration.Record(ctx, r.Duration.Seconds(), o.measure(i.origins,
			setKey{kind: kindAttempt, method: m, status: metricStatus(r.Status), errType: et, n: max(a.N-1, 0)}).rec...)
	}
	switch {
	case as != nil:
		if as.span.IsRecording() {
			as.span.SetAttributes(appendResult(make([]attribute.KeyValue, 0, 2), r.Status, et)...)
			if et != "" && r.Class != httpclient.ClassCanceled {
				as.span.SetStatus(codes.Error, string(r.Class))
			}
		}
	case i.noAttempts && s.recording():
		s.span.AddEvent("attempt", trace.WithAttributes(appendResult(appendAttempt(make([]attribute.KeyValue, 0, 7), a), r.Status, et)...))
	}
}

// appendResult appends the status code and error.type of an outcome, as
// present.
func appendResult(kv []attribute.KeyValue, status int, et string) []attribute.KeyValue {
	if status != 0 {
		kv = append(kv, semconv.HTTPResponseStatusCode(status))
	}
	if et != "" {
		kv = append(kv, semconv.ErrorTypeKey.String(et))
	}
	return kv
}

func (i *Instrumentation) retry(ctx context.Context, e httpclient.RetryEvent) {
	s := i.call(ctx)
	o, m := i.series(s, e.Attempt.Origin, e.Attempt.Method)
	i.retries.Add(ctx, 1, o.measure(i.origins,
		setKey{kind: kindRetry, method: m, reason: string(e.Result.Class), flag: e.RetryAfter}).add...)
	if s == nil {
		return
	}
	s.mu.Lock()
	s.reason = e.Result.Class
	s.mu.Unlock()
	if s.recording() {
		attrs := []attribute.KeyValue{attrAttempt.Int(e.Attempt.N), attrRetryWait.Float64(e.Wait.Seconds()), attrRetryAfter.Bool(e.RetryAfter)}
		if e.Result.Class != "" {
			attrs = append(attrs, attrRetryReason.String(string(e.Result.Class)))
		}
		s.span.AddEvent("retry", trace.WithAttributes(attrs...))
	}
}

func (i *Instrumentation) giveUp(ctx context.Context, a httpclient.Attempt, why httpclient.Stop) {
	s := i.call(ctx)
	o, m := i.series(s, a.Origin, a.Method)
	i.giveUps.Add(ctx, 1, o.measure(i.origins, setKey{kind: kindGiveUp, method: m, stop: string(why)}).add...)
	if why == httpclient.StopBudget {
		i.budgetExhausted.Add(ctx, 1, o.measure(i.origins, setKey{kind: kindMethod, method: m}).add...)
	}
	if s.recording() {
		s.span.SetAttributes(attrStop.String(string(why)))
	}
}

func (i *Instrumentation) stateChange(origin string, ch breaker.Change) {
	o := i.origins.lookup(origin)
	i.transitions.Add(context.Background(), 1, o.measure(i.origins,
		setKey{kind: kindTransition, from: ch.From, to: ch.To, cause: ch.Cause}).add...)
}
