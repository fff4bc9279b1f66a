package breaker

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func mustNew(t testing.TB, s Settings) *Breaker {
	t.Helper()
	b, err := New(s)
	if err != nil {
		t.Fatalf("New(%+v): %v", s, err)
	}
	return b
}

// admit calls Allow and fails the test if it is refused.
func admit(t testing.TB, b *Breaker) Ticket {
	t.Helper()
	tk, err := b.Allow()
	if err != nil {
		t.Fatalf("Allow: %v, want admitted (snapshot %+v)", err, b.Snapshot())
	}
	return tk
}

// refuse calls Allow, requires a *OpenError and returns it.
func refuse(t testing.TB, b *Breaker) *OpenError {
	t.Helper()
	tk, err := b.Allow()
	if err == nil {
		t.Fatalf("Allow admitted %+v, want refused (snapshot %+v)", tk, b.Snapshot())
	}
	var oe *OpenError
	if !errors.As(err, &oe) || !errors.Is(err, ErrOpen) {
		t.Fatalf("Allow error %T %v, want *OpenError matching ErrOpen", err, err)
	}
	if tk != (Ticket{}) {
		t.Fatalf("refused Allow returned non-zero ticket %+v", tk)
	}
	return oe
}

func fail(t testing.TB, b *Breaker, n int) {
	t.Helper()
	for range n {
		admit(t, b).Done(Failure)
	}
}

func wantState(t testing.TB, b *Breaker, st State, gen uint64) Snapshot {
	t.Helper()
	s := b.Snapshot()
	if s.State != st || s.Generation != gen {
		t.Fatalf("snapshot %+v, want state %v generation %d", s, st, gen)
	}
	if got := b.State(); got != st {
		t.Fatalf("State() = %v, want %v", got, st)
	}
	return s
}

// recorder collects Changes and checks they are never delivered concurrently.
type recorder struct {
	mu      sync.Mutex
	changes []Change
	busy    bool
	overlap bool
}

func (r *recorder) record(c Change) {
	r.mu.Lock()
	if r.busy {
		r.overlap = true
	}
	r.busy = true
	r.changes = append(r.changes, c)
	r.mu.Unlock()
	r.mu.Lock()
	r.busy = false
	r.mu.Unlock()
}

func (r *recorder) get() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Change(nil), r.changes...)
}

// checkChain verifies R22's order: each Change starts where the previous one
// ended, with the next generation.
func checkChain(t testing.TB, changes []Change, startGen uint64, startState State) {
	t.Helper()
	gen, st := startGen, startState
	for i, c := range changes {
		if c.From != st || c.Generation != gen+1 {
			t.Fatalf("change %d = %+v, want From %v Generation %d (out of order)", i, c, st, gen+1)
		}
		if (c.To == Open) != !c.Until.IsZero() {
			t.Fatalf("change %d = %+v: Until must be set exactly when To is Open", i, c)
		}
		gen, st = c.Generation, c.To
	}
}

// fakeClock is a clock for tests that run outside a synctest bubble.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// allowRace parks n goroutines on a barrier inside a synctest bubble, lets
// them call Allow at once, and returns the tickets admitted and the number
// refused with ErrOpen.
func allowRace(t *testing.T, b *Breaker, n int) (admitted []Ticket, refused int32) {
	t.Helper()
	start := make(chan struct{})
	var (
		wg  sync.WaitGroup
		ref atomic.Int32
		mu  sync.Mutex
	)
	for range n {
		wg.Go(func() {
			<-start
			tk, err := b.Allow()
			if err != nil {
				if !errors.Is(err, ErrOpen) {
					t.Errorf("Allow: %v", err)
				}
				ref.Add(1)
				return
			}
			mu.Lock()
			admitted = append(admitted, tk)
			mu.Unlock()
		})
	}
	synctest.Wait() // every goroutine is parked on the barrier
	close(start)
	wg.Wait()
	return admitted, ref.Load()
}
