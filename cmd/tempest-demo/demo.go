package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
)

// phase is a stretch of the scenario, decided by the time since the start.
type phase int

const (
	healthy phase = iota
	outage
	recovered
	numPhases
)

var phaseNames = [numPhases]string{"healthy", "outage", "recovered"}

func (s settings) phaseAt(off time.Duration) phase {
	switch {
	case off < s.outageStart:
		return healthy
	case off < s.outageEnd:
		return outage
	}
	return recovered
}

// event is one line of the trace, at an offset from the start.
type event struct {
	at   time.Duration
	src  string // "service", "client", "upstream"
	text string
}

// call is one call of the load generator to the service.
type call struct {
	id     string
	at     time.Duration // when it was sent
	status int           // 0 when the call failed without a response
}

// demo holds the scenario's clock and everything the service, the hooks, the
// upstream and the load generator record.
type demo struct {
	cfg   config
	set   settings
	start time.Time // never changes once newDemo returns
	logs  *lineLog  // the service's log

	mu            sync.Mutex
	calls         []call
	hits          [numPhases]int
	upstream      []event            // every upstream log line
	upstreamIDs   []string           // the X-Request-ID of each, in step with upstream
	clientTrace   map[string][]event // the client's hooks, per request ID
	attemptsPerID map[string]int
	attempts      int
	retries       int
	fastfails     int
	admittedOpen  int
	giveUps       map[string]int
	probes        map[uint64]int // probes admitted per half-open generation
	breakerLog    []event        // state changes and probes
	changes       []httpclient.StateChange
	state         breaker.State // the breaker's latest state, from StateChange
	missingIDs    int           // upstream hits without a demo request ID
	echoMismatch  int           // service responses without the call's ID
}

func newDemo(cfg config, set settings) *demo {
	return &demo{
		cfg:           cfg,
		set:           set,
		start:         time.Now(),
		logs:          &lineLog{},
		clientTrace:   make(map[string][]event),
		attemptsPerID: make(map[string]int),
		giveUps:       make(map[string]int),
		probes:        make(map[uint64]int),
	}
}

func (d *demo) since(t time.Time) time.Duration { return t.Sub(d.start) }

// ---- the upstream -----------------------------------------------------------

// upstreamScript answers by phase: 200 with a small JSON body, except during
// the outage, when every third hit resets the connection and the others get
// a 503.
func (d *demo) upstreamScript(hit int, _ *http.Request) httpclienttest.Response {
	if d.set.phaseAt(time.Since(d.start)) == outage {
		if hit%3 == 0 {
			return httpclienttest.Response{Fault: httpclienttest.ResetBeforeResponse}
		}
		return httpclienttest.Response{Status: http.StatusServiceUnavailable, Body: []byte("overloaded\n")}
	}
	return httpclienttest.Response{
		Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   fmt.Appendf(nil, `{"symbol":"TMP","price":%d.%02d,"hit":%d}`, 100+hit%7, hit%100, hit),
	}
}

// upstreamLog keeps the upstream's log line for each hit.
func (d *demo) upstreamLog(r httpclienttest.Request) {
	at := time.Since(d.start)
	id := r.Header.Get(requestid.HeaderName())
	outcome := strconv.Itoa(r.Status)
	if r.Fault != httpclienttest.None {
		outcome = r.Fault.String()
	}
	line := fmt.Sprintf("hit=%d %s %s %s=%s -> %s", r.Hit, r.Method, r.Path, requestid.HeaderName(), id, outcome)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hits[d.set.phaseAt(at)]++
	d.upstream = append(d.upstream, event{at: at, src: "upstream", text: line})
	d.upstreamIDs = append(d.upstreamIDs, id)
	if !strings.HasPrefix(id, "demo-") {
		d.missingIDs++
	}
}

// ---- the service ------------------------------------------------------------

type quote struct {
	Symbol string  `json:"symbol"`
	Price  float64 `json:"price"`
	Hit    int     `json:"hit"`
}

// service is the demo's HTTP service: GET /quote asks the upstream through
// the one shared client and answers 200, 503 when the circuit is open, or
// 502. Its log records carry request_id through requestid.NewHandler.
func (d *demo) service(client *httpclient.Client) http.Handler {
	text := slog.NewTextHandler(d.logs, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // the trace prints its own offsets
			}
			return a
		},
	})
	// The group shows R27: request_id stays a top-level attribute.
	log := slog.New(requestid.NewHandler(text)).WithGroup("http")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /quote", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log.InfoContext(ctx, "inbound request", "method", r.Method, "path", r.URL.Path)
		q, err := httpclient.Decode[quote](client.Get(ctx, "/quote", httpclient.Query("symbol", "TMP")))
		status := http.StatusOK
		var coe *httpclient.CircuitOpenError
		switch {
		case err == nil:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(q)
		case errors.Is(err, httpclient.ErrCircuitOpen):
			d.mu.Lock()
			d.fastfails++
			d.mu.Unlock()
			status = http.StatusServiceUnavailable
			if errors.As(err, &coe) {
				secs := int(math.Ceil(time.Until(coe.Until).Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			}
			http.Error(w, "quotes unavailable: upstream circuit open", status)
		default:
			status = http.StatusBadGateway
			http.Error(w, "quotes unavailable: upstream failed", status)
		}
		log.InfoContext(ctx, "request done", "status", status, "cause", cause(err))
	})
	return requestid.Middleware(mux)
}

// cause names a call's failure for the service's log.
func cause(err error) string {
	var se *httpclient.StatusError
	switch {
	case err == nil:
		return "none"
	case errors.As(err, &se):
		return "upstream status " + strconv.Itoa(se.StatusCode)
	}
	return httpclient.ErrorClass(err)
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

func (d *demo) hooks() httpclient.Hooks {
	return httpclient.Hooks{
		AttemptDone: d.attemptDone,
		Retry:       d.retry,
		GiveUp:      d.giveUp,
		StateChange: d.stateChange,
	}
}

func (d *demo) attemptDone(ctx context.Context, a httpclient.Attempt, r httpclient.AttemptResult) {
	now := time.Now()
	id, _ := requestid.FromContext(ctx) // the attempt's context carries the caller's ID
	result := r.Class
	if r.Status != 0 {
		result = strconv.Itoa(r.Status)
	}
	probe := ""
	if a.Probe {
		probe = " as the probe"
	}
	line := fmt.Sprintf("attempt %d/%d request_id=%s admitted %s%s (generation %d) -> %s, breaker %s, %v",
		a.N, a.Max, id, a.Breaker, probe, a.Generation, result, r.Outcome, r.Duration.Round(100*time.Microsecond))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attempts++
	d.attemptsPerID[id]++
	if a.Breaker == breaker.Open {
		d.admittedOpen++ // R18, R21: must never happen
	}
	if a.Probe {
		d.probes[a.Generation]++
		d.breakerLog = append(d.breakerLog, event{
			at: d.since(now.Add(-r.Duration)), src: "client",
			text: fmt.Sprintf("probe request_id=%s (generation %d) -> %s", id, a.Generation, result),
		})
	}
	d.clientTrace[id] = append(d.clientTrace[id], event{at: d.since(now), src: "client", text: line})
}

func (d *demo) retry(ctx context.Context, e httpclient.RetryEvent) {
	now := time.Now()
	id, _ := requestid.FromContext(ctx)
	line := fmt.Sprintf("retry request_id=%s after attempt %d (%s): waiting %v",
		id, e.Attempt.N, e.Reason, e.Wait.Round(time.Millisecond))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.retries++
	d.clientTrace[id] = append(d.clientTrace[id], event{at: d.since(now), src: "client", text: line})
}

func (d *demo) giveUp(ctx context.Context, e httpclient.GiveUpEvent) {
	now := time.Now()
	id, _ := requestid.FromContext(ctx)
	line := fmt.Sprintf("gave up request_id=%s after attempt %d: %s (the call returns that attempt's outcome)",
		id, e.Attempt.N, e.Reason)
	if e.Reason == "circuit-open" {
		line = fmt.Sprintf("gave up request_id=%s: attempt %d refused, circuit open (the call returns attempt %d's outcome)",
			id, e.Attempt.N+1, e.Attempt.N)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.giveUps[e.Reason]++
	d.clientTrace[id] = append(d.clientTrace[id], event{at: d.since(now), src: "client", text: line})
}

func (d *demo) stateChange(sc httpclient.StateChange) {
	text := fmt.Sprintf("%s -> %s (generation %d)", sc.From, sc.To, sc.Generation)
	if sc.To == breaker.Open {
		text = fmt.Sprintf("%s -> %s (generation %d; half-opens at t=%s)",
			sc.From, sc.To, sc.Generation, offset(d.since(sc.Until)))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.changes = append(d.changes, sc)
	d.state = sc.To
	d.breakerLog = append(d.breakerLog, event{at: d.since(sc.At), src: "breaker", text: text})
}

// ---- the load generator -----------------------------------------------------

// load sends calls to the service at the configured rate until the scenario
// ends or ctx does, then waits for the calls in flight.
func (d *demo) load(ctx context.Context, serviceURL string, hc *http.Client) {
	ticker := time.NewTicker(time.Second / time.Duration(d.cfg.rate))
	defer ticker.Stop()
	end := time.NewTimer(time.Until(d.start.Add(d.set.duration)))
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
			id := fmt.Sprintf("demo-%06d", n)
			wg.Go(func() { d.call(ctx, hc, serviceURL, id) })
		}
	}
}

func (d *demo) call(ctx context.Context, hc *http.Client, serviceURL, id string) {
	c := call{id: id, at: time.Since(d.start)}
	echoed := true
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, serviceURL+"/quote", nil)
	if err == nil {
		req.Header.Set(requestid.Header, id)
		var resp *http.Response
		resp, err = hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			c.status = resp.StatusCode
			echoed = resp.Header.Get(requestid.Header) == id // R26
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, c)
	if !echoed {
		d.echoMismatch++
	}
}
