// Command thirdparty hands Tempest's retries, breaker and timeouts to code
// that only accepts an *http.Client: here weatherSDK, a stand-in for a
// third-party SDK that knows nothing of Tempest. The SDK gets
// client.StandardClient(); the call's options travel in the context, through
// httpclient.WithRequestOptions, because the SDK builds its own requests.
//
// Against its local stand-in, which fails twice before answering, the output
// shows three attempts made under the SDK's single Do.
//
// Usage:
//
//	go run ./examples/thirdparty [-upstream URL] [-city Lisbon] [-backoff 500ms]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "thirdparty:", err)
		os.Exit(1)
	}
}

type config struct {
	upstream string
	city     string
	backoff  time.Duration
}

func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("thirdparty", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors go back to main, which prints them once
	fs.StringVar(&cfg.upstream, "upstream", "", "base URL of the weather service (default: a local stand-in that fails twice, then answers)")
	fs.StringVar(&cfg.city, "city", "Lisbon", "city to ask the forecast for")
	fs.DurationVar(&cfg.backoff, "backoff", 500*time.Millisecond, "RetryPolicy.BackoffInitial for the call")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: thirdparty [-upstream URL] [-city Lisbon] [-backoff 500ms]")
			fs.PrintDefaults()
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	out := &lockedWriter{w: stdout}
	if cfg.upstream == "" {
		forecast, _ := json.Marshal(Forecast{City: cfg.city, Celsius: 21, Sky: "sunny"})
		standIn := httpclienttest.NewServer(httpclienttest.Sequence{
			httpclienttest.Status(http.StatusServiceUnavailable),
			httpclienttest.Status(http.StatusBadGateway),
			httpclienttest.OK(string(forecast)),
		})
		defer standIn.Close()
		cfg.upstream = standIn.URL
		fmt.Fprintf(out, "upstream: %s (local stand-in: 503, then 502, then the forecast)\n", cfg.upstream)
	}

	client, err := httpclient.New("", httpclient.WithHooks(httpclient.Hooks{
		AttemptDone: func(ctx context.Context, a httpclient.Attempt, r httpclient.AttemptResult) {
			id, _ := requestid.FromContext(ctx)
			outcome := string(r.Class)
			if r.Err == nil {
				outcome = fmt.Sprint(r.Status)
			}
			fmt.Fprintf(out, "attempt %d/%d %s %s -> %s (request_id=%s)\n", a.N, a.Max, a.Method, a.Path, outcome, id)
		},
	}))
	if err != nil {
		return err
	}
	defer client.Close()

	// The SDK only takes an *http.Client: give it one that runs every request
	// through the client's retries, breaker and timeouts.
	sdk := newWeatherSDK(client.StandardClient(), cfg.upstream)

	// The SDK builds its own requests, so call options travel in the context.
	ctx = httpclient.WithRequestOptions(ctx,
		httpclient.Timeout(2*time.Second),
		httpclient.Retry(httpclient.RetryPolicy{MaxAttempts: 4, BackoffInitial: cfg.backoff}),
	)
	ctx = requestid.NewContext(ctx, "weather-job-1")
	f, err := sdk.Forecast(ctx, cfg.city)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "forecast for %s: %d°C, %s\n", f.City, f.Celsius, f.Sky)
	return nil
}

// Forecast is the weather service's answer.
type Forecast struct {
	City    string `json:"city"`
	Celsius int    `json:"celsius"`
	Sky     string `json:"sky"`
}

// weatherSDK stands in for a third-party SDK: like many, it accepts an
// *http.Client and builds its requests itself.
type weatherSDK struct {
	hc      *http.Client
	baseURL string
}

func newWeatherSDK(hc *http.Client, baseURL string) *weatherSDK {
	return &weatherSDK{hc: hc, baseURL: baseURL}
}

// Forecast makes one GET; it has no retry logic of its own.
func (s *weatherSDK) Forecast(ctx context.Context, city string) (Forecast, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL+"/forecast?city="+url.QueryEscape(city), nil)
	if err != nil {
		return Forecast{}, err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return Forecast{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Forecast{}, fmt.Errorf("weather: %s", resp.Status)
	}
	var f Forecast
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		return Forecast{}, fmt.Errorf("weather: decoding the forecast: %w", err)
	}
	return f, nil
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
