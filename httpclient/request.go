package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RequestOption shapes one call: what the request carries ([JSON], [Form],
// [Body], [Header], [Query]) or how it is sent (every [SendOption]). Build
// them only with this package's functions; a nil RequestOption is ignored,
// and among repeated options the last wins ([Header] and [Query] add, so
// repeats accumulate).
type RequestOption interface {
	applyCall(*callConfig)
}

// SendOption is a RequestOption about how a request is sent rather than what
// it carries: [Timeout], [NoTimeout], [TotalTimeout], [Idempotent], [Retry],
// [NoRetry], [NoHedge]. Only these can travel in a context, through
// [WithRequestOptions], to [Client.Do] or the transport of
// [Client.StandardClient], so passing a request-building option there does
// not compile. (Through StandardClient, TotalTimeout is checked but not
// applied: bound such a call with the context's deadline or
// http.Client.Timeout.)
// A SendOption is a RequestOption too, but a []SendOption is not a
// []RequestOption: pass its elements one by one to a verb.
type SendOption func(*sendOptions)

func (o SendOption) applyCall(c *callConfig) {
	if o != nil {
		o(&c.send)
	}
}

// buildOption is a RequestOption that builds the request.
type buildOption func(*callConfig)

func (o buildOption) applyCall(c *callConfig) { o(c) }

// callConfig is what a call's options decide. Only the sending options (see
// sendOptions) reach the transport, through the request's context.
type callConfig struct {
	body        func() (io.Reader, error) // builds the body; nil: no body
	contentType string
	header      http.Header
	query       []string // "k=v" pairs, already escaped
	send        sendOptions
}

// sendOptions are the options the transport reads from a request's context.
type sendOptions struct {
	timeout    time.Duration
	timeoutSet bool
	timeoutErr error // Timeout(d) with d under 1ms (R40)
	noTimeout  bool
	idempotent bool
	retry      *RetryPolicy // resolved; nil: the client's
	retryErr   error
	noHedge    bool
	total      time.Duration // TotalTimeout; 0: the client's
	totalErr   error
}

func (s *sendOptions) isZero() bool { return *s == sendOptions{} }

type sendOptionsKey struct{}

// WithRequestOptions returns a context that carries opts to the client's
// transport, for code that only holds the *http.Client of
// [Client.StandardClient], or calls [Client.Do]. Options already in ctx are
// kept; opts apply over them. They apply to every call made with the
// returned context or one derived from it: scope it to the calls meant,
// above all with Idempotent. What the request carries (body, headers,
// query) is set on the *http.Request itself.
func WithRequestOptions(ctx context.Context, opts ...SendOption) context.Context {
	var so sendOptions
	if prev, ok := ctx.Value(sendOptionsKey{}).(*sendOptions); ok {
		so = *prev
	}
	for _, o := range opts {
		if o != nil {
			o(&so)
		}
	}
	return context.WithValue(ctx, sendOptionsKey{}, &so)
}

func sendOptionsFrom(ctx context.Context) *sendOptions {
	s, _ := ctx.Value(sendOptionsKey{}).(*sendOptions)
	return s
}

// JSON sends v encoded as JSON with Content-Type application/json. The value
// is encoded once, before any attempt; an encoding error ends the call before
// anything is sent.
func JSON(v any) RequestOption {
	return buildOption(func(c *callConfig) {
		c.contentType = "application/json"
		c.body = func() (io.Reader, error) {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("httpclient: encoding JSON body: %w", err)
			}
			return bytes.NewReader(b), nil
		}
	})
}

// Form sends values URL-encoded with Content-Type
// application/x-www-form-urlencoded. The values are copied.
func Form(values url.Values) RequestOption {
	encoded := values.Encode()
	return buildOption(func(c *callConfig) {
		c.contentType = "application/x-www-form-urlencoded"
		c.body = func() (io.Reader, error) { return strings.NewReader(encoded), nil }
	})
}

// Body sends r with the given Content-Type ("" sets none). A *bytes.Reader,
// *bytes.Buffer or *strings.Reader is replayed on retries; any other reader
// cannot be replayed, so the call makes a single attempt.
func Body(r io.Reader, contentType string) RequestOption {
	return buildOption(func(c *callConfig) {
		c.contentType = contentType
		c.body = func() (io.Reader, error) { return r, nil }
	})
}

// Header sets a header on the call. Call headers win over the context's
// request ID and the client's default headers.
func Header(key, value string) RequestOption {
	return buildOption(func(c *callConfig) {
		if c.header == nil {
			c.header = make(http.Header)
		}
		c.header.Add(key, value)
	})
}

// Query appends key=value, both escaped, after the URL's existing query,
// which is kept as written, and before a fragment.
func Query(key, value string) RequestOption {
	pair := url.QueryEscape(key) + "=" + url.QueryEscape(value)
	return buildOption(func(c *callConfig) { c.query = append(c.query, pair) })
}

// Timeout sets this call's per-attempt timeout, in place of the client's.
// d <= 0 makes the call fail before sending, with an error wrapping
// ErrInvalidRequest, and so does d under 1ms, a unit slip (Timeout(10) would
// be 10ns); use NoTimeout to lift the timeout.
func Timeout(d time.Duration) SendOption {
	var slip error
	if msg := unitSlip(fmt.Sprintf("Timeout(%v)", d), d); msg != "" {
		slip = fmt.Errorf("%w: %s", ErrInvalidRequest, msg)
	}
	return func(s *sendOptions) {
		s.timeout, s.timeoutSet, s.noTimeout = d, true, false
		s.timeoutErr = slip
	}
}

// NoTimeout lifts the per-attempt timeout for this call, for streaming
// responses. The caller's context still bounds the call; a breaker
// probe is still bounded by the breaker's ProbeTimeout, by default its
// recovery time.
func NoTimeout() SendOption {
	return func(s *sendOptions) {
		s.noTimeout, s.timeoutSet, s.timeout = true, false, 0
		s.timeoutErr = nil
	}
}

// Idempotent marks the call as safe to repeat, so that methods such as POST
// and PATCH are retried like PUT. Prefer an Idempotency-Key header when
// the upstream supports one.
func Idempotent() SendOption {
	return func(s *sendOptions) { s.idempotent = true }
}

// Retry sets this call's retry policy, in place of the client's. Its zero
// fields take the package defaults, not the client's.
func Retry(p RetryPolicy) SendOption {
	resolved, err := p.resolve()
	return func(s *sendOptions) {
		if err != nil {
			s.retry, s.retryErr = nil, err
			return
		}
		s.retry, s.retryErr = &resolved, nil
	}
}

// TotalTimeout bounds this whole call made with a verb or Do, in place of
// the client's WithTotalTimeout; d <= 0 makes the call fail before sending,
// with an error wrapping ErrInvalidRequest, and so does d under 1ms, a unit
// slip (TotalTimeout(30) would be 30ns). Through StandardClient it is not
// applied; see SendOption.
func TotalTimeout(d time.Duration) SendOption {
	var bad error
	if d <= 0 {
		bad = fmt.Errorf("%w: TotalTimeout(%v) must be positive", ErrInvalidRequest, d)
	} else if msg := unitSlip(fmt.Sprintf("TotalTimeout(%v)", d), d); msg != "" {
		bad = fmt.Errorf("%w: %s", ErrInvalidRequest, msg)
	}
	return func(s *sendOptions) {
		s.total, s.totalErr = d, bad
	}
}

// NoRetry makes the call a single attempt per hop.
func NoRetry() SendOption {
	return Retry(RetryPolicy{MaxAttempts: 1})
}

// Path builds a relative URL path from segments, escaping each one, so that
// user data cannot add segments or a query: Path("users", "a/b?c") is
// "/users/a%2Fb%3Fc". A segment that is "." or ".." is still rejected by the
// call.
func Path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// build makes the request of a call with options.
func (c *Client) build(ctx context.Context, method, target string, opts []RequestOption) (*http.Request, error) {
	var cc callConfig
	for _, o := range opts {
		if o != nil {
			o.applyCall(&cc)
		}
	}
	if len(cc.query) > 0 {
		target = appendQuery(target, cc.query)
	}
	var body io.Reader
	if cc.body != nil {
		var err error
		if body, err = cc.body(); err != nil {
			return nil, &url.Error{Op: urlErrorOp(method), URL: redactRaw(target), Err: err}
		}
	}
	if ctx != nil && !cc.send.isZero() {
		if prev := sendOptionsFrom(ctx); prev != nil {
			merged := *prev
			merged.merge(&cc.send)
			cc.send = merged
		}
		ctx = context.WithValue(ctx, sendOptionsKey{}, &cc.send)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, &url.Error{Op: urlErrorOp(method), URL: redactRaw(target), Err: fmt.Errorf("%w: %v", ErrInvalidRequest, redactURLError(err, target))}
	}
	for k, vs := range cc.header {
		req.Header[k] = append(req.Header[k], vs...)
	}
	if cc.contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", cc.contentType)
	}
	return req, nil
}

// resolve turns a call URL into the target URL and its origin's state, for
// the fail-fast check (R18): nil when the origin has no state yet, or the
// URL is too odd to split cheaply; the transport then checks the breaker
// after validation.
func (c *Client) resolve(raw string) (string, *originState, error) {
	if isAbsolute(raw) {
		scheme, rest, _ := strings.Cut(raw, "://")
		host := rest
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			host = rest[:i]
		}
		if host == "" || strings.IndexByte(host, '@') >= 0 {
			return raw, nil, nil
		}
		// A lookup that makes no state: the URL is not validated yet,
		// and a bad host must not take an origin's place (R50).
		return raw, c.reg.find(scheme, host), nil
	}
	if c.base == nil {
		return "", nil, fmt.Errorf("%w: %q is not an absolute http or https URL and the client has no base URL", ErrInvalidRequest, redactRaw(raw))
	}
	target, err := c.base.join(raw)
	return target, c.baseState, err
}

func (s *sendOptions) merge(o *sendOptions) {
	if o.timeoutSet || o.noTimeout {
		s.timeout, s.timeoutSet, s.noTimeout = o.timeout, o.timeoutSet, o.noTimeout
		s.timeoutErr = o.timeoutErr
	}
	if o.idempotent {
		s.idempotent = true
	}
	if o.retry != nil || o.retryErr != nil {
		s.retry, s.retryErr = o.retry, o.retryErr
	}
	if o.noHedge {
		s.noHedge = true
	}
	if o.total != 0 || o.totalErr != nil {
		s.total, s.totalErr = o.total, o.totalErr
	}
}

// appendQuery adds the escaped pairs after target's query (R3). They go
// before a fragment, which is never sent: the first '#' ends the query, and a
// '?' after it belongs to the fragment.
func appendQuery(target string, pairs []string) string {
	frag := ""
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target, frag = target[:i], target[i:]
	}
	var b strings.Builder
	b.WriteString(target)
	sep := byte('?')
	if q := strings.IndexByte(target, '?'); q >= 0 {
		sep = '&'
		if q == len(target)-1 || target[len(target)-1] == '&' {
			sep = 0
		}
	}
	for _, p := range pairs {
		if sep != 0 {
			b.WriteByte(sep)
		}
		b.WriteString(p)
		sep = '&'
	}
	b.WriteString(frag)
	return b.String()
}

// urlErrorOp is the Op net/http's client puts in a *url.Error: "Get",
// "Post", ... The common methods are constants so that the fail-fast path
// does not allocate it.
func urlErrorOp(method string) string {
	switch method {
	case "", http.MethodGet:
		return "Get"
	case http.MethodPost:
		return "Post"
	case http.MethodPut:
		return "Put"
	case http.MethodPatch:
		return "Patch"
	case http.MethodDelete:
		return "Delete"
	case http.MethodHead:
		return "Head"
	}
	return method[:1] + strings.ToLower(method[1:])
}
