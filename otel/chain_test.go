package otel_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"

	"go.opentelemetry.io/otel/trace"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/otel"
)

type ctxKey string

// R66: Chain runs the hooks in order, passes each context hook's context
// to the next, skips nil fields, and leaves a field nil when no hook has
// it.
func TestChain_R66_OrderAndContexts(t *testing.T) {
	var order []string
	mark := func(name string) httpclient.Hooks {
		return httpclient.Hooks{
			CallStart: func(ctx context.Context, _ *http.Request, _ httpclient.Call) context.Context {
				order = append(order, name+":CallStart:"+seen(ctx))
				return context.WithValue(ctx, ctxKey(name), true)
			},
			AttemptStart: func(ctx context.Context, _ *http.Request, _ httpclient.Attempt) context.Context {
				order = append(order, name+":AttemptStart:"+seen(ctx))
				return nil // leaves ctx
			},
			GiveUp: func(context.Context, httpclient.Attempt, httpclient.Stop) { order = append(order, name+":GiveUp") },
		}
	}
	h := otel.Chain(mark("a"), httpclient.Hooks{}, mark("b"))
	if h.CallDone != nil || h.AttemptDone != nil || h.Retry != nil || h.StateChange != nil {
		t.Error("a hook no one set is not nil")
	}
	ctx := h.CallStart(context.Background(), nil, httpclient.Call{})
	ctx = h.AttemptStart(ctx, nil, httpclient.Attempt{})
	h.GiveUp(ctx, httpclient.Attempt{}, httpclient.StopBudget)
	want := []string{"a:CallStart:", "b:CallStart:a", "a:AttemptStart:ab", "b:AttemptStart:ab", "a:GiveUp", "b:GiveUp"}
	if !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
	if empty := otel.Chain(); empty.CallStart != nil || empty.AttemptDone != nil {
		t.Error("Chain() has hooks")
	}
}

func seen(ctx context.Context) string {
	s := ""
	for _, k := range []string{"a", "b"} {
		if ctx.Value(ctxKey(k)) != nil {
			s += k
		}
	}
	return s
}

// R66: a hook of the chain that panics does not stop the others: a
// context hook's panic is dropped (its context counts as nil), another
// hook's is raised again once all have run.
func TestChain_R66_Panics(t *testing.T) {
	var ran []string
	bad := httpclient.Hooks{
		CallStart:   func(context.Context, *http.Request, httpclient.Call) context.Context { panic("start") },
		AttemptDone: func(context.Context, httpclient.Attempt, httpclient.AttemptResult) { panic("done") },
		StateChange: func(string, breaker.Change) { panic("first") },
	}
	good := httpclient.Hooks{
		CallStart: func(ctx context.Context, _ *http.Request, _ httpclient.Call) context.Context {
			ran = append(ran, "CallStart")
			return context.WithValue(ctx, ctxKey("good"), true)
		},
		AttemptDone: func(context.Context, httpclient.Attempt, httpclient.AttemptResult) { ran = append(ran, "AttemptDone") },
		StateChange: func(string, breaker.Change) { panic("second") },
	}
	h := otel.Chain(bad, good)
	ctx := h.CallStart(context.Background(), nil, httpclient.Call{})
	if ctx.Value(ctxKey("good")) == nil {
		t.Error("the context of the hook after a panicking one was lost")
	}
	func() {
		defer func() {
			if v := recover(); v != "done" {
				t.Errorf("AttemptDone panicked with %v, want done", v)
			}
		}()
		h.AttemptDone(ctx, httpclient.Attempt{}, httpclient.AttemptResult{})
	}()
	func() {
		defer func() {
			if v := recover(); v != "first" {
				t.Errorf("StateChange panicked with %v, want the first panic", v)
			}
		}()
		h.StateChange("", breaker.Change{})
	}()
	if want := []string{"CallStart", "AttemptDone"}; !slices.Equal(ran, want) {
		t.Errorf("ran %v, want %v", ran, want)
	}
}

// R66: an Instrumentation's hooks chained after a user's hooks that panic
// still give each call its span tree.
func TestChain_R66_BesideUserHooksThatPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTelemetry(t)
		user := httpclient.Hooks{
			CallStart:    func(context.Context, *http.Request, httpclient.Call) context.Context { panic("user") },
			AttemptStart: func(context.Context, *http.Request, httpclient.Attempt) context.Context { panic("user") },
			AttemptDone:  func(context.Context, httpclient.Attempt, httpclient.AttemptResult) { panic("user") },
			CallDone:     func(context.Context, httpclient.Call, httpclient.CallResult) { panic("user") },
		}
		_, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("ok")}, otel.Chain(user, tl.inst(t).Hooks()))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		spans := tl.spans.Ended()
		if calls, attempts := spansOf(spans, trace.SpanKindInternal), spansOf(spans, trace.SpanKindClient); len(calls) != 1 || len(attempts) != 2 {
			t.Fatalf("%d call spans and %d attempt spans, want 1 and 2", len(calls), len(attempts))
		}
		ms := metrics(tl.collect(t))
		wantSum(t, ms, "tempest.client.calls", 1)
		wantSum(t, ms, reqDuration, 2)
	})
}
