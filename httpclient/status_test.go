package httpclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// R62: Budgets reports each origin's retry budget over its window: the
// calls, the retries spent, and what is left, as the budget decides it.
func TestBudgets_R62_PerOrigin(t *testing.T) {
	var n int
	c, err := New("http://up.example", WithTransport(RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		n++
		if n%2 == 1 {
			return answer(503), nil // every call's first attempt fails once
		}
		return answer(200), nil
	})), WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond}),
		WithRetryBudget(RetryBudget{Ratio: 0.5, Reserve: 3, Window: time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 4 {
		resp, err := c.Get(context.Background(), "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := c.Budgets()["http://up.example:80"]
	if want := (BudgetStatus{Calls: 4, Retries: 4, Available: 1}); got != want { // 0.5*4 + 3 - 4
		t.Fatalf("budget %+v, want %+v", got, want)
	}
	off, err := New("", WithRetryBudget(RetryBudget{Disabled: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if b := off.Budgets(); b != nil {
		t.Fatalf("a disabled budget reported %v", b)
	}
}

// R62: RecentGiveUps keeps the latest 64 give-ups, newest first, with the
// last attempt (its path without the query) and why the call stopped.
func TestRecentGiveUps_R62_BoundedNewestFirst(t *testing.T) {
	c, err := New("http://up.example", WithTransport(RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return answer(503), nil
	})), WithCircuitBreaker(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.RecentGiveUps(); len(got) != 0 {
		t.Fatalf("%d give-ups before any call", len(got))
	}
	for i := range 70 {
		resp, err := c.Post(context.Background(), fmt.Sprintf("/p%d?secret=s%d", i, i), Body(strings.NewReader("x"), ""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := c.RecentGiveUps()
	if len(got) != recentGiveUps {
		t.Fatalf("%d give-ups kept, want %d", len(got), recentGiveUps)
	}
	if got[0].Attempt.Path != "/p69" || got[63].Attempt.Path != "/p6" || got[0].Stop != StopNotIdempotent || got[0].Attempt.Method != http.MethodPost {
		t.Fatalf("newest %+v, oldest %+v", got[0], got[63])
	}
	js, _ := json.Marshal(got[0])
	if strings.Contains(string(js), "secret") || !strings.Contains(string(js), `"stop":"not_idempotent"`) || !strings.Contains(string(js), `"path":"/p69"`) {
		t.Fatalf("JSON %s", js)
	}
}
