// Package ratelimit is a client-side rate limiter: at most Rate events per
// Per, with bursts of up to Burst, as the generic cell rate algorithm
// (GCRA) counts them. It is safe for concurrent use, lock-free (one atomic
// word), and has no goroutines or timers of its own. The Tempest HTTP
// client keeps one Limiter per origin when asked to (httpclient.RateLimit);
// the package is usable on its own.
//
// # The algorithm
//
// Events are spaced Per/Rate apart (the emission interval T). The limiter
// keeps one number, the theoretical arrival time (TAT) of the next event.
// An event at time t is admitted at once when TAT - t <= (Burst-1)*T: a
// limiter that has been idle admits Burst events back to back, then one
// every T. Otherwise it is admitted after a wait of TAT - t - (Burst-1)*T.
// Admitting an event moves TAT on by T from max(TAT, t). Over any interval
// of length d, at most Burst + d/T events are admitted.
//
// # Waiting or failing fast
//
// Take admits one event if its wait is at most maxWait, and returns that
// wait: the caller sleeps it and goes on (Wait does both, for a context).
// A wait longer than maxWait takes nothing and returns a *LimitedError
// (errors.Is ErrLimited) whose RetryAfter says when an event would be
// admitted. maxWait 0 is fail-fast. Return gives an admitted event back,
// for a caller that took one and then did not use it (a later gate
// refused): the next event is admitted T sooner.
//
// Time is passed in, so that tests can be exact; the Limiter reads no
// clock of its own but the monotonic one its epoch carries.
package ratelimit
