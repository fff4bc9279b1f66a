// Command tempest-demo shows the Tempest HTTP client at work, with real HTTP
// on loopback only. One process starts a scripted upstream (httpclienttest)
// that goes through phases: healthy; a hard outage of 503s and connection
// resets; a slow period where attempts time out; a rate-limited period of
// 429s with Retry-After; recovery. A service (net/http +
// requestid.Middleware) calls it through one shared httpclient.Client, and a
// load generator sends the service GETs and POSTs at a fixed rate.
//
// It prints the scaled settings it uses (the library's defaults differ),
// then, on a terminal, a live view redrawn each second (plain lines when
// stdout is not a terminal), and at the end a table per phase, the
// breaker's state changes and probes, one request traced by its
// X-Request-ID from the service's log line through every outbound attempt
// to the upstream's log, what the measured traffic shows, and a last line
//
//	summary: calls=N attempts=N fastfails=N admitted_while_open=0 recovered=true ...
//
// It exits with status 1 when the client misbehaved, as counted from its
// hooks' events, which carry the breaker state and generation decided at
// admission (R21): an attempt admitted while the circuit was open, more than
// one probe in a half-open period, no fast-fail during the outage, a retry
// sooner than Retry-After, a POST without an Idempotency-Key received twice,
// a request ID lost on the way, or no recovery; in the saturate scenario,
// no call shed by the concurrency limit during the saturated phase, or
// goodput that did not come back after it.
//
// Usage:
//
//	tempest-demo [-duration 14s] [-rate 40] [-scenario default] [-svg FILE] [-compare] [-quiet] [-observe ADDR]
//	tempest-demo -fleet [-redis redis://host:port] [-duration 12s] [-rate 40] [-quiet]
//
// From the repository's root, `make demo ARGS='-compare'` builds and runs it
// (it is a module of its own: cmd/tempest-demo/go.mod).
//
// -svg writes a timeline chart (success rate, attempts per second, breaker
// state as coloured bands) that a browser opens. -compare runs the scenario
// with a plain http.Client, a naive retry loop and Tempest, and prints them
// side by side. -observe serves the client's operator page and metrics
// while it runs.
//
// -scenario saturate shows the adaptive concurrency limit (R73-R75). Its
// upstream is a pool of workers, one for every 10 calls a second of load
// (4 at 40/s), serving first come first served in 20ms; in the saturated
// phase a request takes 200ms, ten times as long, so the pool serves half
// the load while the service keeps sending, and afterwards 20ms again. The
// client, with a 2s attempt timeout, has httpclient.WithConcurrencyLimit
// with the adaptive limit: the excess fails fast with a
// *httpclient.ConcurrencyLimitError (the outcome shed-limit, a 503 from
// the service), the calls that succeed stay at a few hundred
// milliseconds, and the service's calls in flight stay bounded. The
// report adds a table per phase of calls shed, the latency of the calls
// that succeeded, the most calls in flight and goroutines, and the
// upstream's longest queue wait; the limit over the run, from
// Hooks.LimitChange; and how soon after the phase goodput came back. Its
// summary line ends with shed_by_limit=N goodput_back=true. With -compare
// it runs a fourth column, the same httpclient.Client without the limit:
//
//	make demo ARGS='-scenario saturate -compare'
//
// -fleet runs three replicas of the service instead, in the one process,
// each with its own httpclient.Client, go-redis client, redisstore.Store
// and Breakers, sharing one RateGate, through a healthy phase, an outage
// and recovery. It shows that one replica's opened circuit opens the
// others' at once, that each half-open period lets one probe through for
// the whole fleet, and that the fleet's rate to the upstream holds at the
// shared limit; it ends with the line
//
//	fleet: replicas=3 trips_shared=2/2 probes_max_per_halfopen=1 halfopen_periods=N rate_limit=50/s measured=50.0/s ok=true
//
// and exits with status 1 when the fleet misbehaved. It starts a private
// redis-server from $PATH on a free loopback port, and stops it at the
// end, unless -redis names a Redis to use.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var stdout io.Writer = os.Stdout
	if isTerminal(os.Stdout) {
		stdout = terminal{os.Stdout}
	}
	err := run(ctx, os.Args[1:], stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tempest-demo:", err)
		os.Exit(1)
	}
}

// isTerminal reports whether f is a character device: a terminal, not a
// pipe or a file.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
