package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"syscall"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = time.Duration(i+1) * time.Millisecond
		}
		return d
	}
	for _, c := range []struct {
		n    int
		p    float64
		want time.Duration
	}{
		{100, 50, 50 * time.Millisecond},
		{100, 99, 99 * time.Millisecond},
		{100, 99.9, 100 * time.Millisecond},
		{100, 100, 100 * time.Millisecond},
		{1000, 99.9, 999 * time.Millisecond},
		{1000, 99, 990 * time.Millisecond},
		{20000, 99.9, 19980 * time.Millisecond},
		{1, 50, time.Millisecond},
		{1, 99.9, time.Millisecond},
		{2, 50, time.Millisecond},
		{3, 50, 2 * time.Millisecond},
		{10, 0.001, time.Millisecond}, // never below the first value
	} {
		if got := percentile(ms(c.n), c.p); got != c.want {
			t.Errorf("percentile(1..%d ms, %v) = %v, want %v", c.n, c.p, got, c.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile(empty) = %v, want 0", got)
	}
	// Calls that never completed sort last and show in the high percentiles.
	d := append(ms(98), never, never)
	if got := percentile(d, 98); got != 98*time.Millisecond {
		t.Errorf("p98 with 2 incomplete of 100 = %v, want 98ms", got)
	}
	if got := percentile(d, 99); got != never {
		t.Errorf("p99 with 2 incomplete of 100 = %v, want never", got)
	}
}

func TestClassify(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for _, c := range []struct {
		status int
		err    error
		want   errKind
	}{
		{200, nil, kindOK},
		{204, nil, kindOK},
		{503, nil, kind5xx},
		{500, nil, kind5xx},
		{404, nil, kindOther},
		{0, reset, kindReset},
		{200, fmt.Errorf("reading the body: %w", reset), kindReset},
		{200, io.ErrUnexpectedEOF, kindReset},
		{0, errors.New("circuit open"), kindOther},
		{0, os.ErrDeadlineExceeded, kindOther},
	} {
		if got := classify(c.status, c.err); got != c.want {
			t.Errorf("classify(%d, %v) = %v, want %v", c.status, c.err, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	start := time.Unix(1000, 0)
	var outs []outcome
	for i := range 96 {
		outs = append(outs, outcome{latency: time.Duration(i+1) * time.Millisecond, lag: time.Duration(i) * time.Microsecond, completed: true, status: 200})
	}
	outs = append(outs,
		outcome{latency: 200 * time.Millisecond, completed: true, status: 503},
		outcome{latency: 300 * time.Millisecond, completed: true, err: io.ErrUnexpectedEOF},
		outcome{latency: 400 * time.Millisecond, completed: true, err: errors.New("breaker open")},
		outcome{lag: time.Millisecond}, // never completed
	)
	r := run{outcomes: outs, start: start, end: start.Add(2 * time.Second)}
	s := summarize("x", r, 150, 99*time.Millisecond)
	want := summary{
		Client: "x", Scheduled: 100, Completed: 99,
		Errors: 4, Errors5xx: 1, ErrorsReset: 1, ErrorsOther: 2,
		Throughput: 49.5, RunSeconds: 2,
		P50: int64(50 * time.Millisecond), P90: int64(90 * time.Millisecond), P99: int64(400 * time.Millisecond), P999: -1, Max: -1,
		LagP50: int64(46 * time.Microsecond), LagP99: int64(95 * time.Microsecond), LagMax: int64(time.Millisecond),
		Upstream: 150, PerCall: 1.5,
		CPUNanos: int64(99 * time.Millisecond), CPUPerCall: float64(time.Millisecond),
	}
	if got := s.FirstErrors; len(got) != 2 || got[0] != io.ErrUnexpectedEOF.Error() || got[1] != "breaker open" {
		t.Errorf("sample errors %q", got)
	}
	s.FirstErrors = nil
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summarize:\n got %+v\nwant %+v", s, want)
	}
	// When all complete, every percentile is a measured latency; an
	// unknown CPU time stays unknown.
	r.outcomes = outs[:99]
	if s := summarize("x", r, 99, -1); s.P999 != int64(400*time.Millisecond) || s.Max != int64(400*time.Millisecond) || s.Errors != 3 || s.CPUNanos != -1 || s.CPUPerCall != -1 {
		t.Errorf("summarize, all completed: p99.9 %v max %v errors %d cpu %v %v", s.P999, s.Max, s.Errors, s.CPUNanos, s.CPUPerCall)
	}
}
