package httpclient

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/httpclienttest"
)

// callRec records CallStart and CallDone, and checks that the attempts' and
// the other hooks' contexts derive from the one CallStart returned.
type callRec struct {
	mu      sync.Mutex
	starts  []Call
	dones   []Call
	results []CallResult
	orphans []string // hooks whose ctx did not carry the call's value
}

type callKey struct{}

func (r *callRec) hooks() Hooks {
	check := func(ctx context.Context, what string) {
		if ctx.Value(callKey{}) == nil {
			r.mu.Lock()
			r.orphans = append(r.orphans, what)
			r.mu.Unlock()
		}
	}
	return Hooks{
		CallStart: func(ctx context.Context, req *http.Request, c Call) context.Context {
			r.mu.Lock()
			r.starts = append(r.starts, c)
			r.mu.Unlock()
			return context.WithValue(ctx, callKey{}, c.Path)
		},
		CallDone: func(ctx context.Context, c Call, res CallResult) {
			check(ctx, "CallDone")
			r.mu.Lock()
			r.dones = append(r.dones, c)
			r.results = append(r.results, res)
			r.mu.Unlock()
		},
		AttemptStart: func(ctx context.Context, _ *http.Request, _ Attempt) context.Context {
			check(ctx, "AttemptStart")
			return nil
		},
		AttemptDone: func(ctx context.Context, _ Attempt, _ AttemptResult) { check(ctx, "AttemptDone") },
		Retry:       func(ctx context.Context, _ RetryEvent) { check(ctx, "Retry") },
		GiveUp:      func(ctx context.Context, _ Attempt, _ Stop) { check(ctx, "GiveUp") },
	}
}

func (r *callRec) only(t *testing.T) (Call, CallResult) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.starts) != 1 || len(r.dones) != 1 || r.starts[0] != r.dones[0] {
		t.Fatalf("CallStart %+v, CallDone %+v: want one of each, for the same call", r.starts, r.dones)
	}
	if len(r.orphans) > 0 {
		t.Errorf("hooks %v ran without the context CallStart returned", r.orphans)
	}
	return r.dones[0], r.results[0]
}

// R64: two failures then a success: one call around three attempts, whose
// result says so; the attempts and the retries ran under the call's context.
func TestCallHooks_R64_RetriedThenSettled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec callRec
		_, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.Status(503), httpclienttest.OK("ok")},
			WithHooks(rec.hooks()))
		start := time.Now()
		resp, err := c.Get(context.Background(), "/a/b?secret=1")
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		resp.Body.Close()
		call, res := rec.only(t)
		if !strings.HasPrefix(call.Origin, "http://") || call.Method != "GET" || call.Path != "/a/b" || call.Max != 3 {
			t.Errorf("call %+v", call)
		}
		if res.Status != 200 || res.Err != nil || res.Attempts != 3 || res.Stop != StopSettled || res.Last.N != 3 || res.Last.Hedge != 0 {
			t.Errorf("result %+v", res)
		}
		if res.Duration != took || took == 0 {
			t.Errorf("duration %v, the call took %v", res.Duration, took)
		}
	})
}

// R64: a call the open circuit refuses still gets both hooks, with its
// error and no attempt.
func TestCallHooks_R64_OpenCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec callRec
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.Status(200)}, WithCircuitBreaker(1, time.Minute), WithHooks(rec.hooks()))
		origin := srv.URL
		if err := c.Isolate(origin, time.Minute); err != nil {
			t.Fatal(err)
		}
		_, err := c.Get(context.Background(), "/")
		var coe *CircuitOpenError
		if !errors.As(err, &coe) {
			t.Fatalf("err %v, want a *CircuitOpenError", err)
		}
		call, res := rec.only(t)
		if call.Path != "/" || call.Method != "GET" || call.Origin != origin+":80" && call.Origin != origin {
			t.Errorf("call %+v", call)
		}
		if !errors.As(res.Err, &coe) || res.Attempts != 0 || res.Stop != StopCircuitOpen || res.Last != (Attempt{}) || res.Status != 0 {
			t.Errorf("result %+v", res)
		}
	})
}

// R64: through Do, the loop itself refuses the call: the same result.
func TestCallHooks_R64_OpenCircuitThroughDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec callRec
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.Status(200)}, WithCircuitBreaker(1, time.Minute), WithHooks(rec.hooks()))
		if err := c.Isolate(srv.URL, time.Minute); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
		_, err := c.Do(req)
		var coe *CircuitOpenError
		if !errors.As(err, &coe) {
			t.Fatalf("err %v, want a *CircuitOpenError", err)
		}
		call, res := rec.only(t)
		if call.Path != "/x" || call.Max != 3 || res.Attempts != 0 || res.Stop != StopCircuitOpen || !errors.As(res.Err, &coe) {
			t.Errorf("call %+v result %+v", call, res)
		}
	})
}

// R64: the winner of a hedged race is the call's Last.
func TestCallHooks_R64_HedgeWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec callRec
		_, c := memUpstream(t, httpclienttest.Sequence{{Delay: time.Hour, Body: []byte("slow")}, httpclienttest.OK("fast")},
			WithHedging(HedgePolicy{Delay: 100 * time.Millisecond}), WithHooks(rec.hooks()))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		synctest.Wait()
		_, res := rec.only(t)
		if res.Attempts != 1 || res.Last.N != 1 || res.Last.Hedge != 1 || res.Duration != 100*time.Millisecond {
			t.Errorf("result %+v", res)
		}
	})
}

// R64: a POST is not retried: one attempt, Stop settled; an invalid request
// never enters the loop, so no hook sees it.
func TestCallHooks_R64_PostAndInvalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec callRec
		_, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.Status(503)}, WithHooks(rec.hooks()))
		resp, err := c.Post(context.Background(), "/orders", JSON(map[string]int{"n": 1}))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		call, res := rec.only(t)
		if call.Method != "POST" || res.Status != 503 || res.Attempts != 1 || res.Stop != StopNotIdempotent {
			t.Errorf("call %+v result %+v", call, res)
		}
		req, _ := http.NewRequest("GET", "http://example.test/", nil)
		req.Header["Bad"] = []string{"a\nb"}
		if _, err := c.Do(req); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("err %v", err)
		}
		rec.only(t) // still one call
	})
}

// R64: panicking call hooks, and a CallStart that returns nil, leave the
// call as if they were absent.
func TestCallHooks_R64_PanicsAndNil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var done int
		_, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("ok")},
			WithHooks(Hooks{
				CallStart: func(ctx context.Context, _ *http.Request, _ Call) context.Context { return nil },
				CallDone:  func(context.Context, Call, CallResult) { done++; panic("CallDone") },
			}))
		for range 2 {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			if readAll(t, resp) != "ok" {
				t.Fatal("wrong body")
			}
		}
		if done != 2 {
			t.Errorf("CallDone ran %d times", done)
		}
		_, c2 := memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, WithHooks(Hooks{
			CallStart: func(context.Context, *http.Request, Call) context.Context { panic("CallStart") },
		}))
		resp, err := c2.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
}

// R64: a call hook may call the client back (it runs under no lock).
func TestCallHooks_R64_HookCallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c *Client
		var seen int
		_, c = memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, WithCircuitBreaker(3, time.Minute), WithHooks(Hooks{
			CallStart: func(ctx context.Context, _ *http.Request, call Call) context.Context {
				_, _ = c.Breaker(call.Origin)
				_ = c.Budgets()
				return ctx
			},
			CallDone: func(_ context.Context, call Call, _ CallResult) {
				seen = len(c.Breakers())
				_ = c.RecentGiveUps()
			},
		}))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if seen != 1 {
			t.Errorf("CallDone saw %d breakers", seen)
		}
	})
}
