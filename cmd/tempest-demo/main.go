// Command tempest-demo shows the Tempest HTTP client at work, on loopback
// only: a local upstream that fails for a while, a service that calls it
// through one shared httpclient.Client under requestid.Middleware, and a load
// generator that sends it traffic through a healthy phase, an outage and a
// recovery.
//
// It prints the scaled settings it uses, what each phase looked like, the
// breaker's state changes, one request traced by its X-Request-ID from the
// service's inbound log line through every outbound attempt to the upstream's
// log, and a last line
//
//	summary: calls=N attempts=N fastfails=N admitted_while_open=0 recovered=true
//
// It exits with status 1 when the client misbehaved: an attempt admitted
// while the circuit was open, more than one probe in a half-open period, no
// fast-fail during the outage, a request ID lost on the way, or no recovery.
//
// Usage:
//
//	go run ./cmd/tempest-demo [-duration 10s] [-rate 40] [-quiet]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tempest-demo:", err)
		os.Exit(1)
	}
}
