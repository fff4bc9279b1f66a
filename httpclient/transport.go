package httpclient

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/tempestsdk/tempest/internal/idheader"
	"github.com/tempestsdk/tempest/requestid"
)

// transport is the RoundTripper under the client's *http.Client. It runs once
// per hop of a redirect chain and holds the retry loop: breaker admission,
// headers, attempts with their own timeouts, waits, and accounting.
type transport struct {
	c         *Client
	base      http.RoundTripper
	trustDial bool // base is a net/http *http.Transport: its dial errors prove nothing was sent (R7)
}

// maxRetryBody is how much of a retryable response is buffered before a wait
// (R11) and the most a discarded body is drained (R33).
const maxRetryBody = 64 << 10

// CloseIdleConnections forwards to the underlying transport, so that
// http.Client.CloseIdleConnections works through the client.
func (t *transport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper. It never mutates req.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var h hop // on the stack: the hot path allocates no hop
	if err := t.initHop(&h, req); err != nil {
		closeRequestBody(req)
		return nil, err
	}
	defer h.st.release()
	if t.c.callHooks {
		return h.observed()
	}
	return h.run()
}

// hookContext is the caller's context with the values of the one a
// CallStart hook returned with another cancellation.
type hookContext struct {
	context.Context // the caller's: deadline, cancellation, error
	values          context.Context
}

func (c *hookContext) Value(key any) any {
	if v := c.values.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

// observed is run between the call hooks (R64).
func (h *hop) observed() (*http.Response, error) {
	c := h.c
	call := Call{Method: h.a.Method, Origin: h.a.Origin, Path: h.a.Path, Max: h.a.Max}
	start := time.Now()
	if nc := c.callStart(h.ctx, h.req, call); nc != h.ctx {
		if nc.Done() != h.ctx.Done() {
			// Another cancellation than the caller's: take the values
			// only, so that a hook can neither end the call nor cost
			// the caller its deadline (R64).
			nc = &hookContext{Context: h.ctx, values: nc}
		}
		h.ctx = nc
	}
	resp, err := h.run()
	r := CallResult{Err: err, Last: h.last, Duration: time.Since(start)}
	r.Attempts, r.Stop = Attempts(resp, err)
	if resp != nil {
		r.Status = resp.StatusCode
	}
	c.callDone(h.ctx, call, r)
	return resp, err
}

func (t *transport) initHop(h *hop, req *http.Request) error {
	c := t.c
	ctx := req.Context()
	if c.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateRequest(req); err != nil {
		return err
	}
	*h = hop{t: t, c: c, req: req, ctx: ctx, policy: c.retry, timeout: c.timeout, hedge: c.hedge}
	so := sendOptionsFrom(ctx)
	if so != nil {
		if so.retryErr != nil {
			return so.retryErr
		}
		if so.totalErr != nil {
			return so.totalErr
		}
		if so.timeoutErr != nil {
			return so.timeoutErr
		}
		if so.retry != nil {
			h.policy = *so.retry
		}
		if so.timeoutSet {
			if so.timeout <= 0 {
				return fmt.Errorf("%w: Timeout(%v) must be positive; use NoTimeout", ErrInvalidRequest, so.timeout)
			}
			h.timeout = so.timeout
		}
		h.noTimeout = so.noTimeout
		h.idempotent = so.idempotent
	}
	h.idempotent = h.idempotent || safeMethod(req.Method) || hasIdempotencyKey(req.Header)
	h.maxAttempts = h.policy.MaxAttempts
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		h.maxAttempts = 1 // R13: never a half-read body on a retry
		h.bodyOnce = true
	}
	if !h.hedgeable(so) {
		h.hedge = HedgePolicy{}
	}
	h.st = c.reg.acquire(req.URL.Scheme, req.URL.Host) // released when the hop ends
	c.learn(h.st)
	h.header = t.hopHeader(req, h.st)
	h.a = Attempt{Method: req.Method, Origin: h.st.origin, Path: req.URL.EscapedPath(), Max: h.maxAttempts}
	if h.a.Method == "" {
		h.a.Method = http.MethodGet
	}
	h.bound = probeBound(h.timeout, h.noTimeout)
	if sc := req.URL.Scheme; sc != "http" && sc != "https" {
		// Validated as http or https in any case; net/http takes only
		// lower case (R56).
		u := *req.URL
		u.Scheme = strings.ToLower(sc)
		h.url = &u
	}
	return nil
}

// hopHeader returns the headers of this hop's attempts: the call's, then the
// context's request ID (R25), then the default headers for the base origin
// (R23). It returns req.Header itself when nothing is added.
func (t *transport) hopHeader(req *http.Request, st *originState) http.Header {
	c := t.c
	var id string
	idName := ""
	if c.propagateID {
		// An ID that is not a valid header value is not sent (R25): it
		// would make net/http refuse the whole request.
		if v, ok := requestid.FromContext(req.Context()); ok && validHeaderValue(v) {
			idName = idheader.Load().Key
			if hasHeader(req.Header, idName) {
				idName = ""
			} else {
				id = v
			}
		}
	}
	defaults := len(c.defaultHeaders) > 0 && t.isBaseOrigin(req, st)
	if idName == "" && !defaults {
		return req.Header
	}
	h := req.Header.Clone()
	if h == nil {
		h = make(http.Header, len(c.defaultHeaders)+1)
	}
	if defaults {
		for k, vs := range c.defaultHeaders {
			if k == idName || hasHeader(req.Header, k) {
				continue
			}
			h[k] = append([]string(nil), vs...)
		}
	}
	if idName != "" {
		h[idName] = []string{id}
	}
	return h
}

// hasHeader reports whether h holds the canonical name key under any
// spelling: a request built by hand may hold "authorization", which
// net/http sends as written, and a default Authorization must not go out
// beside it (R23).
func hasHeader(h http.Header, key string) bool {
	if _, ok := h[key]; ok {
		return true
	}
	for k := range h {
		if len(k) == len(key) && k != key && http.CanonicalHeaderKey(k) == key {
			return true
		}
	}
	return false
}

// isBaseOrigin reports whether this hop goes to the base origin or, with no
// base URL, to the first hop's origin (R23).
func (t *transport) isBaseOrigin(req *http.Request, st *originState) bool {
	if t.c.base != nil {
		return st.origin == t.c.base.origin
	}
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if first == req {
		return true
	}
	return normalizeOrigin(first.URL.Scheme, first.URL.Host) == st.origin
}

// ownDialer is the dialer of NewTransport's transports: it tells the
// attempt a dial is made for, then dials, and counts the connection until
// it is closed (R59).
type ownDialer struct {
	d      *net.Dialer
	counts *slotCounts
}

func (o *ownDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if v := ctx.Value(slotProbeKey{}); v != nil {
		if p, ok := v.(*slotProbe); ok {
			p.counts = o.counts
			return nil, errSlotProbe
		}
	}
	if at, ok := ctx.Value(attemptTraceKey{}).(*attemptTrace); ok {
		at.noteDial()
	}
	o.counts.noteDial()
	conn, err := o.d.DialContext(ctx, network, addr)
	if err != nil {
		o.counts.conns.Add(-1)
		return nil, err
	}
	return &countedConn{Conn: conn, counts: o.counts}, nil
}

// ownDialPC identifies ownDialer's DialContext method values by their code.
var ownDialPC = sync.OnceValue(func() uintptr {
	return reflect.ValueOf((&ownDialer{}).DialContext).Pointer()
})

// NewTransport returns the tuned *http.Transport a Client uses by default, so
// that mTLS or a proxy can be added without losing the tuning: proxy
// from the environment, HTTP/2 attempted, 5s dial and TLS-handshake timeouts,
// 30s TCP keep-alive, 256 idle connections per host (Go's default is 2, which
// makes a busy client open and close connections all day), 1024 in all, idle
// ones closed after 90s.
//
// At most 512 connections per host (MaxConnsPerHost; Go's default has no
// bound), so that a burst of calls to one host cannot take all of the
// process's file descriptors: past it, a call waits inside net/http for a
// connection to come free, and that wait counts against its attempt
// timeout. An attempt that times out still waiting is the local machine's
// limit, not the upstream's fault: it counts for nothing in the
// breaker and is retried as not sent. That holds as long as the transport
// keeps the dialer set here (DialContext) and has no DialTLSContext, and
// MaxConnsPerHost is changed before the transport is given to New. The
// dialer counts its connections, so that only while they near the bound
// does an attempt pay to be followed through the pool; the connections it
// returns wrap the *net.TCPConn, which their NetConn method returns.
func NewTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&ownDialer{d: dialer, counts: new(slotCounts)}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		MaxConnsPerHost:       512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}
