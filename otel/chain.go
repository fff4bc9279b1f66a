package otel

import (
	"context"
	"net/http"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
)

// Chain returns hooks that run each of hooks in turn, for a client that
// needs an Instrumentation's hooks beside its own. A nil field of one of
// them is skipped. CallStart and AttemptStart pass the context each hook
// returns to the next (a nil one leaves it as it was) and return the last.
//
// Each hook runs under its own recover, so that one that panics neither
// stops the others nor, in CallStart and AttemptStart, throws away the
// contexts they returned. When a hook of an event that returns nothing
// panicked, the chain panics again with the first value once all have
// run, so that the client recovers and logs it; in CallStart and
// AttemptStart the panic is dropped and that hook's context counts as
// nil, since a panic there would make the client drop the chain's context,
// and the call's span with it.
func Chain(hooks ...httpclient.Hooks) httpclient.Hooks {
	var out httpclient.Hooks
	var (
		callStarts    []func(context.Context, *http.Request, httpclient.Call) context.Context
		callDones     []func(context.Context, httpclient.Call, httpclient.CallResult)
		attemptStarts []func(context.Context, *http.Request, httpclient.Attempt) context.Context
		attemptDones  []func(context.Context, httpclient.Attempt, httpclient.AttemptResult)
		retries       []func(context.Context, httpclient.RetryEvent)
		giveUps       []func(context.Context, httpclient.Attempt, httpclient.Stop)
		stateChanges  []func(string, breaker.Change)
		limitChanges  []func(string, int, int)
	)
	for _, h := range hooks {
		if h.CallStart != nil {
			callStarts = append(callStarts, h.CallStart)
		}
		if h.CallDone != nil {
			callDones = append(callDones, h.CallDone)
		}
		if h.AttemptStart != nil {
			attemptStarts = append(attemptStarts, h.AttemptStart)
		}
		if h.AttemptDone != nil {
			attemptDones = append(attemptDones, h.AttemptDone)
		}
		if h.Retry != nil {
			retries = append(retries, h.Retry)
		}
		if h.GiveUp != nil {
			giveUps = append(giveUps, h.GiveUp)
		}
		if h.StateChange != nil {
			stateChanges = append(stateChanges, h.StateChange)
		}
		if h.LimitChange != nil {
			limitChanges = append(limitChanges, h.LimitChange)
		}
	}
	if len(callStarts) > 0 {
		out.CallStart = func(ctx context.Context, req *http.Request, c httpclient.Call) context.Context {
			for _, f := range callStarts {
				ctx = withContext(ctx, func(ctx context.Context) context.Context { return f(ctx, req, c) })
			}
			return ctx
		}
	}
	if len(attemptStarts) > 0 {
		out.AttemptStart = func(ctx context.Context, req *http.Request, a httpclient.Attempt) context.Context {
			for _, f := range attemptStarts {
				ctx = withContext(ctx, func(ctx context.Context) context.Context { return f(ctx, req, a) })
			}
			return ctx
		}
	}
	if len(callDones) > 0 {
		out.CallDone = func(ctx context.Context, c httpclient.Call, r httpclient.CallResult) {
			var p panics
			for _, f := range callDones {
				p.run(func() { f(ctx, c, r) })
			}
			p.rethrow()
		}
	}
	if len(attemptDones) > 0 {
		out.AttemptDone = func(ctx context.Context, a httpclient.Attempt, r httpclient.AttemptResult) {
			var p panics
			for _, f := range attemptDones {
				p.run(func() { f(ctx, a, r) })
			}
			p.rethrow()
		}
	}
	if len(retries) > 0 {
		out.Retry = func(ctx context.Context, e httpclient.RetryEvent) {
			var p panics
			for _, f := range retries {
				p.run(func() { f(ctx, e) })
			}
			p.rethrow()
		}
	}
	if len(giveUps) > 0 {
		out.GiveUp = func(ctx context.Context, a httpclient.Attempt, why httpclient.Stop) {
			var p panics
			for _, f := range giveUps {
				p.run(func() { f(ctx, a, why) })
			}
			p.rethrow()
		}
	}
	if len(stateChanges) > 0 {
		out.StateChange = func(origin string, ch breaker.Change) {
			var p panics
			for _, f := range stateChanges {
				p.run(func() { f(origin, ch) })
			}
			p.rethrow()
		}
	}
	if len(limitChanges) > 0 {
		out.LimitChange = func(origin string, from, to int) {
			var p panics
			for _, f := range limitChanges {
				p.run(func() { f(origin, from, to) })
			}
			p.rethrow()
		}
	}
	return out
}

// withContext runs a context hook; a nil result or a panic leaves ctx.
func withContext(ctx context.Context, f func(context.Context) context.Context) (out context.Context) {
	out = ctx
	defer func() { _ = recover() }()
	if nc := f(ctx); nc != nil {
		out = nc
	}
	return out
}

// panics keeps the first panic of a chain's hooks.
type panics struct {
	v   any
	got bool
}

func (p *panics) run(f func()) {
	defer func() {
		if v := recover(); v != nil && !p.got {
			p.v, p.got = v, true
		}
	}()
	f()
}

func (p *panics) rethrow() {
	if p.got {
		panic(p.v)
	}
}
