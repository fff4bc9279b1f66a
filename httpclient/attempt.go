package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
)

// attemptTrace is the context of one attempt followed through net/http's
// connection pool (R57, R59): it notes how long after the attempt began it
// got a connection (httptrace's GotConn) and a dial was made on its behalf
// (NewTransport's dialer; a dial carries its request's context values).
// Until the earlier of the two, the attempt was queued for a connection
// slot. It answers httptrace's own context key itself, so that following
// an attempt costs one allocation and a closure, not a chain of context
// values.
type attemptTrace struct {
	context.Context
	trace     httptrace.ClientTrace
	start     time.Time
	gotAfter  atomic.Int64 // nanoseconds from start to GotConn; 0: none
	dialAfter atomic.Int64 // nanoseconds from start to a dial; 0: none
	ownsKey   bool         // Value answers httptrace's key with trace

	// body is the attempt's response body when it has a timeout of its
	// own, kept here so that both cost one allocation.
	body deadlineBody
}

type attemptTraceKey struct{}

// traceKey is the key under which net/http/httptrace keeps a ClientTrace in
// a context, learnt once by asking ContextClientTrace of a context that
// notes what it is asked.
var traceKey = func() any {
	var spy keySpy
	httptrace.ContextClientTrace(&spy)
	return spy.key
}()

type keySpy struct {
	context.Context
	key any
}

func (s *keySpy) Value(key any) any { s.key = key; return nil }

// traced returns parent as the context of an attempt that is followed.
// When parent carries a trace of the caller's own, the two are composed
// by httptrace, which costs what it costs.
func traced(parent context.Context) *attemptTrace {
	at := &attemptTrace{Context: parent, ownsKey: traceKey != nil, start: time.Now()}
	at.trace.GotConn = func(httptrace.GotConnInfo) { at.gotAfter.CompareAndSwap(0, at.since()) }
	if httptrace.ContextClientTrace(parent) != nil {
		at.Context = httptrace.WithClientTrace(parent, &at.trace)
		at.ownsKey = false
	}
	return at
}

func (at *attemptTrace) Value(key any) any {
	switch {
	case key == attemptTraceKey{}:
		return at
	case at.ownsKey && key == traceKey:
		return &at.trace
	}
	return at.Context.Value(key)
}

// since returns the nanoseconds since the attempt began, at least 1.
func (at *attemptTrace) since() int64 {
	return max(int64(time.Since(at.start)), 1)
}

// noteDial records a dial made for the attempt.
func (at *attemptTrace) noteDial() {
	at.dialAfter.CompareAndSwap(0, at.since())
}

// slotWait reports whether an attempt that ended now spent most of its time
// queued for a connection slot, and whether it got a connection, so that
// it may have been sent.
func (at *attemptTrace) slotWait() (queued, sent bool) {
	if at == nil {
		return false, false
	}
	got, dial := at.gotAfter.Load(), at.dialAfter.Load()
	wait := got
	if dial != 0 && (wait == 0 || dial < wait) {
		wait = dial
	}
	if wait == 0 {
		return true, false
	}
	return 2*wait > at.since(), got != 0
}

// attempt sends racer k of attempt n under parent (the hop's context, or a
// hedge's own) and decides its outcome at the response headers (R17).
// release, when set, ends the hedge's context once the attempt is over.
// The attempt owns permit, its concurrency slot (R75): it gives it back
// when it fails, or hands it to the response body.
func (h *hop) attempt(parent context.Context, release context.CancelCauseFunc, n, k int, ticket breaker.Ticket, body io.ReadCloser, permit concurrency.Permit) attemptResult {
	c := h.c
	a := h.a
	held := h.st.conc != nil
	sampled := held && c.reg.conc.Adaptive != nil // only an adaptive limit takes latency samples
	var slot concurrency.Permit                   // the slot a deadlineBody holds
	if held {
		defer func() {
			if !held {
				return // the body has it
			}
			permit.Release() // on every way out, panics and Goexit included
		}()
	}
	a.N, a.Hedge = n, k
	if h.st.br != nil {
		a.Breaker, a.Generation, a.Probe = ticket.State(), ticket.Generation(), ticket.Probe()
	}
	actx, cancel := parent, context.CancelFunc(nil)
	if !h.noTimeout && !h.deadlineFirst() {
		actx, cancel = context.WithTimeout(parent, h.timeout)
	}
	if release != nil {
		inner := cancel
		cancel = func() {
			if inner != nil {
				inner()
			}
			release(nil)
		}
	}
	own := actx // the attempt's own context, whatever an AttemptStart hook returns
	var slots slotWatch
	if c.slots != nil {
		slots = c.slots.watch()
		defer slots.done() // on every way out, Goexit included
		if slots.follow {
			slots.ct = traced(actx)
			actx = slots.ct
		}
	}
	ct := slots.ct
	areq := h.req.WithContext(actx) // a shallow copy: the caller's request is never mutated
	areq.Header = h.header
	areq.Body = body
	if h.url != nil {
		areq.URL = h.url
	}
	if c.attemptHeader != "" || c.hooks.AttemptStart != nil {
		areq.Header = h.header.Clone()
		if areq.Header == nil {
			areq.Header = make(http.Header)
		}
		if c.attemptHeader != "" {
			areq.Header[c.attemptHeader] = []string{attemptValue(a)}
		}
		if hctx := c.attemptStart(actx, areq, a); hctx != actx {
			actx = hctx
			areq = areq.WithContext(actx)
		}
	}

	var start time.Time
	if c.timed || sampled {
		start = time.Now()
	}
	resp, err := h.t.roundTrip(areq)
	slots.done()
	var dur time.Duration
	if c.timed || sampled {
		dur = time.Since(start)
	}

	r := attemptResult{resp: resp, err: err, hedge: k, a: a}
	if resp != nil && resp.StatusCode >= 400 {
		r.result.Class = ClassStatus // as ClassOf the *StatusError it makes; "" for a success
	}
	outcome := breaker.Success
	if err != nil {
		rb, _ := body.(*requestBody)
		switch cerr := h.ctx.Err(); {
		case cerr != nil:
			// The caller's context ended: never retried (R6). Its
			// deadline ending a wait for headers is a timeout the
			// breaker must see (R4), unless the attempt was still
			// queued for a connection slot (R57); a cancellation
			// counts for nothing.
			r.callerEnded = true
			outcome = breaker.Ignore
			if errors.Is(cerr, context.DeadlineExceeded) && k == 0 && rb.failed() == nil && !rb.heldAt(h.ctx.Deadline()) && !slots.mayHaveQueued(c.slots) {
				outcome = breaker.Failure // once per call: hedges do not multiply it
			}
			if !errors.Is(err, cerr) {
				r.err = fmt.Errorf("%w (%w)", cerr, err)
			}
		case release != nil && context.Cause(parent) == errHedgeLost:
			outcome = breaker.Ignore // a cancelled hedge counts for nothing (R48)
		case errors.Is(err, errBadTransport):
			outcome = breaker.Ignore // the local RoundTripper's fault, not the upstream's
		case rb.failed() != nil:
			// The caller's body failed or lied about its length (R56).
			r.err = fmt.Errorf("%w (the transport said: %w)", rb.failed(), err)
			r.callerFault = true
			outcome = breaker.Ignore
		case isCallerShape(err):
			r.err = fmt.Errorf("%w: %w", ErrInvalidRequest, err)
			r.callerFault = true
			outcome = breaker.Ignore
		case isLocalResource(err):
			outcome = breaker.Ignore // the local machine's limits (R57); retried as not sent where R7 allows
		case actx.Err() != nil && own.Err() == nil && errors.Is(err, actx.Err()):
			outcome = breaker.Ignore // the AttemptStart hook's context ended it, not the upstream
		case cancel != nil && own.Err() != nil && rb.heldAt(own.Deadline()):
			// The transport was still waiting on the caller's own
			// slow body (R56).
			r.err = &requestBodyError{err: fmt.Errorf("still being read when the attempt timed out: %w", &attemptTimeoutError{err: err})}
			r.callerFault = true
			outcome = breaker.Ignore
		case cancel != nil && own.Err() != nil:
			switch queued, sent := slots.queued(); {
			case queued:
				// Queued for a connection slot most of the time:
				// the wait was local, and if it never got a
				// connection, nothing was sent (R57).
				r.err = &attemptTimeoutError{err: &connWaitError{err: err, sent: sent}}
				outcome = breaker.Ignore
			case slots.mayHaveQueued(c.slots):
				// Unfollowed, and the pool came under pressure:
				// it may have queued, or may have been sent (R59).
				r.err = &attemptTimeoutError{err: err}
				outcome = breaker.Ignore
			default:
				r.err = &attemptTimeoutError{err: err}
				outcome = breaker.Failure
			}
		default:
			outcome = breaker.Failure
		}
		if cancel != nil {
			cancel()
		}
		if sampled && outcome == breaker.Failure && (r.callerEnded || errors.Is(r.err, ErrAttemptTimeout)) {
			permit.Record(dur) // the upstream took at least this long (R75)
		}
		r.result.Class = ClassOf(r.err)
	} else {
		if held {
			if sampled {
				sampleResponse(permit, dur, resp.StatusCode)
			}
			if !h.noTimeout && resp.StatusCode != http.StatusSwitchingProtocols {
				// The slot is the body's until it is read to the
				// end or closed, or the attempt's deadline
				// passes (R75); NoTimeout and an upgraded
				// connection give it back at the headers. The
				// deadline is the attempt's own, or a hook's
				// earlier one.
				held = false
				dl, ok := own.Deadline()
				if hdl, hok := actx.Deadline(); hok && (!ok || hdl.Before(dl)) {
					dl, ok = hdl, true
				}
				if ok {
					permit.ReleaseAfter(time.Until(dl))
				}
				if cancel == nil {
					resp.Body = &slotBody{rc: resp.Body, p: permit}
				} else {
					slot = permit // the deadlineBody's
				}
			}
		}
		if cancel != nil {
			var db *deadlineBody
			if ct != nil {
				db = &ct.body // one allocation for both
			} else {
				db = new(deadlineBody)
			}
			*db = deadlineBody{rc: resp.Body, cancel: cancel, outer: h.ctx, inner: actx, kind: &c.attemptBody, slot: slot}
			resp.Body = db
		} else if resp.ProtoMajor == 2 && c.ownTransport != nil {
			resp.Body = &ownBody{rc: resp.Body, c: c} // R30: a deadlineBody does this for timed attempts
		}
		resp.Request = h.req
		if failureStatus(resp.StatusCode) {
			outcome = breaker.Failure
		}
	}
	if h.st.br != nil {
		ticket.DoneTimed(outcome, dur) // R45: a slow success may count as a failure
	}
	r.result.Err, r.result.Duration, r.result.Outcome = r.err, dur, outcome
	if resp != nil {
		r.result.Status = resp.StatusCode
	}
	c.attemptDone(actx, a, r.result)
	return r
}

// errBadTransport marks an attempt whose RoundTripper broke its contract:
// it panicked, or returned a nil response with a nil error. That is a fault
// of local code, so it is not retried and counts for nothing in the breaker.
var errBadTransport = errors.New("httpclient: the RoundTripper broke its contract")

// roundTrip sends one attempt through the base RoundTripper and returns an
// answer the rest of the client can trust, as net/http's Client does
// (golang/go#38095): a panic or a nil response with a nil error becomes an
// error, a response that comes with an error is closed and dropped, and a
// nil Body or Header becomes an empty one.
func (t *transport) roundTrip(req *http.Request) (resp *http.Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			resp, err = nil, fmt.Errorf("%w: %T panicked: %v", errBadTransport, t.base, v)
			t.c.logPanic(req.Context(), "RoundTripper", v)
		}
	}()
	resp, err = t.base.RoundTrip(req)
	switch {
	case err != nil:
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if !t.trustDial {
			_ = err.Error() // an error that panics when printed panics here, under the recover
		}
		return nil, err
	case resp == nil:
		return nil, fmt.Errorf("%w: %T returned a nil *http.Response and a nil error", errBadTransport, t.base)
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	} else if !t.trustDial && resp.Body != http.NoBody {
		// The client reads and closes bodies itself (before a wait, in
		// a hedge race, on a redirect): a body of a RoundTripper other
		// than net/http's is guarded.
		resp.Body = &guardBody{rc: resp.Body, rt: t.base}
	}
	if resp.Header == nil {
		resp.Header = make(http.Header)
	}
	return resp, nil
}

// attemptValue is the attempt header's value, in the manner of the AWS SDKs'
// amz-sdk-request header (R49).
func attemptValue(a Attempt) string {
	v := "attempt=" + strconv.Itoa(a.N) + "; max=" + strconv.Itoa(a.Max)
	if a.Hedge > 0 {
		v += "; hedge=" + strconv.Itoa(a.Hedge)
	}
	return v
}
