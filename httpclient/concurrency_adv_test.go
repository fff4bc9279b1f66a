package httpclient

// Adversarial review of the per-origin concurrency limit (R75): slot leaks
// on every path, deadlocks through hooks, queue bounds, registry busyness.
// The tests under "Defects" caught defects the review found, fixed since;
// all are regression tests now.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/ratelimit"
)

const acOrigin = "http://up.test:80"

// acResp is a 200 (or status) response with body b.
func acResp(r *http.Request, status int, b string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(b)),
		ContentLength: int64(len(b)), Request: r, ProtoMajor: 1, ProtoMinor: 1}
}

// acIdle fails unless origin's limiter holds no slot and queues nobody.
func acIdle(t *testing.T, c *Client, origin, what string) {
	t.Helper()
	s, ok := c.ConcurrencyLimits()[origin]
	if !ok {
		s, _ = c.ConcurrencyLimit(origin)
	}
	if s.InFlight != 0 || s.Queued != 0 {
		t.Errorf("%s: %s limiter %+v, want nothing in flight or queued", what, origin, s)
	}
}

func acInFlight(c *Client, origin string) int { return c.ConcurrencyLimits()[origin].InFlight }

// ---------------------------------------------------------------------------
// Defects (found by the review, fixed since)
// ---------------------------------------------------------------------------

// R75 says the slot is held "until the body is read to the end or closed,
// or the attempt's deadline passes". attempt() arms ReleaseAfter from the
// deadline of actx AFTER the AttemptStart hook replaced it: a hook that
// returns a context without the attempt's deadline (context.WithoutCancel,
// a tracing library that detaches, context.Background) leaves no bound at
// all, so a body the caller never closes holds its slot forever: with
// Fixed: 1 the origin is down for good. The attempt's deadline is the
// client's (its timeout, or the caller's deadline), not the hook's.
func TestAdvConc_R75_AttemptStartContextWithoutDeadlineLeaksSlot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		caller time.Duration // the caller's deadline; 0: none (the attempt timeout bounds it)
	}{{"attempt timeout", 0}, {"caller deadline first", 200 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sent atomic.Int32
				rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
					sent.Add(1)
					return acResp(r, 200, "ok"), nil
				})
				c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue}, WithTimeout(time.Second),
					WithHooks(Hooks{AttemptStart: func(ctx context.Context, _ *http.Request, _ Attempt) context.Context {
						return context.WithoutCancel(ctx) // a span context that outlives the attempt
					}}))
				ctx := context.Background()
				if tc.caller > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.caller)
					defer cancel()
				}
				resp, err := c.Get(ctx, "/")
				if err != nil {
					t.Fatal(err)
				}
				_ = resp // never closed: the caller's bug, bounded by the attempt's deadline (R75)
				time.Sleep(2 * time.Second)
				synctest.Wait()
				if n := acInFlight(c, acOrigin); n != 0 {
					t.Errorf("%d slot(s) still held 2s after an attempt whose deadline was at most 1s: "+
						"the AttemptStart context's (missing) deadline was used for ReleaseAfter", n)
				}
				resp2, err := c.Get(context.Background(), "/")
				if err != nil {
					t.Errorf("the origin refuses every call once the slot leaked: %v", err)
				} else {
					resp2.Body.Close()
				}
			})
		})
	}
}

// R75: "an attempt cut by its own timeout or the caller's deadline gives
// its elapsed time; other failures give none", and the layer never blames
// the upstream for local code. An AttemptStart hook that returns a context
// already cancelled (a tracer that cancels, a bug) fails the attempt at
// once without sending anything; attempt() takes actx.Err() != nil as the
// attempt's own timeout: an ErrAttemptTimeout, a breaker failure, and a
// latency sample for the adaptive limit (which here grows the limit).
func TestAdvConc_R75_HookCancelledAttemptIsNotATimeout(t *testing.T) {
	var changes atomic.Int32
	var sent atomic.Int32
	rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		if err := r.Context().Err(); err != nil {
			return nil, err // what net/http does with a cancelled request
		}
		return acResp(r, 200, "ok"), nil
	})
	c := concClient(t, rt, ConcurrencyLimit{Adaptive: concurrency.Adaptive{Window: 1, Min: 1}},
		WithCircuitBreaker(1, time.Minute), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
		WithHooks(Hooks{
			AttemptStart: func(ctx context.Context, _ *http.Request, _ Attempt) context.Context {
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				return cctx
			},
			LimitChange: func(string, int, int) { changes.Add(1) },
		}))
	if err := c.SetConcurrencyLimit("http://up.test", 1); err != nil {
		t.Fatal(err)
	}
	_, err := c.Get(context.Background(), "/")
	if err == nil {
		t.Fatal("no error from a cancelled attempt")
	}
	if errors.Is(err, ErrAttemptTimeout) {
		t.Errorf("a hook's cancellation reported as the attempt's timeout: %v", err)
	}
	if snap, _ := c.Breaker("http://up.test"); snap.State != breaker.Closed || snap.Failures != 0 {
		t.Errorf("breaker %+v: the hook's cancellation was blamed on the upstream", snap)
	}
	if n := changes.Load(); n != 0 {
		t.Errorf("the adaptive limit changed %d time(s) on a sample of an attempt no timeout cut", n)
	}
	acIdle(t, c, acOrigin, "hook-cancelled attempt")
}

// ---------------------------------------------------------------------------
// Slot leaks: regression tests of paths found correct
// ---------------------------------------------------------------------------

// R75: a redirect's first hop gives its slot back before the next hop
// asks for one (net/http closes the 3xx body first), on the same origin
// and across origins; at the end nothing is held.
func TestAdvConc_R75_RedirectReleasesFirstHop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			switch r.URL.Path {
			case "/a":
				resp := acResp(r, http.StatusFound, strings.Repeat("r", 10<<10)) // over net/http's 2 KiB slurp
				resp.Header.Set("Location", "/b")
				return resp, nil
			case "/x":
				resp := acResp(r, http.StatusTemporaryRedirect, "moved")
				resp.Header.Set("Location", "http://other.test/b")
				return resp, nil
			}
			return acResp(r, 200, "done"), nil
		})
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue}, WithTimeout(time.Second))
		for _, path := range []string{"/a", "/x"} {
			resp, err := c.Get(context.Background(), path)
			if err != nil {
				t.Fatalf("%s: %v (the 3xx hop's slot was not given back before the next hop)", path, err)
			}
			if got := readAll(t, resp); got != "done" {
				t.Errorf("%s: body %q", path, got)
			}
			acIdle(t, c, acOrigin, path)
			acIdle(t, c, "http://other.test:80", path)
		}
		if n := sent.Load(); n != 4 {
			t.Errorf("%d requests sent, want 4", n)
		}
	})
}

// R75 with R11: a retryable 503 with a body is buffered and its slot given
// back before the retry asks for one (Fixed: 1, no queue); a retryable
// body too large to buffer is returned holding its slot until it is read
// to the end or closed.
func TestAdvConc_R75_RetryBufferAndBodyTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		big := strings.Repeat("x", maxRetryBody+100)
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			n := sent.Add(1)
			switch {
			case r.URL.Path == "/big":
				return acResp(r, http.StatusServiceUnavailable, big), nil
			case n == 1:
				return acResp(r, http.StatusServiceUnavailable, "busy"), nil
			}
			return acResp(r, 200, "ok"), nil
		})
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue}, WithTimeout(time.Second),
			WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond}))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatalf("the retry was refused: %v", err)
		}
		if readAll(t, resp) != "ok" || sent.Load() != 2 {
			t.Errorf("status %d after %d sends", resp.StatusCode, sent.Load())
		}
		acIdle(t, c, acOrigin, "503 buffered then retried")

		for _, readIt := range []bool{true, false} {
			resp, err = c.Get(context.Background(), "/big")
			if err != nil {
				t.Fatal(err)
			}
			if n, why := Attempts(resp, nil); why != StopBodyTooLarge || n != 1 {
				t.Errorf("Attempts %d %s, want 1 body_too_large", n, why)
			}
			if n := acInFlight(c, acOrigin); n != 1 {
				t.Errorf("body too large, open: %d in flight, want 1", n)
			}
			if readIt {
				b, _ := io.ReadAll(resp.Body)
				if len(b) != len(big) {
					t.Errorf("read %d bytes, want %d", len(b), len(big))
				}
				acIdle(t, c, acOrigin, "body too large read to EOF")
			}
			resp.Body.Close()
			acIdle(t, c, acOrigin, "body too large closed")
		}
	})
}

// R75 with R47: under a total timeout the call's deadlineBody wraps the
// attempt's (a deadlineBody of its own when the attempt timeout comes
// first, a slotBody when the total deadline does): closing the outer body
// gives the slot back, and a body never closed frees it at the attempt's
// deadline. Likewise through StandardClient.
func TestAdvConc_R75_TotalTimeoutAndStandardClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return acResp(r, 200, "ok"), nil })
		for _, tc := range []struct {
			name   string
			total  time.Duration
			expiry time.Duration // when a body never closed frees its slot
		}{
			{"attempt timeout first", 10 * time.Second, time.Second},
			{"total deadline first", 300 * time.Millisecond, 300 * time.Millisecond},
		} {
			c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue}, WithTimeout(time.Second), WithTotalTimeout(tc.total))
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := resp.Body.(*deadlineBody); !ok {
				t.Fatalf("%s: body %T, want the total deadline's", tc.name, resp.Body)
			}
			if n := acInFlight(c, acOrigin); n != 1 {
				t.Errorf("%s: %d in flight with the body open", tc.name, n)
			}
			resp.Body.Close()
			acIdle(t, c, acOrigin, tc.name+", closed")

			resp, err = c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			_ = resp // never closed
			time.Sleep(tc.expiry - time.Millisecond)
			synctest.Wait()
			if n := acInFlight(c, acOrigin); n != 1 {
				t.Errorf("%s: %d in flight before the deadline, want 1", tc.name, n)
			}
			time.Sleep(time.Millisecond)
			synctest.Wait()
			acIdle(t, c, acOrigin, tc.name+", never closed, deadline passed")
		}

		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue}, WithTimeout(time.Second))
		sc := c.StandardClient()
		resp, err := sc.Get("http://up.test/")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.Get("http://up.test/"); !errors.Is(err, ErrConcurrencyLimited) {
			t.Errorf("StandardClient with the slot held: %v, want a refusal", err)
		}
		resp.Body.Close()
		acIdle(t, c, acOrigin, "StandardClient, closed")
		resp, _ = sc.Get("http://up.test/")
		_ = resp
		time.Sleep(time.Second)
		synctest.Wait()
		acIdle(t, c, acOrigin, "StandardClient, never closed")
	})
}

// acBody is a response body of a hostile transport.
type acBody struct {
	read  func(p []byte) (int, error)
	close func() error
}

func (b *acBody) Read(p []byte) (int, error) { return b.read(p) }
func (b *acBody) Close() error               { return b.close() }

// R75 with R55: whatever a transport returns, the slot comes back: a
// response with an error, a nil body, a body whose Read or Close panics, a
// body whose Read blocks past the attempt's deadline, a panicking
// RoundTripper, and one that calls runtime.Goexit.
func TestAdvConc_R75_HostileTransportNeverLeaksASlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		defer close(unblock)
		var respWithErrClosed atomic.Bool
		cases := []struct {
			name string
			rt   func(r *http.Request) (*http.Response, error)
			use  func(t *testing.T, resp *http.Response, err error)
		}{
			{"response and error", func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Body: &acBody{
					read:  func([]byte) (int, error) { return 0, io.EOF },
					close: func() error { respWithErrClosed.Store(true); return nil },
				}}, errors.New("both")
			}, func(t *testing.T, resp *http.Response, err error) {
				if err == nil || resp != nil {
					t.Errorf("resp %v err %v", resp, err)
				}
				if !respWithErrClosed.Load() {
					t.Error("the response that came with an error was not closed")
				}
			}},
			{"nil body", func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200}, nil
			}, func(t *testing.T, resp *http.Response, err error) {
				if err != nil {
					t.Fatal(err)
				}
				io.ReadAll(resp.Body) // EOF at once: the slot is back without Close
			}},
			{"Close panics", func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Body: &acBody{
					read:  func([]byte) (int, error) { return 0, errors.New("broken") },
					close: func() error { panic("close") },
				}}, nil
			}, func(t *testing.T, resp *http.Response, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if err := resp.Body.Close(); !errors.Is(err, errBadTransport) {
					t.Errorf("Close: %v", err)
				}
			}},
			{"Read panics", func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Body: &acBody{
					read:  func([]byte) (int, error) { panic("read") },
					close: func() error { return nil },
				}}, nil
			}, func(t *testing.T, resp *http.Response, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadAll(resp.Body); err == nil {
					t.Error("a panicking Read read fine")
				}
				resp.Body.Close()
			}},
			{"Read blocks past the deadline, never closed", func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Body: &acBody{
					read:  func([]byte) (int, error) { <-unblock; return 0, io.EOF }, // ignores the context
					close: func() error { return nil },
				}}, nil
			}, func(t *testing.T, resp *http.Response, err error) {
				if err != nil {
					t.Fatal(err)
				}
				go io.ReadAll(resp.Body) // stuck in Read; the caller never closes
				time.Sleep(time.Second)
				synctest.Wait()
			}},
			{"RoundTrip panics", func(r *http.Request) (*http.Response, error) {
				panic("boom")
			}, func(t *testing.T, resp *http.Response, err error) {
				if !errors.Is(err, errBadTransport) {
					t.Errorf("err %v", err)
				}
			}},
		}
		for _, tc := range cases {
			c := concClient(t, RoundTripperFunc(tc.rt), ConcurrencyLimit{Fixed: 1, Queue: NoQueue},
				WithTimeout(time.Second), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			resp, err := c.Get(context.Background(), "/")
			tc.use(t, resp, err)
			acIdle(t, c, acOrigin, tc.name)
		}

		// runtime.Goexit in the RoundTripper (t.FailNow in a fake) on the
		// caller's goroutine: the deferred release still runs.
		var exits atomic.Int32
		gx := concClient(t, RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			exits.Add(1)
			runtime.Goexit()
			return nil, nil
		}), ConcurrencyLimit{Fixed: 1, Queue: NoQueue})
		done := make(chan struct{})
		go func() {
			defer close(done)
			gx.Get(context.Background(), "/")
		}()
		<-done
		if exits.Load() != 1 {
			t.Fatalf("%d Goexits", exits.Load())
		}
		acIdle(t, gx, acOrigin, "Goexit in the RoundTripper")
	})
}

// R75 with R48: in a hedge race every slot comes back: the loser's (cut by
// the race), the winner's (its body), a hedge whose RoundTripper panics or
// calls Goexit, and every racer's when the caller's context ends the race
// while a transport that ignores it answers later.
func TestAdvConc_R75_HedgeSlotsAlwaysComeBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, mode := range []string{"loser cut", "hedge panics", "hedge Goexits", "first panics"} {
			var sent atomic.Int32
			rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
				n := sent.Add(1)
				switch {
				case n == 2 && mode == "hedge panics", n == 1 && mode == "first panics":
					time.Sleep(20 * time.Millisecond)
					panic("racer")
				case n == 2 && mode == "hedge Goexits":
					runtime.Goexit()
				case n == 1:
					select { // slow first attempt
					case <-time.After(time.Second):
					case <-r.Context().Done():
						return nil, r.Context().Err()
					}
				}
				if n == 2 {
					time.Sleep(30 * time.Millisecond)
				}
				return acResp(r, 200, "ok"), nil
			})
			c := concClient(t, rt, ConcurrencyLimit{Fixed: 4, Queue: NoQueue}, WithTimeout(5*time.Second),
				WithHedging(HedgePolicy{Delay: 10 * time.Millisecond, MaxHedges: 2}))
			resp, err := c.Get(context.Background(), "/")
			if err == nil {
				io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			time.Sleep(2 * time.Second) // every racer, hedges included, has ended
			synctest.Wait()
			if sent.Load() < 2 {
				t.Errorf("%s: %d sent: no hedge, the test proves nothing", mode, sent.Load())
			}
			acIdle(t, c, acOrigin, "hedge race, "+mode)
		}

		// The caller's context ends the race; the transport ignores it and
		// answers later: the abandoned responses are closed and their
		// slots given back.
		var answered atomic.Int32
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			time.Sleep(200 * time.Millisecond)
			answered.Add(1)
			return acResp(r, 200, "late"), nil
		})
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 4, Queue: NoQueue}, WithTimeout(5*time.Second),
			WithHedging(HedgePolicy{Delay: 10 * time.Millisecond, MaxHedges: 2}))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := c.Get(ctx, "/"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want the caller's deadline", err)
		}
		if n := acInFlight(c, acOrigin); n != 3 {
			t.Errorf("%d in flight while the abandoned racers run, want 3", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if answered.Load() != 3 {
			t.Errorf("%d racers answered, want 3", answered.Load())
		}
		acIdle(t, c, acOrigin, "race abandoned by the caller's deadline")
	})
}

// R75: with NoTimeout the slot comes back at the headers, hedged or not,
// even with the body open; a stream never holds it.
func TestAdvConc_R75_NoTimeoutHedgedGivesSlotAtHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return acResp(r, 200, "ok"), nil })
		for _, opts := range [][]Option{nil, {WithHedging(HedgePolicy{Delay: 10 * time.Millisecond})}} {
			c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue}, opts...)
			var open []*http.Response
			for range 3 {
				resp, err := c.Request(context.Background(), http.MethodGet, "/", NoTimeout())
				if err != nil {
					t.Fatalf("NoTimeout call refused with a stream open: %v", err)
				}
				open = append(open, resp)
			}
			acIdle(t, c, acOrigin, "NoTimeout, bodies open")
			for _, r := range open {
				r.Body.Close()
			}
		}
	})
}

// R75 with R30: HTTP/2 and HTTP/1 bodies over loopback (ownBody on the
// client's own transport when the caller's deadline comes first): the slot
// is held while the body is open and comes back when it is read or closed.
func TestAdvConc_R75_WireBodiesGiveSlotsBack(t *testing.T) {
	eachProto(t, func(t *testing.T, sopts []httpclienttest.Option) {
		srv := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.OK(strings.Repeat("b", 50<<10))}, sopts...)
		c := clientFor(t, srv, WithConcurrencyLimit(ConcurrencyLimit{Fixed: 2, Queue: NoQueue}), WithTimeout(10*time.Second))
		origin := c.baseState.origin
		for _, dl := range []time.Duration{0, 5 * time.Second} { // attempt timeout first; caller's deadline first
			ctx := context.Background()
			if dl > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, dl)
				defer cancel()
			}
			a, err := c.Get(ctx, "/")
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Get(ctx, "/")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(ctx, "/"); !errors.Is(err, ErrConcurrencyLimited) {
				t.Errorf("third call with two bodies open: %v, want refused", err)
			}
			if got := len(readAll(t, a)); got != 50<<10 {
				t.Errorf("read %d", got)
			}
			b.Body.Close()
			acIdle(t, c, origin, "wire bodies read and closed")
		}
		if hits := srv.Hits(); hits != 4 {
			t.Errorf("%d requests reached the server, want 4 (refusals send nothing)", hits)
		}
	})
}

// ---------------------------------------------------------------------------
// Hooks calling back into the client: no deadlock, no lock held
// ---------------------------------------------------------------------------

// R75: LimitChange (and Adaptive.OnLimit) run outside every lock: they may
// read and set the limits and even make a call of their own on the same
// origin; AttemptDone may read the limits while the attempt holds its
// slot. A panic in OnLimit is recovered. Nothing deadlocks, nothing leaks.
func TestAdvConc_R75_HooksMayCallBackIntoTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c *Client
		var nested, onLimit atomic.Int32
		var inHook atomic.Bool
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return acResp(r, 200, "ok"), nil })
		c = concClient(t, rt, ConcurrencyLimit{Adaptive: concurrency.Adaptive{Window: 1, Min: 1, Max: 64,
			OnLimit: func(from, to int) { onLimit.Add(1); panic("user OnLimit") }}},
			WithHooks(Hooks{
				LimitChange: func(origin string, from, to int) {
					if !inHook.CompareAndSwap(false, true) {
						return // one level of nesting
					}
					defer inHook.Store(false)
					_ = c.ConcurrencyLimits()
					if _, err := c.ConcurrencyLimit(origin); err != nil {
						t.Errorf("ConcurrencyLimit from LimitChange: %v", err)
					}
					if err := c.SetConcurrencyLimit(origin, to); err != nil {
						t.Errorf("SetConcurrencyLimit from LimitChange: %v", err)
					}
					if resp, err := c.Get(context.Background(), "/nested"); err == nil {
						nested.Add(1)
						resp.Body.Close()
					}
				},
				AttemptDone: func(context.Context, Attempt, AttemptResult) { _ = c.ConcurrencyLimits() },
			}))
		if err := c.SetConcurrencyLimit("http://up.test", 1); err != nil {
			t.Fatal(err)
		}
		for range 20 {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if onLimit.Load() == 0 {
			t.Error("the limit never changed: the test proves nothing")
		}
		acIdle(t, c, acOrigin, "hooks calling back")
	})
}

// ---------------------------------------------------------------------------
// Refusals and the queue
// ---------------------------------------------------------------------------

// R75: a refusal after a wait in the queue, like an immediate one, sends
// nothing, leaves the breaker alone (threshold 1), is not retried, and
// names itself to Attempts, ClassOf and CallDone.
func TestAdvConc_R75_QueuedRefusalIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			return acResp(r, 200, "ok"), nil
		})
		var mu sync.Mutex
		var stops []Stop
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: 4, MaxWait: 30 * time.Millisecond},
			WithCircuitBreaker(1, time.Minute),
			WithHooks(Hooks{CallDone: func(_ context.Context, _ Call, r CallResult) {
				mu.Lock()
				stops = append(stops, r.Stop)
				mu.Unlock()
			}}))
		hold, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = c.Get(context.Background(), "/")
		var ce *ConcurrencyLimitError
		if !errors.As(err, &ce) || !ce.Queued || ClassOf(err) != ClassConcurrencyLimited {
			t.Fatalf("err %v, want a queued refusal", err)
		}
		if waited := time.Since(start); waited != 30*time.Millisecond {
			t.Errorf("waited %v, want MaxWait", waited)
		}
		if n, why := Attempts(nil, err); n != 0 || why != StopConcurrencyLimited {
			t.Errorf("Attempts %d %s", n, why)
		}
		if sent.Load() != 1 {
			t.Errorf("%d sent, want 1", sent.Load())
		}
		if snap, _ := c.Breaker("http://up.test"); snap.State != breaker.Closed || snap.Failures != 0 {
			t.Errorf("breaker %+v", snap)
		}
		mu.Lock()
		if len(stops) != 2 || stops[1] != StopConcurrencyLimited {
			t.Errorf("CallDone stops %v", stops)
		}
		mu.Unlock()
		hold.Body.Close()
		acIdle(t, c, acOrigin, "after a queued refusal")
	})
}

// R75: callers queue first in first out; one that cancels mid-queue leaves
// no waiter behind; Close ends every wait at once with ErrClosed, hedged
// calls included; nothing is left queued or in flight.
func TestAdvConc_R75_QueueOrderCancelAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var order []string
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			order = append(order, r.URL.Path)
			mu.Unlock()
			return acResp(r, 200, "ok"), nil
		})
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: 8, MaxWait: time.Hour}, WithTimeout(time.Hour))
		hold, err := c.Get(context.Background(), "/hold")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make(chan *http.Response, 8)
		for _, p := range []string{"/1", "/2", "/3"} {
			wg.Go(func() {
				resp, err := c.Get(context.Background(), p)
				if err != nil {
					t.Errorf("%s: %v", p, err)
					return
				}
				got <- resp
			})
			synctest.Wait() // queued in this order
		}
		cctx, cancel := context.WithCancel(context.Background())
		cerr := make(chan error, 1)
		go func() { _, err := c.Get(cctx, "/cancelled"); cerr <- err }()
		synctest.Wait()
		if s := c.ConcurrencyLimits()[acOrigin]; s.Queued != 4 {
			t.Fatalf("queued %d, want 4", s.Queued)
		}
		cancel()
		if err := <-cerr; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled mid-queue: %v", err)
		}
		if s := c.ConcurrencyLimits()[acOrigin]; s.Queued != 3 {
			t.Errorf("queued %d after a cancel, want 3", s.Queued)
		}
		hold.Body.Close()
		for range 3 {
			resp := <-got // each admitted when the one before closes
			resp.Body.Close()
		}
		wg.Wait()
		mu.Lock()
		if strings.Join(order, " ") != "/hold /1 /2 /3" {
			t.Errorf("order %v, want FIFO", order)
		}
		mu.Unlock()
		acIdle(t, c, acOrigin, "after the queue drained")

		// Close mid-queue, plain and hedged.
		for _, opts := range [][]Option{nil, {WithHedging(HedgePolicy{Delay: time.Millisecond})}} {
			c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: 8, MaxWait: time.Hour}, append(opts, WithTimeout(time.Hour))...)
			hold, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 4)
			for range 4 {
				go func() { _, err := c.Get(context.Background(), "/"); errs <- err }()
			}
			synctest.Wait()
			start := time.Now()
			c.Close()
			for range 4 {
				if err := <-errs; !errors.Is(err, ErrClosed) {
					t.Errorf("queued at Close: %v", err)
				}
			}
			if time.Since(start) != 0 {
				t.Errorf("Close took %v to end the waits", time.Since(start))
			}
			hold.Body.Close()
			acIdle(t, c, acOrigin, "after Close")
		}
	})
}

// R75: a flood of 10,000 callers on Fixed: 1, Queue: 16 queues at most 16
// at any moment, refuses the rest at once (no goroutine of the client's
// per caller, no growth), then drains to nothing.
func TestAdvConc_R75_FloodQueueBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		release := make(chan struct{})
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if sent.Add(1) == 1 {
				<-release
			}
			return acResp(r, 200, "ok"), nil
		})
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: 16, MaxWait: time.Hour}, WithTimeout(time.Hour),
			WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		go func() {
			resp, err := c.Get(context.Background(), "/")
			if err == nil {
				resp.Body.Close()
			}
		}()
		synctest.Wait() // the first holds the only slot
		const n = 10000
		var refused, ok atomic.Int32
		var wg sync.WaitGroup
		base := runtime.NumGoroutine()
		for range n {
			wg.Go(func() {
				resp, err := c.Get(context.Background(), "/")
				switch {
				case err == nil:
					ok.Add(1)
					resp.Body.Close()
				case errors.Is(err, ErrConcurrencyLimited):
					refused.Add(1)
				default:
					t.Errorf("err %v", err)
				}
			})
		}
		synctest.Wait()
		s := c.ConcurrencyLimits()[acOrigin]
		if s.Queued != 16 || s.InFlight != 1 || refused.Load() != n-16 || s.Rejected != n-16 {
			t.Errorf("flood: %+v, %d refused; want 16 queued, %d refused", s, refused.Load(), n-16)
		}
		if g := runtime.NumGoroutine() - base; g > 16+8 {
			t.Errorf("%d goroutines left after the flood was refused, want about the 16 queued", g)
		}
		close(release)
		wg.Wait()
		if ok.Load() != 16 || sent.Load() != 17 {
			t.Errorf("%d admitted from the queue, %d sent; want 16, 17", ok.Load(), sent.Load())
		}
		acIdle(t, c, acOrigin, "after the flood")
	})
}

// ---------------------------------------------------------------------------
// Registry and config
// ---------------------------------------------------------------------------

// R75 with R50: with a tiny origin limit and a short idle expiry, origins
// with bodies open are never dropped, by eviction or by idle expiry (their
// limit still refuses); once the bodies close they are dropped at the next
// expiry: the registry goes back to its bound.
func TestAdvConc_R75_RegistryKeepsBusyDropsIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return acResp(r, 200, "ok"), nil })
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue}, WithOriginLimit(2, time.Minute), WithTimeout(time.Hour))
		host := func(i int) string { return "http://h" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".test" }
		var open []*http.Response
		for i := range 30 {
			resp, err := c.Get(context.Background(), host(i)+"/")
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, resp)
		}
		time.Sleep(5 * time.Minute) // idle expiry passes with the bodies open
		fresh, err := c.Get(context.Background(), host(500)+"/")
		if err != nil {
			t.Fatal(err)
		}
		fresh.Body.Close()
		limits := c.ConcurrencyLimits()
		for i := range 30 {
			if s, ok := limits[host(i)+":80"]; !ok || s.InFlight != 1 {
				t.Errorf("%s with a body open: %+v (kept %v)", host(i), s, ok)
			}
			if _, err := c.Get(context.Background(), host(i)+"/"); !errors.Is(err, ErrConcurrencyLimited) {
				t.Errorf("%s: second call %v, want refused by its kept limit", host(i), err)
			}
		}
		for _, r := range open {
			r.Body.Close()
		}
		time.Sleep(5 * time.Minute)
		resp, err := c.Get(context.Background(), host(501)+"/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if n := len(c.ConcurrencyLimits()); n > 3 {
			t.Errorf("%d origins kept after idle expiry with a limit of 2 and nothing in flight", n)
		}
		for o, s := range c.ConcurrencyLimits() {
			if s.InFlight != 0 || s.Queued != 0 {
				t.Errorf("%s: %+v", o, s)
			}
		}
	})
}

// R75: absurd settings are errors from New or work, never a panic or a
// preallocation: a queue of 1<<40, waits of centuries, a fixed limit of
// MaxInt, a window over 256, NaN bounds.
func TestAdvConc_R75_AbsurdSettings(t *testing.T) {
	rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return acResp(r, 200, "ok"), nil })
	for _, l := range []ConcurrencyLimit{
		{Adaptive: concurrency.Adaptive{Window: 257}},
		{Adaptive: concurrency.Adaptive{Low: math.NaN()}},
		{Adaptive: concurrency.Adaptive{High: math.Inf(1)}},
		{Adaptive: concurrency.Adaptive{Min: -5}},
		{Adaptive: concurrency.Adaptive{Min: 10, Max: 3}},
		{Queue: math.MinInt}, {MaxWait: math.MinInt64}, {MinLeft: -time.Nanosecond}, {Fixed: math.MinInt},
	} {
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("%+v: New panicked: %v", l, v)
				}
			}()
			if _, err := New("", WithConcurrencyLimit(l)); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%+v: err %v, want ErrInvalidConfig", l, err)
			}
		}()
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, l := range []ConcurrencyLimit{
		{Fixed: math.MaxInt, Queue: 1 << 40, MaxWait: math.MaxInt64, MinLeft: math.MaxInt64 / 2},
		{Fixed: 1, Queue: math.MaxInt},
		{Adaptive: concurrency.Adaptive{Min: 1, Max: math.MaxInt, Window: 256}},
	} {
		c := concClient(t, rt, l)
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Errorf("%+v: %v", l, err)
			continue
		}
		resp.Body.Close()
		if err := c.SetConcurrencyLimit("http://up.test", math.MaxInt); err != nil {
			t.Errorf("SetConcurrencyLimit(MaxInt): %v", err)
		}
		resp, err = c.Get(context.Background(), "/")
		if err != nil {
			t.Errorf("%+v at MaxInt: %v", l, err)
		} else {
			resp.Body.Close()
		}
		acIdle(t, c, acOrigin, "absurd settings")
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 64<<20 {
		t.Errorf("heap grew %d bytes: a huge Queue preallocates", grew)
	}
}

// R75: SetConcurrencyLimit refuses what it should and never panics; a
// lowered limit admits nobody until the calls in flight are under it, a
// raised one admits the queue at once.
func TestAdvConc_R75_SetLimitWithCallsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return acResp(r, 200, "ok"), nil })
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 3, Queue: 4, MaxWait: time.Hour}, WithTimeout(time.Hour))
		for _, bad := range []string{"", "ftp://x", "::", "http://"} {
			if err := c.SetConcurrencyLimit(bad, 2); err == nil {
				t.Errorf("SetConcurrencyLimit(%q) took it", bad)
			}
		}
		for _, n := range []int{0, -1, math.MinInt} {
			if err := c.SetConcurrencyLimit("http://up.test", n); !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("SetConcurrencyLimit(%d): %v", n, err)
			}
		}
		var open []*http.Response
		for range 3 {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, resp)
		}
		c.SetConcurrencyLimit("http://up.test", 1)
		got := make(chan *http.Response, 2)
		for range 2 {
			go func() {
				resp, err := c.Get(context.Background(), "/")
				if err != nil {
					t.Error(err)
					close(got)
					return
				}
				got <- resp
			}()
		}
		synctest.Wait()
		open[0].Body.Close()
		open[1].Body.Close()
		synctest.Wait()
		if s := c.ConcurrencyLimits()[acOrigin]; s.InFlight != 1 || s.Queued != 2 {
			t.Errorf("lowered to 1 with 1 still in flight: %+v, want nobody admitted", s)
		}
		c.SetConcurrencyLimit("http://up.test", 10)
		for range 2 {
			if r := <-got; r != nil {
				r.Body.Close()
			}
		}
		open[2].Body.Close()
		acIdle(t, c, acOrigin, "after SetConcurrencyLimit")
	})
}

// R75: a body read concurrently with its Close, and closed many times, gives
// the slot back once: the count never goes negative nor lets a second
// caller past the limit.
func TestAdvConc_R75_ConcurrentCloseAndReadReleaseOnce(t *testing.T) {
	rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(make([]byte, 1<<10))), Request: r}, nil
	})
	c := concClient(t, rt, ConcurrencyLimit{Fixed: 2, Queue: NoQueue}, WithTimeout(time.Minute))
	for range 200 {
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { io.ReadAll(resp.Body) })
		for range 3 {
			wg.Go(func() { resp.Body.Close() })
		}
		wg.Wait()
		if s := c.ConcurrencyLimits()[acOrigin]; s.InFlight != 0 {
			t.Fatalf("%+v after concurrent Read and Close", s)
		}
	}
	a, _ := c.Get(context.Background(), "/")
	b, _ := c.Get(context.Background(), "/")
	if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrConcurrencyLimited) {
		t.Errorf("a third call past Fixed: 2: %v", err)
	}
	a.Body.Close()
	b.Body.Close()
}

// R75: "A failed attempt gives it back at once, on every path (a panicking
// hook included)". The slot is taken in run() (retry.go) and in race's
// launch (hedge.go) before h.body(), which calls the request's GetBody,
// and only attempt() owns it with a deferred release: a GetBody that
// panics (or calls runtime.Goexit) for a retry or a hedge leaves the
// permit held for good. The panic reaches the caller; a server whose
// handlers are recovered (net/http recovers them) then loses one slot per
// such request until the origin refuses everything.
func TestAdvConc_R75_PanickingGetBodyLeaksSlot(t *testing.T) {
	for _, mode := range []string{"retry", "hedge"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sent atomic.Int32
				rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
					n := sent.Add(1)
					if r.Body != nil {
						io.Copy(io.Discard, r.Body)
					}
					if mode == "hedge" && n == 1 {
						select { // slow enough to be hedged
						case <-time.After(100 * time.Millisecond):
						case <-r.Context().Done():
							return nil, r.Context().Err()
						}
					}
					if mode == "retry" && n == 1 {
						return acResp(r, http.StatusServiceUnavailable, "busy"), nil
					}
					return acResp(r, 200, "ok"), nil
				})
				opts := []Option{WithTimeout(time.Second),
					WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond})}
				if mode == "hedge" {
					opts = append(opts, WithHedging(HedgePolicy{Delay: 10 * time.Millisecond}))
				}
				c := concClient(t, rt, ConcurrencyLimit{Fixed: 2, Queue: NoQueue}, opts...)
				req, err := http.NewRequest(http.MethodPut, "http://up.test/", strings.NewReader("body"))
				if err != nil {
					t.Fatal(err)
				}
				var asked atomic.Bool
				req.GetBody = func() (io.ReadCloser, error) { asked.Store(true); panic("GetBody") }
				func() {
					defer func() { _ = recover() }() // a recovering handler; an error instead is fine too
					if resp, err := c.Do(req); err == nil {
						io.ReadAll(resp.Body)
						resp.Body.Close()
					}
				}()
				if !asked.Load() {
					t.Fatal("GetBody was never asked for: the test proves nothing")
				}
				time.Sleep(2 * time.Second) // past every attempt's deadline
				synctest.Wait()
				if n := acInFlight(c, acOrigin); n != 0 {
					t.Errorf("%d slot(s) held for good after GetBody panicked for a %s", n, mode)
				}
			})
		})
	}
}

// R75 with R69: a concurrency refusal gives back the rate slot the rate
// limit granted the attempt: refusals do not burn the rate.
func TestAdvConc_R75_RefusalGivesTheRateSlotBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return acResp(r, 200, "ok"), nil })
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue}, WithTimeout(time.Second),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 2, Per: time.Hour, Burst: 2}, FailFast: true}))
		hold, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrConcurrencyLimited) {
				t.Fatalf("err %v, want a concurrency refusal", err)
			}
		}
		hold.Body.Close()
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatalf("the second rate slot was burnt by the refusals: %v", err)
		}
		resp.Body.Close()
		if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrRateLimited) {
			t.Errorf("third call: %v, want rate limited (Burst 2)", err)
		}
		acIdle(t, c, acOrigin, "rate and concurrency")
	})
}

// R75: "a hedge takes a free slot or is not sent": it never waits in the
// queue, even with a long MaxWait, so a full origin never delays the race
// (the first attempt's answer is returned when it comes).
func TestAdvConc_R75_HedgeNeverQueues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
			return acResp(r, 200, "ok"), nil
		})
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: 8, MaxWait: time.Hour}, WithTimeout(time.Hour),
			WithHedging(HedgePolicy{Delay: 10 * time.Millisecond, MaxHedges: 3}))
		start := time.Now()
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 100*time.Millisecond {
			t.Errorf("the call took %v, want the first attempt's 100ms: a hedge waited for a slot", took)
		}
		resp.Body.Close()
		if s := c.ConcurrencyLimits()[acOrigin]; sent.Load() != 1 || s.Queued != 0 || s.InFlight != 0 || s.Rejected != 0 {
			t.Errorf("%d sent, %+v; want 1 sent, no hedge queued or counted as refused", sent.Load(), s)
		}
	})
}

// R75: SetConcurrencyLimit's doc says "the client keeps state for it from
// then on", and ops documents POST /limit as "a fixed limit keeps the
// value". But the state holding the operator's limit is an ordinary
// origin state: idle expiry (or eviction past WithOriginLimit) drops it,
// and the next call gets a fresh limiter at the configured limit. An
// operator who lowered an upstream's limit during an incident sees it
// silently revert after a lull of idleExpiry (10 minutes by default),
// whereas an isolated circuit (R58) and a spent rate limit (R69) outlive
// their state as records.
func TestAdvConc_R75_OperatorLimitSurvivesIdleExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return acResp(r, 200, "ok"), nil })
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 10}, WithOriginLimit(8, time.Minute))
		if err := c.SetConcurrencyLimit("http://slow.test", 2); err != nil {
			t.Fatal(err)
		}
		if s, _ := c.ConcurrencyLimit("http://slow.test"); s.Limit != 2 {
			t.Fatalf("limit %d right after SetConcurrencyLimit(2)", s.Limit)
		}
		time.Sleep(5 * time.Minute) // a lull
		resp, err := c.Get(context.Background(), "http://other.test/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if s, _ := c.ConcurrencyLimit("http://slow.test"); s.Limit != 2 {
			t.Errorf("the operator's limit of 2 reverted to %d after an idle spell", s.Limit)
		}
	})
}

// R75 (low): on an attempt whose deadline is the caller's (no timeout of
// its own), turning the limit on wraps the body in a slotBody that hides
// an upgraded connection's Write: over net/http, a 101 Switching Protocols
// body is an io.ReadWriteCloser with the limit off and not with it on (the
// deadline-first path wrapped nothing before R75). Such a body is a
// connection, not a response: the slot is better given back at the
// headers, as with NoTimeout, and the body left as it is.
func TestAdvConc_R75_UpgradeBodyKeepsItsWriter(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		io.ReadAll(brw) // until the client closes
	}))
	defer up.Close()
	for _, on := range []bool{false, true} {
		tr := NewTransport()
		opts := []Option{WithTransport(tr), WithTimeout(time.Hour)}
		if on {
			opts = append(opts, WithConcurrencyLimit(ConcurrencyLimit{Fixed: 4}))
		}
		c, err := New(up.URL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the caller's deadline first
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.URL, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "echo")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := resp.Body.(io.ReadWriteCloser); !ok || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Errorf("limit on %v: a %d body is %T, not an io.ReadWriteCloser", on, resp.StatusCode, resp.Body)
		}
		resp.Body.Close()
		cancel()
		c.Close()
		tr.CloseIdleConnections()
	}
}
