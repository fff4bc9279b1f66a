package otel

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/tempestsdk/tempest/breaker"
)

// other is the server.address of the origins past the bound, and the
// http.request.method of the methods semconv does not know.
const other = "_OTHER"

// maxCachedSets bounds the attribute sets kept for reuse, over all
// origins, so that a stream of odd statuses or attempt numbers cannot
// grow the cache without end: past it, a set is built for each use.
const maxCachedSets = 8192

// origin is one series of origins: a real one among the first maxOrigins
// seen, or the "_OTHER" of a scheme that stands for all the others.
type origin struct {
	idx     int                  // position in origins.all
	scheme  string               // "http" or "https"; "" for an _OTHER of no known scheme
	address string               // server.address: the host, or "_OTHER"
	port    int                  // server.port; 0 for _OTHER
	base    []attribute.KeyValue // server.address, server.port, url.scheme, as present
	urlBase string               // scheme://host[:port], the start of url.full; "" for _OTHER

	// The breaker series of this origin, one per state (closed, half_open,
	// open), and the series of its attributes alone: until_half_open and
	// the concurrency series.
	states [3][]metric.ObserveOption
	bare   []metric.ObserveOption

	mu   sync.RWMutex
	sets map[setKey]*measure
}

// measure is an attribute set ready for the instruments' calls, built once
// so that a measurement allocates nothing.
type measure struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

func newMeasure(attrs []attribute.KeyValue) *measure {
	o := metric.WithAttributeSet(attribute.NewSet(attrs...))
	return &measure{add: []metric.AddOption{o}, rec: []metric.RecordOption{o}}
}

// kind says which instruments a setKey is for; it decides which of the
// key's fields are attributes.
type kind uint8

const (
	kindAttempt      kind = iota // http.client.request.duration: method, status, error.type, resend count
	kindAttemptStart             // tempest.client.attempts: method, tempest.hedge
	kindCall                     // tempest.client.calls and call.duration: method, status, error.type, tempest.stop
	kindRetry                    // tempest.client.retries: method, tempest.retry.reason, tempest.retry.after
	kindGiveUp                   // tempest.client.give_ups: method, tempest.stop
	kindMethod                   // fast_fails, concurrency.refusals, budget.exhausted, hedges, hedge.wins: method
	kindTransition               // breaker.transitions: from, to, cause
)

// setKey names one attribute set of one origin. Only the fields its kind
// uses are set.
type setKey struct {
	kind    kind
	method  string // http.request.method, normalised
	status  int    // http.response.status_code, 100 to 599; 0 for none (see metricStatus)
	errType string // error.type; "" for none
	stop    string // tempest.stop
	reason  string // tempest.retry.reason; "" for none
	n       int    // http.request.resend_count (omitted when 0), or tempest.hedge
	flag    bool   // tempest.retry.after
	from    breaker.State
	to      breaker.State
	cause   breaker.Cause
}

// attrs returns the attributes of the set k names for origin o.
func (k setKey) attrs(o *origin) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, len(o.base)+5)
	kv = append(kv, o.base...)
	if k.kind != kindTransition {
		kv = append(kv, semconv.HTTPRequestMethodKey.String(k.method))
	}
	switch k.kind {
	case kindAttempt, kindCall:
		if k.status != 0 {
			kv = append(kv, semconv.HTTPResponseStatusCode(k.status))
		}
		if k.errType != "" {
			kv = append(kv, semconv.ErrorTypeKey.String(k.errType))
		}
		if k.kind == kindAttempt && k.n > 0 {
			kv = append(kv, semconv.HTTPRequestResendCount(k.n))
		}
		if k.kind == kindCall {
			kv = append(kv, attrStop.String(k.stop))
		}
	case kindAttemptStart:
		kv = append(kv, attrHedge.Int(k.n))
	case kindRetry:
		if k.reason != "" {
			kv = append(kv, attrRetryReason.String(k.reason))
		}
		kv = append(kv, attrRetryAfter.Bool(k.flag))
	case kindGiveUp:
		kv = append(kv, attrStop.String(k.stop))
	case kindTransition:
		kv = append(kv, attrBreakerFrom.String(stateName(k.from)), attrBreakerTo.String(stateName(k.to)),
			attrBreakerCause.String(causeName(k.cause)))
	}
	return kv
}

// measure returns the measure of the set k names, built on first use.
func (o *origin) measure(reg *origins, k setKey) *measure {
	o.mu.RLock()
	m := o.sets[k]
	o.mu.RUnlock()
	if m != nil {
		return m
	}
	m = newMeasure(k.attrs(o))
	if reg.cached.Load() >= maxCachedSets {
		return m
	}
	o.mu.Lock()
	if prev := o.sets[k]; prev != nil {
		m = prev
	} else {
		o.sets[k] = m
		reg.cached.Add(1)
	}
	o.mu.Unlock()
	return m
}

// origins is the bounded set of origins: the first max distinct ones seen
// keep their own series for the Instrumentation's life, the rest share
// their scheme's _OTHER.
type origins struct {
	max    int
	full   atomic.Bool // max origins admitted: a miss is an _OTHER
	cached atomic.Int64

	mu     sync.RWMutex
	byName map[string]*origin // admitted origins, by the client's origin string
	others map[string]*origin // the _OTHERs, by scheme
	all    []*origin          // every origin and _OTHER, by idx
}

func newOrigins(max int) *origins {
	return &origins{max: max, byName: make(map[string]*origin), others: make(map[string]*origin)}
}

// lookup returns the series of the origin the client names name
// (scheme://host:port), admitting it while there is room.
func (reg *origins) lookup(name string) *origin {
	reg.mu.RLock()
	o := reg.byName[name]
	reg.mu.RUnlock()
	if o != nil {
		return o
	}
	scheme, host, port, ok := splitOrigin(name)
	if !ok || reg.full.Load() {
		return reg.other(scheme)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if o := reg.byName[name]; o != nil {
		return o
	}
	if len(reg.byName) >= reg.max {
		reg.full.Store(true)
		return reg.otherLocked(scheme)
	}
	o = reg.add(scheme, host, port)
	reg.byName[name] = o
	return o
}

// other returns the _OTHER of scheme.
func (reg *origins) other(scheme string) *origin {
	if scheme != "http" && scheme != "https" {
		scheme = ""
	}
	reg.mu.RLock()
	o := reg.others[scheme]
	reg.mu.RUnlock()
	if o != nil {
		return o
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.otherLocked(scheme)
}

func (reg *origins) otherLocked(scheme string) *origin {
	if scheme != "http" && scheme != "https" {
		scheme = ""
	}
	if o := reg.others[scheme]; o != nil {
		return o
	}
	o := reg.add(scheme, other, 0)
	reg.others[scheme] = o
	return o
}

// add makes a series; reg.mu is held.
func (reg *origins) add(scheme, address string, port int) *origin {
	o := &origin{idx: len(reg.all), scheme: scheme, address: address, port: port, sets: make(map[setKey]*measure)}
	o.base = append(o.base, semconv.ServerAddress(address))
	if port != 0 {
		o.base = append(o.base, semconv.ServerPort(port))
		o.urlBase = urlBase(scheme, address, port)
	}
	if scheme != "" {
		o.base = append(o.base, semconv.URLScheme(scheme))
	}
	for st, name := range [3]string{"closed", "half_open", "open"} {
		kv := append(append([]attribute.KeyValue(nil), o.base...), attrBreakerState.String(name))
		o.states[st] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
	}
	o.bare = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(o.base...))}
	reg.all = append(reg.all, o)
	return o
}

// splitOrigin splits a client's origin, scheme://host:port, into its
// parts; the host of an IPv6 address comes without its brackets.
func splitOrigin(name string) (scheme, host string, port int, ok bool) {
	scheme, hostPort, found := strings.Cut(name, "://")
	if !found || (scheme != "http" && scheme != "https") {
		return scheme, "", 0, false
	}
	host, p, err := net.SplitHostPort(hostPort)
	if err != nil || host == "" {
		return scheme, "", 0, false
	}
	port, err = strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return scheme, "", 0, false
	}
	return scheme, host, port, true
}

// urlBase returns scheme://host[:port] with the default port left out, the
// start of url.full.
func urlBase(scheme, host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) || port == 0 {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + strconv.Itoa(port)
}

// method returns m as http.request.method has it: the methods semconv
// knows as they are, the others "_OTHER".
func method(m string) string {
	switch m {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodConnect:
		return http.MethodConnect
	case http.MethodTrace:
		return http.MethodTrace
	case "QUERY":
		return "QUERY"
	case "":
		return http.MethodGet
	}
	return other
}

// statusText holds the status codes 100 to 599 as strings, the error.type
// of a 4xx or 5xx (semconv), so that naming one allocates nothing.
var statusText = func() (s [600]string) {
	for i := 100; i < len(s); i++ {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// metricStatus is the status code a metric carries: 100 to 599 as they
// are, any other (an upstream can send 000 to 999, a RoundTripper any int)
// none, so that odd statuses cannot multiply the series; their error.type
// is _OTHER.
func metricStatus(status int) int {
	if status < 100 || status >= len(statusText) {
		return 0
	}
	return status
}

// errorType returns the error.type of an outcome: the status code for a
// 4xx or 5xx response (semconv: client requests fail on both), the class
// of a failure, "" for a success.
func errorType(status int, class string) string {
	switch {
	case status >= 400 && status < len(statusText):
		return statusText[status]
	case status >= len(statusText):
		return other
	}
	return class
}

// stateName returns a breaker state in the casing of the package's other
// values (half_open, as "circuit_open" and "not_idempotent").
func stateName(s breaker.State) string {
	switch s {
	case breaker.Closed:
		return "closed"
	case breaker.Open:
		return "open"
	case breaker.HalfOpen:
		return "half_open"
	}
	return other
}

// stateIndex is the index of s in origin.states.
func stateIndex(s breaker.State) int {
	switch s {
	case breaker.HalfOpen:
		return 1
	case breaker.Open:
		return 2
	}
	return 0
}

// causeName returns a breaker cause in snake_case.
func causeName(c breaker.Cause) string {
	switch c {
	case breaker.CauseFailures:
		return "failures"
	case breaker.CauseRecovery:
		return "recovery"
	case breaker.CauseProbeSuccess:
		return "probe_success"
	case breaker.CauseProbeFailure:
		return "probe_failure"
	case breaker.CauseProbeTimeout:
		return "probe_timeout"
	case breaker.CauseTrip:
		return "trip"
	case breaker.CauseReset:
		return "reset"
	case breaker.CauseFailureRatio:
		return "failure_ratio"
	}
	return other
}
