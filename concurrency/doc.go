// Package concurrency is a concurrency limit: at most Limit calls in
// flight at once, and a short bounded queue for the calls that come while
// it is full. A call that cannot get a slot in time fails fast with a
// *LimitedError (errors.Is ErrLimited) that carries the limit. It is safe
// for concurrent use and has no goroutines or timers of its own. It is the
// standalone part of the Tempest HTTP client's per-origin concurrency
// limit (issue 13); the limit can be changed while calls are in flight
// (SetLimit), which is what an adaptive algorithm does.
//
// # Acquire and release
//
// Acquire returns a Permit: the caller holds a slot until it calls
// Permit.Release (idempotent). A full limiter queues the caller, first in
// first out, if the queue has room; the wait ends when a slot frees, when
// ctx ends, or at the wait's bound: the earlier of Settings.MaxWait and
// the point where what is left of ctx's deadline would fall below
// Settings.MinLeft, so that a caller admitted from the queue still has
// time for its call. A caller whose bound has passed already is refused at
// once, without queueing; one that finds a slot free takes it, whatever its
// deadline (the call then fails on its own deadline, not on the limit).
// The queue is a linked list: leaving it is O(1), and a waiter that left
// holds no memory.
package concurrency
