package bench

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/failsafe-go/failsafe-go/failsafehttp"

	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclient"
)

// The overload model (R74): an upstream of C workers behind one FIFO
// queue, callers arriving open-loop with a 1 s deadline each, and the
// client configurations that stand between them. The model is the issue's
// and is not tuned here; overload_test.go runs and reports it.

const (
	modelWorkers    = 32                     // C
	modelMedian     = 20 * time.Millisecond  // median service time
	modelSigma      = 0.5                    // of the log of the service time
	modelQueueLimit = 500 * time.Millisecond // a job that waited longer is answered 503
	modelDeadline   = time.Second            // each caller's own
	modelBaseRate   = 1600.0                 // calls/s at load 1x
	modelTarget     = "http://upstream.test/"
	serviceHeader   = "X-Service-Nanos" // the job's service time, drawn by the caller's side
)

// modelMean is the mean service time, median·e^(σ²/2) (22.66 ms), and
// modelCapacity the true capacity C/mean (1412/s).
var (
	modelMean     = time.Duration(float64(modelMedian) * math.Exp(modelSigma*modelSigma/2))
	modelCapacity = modelWorkers / modelMean.Seconds()
	// recoveryGoal is 90% of the true capacity, in successes per 1 s window.
	recoveryGoal = int(math.Ceil(0.9 * modelCapacity))
)

// capacityChange sets the upstream's worker count at a point of the run.
type capacityChange struct {
	At      time.Duration
	Workers int
}

// overloadScenario is one run's offered load.
type overloadScenario struct {
	Name     string
	Load     float64       // multiple of modelBaseRate
	Duration time.Duration // of arrivals
	Changes  []capacityChange
	Seed     uint64
}

const modelSeed = 74

func loadScenario(load float64, d time.Duration) overloadScenario {
	return overloadScenario{Name: strconv.FormatFloat(load, 'f', -1, 64) + "x", Load: load, Duration: d, Seed: modelSeed}
}

// capacityScenario is 1x with C down to 16 from 10 s to 20 s.
func capacityScenario(d time.Duration) overloadScenario {
	s := loadScenario(1, d)
	s.Name = "1x, C 32→16→32"
	s.Changes = []capacityChange{{At: d / 3, Workers: modelWorkers / 2}, {At: 2 * d / 3, Workers: modelWorkers}}
	return s
}

// restore is when the capacity last came back, 0 without a change.
func (s overloadScenario) restore() time.Duration {
	if len(s.Changes) == 0 {
		return 0
	}
	return s.Changes[len(s.Changes)-1].At
}

// draw returns each arrival's offset from the start and its service time.
// Two seeded streams, so that the i-th call's service time is the same at
// every load, and every configuration sees the same calls.
func (s overloadScenario) draw() (at, svc []time.Duration) {
	gaps := rand.New(rand.NewPCG(s.Seed, 1))
	work := rand.New(rand.NewPCG(s.Seed, 2))
	rate := s.Load * modelBaseRate
	n := int(rate*s.Duration.Seconds()*1.05) + 16
	at = make([]time.Duration, 0, n)
	svc = make([]time.Duration, 0, n)
	var t float64 // seconds
	for {
		t += gaps.ExpFloat64() / rate
		d := time.Duration(t * float64(time.Second))
		if d >= s.Duration {
			return at, svc
		}
		at = append(at, d)
		svc = append(svc, time.Duration(float64(modelMedian)*math.Exp(modelSigma*work.NormFloat64())))
	}
}

// upstream is the model's server: workers take jobs from one FIFO queue.
// It never learns that a caller gave up. A worker is a slot and a job in
// service a timer, so that no goroutine waits beside the callers' own.
type upstream struct {
	mu         sync.Mutex
	workers    int // C now; workers above it finish their job and take no new one
	busy       int
	queue      []*job
	head       int
	stopped    bool
	idle       chan struct{} // closed when stopped with no job in service
	idleClosed bool

	served, sent503, wasted int // 200s, 503s, 200s for callers gone
}

type job struct {
	enq  time.Time
	svc  time.Duration
	ctx  context.Context // the caller's, only to count wasted work
	done chan int        // the status; buffered, written once
}

func newUpstream(workers int) *upstream {
	return &upstream{workers: workers, idle: make(chan struct{})}
}

func (u *upstream) submit(ctx context.Context, svc time.Duration) *job {
	j := &job{enq: time.Now(), svc: svc, ctx: ctx, done: make(chan int, 1)}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.busy < u.workers && u.head == len(u.queue) && !u.stopped {
		u.busy++
		u.startLocked(j)
		return j
	}
	u.queue = append(u.queue, j)
	return j
}

func (u *upstream) startLocked(j *job) {
	time.AfterFunc(j.svc, func() { u.finish(j) })
}

func (u *upstream) finish(j *job) {
	gone := j.ctx.Err() != nil // before the answer, which may end ctx
	j.done <- http.StatusOK
	u.mu.Lock()
	defer u.mu.Unlock()
	u.served++
	if gone {
		u.wasted++
	}
	u.busy--
	u.dispatchLocked()
}

// dispatchLocked hands queued jobs to free workers; one that waited too
// long is answered 503 at once and the worker takes the next.
func (u *upstream) dispatchLocked() {
	if u.stopped {
		u.idleLocked()
		return
	}
	now := time.Now()
	for u.busy < u.workers && u.head < len(u.queue) {
		j := u.queue[u.head]
		u.queue[u.head] = nil
		u.head++
		if now.Sub(j.enq) > modelQueueLimit {
			j.done <- http.StatusServiceUnavailable
			u.sent503++
			continue
		}
		u.busy++
		u.startLocked(j)
	}
	if u.head > 1024 && 2*u.head > len(u.queue) { // reuse the slice's front
		n := copy(u.queue, u.queue[u.head:])
		clear(u.queue[n:])
		u.queue, u.head = u.queue[:n], 0
	}
}

func (u *upstream) setWorkers(n int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.workers = n
	u.dispatchLocked()
}

// stop takes no more jobs and returns a channel closed once the jobs in
// service are done, so that no timer outlives the run.
func (u *upstream) stop() <-chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.stopped = true
	u.idleLocked()
	return u.idle
}

func (u *upstream) idleLocked() {
	if u.busy == 0 && !u.idleClosed {
		close(u.idle)
		u.idleClosed = true
	}
}

func (u *upstream) stats() (served, sent503, wasted int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.served, u.sent503, u.wasted
}

func serviceTime(h http.Header) time.Duration {
	n, _ := strconv.ParseInt(h.Get(serviceHeader), 10, 64)
	return time.Duration(n)
}

// RoundTrip is the in-memory upstream: it returns when the job is answered
// or the request's context ends, and the job stays queued either way.
func (u *upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	j := u.submit(ctx, serviceTime(req.Header))
	select {
	case code := <-j.done:
		body := "ok"
		if code != http.StatusOK {
			body = "busy"
		}
		return &http.Response{
			Status: strconv.Itoa(code) + " " + http.StatusText(code), StatusCode: code,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: req,
		}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ServeHTTP is the same upstream on a real server (TestOverloadLoopback).
func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j := u.submit(r.Context(), serviceTime(r.Header))
	select {
	case code := <-j.done:
		if code != http.StatusOK {
			http.Error(w, "busy", code)
			return
		}
		w.Header().Set("Content-Length", "2")
		_, _ = io.WriteString(w, "ok")
	case <-r.Context().Done():
	}
}

// doFunc sends one call; the caller reads and closes the body.
type doFunc func(*http.Request) (*http.Response, error)

// overloadConfig is a client configuration under test. New is called
// inside the run (inside the synctest bubble), once per run.
type overloadConfig struct {
	Name string
	New  func(rt http.RoundTripper) (do doFunc, close func(), err error)
	// Rejected tells a client-side refusal; nil: isRejection.
	Rejected func(error) bool
	// Runs is how many times the report runs a configuration that draws
	// random numbers of its own, which no seed here reaches; 0 is 1.
	Runs int
}

// isRejection knows the limiters' refusals: ours and failsafe-go's.
func isRejection(err error) bool {
	return errors.Is(err, concurrency.ErrLimited) || errors.Is(err, adaptivelimiter.ErrExceeded)
}

// newNoLimit is Tempest's client with retries and the breaker off, so that
// what it adds under overload is nothing but its own cost.
func newNoLimit(rt http.RoundTripper) (doFunc, func(), error) {
	c, err := httpclient.New("",
		httpclient.WithTransport(rt),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}),
		httpclient.WithCircuitBreaker(0, 0))
	if err != nil {
		return nil, nil, err
	}
	return c.Do, func() { _ = c.Close() }, nil
}

// newLimited is Tempest's client as newNoLimit, with its concurrency limit
// (R75): fixed, or adaptive (R74) at its defaults.
func newLimited(l httpclient.ConcurrencyLimit) func(http.RoundTripper) (doFunc, func(), error) {
	return func(rt http.RoundTripper) (doFunc, func(), error) {
		c, err := httpclient.New("",
			httpclient.WithTransport(rt),
			httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}),
			httpclient.WithCircuitBreaker(0, 0),
			httpclient.WithConcurrencyLimit(l))
		if err != nil {
			return nil, nil, err
		}
		return c.Do, func() { _ = c.Close() }, nil
	}
}

// newFailsafeLimited is failsafe-go's adaptive limiter through failsafehttp, at
// its defaults; queueing on, with the factors 2 and 3 that its
// documentation gives as BuildPrioritized's defaults.
func newFailsafeLimited(queueing bool) func(http.RoundTripper) (doFunc, func(), error) {
	return func(rt http.RoundTripper) (doFunc, func(), error) {
		b := adaptivelimiter.NewBuilder[*http.Response]()
		if queueing {
			b = b.WithQueueing(2, 3)
		}
		hc := &http.Client{Transport: failsafehttp.NewRoundTripper(rt, b.Build())}
		return hc.Do, hc.CloseIdleConnections, nil
	}
}

// overloadConfigs are the configurations the report runs, in its order.
var overloadConfigs = func() []overloadConfig {
	cs := []overloadConfig{
		{Name: "none", New: newNoLimit},
		{Name: "tempest adaptive", New: newLimited(httpclient.ConcurrencyLimit{})},
	}
	for _, l := range []int{modelWorkers / 4, modelWorkers, 4 * modelWorkers} {
		cs = append(cs, overloadConfig{
			Name: "fixed refusing L=" + strconv.Itoa(l),
			New:  newLimited(httpclient.ConcurrencyLimit{Fixed: l, Queue: httpclient.NoQueue}),
		})
	}
	// A queue as long as the limit, each wait bounded by the caller's
	// deadline less 100ms only.
	for _, l := range []int{modelWorkers / 4, modelWorkers, 4 * modelWorkers} {
		cs = append(cs, overloadConfig{
			Name: "fixed queued L=" + strconv.Itoa(l),
			New:  newLimited(httpclient.ConcurrencyLimit{Fixed: l, Queue: l, MaxWait: time.Hour, MinLeft: 100 * time.Millisecond}),
		})
	}
	return append(cs,
		overloadConfig{Name: "failsafe adaptive", New: newFailsafeLimited(false)},
		// Its queue rejects at random, from math/rand/v2's global source.
		overloadConfig{Name: "failsafe adaptive+queue", New: newFailsafeLimited(true), Runs: 5},
	)
}()

func configByName(t testing.TB, name string) overloadConfig {
	t.Helper()
	i := slices.IndexFunc(overloadConfigs, func(c overloadConfig) bool { return c.Name == name })
	if i < 0 {
		t.Fatalf("no overload config %q", name)
	}
	return overloadConfigs[i]
}

// Outcomes of a call.
const (
	outPending uint8 = iota
	outOK
	out503
	outRejected
	outTimeout
	outOther // any other error or status: a bug in the model or a client
)

// recorder keeps each call's outcome and end by arrival index: no lock,
// as each caller writes its own slot.
type recorder struct {
	at       []time.Duration
	svc      []string
	outcome  []uint8
	end      []time.Duration // from the run's start
	inFlight atomic.Int64
	peak     atomic.Int64
	rejected func(error) bool
	firstErr atomic.Pointer[error] // of outOther, for the log
}

func newRecorder(at, svc []time.Duration, rejected func(error) bool) *recorder {
	if rejected == nil {
		rejected = isRejection
	}
	r := &recorder{at: at, svc: make([]string, len(svc)), outcome: make([]uint8, len(at)), end: make([]time.Duration, len(at)), rejected: rejected}
	for i, d := range svc {
		r.svc[i] = strconv.FormatInt(int64(d), 10)
	}
	return r
}

func (r *recorder) classify(err error) uint8 {
	switch {
	case r.rejected(err):
		return outRejected
	case errors.Is(err, context.DeadlineExceeded):
		return outTimeout
	}
	r.firstErr.CompareAndSwap(nil, &err)
	return outOther
}

// call is the i-th caller, from its arrival to its body read and closed.
func (r *recorder) call(i int, start time.Time, target string, do doFunc) {
	n := r.inFlight.Add(1)
	for p := r.peak.Load(); n > p; p = r.peak.Load() {
		if r.peak.CompareAndSwap(p, n) {
			break
		}
	}
	defer r.inFlight.Add(-1)
	ctx, cancel := context.WithTimeout(context.Background(), modelDeadline)
	defer cancel()
	r.outcome[i] = r.send(ctx, r.svc[i], target, do)
	r.end[i] = time.Since(start)
}

func (r *recorder) send(ctx context.Context, svc, target string, do doFunc) uint8 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return r.classify(err)
	}
	req.Header[serviceHeader] = []string{svc}
	resp, err := do(req)
	if err != nil {
		return r.classify(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return r.classify(err)
	case resp.StatusCode/100 == 2:
		return outOK
	case resp.StatusCode == http.StatusServiceUnavailable:
		return out503
	}
	return r.classify(errors.New(resp.Status))
}

// overloadResult is one configuration's run of one scenario.
type overloadResult struct {
	Config, Scenario string
	Duration         time.Duration
	Calls            int
	Successes        int     // completed within the run
	Goodput          float64 // Successes per second of the run
	P50, P99         time.Duration
	Rejected         int
	Status503        int // calls answered 503
	Timeouts         int
	Other            int
	OtherErr         error
	PeakInFlight     int64
	Served, Wasted   int // upstream 200s, of which for callers gone
	PerSecond        []int
	Recovery         time.Duration // -1: never; 0: no capacity change
	Wall             time.Duration
	Spread           string // over the report's runs of a random configuration
	RecoverySpread   string // the same, of Recovery alone
}

func (r *recorder) result(cfg string, s overloadScenario) overloadResult {
	res := overloadResult{Config: cfg, Scenario: s.Name, Duration: s.Duration, Calls: len(r.at), PeakInFlight: r.peak.Load()}
	secs := int(math.Ceil(s.Duration.Seconds()))
	res.PerSecond = make([]int, secs)
	const bin = 100 * time.Millisecond
	bins := make([]int, int(s.Duration/bin))
	lat := make([]time.Duration, 0, len(r.at))
	for i, o := range r.outcome {
		switch o {
		case outOK:
			lat = append(lat, r.end[i]-r.at[i])
			if e := r.end[i]; e < s.Duration {
				res.Successes++
				res.PerSecond[int(e/time.Second)]++
				if b := int(e / bin); b < len(bins) {
					bins[b]++
				}
			}
		case out503:
			res.Status503++
		case outRejected:
			res.Rejected++
		case outTimeout:
			res.Timeouts++
		default:
			res.Other++
		}
	}
	if p := r.firstErr.Load(); p != nil {
		res.OtherErr = *p
	}
	res.Goodput = float64(res.Successes) / s.Duration.Seconds()
	slices.Sort(lat)
	res.P50, res.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	if s.restore() > 0 {
		res.Recovery = recovery(bins, bin, s.restore())
	}
	return res
}

// percentile is the nearest-rank q-quantile of sorted d.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[max(int(math.Ceil(q*float64(len(d))))-1, 0)]
}

// recovery is the time from restore until the end of the first 1 s window
// (starting at restore or later, in steps of one bin) whose successes reach
// recoveryGoal; 1 s is the least possible. -1: none within the run.
func recovery(bins []int, bin, restore time.Duration) time.Duration {
	w := int(time.Second / bin)
	first := int(restore / bin)
	sum := 0
	for i := first; i < len(bins); i++ {
		sum += bins[i]
		if i-first >= w {
			sum -= bins[i-w]
		}
		if i-first+1 >= w && sum >= recoveryGoal {
			return time.Duration(i+1)*bin - restore
		}
	}
	return -1
}

// runModel runs cfg against scenario s in fake time (R74 model): the
// in-memory upstream, the same arrivals and service times for every
// configuration. Wall is the real time it took.
func runModel(t *testing.T, cfg overloadConfig, s overloadScenario) overloadResult {
	t.Helper()
	at, svc := s.draw()
	var res overloadResult
	wall := time.Now()
	synctest.Test(t, func(t *testing.T) {
		u := newUpstream(modelWorkers)
		for _, c := range s.Changes {
			time.AfterFunc(c.At, func() { u.setWorkers(c.Workers) })
		}
		do, closeFn, err := cfg.New(u)
		if err != nil {
			t.Fatalf("%s: %v", cfg.Name, err)
		}
		rec := newRecorder(at, svc, cfg.Rejected)
		start := time.Now()
		var wg sync.WaitGroup
		for i := range at {
			if d := at[i] - time.Since(start); d > 0 {
				time.Sleep(d)
			}
			wg.Go(func() { rec.call(i, start, modelTarget, do) })
		}
		wg.Wait()
		closeFn()
		<-u.stop()
		res = rec.result(cfg.Name, s)
		res.Served, _, res.Wasted = u.stats()
	})
	res.Wall = time.Since(wall)
	return res
}
