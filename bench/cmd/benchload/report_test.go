package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/bench"
)

func TestFormatting(t *testing.T) {
	for ns, want := range map[int64]string{
		-1:                             "incomplete",
		int64(123456):                  "123µs",
		int64(1234567):                 "1.23ms",
		int64(12345678):                "12.3ms",
		int64(123456789):               "123ms",
		int64(2500 * time.Millisecond): "2.5s",
	} {
		if got := latency(ns); got != want {
			t.Errorf("latency(%d) = %q, want %q", ns, got, want)
		}
	}
	for x, want := range map[float64]string{0.01: "1%", 0.005: "0.5%", 0.8: "80%", 0: "0%"} {
		if got := pct(x); got != want {
			t.Errorf("pct(%v) = %q, want %q", x, got, want)
		}
	}
	if got := cpuPerCall(-1); got != "n/a" {
		t.Errorf("cpuPerCall(-1) = %q", got)
	}
	if got := cpuPerCall(42_500); got != "42.5 µs" {
		t.Errorf("cpuPerCall(42500) = %q", got)
	}
}

func TestWriteReport(t *testing.T) {
	r := &report{Commit: "abc1234", Rate: 2000, Duration: "10s", Warmup: "1s", Drain: "10s", LargeEvery: 5,
		P503: 0.01, PReset: 0.005, ResetMode: resetMidBody, Policy: policyText(bench.DefaultPolicy)}
	thisMachine(r, time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC))
	r.Results = []summary{
		{Client: "raw", Scheduled: 20000, Completed: 20000, Errors: 300, Errors5xx: 200, ErrorsReset: 100,
			Throughput: 1999.6, P50: 200e3, P90: 900e3, P99: 2e6, P999: 5e6, Max: 9e6, Upstream: 20000, PerCall: 1, CPUPerCall: 150e3},
		{Client: "stuck", Scheduled: 20000, Completed: 19000, Errors: 1000, ErrorsOther: 1000,
			Throughput: 900, P50: 1e9, P90: -1, P99: -1, P999: -1, Max: -1, Upstream: 20202, PerCall: 1.0101, CPUPerCall: -1},
	}
	var md bytes.Buffer
	if err := writeMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| Commit | abc1234 |",
		"| Date | 2026-01-02 03:04 UTC |",
		"2000 calls/s per client for 10s",
		"(80% / 20%)",
		"1% of requests answered 503; 0.5% reset",
		"| raw | 20000 | 20000 | 300 (200 / 100 / 0) | 2000 | 200µs | 900µs | 2ms | 5ms | 9ms | 1.0000 | 150.0 µs |",
		"| stuck | 20000 | 19000 | 1000 (0 / 0 / 1000) | 900 | 1s | incomplete | incomplete | incomplete | incomplete | 1.0101 | n/a |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md.String())
		}
	}
	var js bytes.Buffer
	if err := writeJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != 2 || back.Results[1].P99 != -1 || back.Commit != "abc1234" {
		t.Errorf("JSON round trip: %v, %+v", err, back)
	}
}

func TestSelectPeersAndPaths(t *testing.T) {
	all, err := selectPeers("")
	if err != nil || len(all) != len(bench.Peers) || all[0].Name != "raw" {
		t.Errorf("selectPeers(\"\") = %d peers, %v", len(all), err)
	}
	ps, err := selectPeers("resty, raw")
	if err != nil || len(ps) != 2 || ps[0].Name != "raw" || ps[1].Name != "resty" {
		t.Errorf("selectPeers(resty, raw) = %v, %v: want raw, resty in bench.Peers order", ps, err)
	}
	if _, err := selectPeers("raw,nosuch"); err == nil {
		t.Error("selectPeers accepted an unknown client")
	}
	large := 0
	for i := range 1000 {
		if pathFor(i, 5) == pathLarge {
			large++
		}
	}
	if large != 200 || pathFor(4, 5) != pathLarge || pathFor(0, 5) != pathSmall || pathFor(3, 0) != pathSmall {
		t.Errorf("pathFor: %d large of 1000 with large-every 5", large)
	}
	tempest, _ := bench.PeerByName("tempest")
	raw, _ := bench.PeerByName("raw")
	if callURL(tempest, "http://h", pathSmall) != pathSmall || callURL(raw, "http://h", pathSmall) != "http://h"+pathSmall {
		t.Error("callURL: a base-URL library gets the path, the others the absolute URL")
	}
	if err := (faults{p503: 0.6, pReset: 0.6, resetMode: resetMidBody}).validate(); err == nil {
		t.Error("validate accepted shares adding up to more than 1")
	}
	if err := (faults{resetMode: "sometimes"}).validate(); err == nil {
		t.Error("validate accepted an unknown reset mode")
	}
}
