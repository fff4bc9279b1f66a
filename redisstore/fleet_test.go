package redisstore_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// R71: a fleet shares one limit. Three replicas (three go-redis clients,
// three Stores), each with 32 goroutines taking fail-fast as fast as they
// can for 2s of real time (FLEET_RUN; make bench-fleet runs 5s), at 200/s
// with bursts of 20: the fleet admits Burst + run*Rate (420 for 2s), to
// within 2%, where three local limiters would admit three times that.
func TestGate_R71_FleetSharesTheLimit(t *testing.T) {
	rdb := urlClient(t)
	ns := namespace(t)
	const (
		replicas   = 3
		goroutines = 32
	)
	run := fleetRun()
	limit := ratelimit.Limit{Rate: 200, Burst: 20}
	var tr transitions
	gates := make([]*redisstore.Gate, replicas)
	for i := range gates {
		c := rdb
		if i > 0 {
			c = another(t, rdb)
		}
		// A timeout far above any round trip here: a call that timed
		// out would be answered locally, and this test is about Redis.
		s := newStore(t, c, redisstore.WithNamespace(ns), redisstore.WithTimeout(5*time.Second))
		gates[i] = newGate(t, s, "fleet", limit, redisstore.WithOnTransition(tr.hook))
	}

	ctx := context.Background()
	var admitted, refused, calls atomic.Int64
	var wg sync.WaitGroup
	// The run starts with the first admission, so that the time the
	// goroutines and their connections take to start is not counted as
	// the run's: the limit counts from it.
	start := time.Now()
	if _, err := gates[0].Take(ctx, start, 0); err != nil {
		t.Fatal(err)
	}
	admitted.Add(1)
	calls.Add(1)
	stop := start.Add(run)
	for _, g := range gates {
		for range goroutines {
			wg.Go(func() {
				for time.Now().Before(stop) {
					calls.Add(1)
					_, err := g.Take(ctx, time.Now(), 0)
					var le *ratelimit.LimitedError
					switch {
					case err == nil:
						admitted.Add(1)
					case errors.As(err, &le):
						refused.Add(1)
					default:
						t.Errorf("Take: %v", err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	want := float64(limit.Burst) + run.Seconds()*float64(limit.Rate)
	got := admitted.Load()
	t.Logf("fleet of %d replicas x %d goroutines over %v: %d admitted (want %.0f ± 2%%), %d refused, %d calls (%.0f calls/s)",
		replicas, goroutines, elapsed.Round(time.Millisecond), got, want, refused.Load(), calls.Load(), float64(calls.Load())/elapsed.Seconds())
	if math.Abs(float64(got)-want) > 0.02*want {
		t.Errorf("the fleet admitted %d, want %.0f ± 2%%", got, want)
	}
	if refused.Load() == 0 {
		t.Error("nothing was refused: the load did not exceed the limit")
	}
	if seen := tr.seen(); len(seen) != 0 {
		t.Errorf("transitions %v: a replica lost Redis during the run", seen)
	}
}
