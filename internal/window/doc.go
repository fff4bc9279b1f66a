// Package window counts two kinds of events over a sliding window kept as
// ten buckets, with atomics only: the breaker's ratio mode counts calls and
// failures with it, and the client's retry budget calls and retries.
//
// Time is counted in bucket numbers (time since an epoch divided by the
// bucket width, Window/10); bucket number e lives in slot e%10, and the
// window at bucket number e is the slots whose number is in (e-10, e]: the
// current bucket, partly elapsed, and the nine before it. An event leaves the
// window between 0.9 and 1.0 Window after it was counted.
//
// The first count of a new bucket number claims the slot by a CAS to a
// "resetting" mark, clears its counters and then publishes the number;
// counts racing the turnover wait those three stores, so none is lost.
package window
