package concurrency

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrLimited is what a refusal's error answers to errors.Is.
var ErrLimited = errors.New("concurrency: limit reached")

// ErrInvalidSettings is wrapped by the error New returns for bad Settings.
var ErrInvalidSettings = errors.New("concurrency: invalid settings")

// LimitedError is a refused Acquire: no slot in time.
type LimitedError struct {
	Limit    int  // the limit when the call was refused
	InFlight int  // calls holding a slot then
	Queued   bool // the call waited in the queue before it was refused
}

func (e *LimitedError) Error() string {
	how := "the queue is full"
	if e.Queued {
		how = "no slot freed in time"
	}
	return fmt.Sprintf("concurrency: limit %d reached (%d in flight): %s", e.Limit, e.InFlight, how)
}

// Unwrap returns ErrLimited.
func (e *LimitedError) Unwrap() error { return ErrLimited }

// Settings configure a Limiter.
type Settings struct {
	// Limit is how many calls may hold a slot at once. It must be
	// positive, or 0 with Adaptive for DefaultInitial.
	Limit int
	// Queue is how many calls may wait for a slot. Default 0: a full
	// limiter refuses at once.
	Queue int
	// MaxWait bounds a wait in the queue. Default 0: only ctx and MinLeft
	// bound it.
	MaxWait time.Duration
	// MinLeft is the least time a caller admitted from the queue must
	// still have before ctx's deadline: a wait ends that long before it.
	// Default 0.
	MinLeft time.Duration
	// Adaptive, when set, makes the limit adaptive: it starts at Limit
	// (DefaultInitial when Limit is 0) and follows the latency samples
	// that permits record. Nil: the limit is fixed.
	Adaptive *Adaptive
}

// Limiter is a concurrency limit. Make one with New.
type Limiter struct {
	s Settings

	mu       sync.Mutex
	limit    int
	inFlight int
	waiters  list.List // of *waiter, FIFO; granted or abandoned ones are removed in O(1)
	rejected uint64
	ad       *adaptState // nil: a fixed limit

	// The permits with a ReleaseAfter bound, by deadline, and one timer
	// for the earliest: a bound costs a list insertion (O(1) when the
	// bounds come in order, as a client's attempt deadlines do), not a
	// timer of its own.
	expHead, expTail *slot
	reaperAt         time.Time // when the reaper armed last fires; zero: none pending
	reaperGen        uint64    // the generation of the reaper armed last; older ones do nothing
}

// waiter is one queued call. ready is closed when it is granted a slot.
type waiter struct {
	p       Permit // made at the grant, under the limit it was granted under
	ready   chan struct{}
	granted bool
	elem    *list.Element // its place in the queue; nil once it left
}

// New returns a Limiter for s, or an error wrapping ErrInvalidSettings.
func New(s Settings) (*Limiter, error) {
	if s.Limit == 0 && s.Adaptive != nil {
		s.Limit = DefaultInitial
	}
	switch {
	case s.Limit <= 0:
		return nil, fmt.Errorf("%w: Limit %d must be positive", ErrInvalidSettings, s.Limit)
	case s.Queue < 0:
		return nil, fmt.Errorf("%w: Queue %d is negative", ErrInvalidSettings, s.Queue)
	case s.MaxWait < 0 || s.MinLeft < 0:
		return nil, fmt.Errorf("%w: MaxWait %v and MinLeft %v must not be negative", ErrInvalidSettings, s.MaxWait, s.MinLeft)
	}
	l := &Limiter{s: s, limit: s.Limit}
	if s.Adaptive != nil {
		a, err := s.Adaptive.resolve()
		if err != nil {
			return nil, err
		}
		l.ad = &adaptState{cfg: a}
		l.limit = min(max(l.limit, a.Min), a.Max)
	}
	return l, nil
}

// Permit is a slot held. The zero Permit holds nothing.
type Permit struct {
	l *Limiter
	s *slot // shared by copies, so that Release and Record are idempotent
}

// slot is what a Permit's copies share. Guarded by the limiter's mu.
type slot struct {
	released, recorded bool
	epoch              uint32    // the adaptive limit's epoch when it was granted
	deadline           time.Time // ReleaseAfter's bound; zero: none
	prev, next         *slot     // in the limiter's list of bounds, while bounded
}

// Release gives the slot back, to the first caller in the queue if any. It
// may be called more than once, and from any goroutine; later calls do
// nothing.
func (p Permit) Release() {
	if p.l == nil {
		return
	}
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	p.l.releaseLocked(p.s)
	p.l.grantLocked()
}

// releaseLocked frees s's slot unless it was freed already. l.mu is held.
func (l *Limiter) releaseLocked(s *slot) {
	if s.released {
		return
	}
	s.released = true
	l.unboundLocked(s) // the reaper, if it was armed for s, finds nothing due and re-arms
	l.inFlight--
}

// ReleaseAfter releases the permit after d unless it is released before:
// a bound on how long a holder that may never call Release (a response
// body nobody closes) keeps its slot. A later call replaces the bound.
func (p Permit) ReleaseAfter(d time.Duration) {
	if p.l == nil {
		return
	}
	now := time.Now()
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	p.l.boundLocked(p.s, now.Add(max(d, 0)), now)
}

// boundLocked gives s the bound deadline. l.mu is held; now is the time,
// or zero when the caller did not read it (it is read if the reaper must
// be armed).
func (l *Limiter) boundLocked(s *slot, deadline, now time.Time) {
	if s.released {
		return
	}
	l.unboundLocked(s)
	s.deadline = deadline
	// Insert by deadline, from the tail: bounds mostly come in order.
	at := l.expTail
	for at != nil && at.deadline.After(s.deadline) {
		at = at.prev
	}
	if at == nil {
		s.next, l.expHead = l.expHead, s
	} else {
		s.next, at.next = at.next, s
	}
	s.prev = at
	if s.next != nil {
		s.next.prev = s
	} else {
		l.expTail = s
	}
	if l.expHead != s {
		return // the reaper armed for the head comes first
	}
	if now.IsZero() {
		now = time.Now()
	}
	// A pending reaper already due may be one that will never run (made
	// in a synctest bubble that ended): it is replaced too.
	if l.reaperAt.IsZero() || s.deadline.Before(l.reaperAt) || !l.reaperAt.After(now) {
		l.armLocked(now)
	}
}

// unboundLocked takes s out of the list of bounds, if it is in it.
func (l *Limiter) unboundLocked(s *slot) {
	if s.deadline.IsZero() {
		return
	}
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		l.expHead = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		l.expTail = s.prev
	}
	s.prev, s.next, s.deadline = nil, nil, time.Time{}
}

// armLocked arms a reaper for the earliest bound, or none when there is
// none. A reaper is a timer of its own, never reset or stopped: one made
// earlier, maybe in another synctest bubble or outside one, fires and
// finds itself stale. A pending reaper is left alone while the bounds
// come later than it (it re-arms when it fires), so a steady stream of
// bounds costs a timer per bound's length, not per bound.
func (l *Limiter) armLocked(now time.Time) {
	if l.expHead == nil {
		l.reaperAt = time.Time{}
		return
	}
	l.reaperGen++
	gen := l.reaperGen
	l.reaperAt = l.expHead.deadline
	time.AfterFunc(l.reaperAt.Sub(now), func() { l.reap(gen) })
}

// reap releases the permits whose bound has passed, and re-arms. A reaper
// of an older generation does nothing.
func (l *Limiter) reap(gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.reaperGen {
		return
	}
	now := time.Now()
	for l.expHead != nil && !l.expHead.deadline.After(now) {
		l.releaseLocked(l.expHead)
	}
	l.grantLocked()
	l.armLocked(now)
}

// grantLocked hands free slots to the queue's head. l.mu is held.
func (l *Limiter) grantLocked() {
	for l.inFlight < l.limit && l.waiters.Len() > 0 {
		w := l.waiters.Remove(l.waiters.Front()).(*waiter)
		w.elem = nil
		w.granted = true
		l.inFlight++
		w.p = l.permit()
		close(w.ready)
	}
}

// permit is a granted slot. l.mu is held.
func (l *Limiter) permit() Permit {
	s := &slot{}
	if l.ad != nil {
		s.epoch = l.ad.epoch
		l.ad.peak = max(l.ad.peak, l.inFlight)
	}
	return Permit{l: l, s: s}
}

// TryAcquire takes a slot if one is free and nobody is queued for one,
// without waiting and without counting a refusal: ok is false otherwise.
// It is the fast path of a caller that waits on terms of its own.
func (l *Limiter) TryAcquire() (p Permit, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight < l.limit && l.waiters.Len() == 0 {
		l.inFlight++
		return l.permit(), true
	}
	return Permit{}, false
}

// Acquire takes a slot, waiting in the queue while the limiter is full,
// within the bounds the package documentation gives. It returns ctx's error
// when ctx ends first, and a *LimitedError when the queue is full or the
// wait's bound comes first.
func (l *Limiter) Acquire(ctx context.Context) (Permit, error) {
	if err := ctx.Err(); err != nil {
		return Permit{}, err
	}
	l.mu.Lock()
	if l.inFlight < l.limit && l.waiters.Len() == 0 {
		l.inFlight++
		p := l.permit()
		l.mu.Unlock()
		return p, nil
	}
	if l.ad != nil {
		l.ad.pressed = true
	}
	wait, ok := l.bound(ctx)
	if !ok || l.waiters.Len() >= l.s.Queue {
		l.rejected++
		err := &LimitedError{Limit: l.limit, InFlight: l.inFlight}
		l.mu.Unlock()
		return Permit{}, err
	}
	w := &waiter{ready: make(chan struct{})}
	w.elem = l.waiters.PushBack(w)
	l.mu.Unlock()

	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	var cause error
	select {
	case <-w.ready:
		return w.p, nil
	case <-ctx.Done():
		cause = ctx.Err()
	case <-timeout:
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.granted {
		// Granted as the wait ended: the slot goes back, to the next.
		l.inFlight--
		l.grantLocked()
	} else if w.elem != nil {
		l.waiters.Remove(w.elem)
		w.elem = nil
	}
	if cause != nil {
		return Permit{}, cause
	}
	l.rejected++
	return Permit{}, &LimitedError{Limit: l.limit, InFlight: l.inFlight, Queued: true}
}

// bound is how long a call may wait in the queue: 0 for no bound; ok is
// false when it may not wait at all. l.mu is held (it reads Settings only).
func (l *Limiter) bound(ctx context.Context) (wait time.Duration, ok bool) {
	wait = l.s.MaxWait
	if dl, has := ctx.Deadline(); has {
		left := time.Until(dl)
		if left <= l.s.MinLeft {
			return 0, false
		}
		left -= l.s.MinLeft // no overflow: MinLeft >= 0 and left > MinLeft
		if wait == 0 || left < wait {
			wait = left
		}
	}
	return wait, true
}

// SetLimit changes the limit: raising it admits queued calls at once;
// lowering it lets the calls in flight finish and admits none until they
// are under the new limit. n < 1 counts as 1.
// On an adaptive limiter it is a new starting point, kept within Min and
// Max, from which the algorithm goes on.
func (l *Limiter) SetLimit(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n = max(n, 1)
	if l.ad != nil {
		n = min(max(n, l.ad.cfg.Min), l.ad.cfg.Max)
		l.ad.restart(true)
	}
	l.limit = n
	l.grantLocked()
}

// Snapshot is a limiter's state at one moment.
type Snapshot struct {
	Limit    int    `json:"limit"`
	InFlight int    `json:"in_flight"`
	Queued   int    `json:"queued"`
	Rejected uint64 `json:"rejected"` // refusals so far (not calls whose ctx ended)
}

// Snapshot returns the limiter's state. It is a pure read.
func (l *Limiter) Snapshot() Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Snapshot{Limit: l.limit, InFlight: l.inFlight, Queued: l.waiters.Len(), Rejected: l.rejected}
}
