// Package concurrency is a concurrency limit: at most Limit calls in
// flight at once, and a short bounded queue for the calls that come while
// it is full. A call that cannot get a slot in time fails fast with a
// *LimitedError (errors.Is ErrLimited) that carries the limit. It is safe
// for concurrent use and has no goroutines of its own; the bounds of
// Permit.ReleaseAfter share one pending timer per limiter. It is the
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
// least half the limit. The first window sets a baseline b, the latency
// with nothing queued upstream. At the end of each later window its median
// latency m is compared with it, as r = m/b:
//
//   - r > High: the limit shrinks to limit*max(1/2, mid/r), mid being
//     (Low+High)/2; a limit not in use shrinks from what was in use
//     instead. In use: callers queued or three quarters of the limit
//     taken, in the window or at its end.
//   - r < Low, and the limit in use: it grows by Low/r, at least an eighth
//     (and 1), at most a half.
//   - otherwise it holds.
//
// An eighth of a window's calls shed (Dropped) counts as r = mid/0.75 at
// least. Each change starts a new window whose samples come only from
// permits granted after it, so that one overload is not answered twice.
//
// The baseline moves in four ways, so that it stays the upstream's own
// latency, whatever that becomes:
//
//   - a window at most 1.1 times it moves it by a quarter of the gap;
//   - a window under half of it replaces it at once (a queue
//     only adds latency: the upstream got faster), and, with the limit in
//     use, halves the limit for one window, a probe that drains any queue
//     of ours so that the next window measures the upstream alone, as BBR
//     drains its queue to measure the round trip;
//   - a deep cut (by 40% or more) after which the median did not fall by
//     a twentieth replaces it with the new median: the latency was not a
//     queue of ours but the upstream's pace (its service got slower);
//     so do cuts, since the limit last grew, that took it from twice its
//     value or more with the median still within a tenth of what it was
//     then (a slowdown near High, which shallow cuts alone would follow
//     down to Min);
//   - a limit held at Min while r stays over Low for three windows moves
//     it by a quarter of the gap per window.
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
