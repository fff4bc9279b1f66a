package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	tempestotel "github.com/tempestsdk/tempest/otel"
)

// config is what the flags set.
type config struct {
	duration time.Duration // the whole scenario (each run's, with -compare)
	rate     int           // calls per second from the load generator
	scenario string
	svg      string // file for the timeline chart, "" for none
	compare  bool   // run plain, naive and tempest (and tempest without the limit) side by side
	quiet    bool   // no settings, live view or report
	observe  string // address for the operator page and /metrics, "" for none
	fleet    bool   // three replicas sharing breakers and a rate limit through Redis
	redisURL string // -fleet's Redis, "" to start a private redis-server
}

const (
	defaultDuration        = 14 * time.Second
	defaultCompareDuration = 8 * time.Second
	minDuration            = 4 * time.Second
	maxDuration            = 10 * time.Minute
	maxRate                = 1000
)

const usage = `usage: tempest-demo [-duration 14s] [-rate 40] [-scenario default] [-svg FILE] [-compare] [-quiet] [-observe ADDR]
       tempest-demo -fleet [-redis redis://host:port] [-duration 12s] [-rate 40] [-quiet]

Runs, in one process on loopback, a scripted upstream that fails in phases, a
service that calls it through one shared httpclient.Client, and a load
generator; then reports what the client did, phase by phase. -scenario
saturate makes the upstream a pool of workers whose service time climbs
ten-fold for a while, against a client with the adaptive concurrency limit
(-compare adds the same client without it). -fleet runs three replicas
instead, sharing their circuit breakers and one rate limit through Redis.
`

func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("tempest-demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors go back to main, which prints them once
	fs.DurationVar(&cfg.duration, "duration", defaultDuration,
		"length of the whole scenario (default 8s per run with -compare, 12s with -fleet); the phases and the breaker's recovery scale with it")
	fs.IntVar(&cfg.rate, "rate", 40, "calls per second sent to the service (with -fleet, to each replica)")
	fs.StringVar(&cfg.scenario, "scenario", scenarios[0].name,
		"the upstream's script: "+strings.Join(scenarioNames(), ", ")+
			" (saturate: a pool of workers ten times slower for a while, against the adaptive concurrency limit)")
	fs.StringVar(&cfg.svg, "svg", "", "write a timeline chart (SVG) of the tempest run to this file")
	fs.BoolVar(&cfg.compare, "compare", false,
		"run the scenario with a plain http.Client, a naive retry loop and tempest (with -scenario saturate, tempest without its concurrency limit too), and print them side by side")
	fs.BoolVar(&cfg.quiet, "quiet", false, "print only the summary line (and, with -compare, the table)")
	fs.StringVar(&cfg.observe, "observe", "",
		"serve the client's operator page (/ops/) and its metrics (/metrics, Prometheus) on this address, such as 127.0.0.1:9464 (loopback only), while the scenario runs")
	fs.BoolVar(&cfg.fleet, "fleet", false,
		"run three replicas, each with its own client, sharing their circuit breakers and one rate limit through Redis (redisstore), through an outage")
	fs.StringVar(&cfg.redisURL, "redis", "",
		"with -fleet, the Redis to share through, as redis://host:port; default: a private redis-server started from $PATH")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprint(stdout, usage)
			fs.PrintDefaults()
		}
		return cfg, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.compare && !set["duration"] {
		cfg.duration = defaultCompareDuration
	}
	if cfg.fleet && !set["duration"] {
		cfg.duration = defaultFleetDuration
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags: -duration, -rate, -scenario, -svg, -compare, -quiet, -observe, -fleet, -redis)", fs.Arg(0))
	}
	if cfg.fleet {
		for _, name := range []string{"compare", "scenario", "svg", "observe"} {
			if set[name] {
				return cfg, fmt.Errorf("-fleet runs a scenario of its own and takes -duration, -rate, -quiet and -redis only, not -%s", name)
			}
		}
		if set["redis"] {
			if _, err := parseRedisURL(cfg.redisURL); err != nil {
				return cfg, err
			}
		}
	} else if set["redis"] {
		return cfg, errors.New("-redis is for -fleet")
	}
	if cfg.duration < minDuration || cfg.duration > maxDuration {
		return cfg, fmt.Errorf("-duration %v: want %v to %v", cfg.duration, minDuration, maxDuration)
	}
	if cfg.rate < 5 || cfg.rate > maxRate {
		return cfg, fmt.Errorf("-rate %d: want 5 to %d calls per second", cfg.rate, maxRate)
	}
	if !slices.Contains(scenarioNames(), cfg.scenario) {
		return cfg, fmt.Errorf("-scenario %q: want one of %s", cfg.scenario, strings.Join(scenarioNames(), ", "))
	}
	if set["observe"] {
		host, _, err := net.SplitHostPort(cfg.observe)
		if err != nil {
			return cfg, fmt.Errorf("-observe %q: want host:port, such as 127.0.0.1:9464", cfg.observe)
		}
		// The demo's operator page has its controls on and no
		// authentication: loopback only.
		if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
			return cfg, fmt.Errorf("-observe %q: the demo serves its operator controls without authentication, so only on a loopback address, such as 127.0.0.1:9464", cfg.observe)
		}
	}
	if set["svg"] && strings.TrimSpace(cfg.svg) == "" {
		return cfg, errors.New("-svg needs a file name")
	}
	return cfg, nil
}

// terminal marks the writer main passes to run when stdout is a terminal:
// run then redraws a live view each second instead of printing plain lines.
type terminal struct{ io.Writer }

// run is the whole demo: it returns an error when a flag is wrong, when
// setting up fails, or when the client misbehaved.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	if cfg.fleet {
		return runFleet(ctx, cfg, stdout)
	}
	_, live := stdout.(terminal)
	if cfg.compare {
		return runCompare(ctx, cfg, stdout, live)
	}
	set := scale(cfg)
	v := view{out: stdout, live: live, quiet: cfg.quiet, title: "tempest"}
	v.header = func(upstreamURL, serviceURL string) {
		printSettings(stdout, set, upstreamURL, serviceURL)
	}
	w, err := runWorld(ctx, set, modeTempest, v)
	if w == nil {
		return err
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	rep := w.report(ctx.Err() == nil)
	if cfg.svg != "" {
		if err := writeSVG(cfg.svg, w); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.quiet {
		fmt.Fprintln(stdout, rep.summary())
	} else {
		w.printReport(stdout, rep, cfg.svg)
	}
	return finish(ctx, w, rep, errs)
}

// finish turns the report's problems, errors met on the way and an
// interruption into run's error.
func finish(ctx context.Context, w *world, rep report, errs []error) error {
	if len(rep.problems) > 0 {
		errs = append(errs, errors.New("the client misbehaved: "+strings.Join(rep.problems, "; ")))
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("interrupted at t=%s, before the scenario ended: %w", offset(w.since(time.Now())), err))
	}
	return errors.Join(errs...)
}

// runWorld runs the scenario once with the service's outbound calls made by
// mode m, and returns what was recorded. It returns a nil world only when
// setting up failed; a non-nil error with a world is a shutdown problem.
// Everything it starts has stopped when it returns.
func runWorld(ctx context.Context, set settings, m mode, v view) (*world, error) {
	w := newWorld(set, m)
	upstream := httpclienttest.NewServer(httpclienttest.ScriptFunc(w.upstreamScript),
		httpclienttest.WithLog(w.upstreamLog))
	defer upstream.Close() // safe twice; the normal path closes it below

	var c caller
	var closeClient func()
	var obs *observer // -observe, for the tempest run only
	switch m {
	case modeTempest, modeTempestNoLimit:
		hooks := w.hooks()
		if set.observe != "" && m == modeTempest {
			var err error
			if obs, err = newObserver(set.observe); err != nil {
				return nil, err
			}
			defer obs.close() // safe twice
			hooks = tempestotel.Chain(hooks, obs.hooks())
		}
		opts := []httpclient.Option{
			httpclient.WithTimeout(set.attemptTimeout),
			httpclient.WithRetryPolicy(set.policy),
			httpclient.WithCircuitBreaker(set.failureThreshold, set.recovery),
			httpclient.WithHooks(hooks),
		}
		if m == modeTempest && set.concLimit {
			opts = append(opts, httpclient.WithConcurrencyLimit(set.limit))
		}
		client, err := httpclient.New(upstream.URL, opts...)
		if err != nil {
			return nil, fmt.Errorf("building the client: %w", err)
		}
		defer client.Close() // safe twice
		c, closeClient = tempestCaller{client}, func() { client.Close() }
		if m == modeTempest && set.concLimit {
			w.limits = func() []limitState {
				var out []limitState
				for origin, s := range client.ConcurrencyLimits() {
					out = append(out, limitState{origin, s})
				}
				slices.SortFunc(out, func(a, b limitState) int { return strings.Compare(a.origin, b.origin) })
				return out
			}
		}
		if obs != nil {
			if err := obs.serve(client); err != nil {
				return nil, err
			}
		}
	default:
		// The same tuned transport as tempest's, so that only the retry
		// logic differs.
		tr := httpclient.NewTransport()
		defer tr.CloseIdleConnections()
		tries := 1
		if m == modeNaive {
			tries = set.naiveAttempts
		}
		c = loopCaller{w: w, hc: &http.Client{Transport: tr, Timeout: set.attemptTimeout},
			base: upstream.URL, tries: tries, sleep: set.naiveSleep}
		closeClient = tr.CloseIdleConnections
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	srv := &http.Server{
		Handler:           w.service(c),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	serviceURL := "http://" + ln.Addr().String()

	if v.header != nil && !v.quiet {
		v.header(upstream.URL, serviceURL)
	}
	if obs != nil {
		fmt.Fprintf(v.out, "operator page %s/ops/ and metrics %s/metrics, while the scenario runs\n\n", obs.url(), obs.url())
	}
	stopView := v.watch(w)

	// Traffic: the load generator waits for its last call before returning.
	loadTransport := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	w.load(ctx, serviceURL, &http.Client{Transport: loadTransport, Timeout: 10 * time.Second})
	loadTransport.CloseIdleConnections()
	stopView()
	if w.limits != nil {
		end := w.limits()
		w.mu.Lock()
		w.limitEnd = end
		w.mu.Unlock()
	}

	// Shut down in the documented order (R29): the server (its handlers are
	// the client's callers), then the client, then the upstream.
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	shutErr := srv.Shutdown(shutCtx)
	cancel()
	if shutErr != nil {
		srv.Close() // handlers still running past the grace period
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		shutErr = errors.Join(shutErr, err)
	}
	if obs != nil {
		if err := obs.close(); err != nil {
			shutErr = errors.Join(shutErr, fmt.Errorf("-observe: %w", err))
		}
	}
	closeClient()
	upstream.Close()
	if shutErr != nil {
		return w, fmt.Errorf("shutting the service down: %w", shutErr)
	}
	return w, nil
}
