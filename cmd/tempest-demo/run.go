package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
)

// config is what the flags set.
type config struct {
	duration time.Duration // the whole scenario
	rate     int           // calls per second from the load generator
	quiet    bool          // print the summary line only
}

const (
	minDuration = 2 * time.Second
	maxDuration = 10 * time.Minute
	maxRate     = 1000
)

func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("tempest-demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors go back to main, which prints them once
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second,
		"length of the whole scenario; the phases and the breaker's recovery scale with it")
	fs.IntVar(&cfg.rate, "rate", 40, "calls per second sent to the service")
	fs.BoolVar(&cfg.quiet, "quiet", false, "print only the summary line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: tempest-demo [-duration 10s] [-rate 40] [-quiet]")
			fs.PrintDefaults()
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags: -duration, -rate, -quiet)", fs.Arg(0))
	}
	if cfg.duration < minDuration || cfg.duration > maxDuration {
		return cfg, fmt.Errorf("-duration %v: want %v to %v", cfg.duration, minDuration, maxDuration)
	}
	if cfg.rate < 1 || cfg.rate > maxRate {
		return cfg, fmt.Errorf("-rate %d: want 1 to %d calls per second", cfg.rate, maxRate)
	}
	return cfg, nil
}

// settings are the scaled values the demo runs with, derived from config.
type settings struct {
	attemptTimeout   time.Duration
	policy           httpclient.RetryPolicy
	failureThreshold int
	recovery         time.Duration // the breaker's open period

	// Phases, as offsets from the start: healthy [0, outageStart), outage
	// [outageStart, outageEnd), recovered [outageEnd, duration).
	outageStart, outageEnd, duration time.Duration
	// finalWindow is the end of the run in which every call must succeed
	// for recovered=true.
	finalWindow time.Duration
}

// scale derives the settings from the duration. With the breaker's recovery
// at a fifth of the run, the outage (35% of the run) opens the circuit, sees
// one probe fail, and ends before the second probe, which closes the circuit
// early in the last phase; even if a slow machine shifts that probe into the
// outage, a third one still closes the circuit with time to spare.
func scale(cfg config) settings {
	d := cfg.duration
	return settings{
		attemptTimeout: 300 * time.Millisecond,
		policy: httpclient.RetryPolicy{
			MaxAttempts:    3,
			BackoffInitial: 50 * time.Millisecond,
			BackoffMax:     400 * time.Millisecond,
		},
		failureThreshold: 5,
		recovery:         (d / 5).Round(10 * time.Millisecond),
		outageStart:      d / 5,
		outageEnd:        d * 55 / 100,
		duration:         d,
		finalWindow:      (d / 10).Round(10 * time.Millisecond),
	}
}

// run is the whole demo: it returns an error when a flag is wrong, when
// setting up fails, or when the client misbehaved.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	set := scale(cfg)
	d := newDemo(cfg, set)

	upstream := httpclienttest.NewServer(httpclienttest.ScriptFunc(d.upstreamScript),
		httpclienttest.WithLog(d.upstreamLog))
	defer upstream.Close() // safe twice; the normal path closes it below

	client, err := httpclient.New(upstream.URL,
		httpclient.WithTimeout(set.attemptTimeout),
		httpclient.WithRetryPolicy(set.policy),
		httpclient.WithCircuitBreaker(set.failureThreshold, set.recovery),
		httpclient.WithHooks(d.hooks()))
	if err != nil {
		return fmt.Errorf("building the client: %w", err)
	}
	defer client.Close() // safe twice

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	srv := &http.Server{
		Handler:           d.service(client),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	serviceURL := "http://" + ln.Addr().String()

	if !cfg.quiet {
		d.printSettings(stdout, upstream.URL, serviceURL)
	}

	// Traffic: the load generator waits for its last call before returning.
	loadTransport := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	d.load(ctx, serviceURL, &http.Client{Transport: loadTransport, Timeout: 10 * time.Second})
	loadTransport.CloseIdleConnections()

	// Shut down in the documented order: the server (its handlers are the
	// client's callers), then the client, then the upstream.
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	shutErr := srv.Shutdown(shutCtx)
	cancel()
	if shutErr != nil {
		srv.Close() // handlers still running past the grace period
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		shutErr = errors.Join(shutErr, err)
	}
	client.Close()
	upstream.Close()

	rep := d.report(ctx.Err() == nil)
	if cfg.quiet {
		fmt.Fprintln(stdout, rep.summary())
	} else {
		d.printReport(stdout, rep)
	}

	var errs []error
	if len(rep.problems) > 0 {
		errs = append(errs, errors.New("the client misbehaved: "+strings.Join(rep.problems, "; ")))
	}
	if shutErr != nil {
		errs = append(errs, fmt.Errorf("shutting the service down: %w", shutErr))
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("interrupted at t=%s, before the scenario ended: %w", offset(d.since(time.Now())), err))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}
