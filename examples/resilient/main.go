// Command resilient is the seed SDK's second example in Go: retries with
// exponential backoff, a circuit breaker, default headers and request-ID
// propagation, and what a caller does when the circuit is open.
//
// It posts charges to an upstream, each with an Idempotency-Key so that a
// retried POST cannot charge twice. Against its local stand-in, which answers
// 503 to everything, the output shows the retries, the circuit opening after
// five consecutive failures, and the next charges failing fast with
// ErrCircuitOpen without touching the network.
//
// Usage:
//
//	go run ./examples/resilient [-upstream URL] [-charges 4] [-backoff 500ms] [-api-key KEY]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/requestid"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "resilient:", err)
		os.Exit(1)
	}
}

// Charge is the body of POST /charge.
type Charge struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

type config struct {
	upstream string
	charges  int
	backoff  time.Duration
	apiKey   string
}

func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("resilient", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors go back to main, which prints them once
	fs.StringVar(&cfg.upstream, "upstream", "", "base URL of the payments service (default: a local stand-in that always answers 503)")
	fs.IntVar(&cfg.charges, "charges", 4, "number of charges to post, one after the other")
	fs.DurationVar(&cfg.backoff, "backoff", 500*time.Millisecond, "RetryPolicy.BackoffInitial: the wait before the first retry")
	fs.StringVar(&cfg.apiKey, "api-key", "demo-key", "value of the X-Api-Key default header")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: resilient [-upstream URL] [-charges 4] [-backoff 500ms] [-api-key KEY]")
			fs.PrintDefaults()
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.charges < 1 {
		return cfg, fmt.Errorf("-charges %d: want at least 1", cfg.charges)
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	out := &lockedWriter{w: stdout} // hooks may print from another goroutine
	if cfg.upstream == "" {
		var hits atomic.Int64
		standIn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Error(w, "payments are down", http.StatusServiceUnavailable)
		}))
		defer func() {
			standIn.Close()
			fmt.Fprintf(out, "the stand-in upstream received %d requests\n", hits.Load())
		}()
		cfg.upstream = standIn.URL
		fmt.Fprintf(out, "upstream: %s (local stand-in: every request gets 503)\n", cfg.upstream)
	}

	client, err := httpclient.New(cfg.upstream,
		httpclient.WithTimeout(5*time.Second),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{
			MaxAttempts:    3,               // 1 try + 2 retries
			BackoffInitial: cfg.backoff,     // 0.5s by default, then 1s, 2s... (jittered)
			BackoffMax:     8 * time.Second, // cap per wait
		}),
		httpclient.WithCircuitBreaker(5, 30*time.Second), // open after 5 straight failures, half-open after 30s
		httpclient.WithDefaultHeaders(http.Header{"X-Api-Key": {cfg.apiKey}}),
		httpclient.WithRequestIDPropagation(true), // forward the context's X-Request-ID (the default)
		httpclient.WithHooks(printHooks(out)),
	)
	if err != nil {
		return err
	}
	defer client.Close()

	for i := 1; i <= cfg.charges; i++ {
		charge := Charge{ID: fmt.Sprintf("charge-%d", i), Amount: 100}
		// A command-line job has no inbound request: give each charge an ID
		// for the logs, the hooks and the upstream.
		cctx := requestid.NewContext(ctx, charge.ID)
		resp, err := postCharge(cctx, client, charge)
		if errors.Is(err, httpclient.ErrCircuitOpen) {
			// The circuit is open: don't hammer the downed upstream.
			var coe *httpclient.CircuitOpenError
			errors.As(err, &coe)
			fmt.Fprintf(out, "%s  circuit open: failed fast, nothing sent (half-opens in %v)\n",
				charge.ID, time.Until(coe.Until).Round(time.Second))
			continue
		}
		if err != nil {
			return err
		}
		// The last response comes back with a nil error, as net/http does,
		// so that the caller can read it.
		resp.Body.Close()
		fmt.Fprintf(out, "%s  result: %s\n", charge.ID, resp.Status)
	}
	return nil
}

// postCharge is the seed's call(): POST /charge with a JSON body.
func postCharge(ctx context.Context, client *httpclient.Client, charge Charge) (*http.Response, error) {
	return client.Post(ctx, "/charge", httpclient.JSON(charge),
		httpclient.Header("Idempotency-Key", charge.ID)) // without it a POST is never retried after sending
}

// printHooks reports each attempt, early give-up and breaker change. Hooks get
// no header values; the request ID comes from the context.
func printHooks(out io.Writer) httpclient.Hooks {
	return httpclient.Hooks{
		AttemptDone: func(ctx context.Context, a httpclient.Attempt, r httpclient.AttemptResult) {
			id, _ := requestid.FromContext(ctx)
			outcome := string(r.Class)
			if r.Err == nil {
				outcome = fmt.Sprint(r.Status)
			}
			fmt.Fprintf(out, "%s  attempt %d/%d %s %s -> %s\n", id, a.N, a.Max, a.Method, a.Path, outcome)
		},
		GiveUp: func(ctx context.Context, a httpclient.Attempt, why httpclient.Stop) {
			id, _ := requestid.FromContext(ctx)
			fmt.Fprintf(out, "%s  stopped retrying after attempt %d: %s\n", id, a.N, why)
		},
		StateChange: func(origin string, ch breaker.Change) {
			fmt.Fprintf(out, "breaker   %s %s -> %s (%s)\n", origin, ch.From, ch.To, ch.Cause)
		},
	}
}

// lockedWriter serialises writes from the main goroutine and the hooks.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
