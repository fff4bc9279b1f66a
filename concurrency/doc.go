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
//
// # The adaptive limit
//
// With Settings.Adaptive the limit follows the upstream (R74). Each Permit
// records its call's latency (Record, or Dropped for a call the upstream
// shed); samples are taken in windows of at least Adaptive.Window and at
// least half the limit. At the end of a window its median latency m is
// compared with a baseline b, the latency with nothing queued upstream,
// as r = m/b:
//
//   - r > High: the limit shrinks to limit*max(1/2, mid/r), mid being
//     (Low+High)/2; a limit not in use (fewer than three quarters of it
//     were ever taken in the window and nobody queued) shrinks from what
//     was in use instead.
//   - r < Low, and the limit was in use: it grows by an eighth (at least 1).
//   - otherwise it holds.
//
// An eighth of a window's calls shed (Dropped) counts as r = mid/0.75 at
// least. Each change starts a new window whose samples come only from
// permits granted after it, so that one overload is not answered twice.
//
// The baseline is the first window's median; after that it follows, by a
// quarter of the gap, each window whose median is at most 1.1 times it
// (the upstream got no slower, or faster). A limit held at Min while r
// stays over Low for three windows moves the baseline the same way: the
// latency is then the upstream's own, not the queue this limiter makes.
//
// Why a ratio band and medians: an upstream with C workers and a queue
// serves at full speed once C calls are in flight, and every call beyond
// that only waits; the latency then grows with the queue, so the ratio to
// the unqueued latency measures the queue without knowing C. Keeping it
// between 1.5 and 2 keeps a queue of about half to one C upstream: enough
// that its workers never idle between calls, little enough that the
// latency stays within twice the unqueued one. Medians, not means or
// minimums, because service times are skewed (a few slow calls must not
// move the limit) and a minimum of noisy windows drifts low. The defaults
// (start 64, Min 4, Max 1000, Window 20, Low 1.5, High 2) meet the
// targets of the project's overload model (docs/overload.md): at 1x to
// 4x of an upstream's capacity, at least 95% of it as goodput with a p99
// under 150ms, at 0.5x no refusal at all.
package concurrency
