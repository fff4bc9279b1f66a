package httpclient

// Adversarial review 3 of the concurrency limit's client side (R75):
// ConcurrencyLimit.Initial, operator pins (SetConcurrencyLimit) against
// the registry's eviction, ConcurrencyLimit(origin) as a pure read, and
// all of it under -race. Tests whose comment says "defect" caught defects the
// review found, fixed since; all are regression tests now.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/concurrency"
)

// adv3OK answers 200 "ok" at once.
var adv3OK = RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return acResp(r, 200, "ok"), nil })

// adv3Get makes one call to url and reads and closes its body.
func adv3Get(t *testing.T, c *Client, url string) {
	t.Helper()
	resp, err := c.Get(context.Background(), url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// R75: ConcurrencyLimit(origin) is a pure read: asked about origins the
// client keeps no state for (a hundred of them, some pinned), and about a
// kept one in other spellings, it makes no state, evicts none, and neither
// stamps nor heats the kept ones; an unknown origin is reported at its
// starting limit (Initial within [Min, Max], or its pin) with nothing in
// flight.
func TestAdv3_R75_ConcurrencyLimitIsAPureRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := concClient(t, adv3OK, ConcurrencyLimit{Initial: 500, Adaptive: concurrency.Adaptive{Min: 2, Max: 40}},
			WithOriginLimit(2, time.Minute), WithTimeout(time.Hour))
		adv3Get(t, c, "http://up.test/")
		adv3Get(t, c, "http://kept.test/")
		if err := c.SetConcurrencyLimit("http://pinned.test", 7); err != nil { // makes its state: the LRU one goes
			t.Fatal(err)
		}
		open, err := c.Get(context.Background(), "http://kept.test/") // held open: one in flight
		if err != nil {
			t.Fatal(err)
		}
		defer open.Body.Close()
		time.Sleep(10 * time.Second) // a later stamp: a read that touched would show
		st := c.reg.live("http://kept.test:80")
		if st == nil {
			t.Fatal("kept.test has no state")
		}
		used, heat := st.used.Load(), st.heat.Load()
		n, _ := c.reg.size()
		for i := range 100 {
			s, err := c.ConcurrencyLimit(fmt.Sprintf("https://o%d.test:8443/x?y=%d", i, i))
			if err != nil || s != (concurrency.Snapshot{Limit: 40}) {
				t.Fatalf("unknown origin %d: %+v, %v; want limit 40 (Initial 500 within Max 40), nothing in flight", i, s, err)
			}
		}
		for _, spell := range []string{"http://KEPT.test", "http://kept.test:80/a/b?c", "HTTP://kept.test:080"} {
			if s, err := c.ConcurrencyLimit(spell); err != nil || s.Limit != 40 || s.InFlight != 1 {
				t.Errorf("%s: %+v, %v", spell, s, err)
			}
		}
		if after, _ := c.reg.size(); after != n || c.reg.live("http://kept.test:80") != st ||
			st.used.Load() != used || st.heat.Load() != heat {
			t.Errorf("reads changed the registry: %d states (was %d), kept.test used %d heat %d (were %d, %d)",
				after, n, st.used.Load(), st.heat.Load(), used, heat)
		}
		if s, _ := c.ConcurrencyLimit("http://pinned.test"); s.Limit != 7 {
			t.Errorf("pinned.test reads %+v, want its pin 7", s)
		}
	})
}

// R75: Initial outside [Min, Max] is clamped, the same for a live state, a
// state made again, and the read of an origin with none; Fixed ignores
// Initial; a pin outside [Min, Max] is clamped too, and kept as given.
func TestAdv3_R75_InitialAndPinsClamped(t *testing.T) {
	for _, tc := range []struct {
		name string
		lim  ConcurrencyLimit
		want int
	}{
		{"over Max", ConcurrencyLimit{Initial: 1 << 40, Adaptive: concurrency.Adaptive{Max: 100}}, 100},
		{"under Min", ConcurrencyLimit{Initial: 1, Adaptive: concurrency.Adaptive{Min: 8}}, 8},
		{"default over Max", ConcurrencyLimit{Adaptive: concurrency.Adaptive{Max: 10}}, 10},
		{"default under Min", ConcurrencyLimit{Adaptive: concurrency.Adaptive{Min: 100, Max: 200}}, 100},
		{"fixed ignores Initial", ConcurrencyLimit{Fixed: 3, Initial: 50}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := concClient(t, adv3OK, tc.lim, WithOriginLimit(1, time.Minute))
				if s, _ := c.ConcurrencyLimit("http://a.test"); s.Limit != tc.want {
					t.Errorf("read before any state: limit %d, want %d", s.Limit, tc.want)
				}
				adv3Get(t, c, "http://a.test/")
				if s := c.ConcurrencyLimits()["http://a.test:80"]; s.Limit != tc.want {
					t.Errorf("live: limit %d, want %d", s.Limit, tc.want)
				}
				if err := c.SetConcurrencyLimit("http://a.test", 1<<30); err != nil {
					t.Fatal(err)
				}
				want := 1 << 30
				if tc.lim.Fixed == 0 {
					want = tc.lim.Adaptive.Max
					if want == 0 {
						want = concurrency.DefaultMax
					}
				}
				adv3Get(t, c, "http://b.test/") // a.test's state goes (one origin, not busy)
				if c.reg.live("http://a.test:80") != nil {
					t.Fatal("a.test's state was not dropped")
				}
				if s, _ := c.ConcurrencyLimit("http://a.test"); s.Limit != want {
					t.Errorf("pinned 1<<30, read with no state: %d, want %d", s.Limit, want)
				}
				adv3Get(t, c, "http://a.test/")
				if s := c.ConcurrencyLimits()["http://a.test:80"]; s.Limit != want {
					t.Errorf("pinned 1<<30, state made again: %d, want %d", s.Limit, want)
				}
				if pin, ok := c.reg.concPin("http://a.test:80"); !ok || pin != 1<<30 {
					t.Errorf("pin %d %v", pin, ok)
				}
			})
		})
	}
}

// R75: pins outlive every way a state goes (LRU eviction past the origin
// limit, idle expiry), for fixed and adaptive limits; an adaptive state
// made again starts at its pin and moves on from there; a busy state (a
// body open) is never dropped and keeps its live limit; pins are bounded
// by the origin limit, re-pinning a pinned origin is always allowed, and
// a refused pin changes nothing.
func TestAdv3_R75_PinsOutliveEviction(t *testing.T) {
	for _, lim := range []ConcurrencyLimit{{Fixed: 10}, {Adaptive: concurrency.Adaptive{Min: 1, Max: 50, Window: 1}}} {
		synctest.Test(t, func(t *testing.T) {
			var changes atomic.Int32
			c := concClient(t, adv3OK, lim, WithOriginLimit(3, time.Minute),
				WithHooks(Hooks{LimitChange: func(string, int, int) { changes.Add(1) }}))
			for o, n := range map[string]int{"http://a.test": 2, "http://b.test": 5, "http://c.test": 9} {
				if err := c.SetConcurrencyLimit(o, n); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.SetConcurrencyLimit("http://d.test", 1); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("a fourth pin with an origin limit of 3: %v", err)
			}
			if err := c.SetConcurrencyLimit("http://a.test:80/again", 3); err != nil {
				t.Fatalf("re-pinning: %v", err)
			}
			// c.test stays busy: a body open holds its slot.
			resp, err := c.Get(context.Background(), "http://c.test/")
			if err != nil {
				t.Fatal(err)
			}
			for i := range 12 { // eviction past the limit of 3
				adv3Get(t, c, fmt.Sprintf("http://x%d.test/", i))
			}
			if c.reg.live("http://a.test:80") != nil || c.reg.live("http://b.test:80") != nil {
				t.Fatal("a.test and b.test were not evicted")
			}
			if s := c.ConcurrencyLimits()["http://c.test:80"]; s.Limit != 9 || s.InFlight != 1 {
				t.Errorf("busy c.test: %+v, want limit 9 with its slot held", s)
			}
			resp.Body.Close()
			time.Sleep(5 * time.Minute) // idle expiry for everything
			adv3Get(t, c, "http://y.test/")
			if n, _ := c.reg.size(); n > 3 {
				t.Errorf("%d states after idle expiry with an origin limit of 3", n)
			}
			for o, want := range map[string]int{"http://a.test": 3, "http://b.test": 5, "http://c.test": 9, "http://d.test": lim.Fixed} {
				if want == 0 {
					want = concurrency.DefaultInitial
					want = min(want, lim.Adaptive.Max)
				}
				if s, _ := c.ConcurrencyLimit(o); s.Limit != want {
					t.Errorf("%s read with no state: limit %d, want %d", o, s.Limit, want)
				}
				resp, err := c.Get(context.Background(), o+"/")
				if err != nil {
					t.Fatal(err)
				}
				if s := c.ConcurrencyLimits()[o+":80"]; s.Limit != want || s.InFlight != 1 {
					t.Errorf("%s made again: %+v, want limit %d with one in flight", o, s, want)
				}
				resp.Body.Close()
			}
			if lim.Fixed == 0 {
				// The adaptive a.test goes on from its pin of 3: with a
				// window of one sample, the first sets the baseline and a
				// slower one (1000x) cuts it.
				before := changes.Load()
				adv3Get(t, c, "http://a.test/")
				st := c.reg.live("http://a.test:80")
				p, ok := st.conc.TryAcquire()
				if !ok {
					t.Fatal("no slot")
				}
				p.Record(time.Second)
				p.Release()
				if s := st.conc.Snapshot(); s.Limit >= 3 || changes.Load() == before {
					t.Errorf("adaptive a.test after a slow window: %+v, %d changes; want it under its pin of 3", s, changes.Load()-before)
				}
			}
		})
	}
}

// R75 under -race: calls to eight origins, through an origin limit of
// three (the states come and go all the time), while operators pin limits
// (three origins may be pinned; the others are refused) and readers read
// them; then, quiet, each pinned origin pinned a last time and every one
// called once: its live limit is its last pin (or Fixed), nothing is in
// flight or queued anywhere, and the registry is back within its bound.
func TestAdv3_R75_PinsUnderRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			time.Sleep(time.Millisecond)
			return acResp(r, 200, "ok"), nil
		})
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 4, Queue: 64, MaxWait: time.Second}, WithOriginLimit(3, time.Minute))
		origins := make([]string, 8)
		for i := range origins {
			origins[i] = fmt.Sprintf("http://o%d.test", i)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var refused atomic.Int32
		for g := range 24 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 75))
				for {
					select {
					case <-stop:
						return
					default:
					}
					o := origins[rng.IntN(len(origins))]
					switch rng.IntN(10) {
					case 0:
						if err := c.SetConcurrencyLimit(o, 1+rng.IntN(8)); err != nil && !errors.Is(err, ErrInvalidRequest) {
							t.Error(err)
						}
					case 1:
						if _, err := c.ConcurrencyLimit(o); err != nil {
							t.Error(err)
						}
						for _, s := range c.ConcurrencyLimits() {
							if s.InFlight < 0 || s.Queued < 0 || s.Limit < 1 {
								t.Errorf("snapshot %+v", s)
							}
						}
					default:
						resp, err := c.Get(context.Background(), o+"/")
						if err != nil {
							if !errors.Is(err, ErrConcurrencyLimited) {
								t.Error(err)
							}
							refused.Add(1)
							continue
						}
						if rng.IntN(2) == 0 {
							io.Copy(io.Discard, resp.Body)
						}
						resp.Body.Close()
					}
				}
			})
		}
		time.Sleep(300 * time.Millisecond)
		close(stop)
		wg.Wait()
		want := make([]int, len(origins))
		pinned := 0
		for i, o := range origins {
			want[i] = 4
			if _, ok := c.reg.concPin(normOrigin(t, o)); ok {
				want[i] = 10 + i
				pinned++
				if err := c.SetConcurrencyLimit(o, want[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if pinned != 3 {
			t.Errorf("%d origins pinned, want the origin limit, 3", pinned)
		}
		time.Sleep(5 * time.Minute)         // every state idle long enough to go
		adv3Get(t, c, "http://fresh.test/") // a new origin's state: the idle ones go (expiry is lazy)
		if n, _ := c.reg.size(); n > 3+1 {  // the base origin's state is kept whatever
			t.Errorf("%d states after an idle spell, with an origin limit of 3", n)
		}
		for i, o := range origins {
			adv3Get(t, c, o+"/")
			if s := c.ConcurrencyLimits()[o+":80"]; s.Limit != want[i] || s.InFlight != 0 || s.Queued != 0 {
				t.Errorf("%s: %+v, want limit %d, nothing in flight", o, s, want[i])
			}
		}
		for o, s := range c.ConcurrencyLimits() {
			if s.InFlight != 0 || s.Queued != 0 {
				t.Errorf("%s: %+v at the end", o, s)
			}
		}
		if n, _ := c.reg.size(); n > 3+1 { // the base origin's state is kept whatever
			t.Errorf("%d states with an origin limit of 3", n)
		}
		t.Logf("%d calls refused under the churn", refused.Load())
	})
}

func normOrigin(t *testing.T, o string) string {
	t.Helper()
	n, err := parseOrigin(o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
