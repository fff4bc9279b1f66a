package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
)

// mode is the outbound client the service uses.
type mode int

const (
	modeTempest        mode = iota // one shared httpclient.Client (with the concurrency limit in the saturate scenario)
	modePlain                      // http.Client with a timeout, no retries
	modeNaive                      // http.Client in a hand-rolled retry loop
	modeTempestNoLimit             // the same httpclient.Client without the concurrency limit
)

var modeNames = [...]string{"tempest", "plain http.Client", "naive retry loop", "tempest, no limiter"}

func (m mode) String() string { return modeNames[m] }

// tempest reports whether the service calls through an httpclient.Client.
func (m mode) tempest() bool { return m == modeTempest || m == modeTempestNoLimit }

// Outcome kinds of a call, as the service reports them to its caller in the
// X-Demo-Outcome header.
const (
	outcomeOK         = "ok"
	outcomeFastFail   = "circuit-open"
	outcomeShed       = "shed-limit" // refused by the client's concurrency limit (R75)
	outcome5xx        = "upstream-5xx"
	outcome429        = "upstream-429"
	outcomeTimeout    = "timeout"
	outcomeConnection = "connection"
	outcomeOther      = "other"
)

// errorKinds are the failed outcomes, in the order reports list them.
var errorKinds = []string{outcomeFastFail, outcomeShed, outcome5xx, outcome429, outcomeTimeout, outcomeConnection, outcomeOther}

const (
	callIDHeader  = "X-Call-ID" // unique per outbound call: how the upstream spots a POST received twice
	outcomeHeader = "X-Demo-Outcome"
)

// event is one line of a trace, at an offset from the start.
type event struct {
	at   time.Duration
	src  string // "service", "client", "upstream", "breaker"
	text string
}

// callRecord is one call of the load generator to the service.
type callRecord struct {
	id         string // its request ID
	method     string
	keyed      bool          // a POST with an Idempotency-Key
	start, end time.Duration // offsets from the start
	status     int           // 0 when the call got no response
	outcome    string
}

// hitRecord is one request the upstream received.
type hitRecord struct {
	hit     int // the upstream's hit number
	at      time.Duration
	id      string // X-Request-ID
	callID  string
	method  string
	keyed   bool
	outcome string // status or fault
}

// world is one run of a scenario: the scripted upstream, the service and its
// outbound caller, the load generator, and everything they record. Every
// field after mu is guarded by it.
type world struct {
	set     settings
	mode    mode
	start   time.Time // never changes once newWorld returns
	logs    *lineLog  // the service's log
	callSeq atomic.Int64

	mu            sync.Mutex
	inbound       int
	calls         []callRecord
	hits          []hitRecord
	attemptTimes  []time.Duration // when each attempt was admitted
	attemptsPerID map[string]int
	timeoutsPerID map[string]int     // attempts that ran out of the attempt timeout
	clientTrace   map[string][]event // per request ID
	retries       int
	fastfails     int
	admittedOpen  int // attempts admitted while the circuit was open: must stay 0
	strayHalfOpen int // attempts admitted half-open that were not the probe: must stay 0
	giveUps       map[string]int
	probes        map[uint64]int // probes admitted per half-open generation
	breakerLog    []event        // state changes and probes
	changes       []breaker.Change
	breakerOrigin string // the origin of the changes
	state         breaker.State
	got429        map[string]time.Time // request ID -> when its last attempt got a 429
	raGaps        []time.Duration      // from a 429 to the same call's next attempt
	limited       map[string]time.Time // the upstream's rate limiter: call ID -> end of its Retry-After
	limitSeq      int
	lastFast      time.Time // the slow upstream's last answer in time
	earlyRetries  int       // hits that came back before their Retry-After ended
	missingIDs    int       // upstream hits without a demo request ID
	echoMismatch  int       // service responses without the call's ID

	// Load: the service's calls in flight now, and per phase the most of
	// them and of the process's goroutines, sampled as each call arrives,
	// and the longest an upstream request waited for a worker.
	inflight     int
	peakInflight []int
	peakGoros    []int
	peakUpWait   []time.Duration
	shed         int                 // calls refused by the concurrency limit
	upFree       []time.Time         // the saturate upstream's workers: when each is free
	limitLog     []limitEvent        // the adaptive concurrency limit's changes
	limits       func() []limitState // the client's limiters now; nil without the limit
	limitEnd     []limitState        // their state when the load ended
}

// limitEvent is one change of the adaptive concurrency limit.
type limitEvent struct {
	at       time.Duration
	from, to int
}

// limitState is one origin's concurrency limiter at a moment.
type limitState struct {
	origin string
	concurrency.Snapshot
}

func newWorld(set settings, m mode) *world {
	n := len(set.phases)
	return &world{
		set:           set,
		mode:          m,
		start:         time.Now(),
		logs:          &lineLog{},
		attemptsPerID: make(map[string]int),
		timeoutsPerID: make(map[string]int),
		clientTrace:   make(map[string][]event),
		giveUps:       make(map[string]int),
		probes:        make(map[uint64]int),
		got429:        make(map[string]time.Time),
		limited:       make(map[string]time.Time),
		peakInflight:  make([]int, n),
		peakGoros:     make([]int, n),
		peakUpWait:    make([]time.Duration, n),
		upFree:        make([]time.Time, set.workers),
	}
}

func (w *world) since(t time.Time) time.Duration { return t.Sub(w.start) }

// ---- the upstream -----------------------------------------------------------

// upstreamScript answers by phase, decided by the time of the hit.
func (w *world) upstreamScript(hit int, r *http.Request) httpclienttest.Response {
	now := time.Now()
	if w.set.workers > 0 {
		return w.pooled(now, hit, r)
	}
	ph := w.set.phases[w.set.phaseAt(w.since(now))]
	switch ph.kind {
	case kindOutage:
		if hit%3 == 0 {
			return httpclienttest.Response{Fault: httpclienttest.ResetBeforeResponse}
		}
		return httpclienttest.Response{Status: http.StatusServiceUnavailable, Body: []byte("overloaded\n")}
	case kindSlow:
		// Slow under load: a few requests a second are answered in time,
		// the rest after slowDelay.
		w.mu.Lock()
		fast := now.Sub(w.lastFast) >= time.Second/time.Duration(w.set.slowCapacity)
		if fast {
			w.lastFast = now
		}
		w.mu.Unlock()
		if !fast {
			resp := okResponse(hit, r)
			resp.Delay = w.set.slowDelay
			return resp
		}
	case kindRateLimited:
		// A rate limiter that tells a call when to come back, and answers
		// 429 again if it comes back earlier.
		callID := r.Header.Get(callIDHeader)
		w.mu.Lock()
		until, seen := w.limited[callID]
		limit := false
		switch {
		case seen && now.Before(until):
			w.earlyRetries++
			limit = true
		case !seen:
			// Decided per call, so that the same calls are limited
			// whatever the client does.
			n, err := strconv.Atoi(strings.TrimPrefix(callID, "call-"))
			if err != nil {
				w.limitSeq++
				n = w.limitSeq
			}
			limit = n%w.set.limitEvery != 0
		}
		if limit {
			w.limited[callID] = now.Add(time.Duration(w.set.retryAfter) * time.Second)
		}
		w.mu.Unlock()
		if limit {
			resp := httpclienttest.Status(http.StatusTooManyRequests, "Retry-After", strconv.Itoa(w.set.retryAfter))
			resp.Body = []byte("slow down\n")
			return resp
		}
	}
	return okResponse(hit, r)
}

// pooled answers as the saturate scenario's upstream: a pool of workers,
// each serving one request at a time, first come first served. A request
// waits for the first worker free, which serves it in the service time of
// the phase it starts in. A worker serves a request whose caller has gone
// away too, as most servers do: nothing tells it before it starts.
// Computed as a schedule, so that no goroutine holds a worker: the
// response's Delay is the wait and the service.
func (w *world) pooled(now time.Time, hit int, r *http.Request) httpclienttest.Response {
	w.mu.Lock()
	first := 0
	for i, t := range w.upFree {
		if t.Before(w.upFree[first]) {
			first = i
		}
	}
	start := now
	if w.upFree[first].After(now) {
		start = w.upFree[first]
	}
	d := w.set.serviceTime
	if w.set.phases[w.set.phaseAt(w.since(start))].kind == kindSaturated {
		d = w.set.saturatedTime
	}
	w.upFree[first] = start.Add(d)
	ph := w.set.phaseAt(w.since(now))
	w.peakUpWait[ph] = max(w.peakUpWait[ph], start.Sub(now))
	w.mu.Unlock()
	resp := okResponse(hit, r)
	resp.Delay = start.Sub(now) + d
	return resp
}

func okResponse(hit int, r *http.Request) httpclienttest.Response {
	resp := httpclienttest.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}}
	if r.Method == http.MethodPost {
		resp.Status = http.StatusCreated
		resp.Body = fmt.Appendf(nil, `{"order":"accepted","call":%q}`, r.Header.Get(callIDHeader))
	} else {
		resp.Body = fmt.Appendf(nil, `{"symbol":"TMP","price":%d.%02d,"hit":%d}`, 100+hit%7, hit%100, hit)
	}
	return resp
}

// upstreamLog records each hit and keeps the upstream's log line for it.
func (w *world) upstreamLog(r httpclienttest.Request) {
	at := time.Since(w.start)
	h := hitRecord{
		hit:     r.Hit,
		at:      at,
		id:      r.Header.Get(requestid.HeaderName()),
		callID:  r.Header.Get(callIDHeader),
		method:  r.Method,
		keyed:   r.Header.Get("Idempotency-Key") != "",
		outcome: strconv.Itoa(r.Status),
	}
	if r.Fault != httpclienttest.None {
		h.outcome = r.Fault.String()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hits = append(w.hits, h)
	if !strings.HasPrefix(h.id, "demo-") {
		w.missingIDs++
	}
}

// upstreamLine is the upstream's log line for a hit (header values other
// than the request ID are not logged, R28).
func upstreamLine(h hitRecord) string {
	path := "/quote?symbol=TMP"
	if h.method == http.MethodPost {
		path = "/orders"
	}
	key := ""
	if h.method == http.MethodPost {
		key = " idempotency-key=no"
		if h.keyed {
			key = " idempotency-key=yes"
		}
	}
	return fmt.Sprintf("hit=%d %s %s %s=%s %s=%s%s -> %s",
		h.hit, h.method, path, requestid.HeaderName(), h.id, callIDHeader, h.callID, key, h.outcome)
}

// ---- the service ------------------------------------------------------------

// outbound is what the service asks of the upstream for one inbound call.
type outbound struct {
	method string
	callID string // unique per inbound call; not an idempotency key
	key    string // Idempotency-Key, "" for none
}

type order struct {
	Call   string `json:"call"`
	Symbol string `json:"symbol"`
	Qty    int    `json:"qty"`
}

// caller is the service's way to the upstream: it returns the final status,
// or the error of a call that got no response.
type caller interface {
	do(ctx context.Context, o outbound) (status int, err error)
}

// service is the demo's HTTP service: GET /quote and POST /orders each make
// one call to the upstream through the caller. It answers 200 (201), 503
// with Retry-After when the circuit is open, 504 on a timeout and 502 for
// the other failures, and names the outcome in X-Demo-Outcome. Its log
// records carry request_id through requestid.NewLogHandler.
func (w *world) service(c caller) http.Handler {
	text := slog.NewTextHandler(w.logs, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // the trace prints its own offsets
			}
			return a
		},
	})
	// The group shows R27: request_id stays a top-level attribute.
	log := slog.New(requestid.NewLogHandler(text)).WithGroup("http")

	handle := func(rw http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		goros := runtime.NumGoroutine()
		w.mu.Lock()
		w.inbound++
		w.inflight++
		ph := w.set.phaseAt(time.Since(w.start))
		w.peakInflight[ph] = max(w.peakInflight[ph], w.inflight)
		w.peakGoros[ph] = max(w.peakGoros[ph], goros)
		w.mu.Unlock()
		defer func() {
			w.mu.Lock()
			w.inflight--
			w.mu.Unlock()
		}()
		log.InfoContext(ctx, "inbound request", "method", r.Method, "path", r.URL.Path)
		o := outbound{method: r.Method, callID: fmt.Sprintf("call-%06d", w.callSeq.Add(1))}
		if r.Method == http.MethodPost {
			o.key = r.Header.Get("Idempotency-Key")
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
		}
		status, err := c.do(ctx, o)
		outcome := classify(status, err)
		rw.Header().Set(outcomeHeader, outcome)
		code := http.StatusBadGateway
		switch outcome {
		case outcomeOK:
			code = status
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(code)
			fmt.Fprintf(rw, "{%q:%q}\n", "result", "ok")
		case outcomeFastFail:
			w.mu.Lock()
			w.fastfails++
			w.mu.Unlock()
			code = http.StatusServiceUnavailable
			var coe *httpclient.CircuitOpenError
			if errors.As(err, &coe) {
				secs := int(math.Ceil(time.Until(coe.Until).Seconds()))
				rw.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			}
			http.Error(rw, "upstream circuit open: failing fast", code)
		case outcomeShed:
			w.mu.Lock()
			w.shed++
			w.mu.Unlock()
			code = http.StatusServiceUnavailable
			rw.Header().Set("Retry-After", "1")
			http.Error(rw, "upstream at its concurrency limit: shed", code)
		case outcomeTimeout:
			code = http.StatusGatewayTimeout
			http.Error(rw, "upstream timed out", code)
		default:
			http.Error(rw, "upstream failed", code)
		}
		log.InfoContext(ctx, "request done", "status", code, "outcome", outcome, "cause", cause(status, err))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /quote", handle)
	mux.HandleFunc("POST /orders", handle)
	return requestid.Middleware(mux)
}

// classify names the outcome of an outbound call.
func classify(status int, err error) string {
	var ne net.Error
	switch {
	case err == nil && status >= 200 && status < 300:
		return outcomeOK
	case err == nil && status == http.StatusTooManyRequests:
		return outcome429
	case err == nil && status >= 500:
		return outcome5xx
	case err == nil:
		return outcomeOther
	case errors.Is(err, httpclient.ErrCircuitOpen):
		return outcomeFastFail
	case errors.Is(err, httpclient.ErrConcurrencyLimited):
		return outcomeShed
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return outcomeTimeout
	case errors.Is(err, context.Canceled):
		return outcomeOther
	}
	return outcomeConnection
}

// cause names a call's failure for the service's log.
func cause(status int, err error) string {
	if err != nil {
		return string(httpclient.ClassOf(err))
	}
	if status >= 300 {
		return "upstream status " + strconv.Itoa(status)
	}
	return "none"
}

// tempestCaller calls the upstream through one shared httpclient.Client,
// which propagates the request ID itself.
type tempestCaller struct{ c *httpclient.Client }

func (t tempestCaller) do(ctx context.Context, o outbound) (int, error) {
	var err error
	status := http.StatusOK
	if o.method == http.MethodPost {
		opts := []httpclient.RequestOption{
			httpclient.JSON(order{Call: o.callID, Symbol: "TMP", Qty: 1}),
			httpclient.Header(callIDHeader, o.callID),
		}
		if o.key != "" {
			opts = append(opts, httpclient.Header("Idempotency-Key", o.key))
		}
		status = http.StatusCreated
		_, err = httpclient.Decode[struct{ Order string }](t.c.Post(ctx, "/orders", opts...))
	} else {
		_, err = httpclient.Decode[struct{ Price float64 }](t.c.Get(ctx, "/quote",
			httpclient.Query("symbol", "TMP"), httpclient.Header(callIDHeader, o.callID)))
	}
	var se *httpclient.StatusError
	if errors.As(err, &se) {
		return se.StatusCode, nil
	}
	if err != nil {
		return 0, err
	}
	return status, nil
}

// loopCaller is the hand-rolled code this library replaces: an http.Client
// with a timeout, and with tries > 1 a loop that retries every method on any
// error or 5xx after a fixed sleep. It sets the request ID header by hand.
type loopCaller struct {
	w     *world
	hc    *http.Client
	base  string
	tries int
	sleep time.Duration
}

func (l loopCaller) do(ctx context.Context, o outbound) (int, error) {
	var body []byte
	if o.method == http.MethodPost {
		body, _ = json.Marshal(order{Call: o.callID, Symbol: "TMP", Qty: 1})
	}
	for try := 1; ; try++ {
		status, err := l.once(ctx, o, body, try)
		if err == nil && status < 500 {
			return status, nil
		}
		if try >= l.tries || ctx.Err() != nil {
			return status, err
		}
		t := time.NewTimer(l.sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return status, err
		case <-t.C:
		}
	}
}

func (l loopCaller) once(ctx context.Context, o outbound, body []byte, try int) (int, error) {
	path := "/quote?symbol=TMP"
	if o.method == http.MethodPost {
		path = "/orders"
	}
	req, err := http.NewRequestWithContext(ctx, o.method, l.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if id, ok := requestid.FromContext(ctx); ok {
		req.Header.Set(requestid.HeaderName(), id)
	}
	req.Header.Set(callIDHeader, o.callID)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.key != "" {
		req.Header.Set("Idempotency-Key", o.key)
	}
	l.w.noteAttempt(ctx, try)
	start := time.Now()
	resp, err := l.hc.Do(req)
	result := ""
	status := 0
	if err != nil {
		result = string(httpclient.ClassOf(err))
		if classify(0, err) == outcomeTimeout {
			l.w.noteTimeout(ctx)
		}
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		status = resp.StatusCode
		result = strconv.Itoa(status)
	}
	l.w.traceClient(ctx, fmt.Sprintf("attempt %d/%d -> %s, %v", try, l.tries, result, fmtDur(time.Since(start))))
	return status, err
}

// noteAttempt counts an attempt of the plain or naive caller.
func (w *world) noteAttempt(ctx context.Context, try int) {
	id, _ := requestid.FromContext(ctx)
	at := time.Since(w.start)
	w.mu.Lock()
	defer w.mu.Unlock()
	if try > 1 {
		w.retries++
	}
	w.attemptTimes = append(w.attemptTimes, at)
	w.attemptsPerID[id]++
}

func (w *world) noteTimeout(ctx context.Context) {
	id, _ := requestid.FromContext(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timeoutsPerID[id]++
}

func (w *world) traceClient(ctx context.Context, text string) {
	id, _ := requestid.FromContext(ctx)
	at := time.Since(w.start)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clientTrace[id] = append(w.clientTrace[id], event{at: at, src: "client", text: text})
}

// lineLog is an in-memory log: slog's text handler writes each record with
// one Write, which becomes one line stamped with its time.
type lineLog struct {
	mu    sync.Mutex
	lines []lineLogEntry
}

type lineLogEntry struct {
	at   time.Time
	text string
}

func (l *lineLog) Write(p []byte) (int, error) {
	text := strings.TrimSuffix(string(p), "\n")
	l.mu.Lock()
	l.lines = append(l.lines, lineLogEntry{at: time.Now(), text: text})
	l.mu.Unlock()
	return len(p), nil
}

// ---- the client's hooks -----------------------------------------------------

// The hooks count from what the client itself reports: the breaker state and
// generation decided at each attempt's admission (R21), so that what was
// admitted while open, and the probes of each half-open period, are counted
// without racing the breaker.
func (w *world) hooks() httpclient.Hooks {
	return httpclient.Hooks{
		AttemptStart: w.attemptStart,
		AttemptDone:  w.attemptDone,
		Retry:        w.retry,
		GiveUp:       w.giveUp,
		StateChange:  w.stateChange,
		LimitChange:  w.limitChange,
	}
}

// limitChange records a change of the adaptive concurrency limit; the
// demo's client has one origin, which the report names from the snapshot.
func (w *world) limitChange(_ string, from, to int) {
	at := time.Since(w.start)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limitLog = append(w.limitLog, limitEvent{at: at, from: from, to: to})
}

func (w *world) attemptStart(ctx context.Context, _ *http.Request, a httpclient.Attempt) context.Context {
	now := time.Now()
	id, _ := requestid.FromContext(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attemptTimes = append(w.attemptTimes, w.since(now))
	w.attemptsPerID[id]++
	switch {
	case a.Breaker == breaker.Open:
		w.admittedOpen++ // R18, R21: must never happen
	case a.Breaker == breaker.HalfOpen && !a.Probe:
		w.strayHalfOpen++ // R19: must never happen
	}
	if a.Probe {
		w.probes[a.Generation]++
	}
	if t, ok := w.got429[id]; ok && a.N > 1 {
		w.raGaps = append(w.raGaps, now.Sub(t))
		delete(w.got429, id)
	}
	return ctx
}

func (w *world) attemptDone(ctx context.Context, a httpclient.Attempt, r httpclient.AttemptResult) {
	now := time.Now()
	id, _ := requestid.FromContext(ctx) // the attempt's context carries the caller's ID
	result := string(r.Class)
	if r.Status != 0 {
		result = strconv.Itoa(r.Status)
	}
	probe := ""
	if a.Probe {
		probe = " as the probe"
	}
	line := fmt.Sprintf("attempt %d/%d request_id=%s admitted %s%s (generation %d) -> %s, breaker %s, %v",
		a.N, a.Max, id, a.Breaker, probe, a.Generation, result, r.Outcome, fmtDur(r.Duration))
	w.mu.Lock()
	defer w.mu.Unlock()
	if errors.Is(r.Err, httpclient.ErrAttemptTimeout) {
		w.timeoutsPerID[id]++
	}
	if r.Status == http.StatusTooManyRequests {
		w.got429[id] = now
	} else {
		delete(w.got429, id)
	}
	if a.Probe {
		w.breakerLog = append(w.breakerLog, event{
			at: w.since(now.Add(-r.Duration)), src: "client",
			text: fmt.Sprintf("probe request_id=%s (generation %d) -> %s", id, a.Generation, result),
		})
	}
	w.clientTrace[id] = append(w.clientTrace[id], event{at: w.since(now), src: "client", text: line})
}

func (w *world) retry(ctx context.Context, e httpclient.RetryEvent) {
	now := time.Now()
	id, _ := requestid.FromContext(ctx)
	from := "backoff"
	if e.RetryAfter {
		from = "Retry-After"
	}
	reason := string(e.Result.Class)
	if e.Result.Status != 0 {
		reason = fmt.Sprint(e.Result.Status)
	}
	line := fmt.Sprintf("retry request_id=%s after attempt %d (%s): waiting %v (%s)",
		id, e.Attempt.N, reason, fmtDur(e.Wait), from)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.retries++
	w.clientTrace[id] = append(w.clientTrace[id], event{at: w.since(now), src: "client", text: line})
}

func (w *world) giveUp(ctx context.Context, a httpclient.Attempt, why httpclient.Stop) {
	now := time.Now()
	id, _ := requestid.FromContext(ctx)
	line := fmt.Sprintf("gave up request_id=%s after attempt %d: %s (the call returns that attempt's outcome)",
		id, a.N, why)
	if why == httpclient.StopCircuitOpen {
		line = fmt.Sprintf("gave up request_id=%s: attempt %d refused, circuit open (the call returns attempt %d's outcome)",
			id, a.N+1, a.N)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.giveUps[string(why)]++
	w.clientTrace[id] = append(w.clientTrace[id], event{at: w.since(now), src: "client", text: line})
}

func (w *world) stateChange(origin string, sc breaker.Change) {
	text := fmt.Sprintf("%s -> %s (generation %d, %s)", sc.From, sc.To, sc.Generation, sc.Cause)
	if sc.To == breaker.Open {
		text = fmt.Sprintf("%s -> %s (generation %d, %s; half-opens at t=%s)",
			sc.From, sc.To, sc.Generation, sc.Cause, offset(w.since(sc.Until)))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.changes = append(w.changes, sc)
	w.breakerOrigin = origin
	w.state = sc.To
	w.breakerLog = append(w.breakerLog, event{at: w.since(sc.At), src: "breaker", text: text})
}

// ---- the load generator -----------------------------------------------------

// callKind decides call n's request: 1 in 4 is a POST without an
// Idempotency-Key, 1 in 8 a POST with one, the rest GETs.
func callKind(n int) (method string, keyed bool) {
	switch {
	case n%4 == 1:
		return http.MethodPost, false
	case n%8 == 3:
		return http.MethodPost, true
	}
	return http.MethodGet, false
}

// load sends calls to the service at the configured rate until the scenario
// ends or ctx does, then waits for the calls in flight.
func (w *world) load(ctx context.Context, serviceURL string, hc *http.Client) {
	ticker := time.NewTicker(time.Second / time.Duration(w.set.rate))
	defer ticker.Stop()
	end := time.NewTimer(time.Until(w.start.Add(w.set.duration)))
	defer end.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-ticker.C:
			wg.Go(func() { w.call(ctx, hc, serviceURL, n) })
		}
	}
}

func (w *world) call(ctx context.Context, hc *http.Client, serviceURL string, n int) {
	method, keyed := callKind(n)
	c := callRecord{id: fmt.Sprintf("demo-%06d", n), method: method, keyed: keyed, start: time.Since(w.start)}
	echoed := true
	url, body := serviceURL+"/quote", io.Reader(nil)
	if method == http.MethodPost {
		url, body = serviceURL+"/orders", strings.NewReader(`{"symbol":"TMP","qty":1}`)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err == nil {
		req.Header.Set(requestid.Header, c.id)
		if keyed {
			req.Header.Set("Idempotency-Key", fmt.Sprintf("order-%06d", n))
		}
		var resp *http.Response
		resp, err = hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			c.status = resp.StatusCode
			c.outcome = resp.Header.Get(outcomeHeader)
			echoed = resp.Header.Get(requestid.Header) == c.id // R26
		}
	}
	if c.outcome == "" {
		c.outcome = outcomeOther
	}
	c.end = time.Since(w.start)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, c)
	if !echoed {
		w.echoMismatch++
	}
}
