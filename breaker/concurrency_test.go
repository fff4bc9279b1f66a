package breaker

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// R19: when the circuit half-opens, 50 goroutines released together by a
// barrier race for the probe slot and exactly one wins, round after round.
func TestR19ExactlyOneProbeAmongConcurrentAllows(t *testing.T) {
	const goroutines, rounds = 50, 20
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second})
		fail(t, b, 1)
		for round := range rounds {
			time.Sleep(time.Second)
			admitted, refused := allowRace(t, b, goroutines)
			if len(admitted) != 1 || refused != goroutines-1 {
				t.Fatalf("round %d: %d admitted, %d refused; want exactly one probe", round, len(admitted), refused)
			}
			if !admitted[0].Probe() {
				t.Fatalf("round %d: the admitted call is not the probe", round)
			}
			// Alternate how the round ends; every ending but Ignore re-opens.
			switch round % 3 {
			case 0:
				admitted[0].Done(Failure)
			case 1:
				admitted[0].Done(Ignore)
				admit(t, b).Done(Failure)
			case 2:
				time.Sleep(time.Second) // past ProbeTimeout (= Recovery)
				admitted[0].Done(Success)
				refuse(t, b)
			}
			wantState(t, b, Open, b.Snapshot().Generation)
		}
	})
}

// R18-R22 under -race: many goroutines mixing outcomes, with one at most
// probe in flight, and notifications forming one ordered chain.
func TestRaceMixedOutcomes(t *testing.T) {
	for _, withForce := range []bool{false, true} {
		name := "outcomes"
		if withForce {
			name = "with-trip-reset"
		}
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			var rec recorder
			probeTimeout := time.Hour // no timeouts: a probe is in flight until its Done
			if withForce {
				probeTimeout = 30 * time.Microsecond
			}
			b := mustNew(t, Settings{
				FailureThreshold: 3,
				Recovery:         20 * time.Microsecond,
				ProbeTimeout:     probeTimeout,
				Now:              clock.Now,
				OnStateChange:    rec.record,
			})
			var (
				wg       sync.WaitGroup
				inFlight atomic.Int32
				maxProbe atomic.Int32
				admitted atomic.Int64
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
						tk, err := b.Allow()
						if err != nil {
							if !errors.Is(err, ErrOpen) {
								t.Errorf("Allow: %v", err)
								return
							}
							continue
						}
						admitted.Add(1)
						if tk.Probe() {
							n := inFlight.Add(1)
							for {
								m := maxProbe.Load()
								if n <= m || maxProbe.CompareAndSwap(m, n) {
									break
								}
							}
							inFlight.Add(-1)
						}
						switch r := rand.IntN(20); {
						case r < 12:
							tk.Done(Failure)
						case r < 17:
							tk.Done(Success)
						default:
							tk.Done(Ignore)
						}
					}
				})
			}
			wg.Wait()
			if !withForce && maxProbe.Load() > 1 {
				t.Fatalf("%d probes in flight at once", maxProbe.Load())
			}
			ch := rec.get()
			checkChain(t, ch, 1, Closed)
			if rec.overlap {
				t.Fatal("OnStateChange calls overlapped")
			}
			s := b.Snapshot()
			if len(ch) == 0 || s.Generation != ch[len(ch)-1].Generation {
				t.Fatalf("final snapshot %+v after %d changes", s, len(ch))
			}
			t.Logf("%d admitted, %d changes", admitted.Load(), len(ch))
		})
	}
}
