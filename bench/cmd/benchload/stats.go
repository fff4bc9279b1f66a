package main

import (
	"errors"
	"io"
	"math"
	"slices"
	"syscall"
	"time"
)

// never is the latency of a call that did not complete: above every
// measured latency, so that it sorts last and a percentile that falls among
// such calls says so.
const never = time.Duration(math.MaxInt64)

// percentile returns the p-th percentile (0 < p <= 100) of sorted, an
// ascending slice, by the nearest-rank method: the smallest value with at
// least p% of the values at or below it. It is 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps 99.9% of 1000 at rank 999 despite float rounding.
	rank := int(math.Ceil(p*float64(len(sorted))/100 - 1e-9))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// errKind is how a call failed.
type errKind int

const (
	kindOK    errKind = iota
	kind5xx           // a 5xx status and no error: the last attempt's status
	kindReset         // the connection was reset, or the body cut short
	kindOther         // any other error or non-2xx status
)

// classify says how a completed call ended.
func classify(status int, err error) errKind {
	switch {
	case err == nil && status >= 200 && status <= 299:
		return kindOK
	case err == nil && status >= 500:
		return kind5xx
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return kindReset
	default:
		return kindOther
	}
}

// summary is one client's run, as the report shows it.
type summary struct {
	Client      string  `json:"client"`
	Scheduled   int     `json:"scheduled"`
	Completed   int     `json:"completed"`
	Errors      int     `json:"errors"`       // completed calls that did not end in a 2xx, plus the calls that did not complete
	Errors5xx   int     `json:"errors_5xx"`   // a 5xx status after the last attempt
	ErrorsReset int     `json:"errors_reset"` // a connection reset or a body cut short
	ErrorsOther int     `json:"errors_other"` // anything else, incomplete calls included
	Throughput  float64 `json:"throughput"`   // completed calls per second of the run
	RunSeconds  float64 `json:"run_seconds"`  // from the first scheduled call to the last return
	// Latencies from the scheduled time, in nanoseconds; -1 when the
	// percentile falls among calls that never completed.
	P50  int64 `json:"p50_ns"`
	P90  int64 `json:"p90_ns"`
	P99  int64 `json:"p99_ns"`
	P999 int64 `json:"p999_ns"`
	Max  int64 `json:"max_ns"`
	// The generator's own lateness in starting calls, in nanoseconds
	// (already inside the latencies).
	LagP50         int64    `json:"start_lag_p50_ns"`
	LagP99         int64    `json:"start_lag_p99_ns"`
	LagMax         int64    `json:"start_lag_max_ns"`
	Upstream       int64    `json:"upstream_requests"`
	Upstream503    int64    `json:"upstream_503"`               // 503s it answered
	UpstreamResets int64    `json:"upstream_resets"`            // connections it reset
	PerCall        float64  `json:"upstream_requests_per_call"` // Upstream / Scheduled
	CPUNanos       int64    `json:"cpu_ns"`                     // user+sys of this process over the run; -1: unknown
	CPUPerCall     float64  `json:"cpu_ns_per_call"`            // CPUNanos / Completed; -1: unknown
	FirstErrors    []string `json:"sample_errors,omitempty"`    // a few distinct error texts, for the curious
}

// summarize reduces a run to its summary; upstream is the number of requests
// the upstream counted and cpu the process's CPU time over the run (negative:
// unknown).
func summarize(client string, r run, upstream int64, cpu time.Duration) summary {
	s := summary{Client: client, Scheduled: len(r.outcomes), Upstream: upstream, CPUNanos: int64(cpu), CPUPerCall: -1}
	lat := make([]time.Duration, 0, len(r.outcomes))
	lag := make([]time.Duration, 0, len(r.outcomes))
	seen := map[string]bool{}
	for _, o := range r.outcomes {
		lag = append(lag, o.lag)
		if !o.completed {
			lat = append(lat, never)
			s.Errors++
			s.ErrorsOther++
			continue
		}
		s.Completed++
		lat = append(lat, o.latency)
		k := classify(o.status, o.err)
		switch k {
		case kind5xx:
			s.Errors5xx++
		case kindReset:
			s.ErrorsReset++
		case kindOther:
			s.ErrorsOther++
		}
		if k != kindOK {
			s.Errors++
			if o.err != nil && len(s.FirstErrors) < 5 && !seen[o.err.Error()] {
				seen[o.err.Error()] = true
				s.FirstErrors = append(s.FirstErrors, o.err.Error())
			}
		}
	}
	slices.Sort(lat)
	slices.Sort(lag)
	s.P50, s.P90 = nanos(percentile(lat, 50)), nanos(percentile(lat, 90))
	s.P99, s.P999 = nanos(percentile(lat, 99)), nanos(percentile(lat, 99.9))
	s.Max = nanos(percentile(lat, 100))
	s.LagP50, s.LagP99, s.LagMax = int64(percentile(lag, 50)), int64(percentile(lag, 99)), int64(percentile(lag, 100))
	if d := r.end.Sub(r.start); d > 0 {
		s.RunSeconds = d.Seconds()
		s.Throughput = float64(s.Completed) / d.Seconds()
	}
	if s.Scheduled > 0 {
		s.PerCall = float64(upstream) / float64(s.Scheduled)
	}
	if cpu < 0 {
		s.CPUNanos = -1
	} else if s.Completed > 0 {
		s.CPUPerCall = float64(cpu) / float64(s.Completed)
	}
	return s
}

// nanos is d in nanoseconds, -1 for never.
func nanos(d time.Duration) int64 {
	if d == never {
		return -1
	}
	return int64(d)
}
