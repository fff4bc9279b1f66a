package concurrency

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// upstream is a FIFO queue before c workers; a job that waited past 500ms
// is shed at once.
type simUpstream struct {
	mu    sync.Mutex
	cap   int
	busy  int
	queue []simJob
}

type simJob struct {
	at      time.Time
	service time.Duration
	done    chan bool
}

func (u *simUpstream) submit(service time.Duration) chan bool {
	j := simJob{at: time.Now(), service: service, done: make(chan bool, 1)}
	u.mu.Lock()
	u.queue = append(u.queue, j)
	u.mu.Unlock()
	u.kick()
	return j.done
}

func (u *simUpstream) kick() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for u.busy < u.cap && len(u.queue) > 0 {
		j := u.queue[0]
		u.queue = u.queue[1:]
		if time.Since(j.at) > 500*time.Millisecond {
			j.done <- false
			continue
		}
		u.busy++
		time.AfterFunc(j.service, func() {
			j.done <- true
			u.mu.Lock()
			u.busy--
			u.mu.Unlock()
			u.kick()
		})
	}
}

type simResult struct {
	ok, rejected, shed, timeouts int
	lat                          []time.Duration
	peak                         int
	perSec                       []int
}

func simulate(t *testing.T, rate float64, dur time.Duration, l *Limiter, capAt func(time.Duration) int) simResult {
	return simulateSlow(t, rate, dur, l, capAt, nil)
}

// simulateSlow is simulate with the service times multiplied by slow(t)
// for a call arriving at t.
func simulateSlow(t *testing.T, rate float64, dur time.Duration, l *Limiter, capAt func(time.Duration) int, slow func(time.Duration) float64) simResult {
	var res simResult
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		u := &simUpstream{cap: 32}
		start := time.Now()
		var mu sync.Mutex
		res.perSec = make([]int, int(dur/time.Second)+2)
		inflight := 0
		var wg sync.WaitGroup
		for el := time.Duration(0); el < dur; {
			gap := time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
			service := time.Duration(20e6 * math.Exp(rng.NormFloat64()*0.5))
			time.Sleep(gap)
			el = time.Since(start)
			if slow != nil {
				service = time.Duration(float64(service) * slow(el))
			}
			if capAt != nil {
				u.mu.Lock()
				c := capAt(el)
				changed := c != u.cap
				u.cap = c
				u.mu.Unlock()
				if changed {
					u.kick()
				}
			}
			wg.Add(1)
			mu.Lock()
			inflight++
			res.peak = max(res.peak, inflight)
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); inflight--; mu.Unlock() }()
				arr := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				var p Permit
				if l != nil {
					var err error
					p, err = l.Acquire(ctx)
					if err != nil {
						mu.Lock()
						res.rejected++
						mu.Unlock()
						return
					}
					defer p.Release()
				}
				sent := time.Now()
				done := u.submit(service)
				select {
				case ok := <-done:
					now := time.Now()
					mu.Lock()
					defer mu.Unlock()
					if !ok {
						p.Dropped(now.Sub(sent))
						res.shed++
						return
					}
					p.Record(now.Sub(sent))
					res.ok++
					res.lat = append(res.lat, now.Sub(arr))
					res.perSec[int(now.Sub(start)/time.Second)]++
				case <-ctx.Done():
					p.Record(time.Since(sent))
					mu.Lock()
					res.timeouts++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	})
	slices.Sort(res.lat)
	return res
}

// R74: the adaptive limit on the overload model, standalone (the
// httpclient wiring has its own run in bench/): at 1x, 2x and 4x of 1600
// calls per second against a true capacity of 1412, goodput at least 95%
// of capacity, p99 of successes at most 150ms, at most 4C callers in
// flight; at 0.5x no refusals and the latency of no limit at all.
func TestAdaptive_R74_OverloadModel(t *testing.T) {
	dur := 30 * time.Second
	if testing.Short() {
		dur = 10 * time.Second
	}
	for _, k := range []float64{0.5, 1, 2, 4} {
		var changes []int
		l, err := New(Settings{Queue: 16, MaxWait: 50 * time.Millisecond, Adaptive: &Adaptive{OnLimit: func(_, to int) { changes = append(changes, to) }}})
		if err != nil {
			t.Fatal(err)
		}
		r := simulate(t, 1600*k, dur, l, nil)
		goodput := float64(r.ok) / dur.Seconds()
		p50, p99 := r.quantile(.5), r.quantile(.99)
		t.Logf("%.1fx: goodput %.0f/s p50 %v p99 %v refused %d shed %d timeouts %d peak %d; last limits %v",
			k, goodput, p50, p99, r.rejected, r.shed, r.timeouts, r.peak, changes[max(0, len(changes)-8):])
		if k == 0.5 {
			if r.rejected != 0 || p50 > 22*time.Millisecond || p99 > 70*time.Millisecond {
				t.Errorf("0.5x: %d refused, p50 %v, p99 %v; want none and the latency of no limit (20ms, 65ms)", r.rejected, p50, p99)
			}
			continue
		}
		if goodput < 1341 || p99 > 150*time.Millisecond || r.peak > 4*32 {
			t.Errorf("%.1fx: goodput %.0f/s (want >= 1341), p99 %v (want <= 150ms), peak %d in flight (want <= 128)", k, goodput, p99, r.peak)
		}
	}
}

// R74: through a capacity change at 1x (32 workers, 16 from 10s, 32 again
// from 20s), the limit follows the upstream down and back up: a second
// after capacity returns, goodput is back over 90% of it.
func TestAdaptive_R74_CapacityChange(t *testing.T) {
	l, err := New(Settings{Queue: 16, MaxWait: 50 * time.Millisecond, Adaptive: &Adaptive{}})
	if err != nil {
		t.Fatal(err)
	}
	r := simulate(t, 1600, 24*time.Second, l, func(d time.Duration) int {
		if d >= 10*time.Second && d < 20*time.Second {
			return 16
		}
		return 32
	})
	t.Logf("successes per second: %v", r.perSec)
	for s := 12; s < 20; s++ { // the limit keeps the halved upstream busy
		if r.perSec[s] < 635 {
			t.Errorf("second %d at capacity 16: %d successes, want >= 90%% of 706", s, r.perSec[s])
		}
	}
	// Within 2s: the second from 21s on is at 90% of 1412.
	if r.perSec[21] < 1271 {
		t.Errorf("second 21 (1-2s after capacity returned): %d successes, want >= 1271", r.perSec[21])
	}
}

func (r simResult) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(q*float64(len(r.lat)-1))].Round(time.Millisecond)
}

// R74: the upstream's own latency climbs ten-fold (its service time, not
// a queue of ours): its capacity falls to a tenth, 141/s. The limit cuts,
// learns from cuts that change nothing that the latency is the upstream's
// pace, and settles where the slowed upstream is kept busy: from 5s after
// the slowdown, at least 80% of its capacity as goodput; and back to 90%
// of the full capacity within 2s once it is fast again.
func TestAdaptive_R74_LatencyClimbsTenfold(t *testing.T) {
	l, err := New(Settings{Queue: 16, MaxWait: 50 * time.Millisecond, Adaptive: &Adaptive{}})
	if err != nil {
		t.Fatal(err)
	}
	slow := func(d time.Duration) float64 {
		if d >= 10*time.Second && d < 20*time.Second {
			return 10
		}
		return 1
	}
	r := simulateSlow(t, 1600, 24*time.Second, l, nil, slow)
	t.Logf("successes per second: %v; shed %d, timeouts %d, peak %d", r.perSec, r.shed, r.timeouts, r.peak)
	slowed := 0
	for s := 15; s < 20; s++ { // from 5s after the slowdown
		slowed += r.perSec[s]
	}
	if per := float64(slowed) / 5; per < 0.8*141 {
		t.Errorf("seconds 15-19, ten times slower: %.0f successes per second, want at least 80%% of 141", per)
	}
	if r.peak > 4*32 {
		t.Errorf("peak %d in flight, want at most 128", r.peak)
	}
	if r.perSec[21] < 1271 {
		t.Errorf("second 21, fast again: %d successes, want >= 1271", r.perSec[21])
	}
}
