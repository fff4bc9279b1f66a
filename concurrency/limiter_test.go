package concurrency

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func mustNew(t *testing.T, s Settings) *Limiter {
	t.Helper()
	l, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func limited(t *testing.T, err error) *LimitedError {
	t.Helper()
	var le *LimitedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLimited) {
		t.Fatalf("err %v, want a *LimitedError", err)
	}
	return le
}

// R73: without a queue, a full limiter refuses at once with the limit; a
// release frees the slot; Release is idempotent.
func TestLimiter_R73_RefusesWhenFull(t *testing.T) {
	l := mustNew(t, Settings{Limit: 2})
	ctx := context.Background()
	a, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Acquire(ctx)
	if le := limited(t, err); le.Limit != 2 || le.InFlight != 2 || le.Queued {
		t.Errorf("refusal %+v", le)
	}
	a.Release()
	a.Release() // idempotent: frees one slot only
	if _, err := l.Acquire(ctx); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := l.Acquire(ctx); err == nil {
		t.Error("a second Release freed a second slot")
	}
	b.Release()
	if s := l.Snapshot(); s.InFlight != 1 || s.Rejected != 2 || s.Queued != 0 || s.Limit != 2 {
		t.Errorf("snapshot %+v", s)
	}
	Permit{}.Release() // the zero Permit holds nothing
}

// R73: queued calls are admitted first in, first out, as slots free; a
// full queue refuses at once.
func TestLimiter_R73_QueueInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 1, Queue: 2})
		ctx := context.Background()
		first, _ := l.Acquire(ctx)
		var order []string
		var mu sync.Mutex
		permits := make(chan Permit, 2)
		for _, name := range []string{"b", "c"} {
			go func() {
				p, err := l.Acquire(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				permits <- p
			}()
			synctest.Wait() // b queues before c
		}
		if _, err := l.Acquire(ctx); limited(t, err).Queued {
			t.Error("a refusal for a full queue says it waited")
		}
		first.Release()
		(<-permits).Release()
		(<-permits).Release()
		if len(order) != 2 || order[0] != "b" || order[1] != "c" {
			t.Errorf("admitted in the order %v, want b then c", order)
		}
		if s := l.Snapshot(); s.InFlight != 0 || s.Queued != 0 {
			t.Errorf("snapshot %+v", s)
		}
	})
}

// R73: a wait in the queue never passes the caller's deadline less
// MinLeft, nor MaxWait; a caller with less than MinLeft left is refused at
// once, without queueing; either refusal takes no slot.
func TestLimiter_R73_WaitBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 1, Queue: 4, MinLeft: 30 * time.Millisecond, MaxWait: time.Second})
		hold, _ := l.Acquire(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := l.Acquire(ctx)
		if le := limited(t, err); !le.Queued || time.Since(start) != 70*time.Millisecond {
			t.Errorf("refused after %v (%+v); want after 70ms, from the queue", time.Since(start), le)
		}
		short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel2()
		start = time.Now()
		if _, err := l.Acquire(short); limited(t, err).Queued || time.Since(start) != 0 {
			t.Errorf("a caller with less than MinLeft waited %v", time.Since(start))
		}
		start = time.Now()
		if _, err := l.Acquire(context.Background()); !limited(t, err).Queued || time.Since(start) != time.Second {
			t.Errorf("MaxWait: refused after %v", time.Since(start))
		}
		if s := l.Snapshot(); s.InFlight != 1 || s.Queued != 0 || s.Rejected != 3 {
			t.Errorf("snapshot %+v", s)
		}
		hold.Release()
	})
}

// R73: a caller whose context ends in the queue leaves it with ctx's
// error, and holds no slot.
func TestLimiter_R73_CancelLeavesTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 1, Queue: 1})
		hold, _ := l.Acquire(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := l.Acquire(ctx)
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		hold.Release()
		if s := l.Snapshot(); s.InFlight != 0 || s.Queued != 0 || s.Rejected != 0 {
			t.Errorf("snapshot %+v", s)
		}
		if _, err := l.Acquire(context.Background()); err != nil {
			t.Errorf("the slot leaked: %v", err)
		}
	})
}

// R73: SetLimit raises (admitting queued calls at once) and lowers (the
// calls in flight finish; none is admitted until under the new limit).
func TestLimiter_R73_SetLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 1, Queue: 2})
		a, _ := l.Acquire(context.Background())
		got := make(chan Permit, 2)
		for range 2 {
			go func() {
				p, err := l.Acquire(context.Background())
				if err == nil {
					got <- p
				}
			}()
		}
		synctest.Wait()
		l.SetLimit(3)
		b, c := <-got, <-got
		if s := l.Snapshot(); s.InFlight != 3 || s.Queued != 0 {
			t.Fatalf("after raising: %+v", s)
		}
		l.SetLimit(1)
		a.Release()
		b.Release()
		soon, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		if _, err := l.Acquire(soon); err == nil {
			t.Error("admitted while over the lowered limit")
		}
		c.Release()
		p, err := l.Acquire(context.Background())
		if err != nil {
			t.Errorf("under the lowered limit: %v", err)
		}
		p.Release()
		l.SetLimit(0)
		if l.Snapshot().Limit != 1 {
			t.Error("SetLimit(0) is not 1")
		}
	})
}

// R73: many goroutines acquiring and releasing: never more than Limit in
// flight, nothing left held at the end.
func TestLimiter_R73_Concurrent(t *testing.T) {
	l := mustNew(t, Settings{Limit: 4, Queue: 1000})
	var mu sync.Mutex
	inFlight, most := 0, 0
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 50 {
				p, err := l.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inFlight++
				most = max(most, inFlight)
				mu.Unlock()
				mu.Lock()
				inFlight--
				mu.Unlock()
				p.Release()
			}
		})
	}
	wg.Wait()
	if most > 4 {
		t.Errorf("%d in flight at once, limit 4", most)
	}
	if s := l.Snapshot(); s.InFlight != 0 || s.Queued != 0 {
		t.Errorf("snapshot %+v", s)
	}
}

// R73: bad Settings are an error from New.
func TestNew_R73_Invalid(t *testing.T) {
	for _, s := range []Settings{{}, {Limit: -1}, {Limit: 1, Queue: -1}, {Limit: 1, MaxWait: -1}, {Limit: 1, MinLeft: -1}} {
		if _, err := New(s); !errors.Is(err, ErrInvalidSettings) {
			t.Errorf("New(%+v) = %v", s, err)
		}
	}
}
