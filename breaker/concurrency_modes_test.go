package breaker

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// R18-R22 under -race with the modes on: ratio mode, slow calls, growth and
// 3 probes. At most 3 probes are in flight in one generation (without
// Trip/Reset), no report is taken by a dead generation, notifications form
// one ordered chain, and every break lies within its bounds.
func TestRaceModes(t *testing.T) {
	for _, withForce := range []bool{false, true} {
		name := "outcomes"
		if withForce {
			name = "with-trip-reset"
		}
		t.Run(name, func(t *testing.T) {
			const probes = 3
			clock := newFakeClock()
			var rec recorder
			b := mustNew(t, Settings{
				FailureRatio:      0.5,
				MinimumThroughput: 10,
				Window:            100 * time.Microsecond,
				SlowCall:          5 * time.Microsecond,
				Recovery:          20 * time.Microsecond,
				MaxRecovery:       200 * time.Microsecond,
				ProbeTimeout:      30 * time.Microsecond,
				HalfOpenProbes:    probes,
				Now:               clock.Now,
				OnStateChange:     rec.record,
			})
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				inFlight = map[uint64]int{} // probes in flight per generation
				maxProbe int
			)
			for g := range 16 {
				wg.Go(func() {
					for i := range 3000 {
						clock.Advance(time.Microsecond)
						if withForce && (g*3000+i)%997 == 0 {
							if i%2 == 0 {
								b.Trip(clock.Now().Add(10 * time.Microsecond))
							} else {
								b.Reset()
							}
						}
						_ = b.Snapshot()
						_ = b.Peek()
						tk, err := b.Allow()
						if err != nil {
							if !errors.Is(err, ErrOpen) {
								t.Errorf("Allow: %v", err)
								return
							}
							continue
						}
						if tk.Probe() {
							mu.Lock()
							inFlight[tk.Generation()]++
							maxProbe = max(maxProbe, inFlight[tk.Generation()])
							mu.Unlock()
						}
						elapsed := time.Duration(rand.IntN(8)) * time.Microsecond
						switch r := rand.IntN(20); {
						case r < 8:
							tk.DoneTimed(Failure, elapsed)
						case r < 18:
							tk.DoneTimed(Success, elapsed)
						default:
							if tk.Probe() {
								mu.Lock()
								inFlight[tk.Generation()]--
								mu.Unlock()
							}
							tk.Done(Ignore)
						}
					}
				})
			}
			wg.Wait()
			if maxProbe > probes {
				t.Fatalf("%d probes admitted in one generation, want at most %d", maxProbe, probes)
			}
			ch := rec.get()
			checkChain(t, ch, 1, Closed)
			if rec.overlap {
				t.Fatal("OnStateChange calls overlapped")
			}
			for i, c := range ch {
				if c.To != Open || c.Cause == CauseTrip {
					continue
				}
				if d := c.Until.Sub(c.At); d < 20*time.Microsecond || d > 200*time.Microsecond {
					t.Fatalf("change %d %+v: a break of %v", i, c, d)
				}
			}
			s := b.Snapshot()
			if len(ch) == 0 || s.Generation != ch[len(ch)-1].Generation {
				t.Fatalf("final snapshot %+v after %d changes", s, len(ch))
			}
			t.Logf("%d changes, %d generations with probes", len(ch), len(inFlight))
		})
	}
}
