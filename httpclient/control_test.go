package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// okTransport answers 200 for any host, so tests can call many origins.
var okTransport = RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
	return memTransport{200}.RoundTrip(r)
})

// R51: operator controls: isolate, reset and snapshots per origin.
func TestControl_R51_IsolateResetSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := New("http://api.example.com", WithTransport(okTransport))
		defer c.Close()
		if err := c.Isolate("http://API.example.com:80/ignored/path", time.Minute); err != nil {
			t.Fatal(err)
		}
		_, err := c.Get(context.Background(), "/x")
		var coe *CircuitOpenError
		if !errors.As(err, &coe) || !coe.Until.Equal(time.Now().Add(time.Minute)) {
			t.Fatalf("isolated origin: %v", err)
		}
		snap, err := c.Breaker("http://api.example.com")
		if err != nil || snap.State != breaker.Open || time.Until(snap.Until) != time.Minute {
			t.Errorf("snapshot %+v, %v", snap, err)
		}
		if err := c.ResetBreaker("http://api.example.com"); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Get(context.Background(), "/x")
		if err != nil {
			t.Fatalf("after reset: %v", err)
		}
		resp.Body.Close()
		all := c.Breakers()
		if len(all) != 1 || all["http://api.example.com:80"].State != breaker.Closed {
			t.Errorf("Breakers() = %+v", all)
		}
		for _, bad := range []string{"ftp://x", "not a url", "http://", "http://x:port"} {
			if err := c.Isolate(bad, time.Second); !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("Isolate(%q): %v", bad, err)
			}
		}
		if err := c.Isolate("http://x", 0); err == nil {
			t.Error("Isolate with 0 duration")
		}
		off, _ := New("", WithCircuitBreaker(0, 0))
		if err := off.Isolate("http://x", time.Second); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("disabled breaker: %v", err)
		}
	})
}

// R50, R58: the registry stays bounded; an open circuit is not forgotten.
func TestRegistry_R50_Bounded(t *testing.T) {
	c, _ := New("", WithTransport(okTransport), WithOriginLimit(4, time.Hour))
	defer c.Close()
	if err := c.Isolate("http://down.example", time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		resp, err := c.Get(context.Background(), fmt.Sprintf("http://host%d.example/", i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if n := len(c.reg.all()); n > 5 {
			t.Fatalf("after %d origins the registry holds %d", i+1, n)
		}
	}
	if s, err := c.Breaker("http://down.example"); err != nil || s.State != breaker.Open {
		t.Errorf("the open breaker was dropped: %+v %v", s, err)
	}
}

// R50: state unused for the idle expiry is dropped at the first new origin
// after it has been unused that long, and not before: its last use is known
// to 1/16 of the expiry, so it goes between idleExpiry and 1.125 ×
// idleExpiry after that use.
func TestRegistry_R50_IdleExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := New("", WithTransport(okTransport), WithOriginLimit(100, time.Minute))
		defer c.Close()
		get := func(u string) {
			resp, err := c.Get(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		has := func(origin string) bool {
			_, ok := c.Breakers()[origin]
			return ok
		}
		get("http://idle.example/")
		get("http://busy.example/")
		time.Sleep(time.Minute - time.Nanosecond)
		get("http://b.example/")
		get("http://busy.example/")
		if !has("http://idle.example:80") {
			t.Fatal("dropped before it was unused for the idle expiry")
		}
		time.Sleep(time.Minute/8 + time.Nanosecond)
		get("http://c.example/")
		if has("http://idle.example:80") {
			t.Error("idle origin kept past 1.125 × the idle expiry")
		}
		for _, o := range []string{"http://busy.example:80", "http://b.example:80", "http://c.example:80"} {
			if !has(o) {
				t.Errorf("%s was dropped: it was used within the idle expiry", o)
			}
		}
	})
}
