// Command service is the seed SDK's "singleton in resources.py, closed on the
// lifespan" in Go: an HTTP service that builds one httpclient.Client at
// start-up, hands it to its handlers through a struct, and on SIGINT or
// SIGTERM shuts the server down gracefully and only then closes the client,
// so that no handler ever uses a closed client.
//
// Requests go through requestid.Middleware: the inbound X-Request-ID (or a
// generated one) is in every log line and in every call to the upstream.
//
// Usage:
//
//	go run ./examples/service [-addr 127.0.0.1:8080] [-upstream URL] [-grace 10s]
//	curl -H 'X-Request-ID: abc-1' http://127.0.0.1:8080/users/42
//
// Without -upstream it starts a local stand-in for the users service.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/requestid"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

type config struct {
	addr     string
	upstream string
	grace    time.Duration
}

func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors go back to main, which prints them once
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	fs.StringVar(&cfg.upstream, "upstream", "", "base URL of the users service (default: a local stand-in)")
	fs.DurationVar(&cfg.grace, "grace", 10*time.Second, "how long shutdown waits for in-flight requests")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: service [-addr 127.0.0.1:8080] [-upstream URL] [-grace 10s]")
			fs.PrintDefaults()
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.grace <= 0 {
		return cfg, fmt.Errorf("-grace %v: want a positive duration", cfg.grace)
	}
	return cfg, nil
}

// run serves until ctx ends, then shuts down in order: the server first
// (waiting for in-flight handlers), the client after. It prints
// "listening on http://ADDR" once it accepts connections.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	out := &lockedWriter{w: stdout} // handlers log concurrently
	logger := slog.New(requestid.NewLogHandler(slog.NewTextHandler(out, &slog.HandlerOptions{
		ReplaceAttr: dropTime,
	})))

	upstream := cfg.upstream
	if upstream == "" {
		standIn := startStandIn(out)
		defer standIn.Close() // deferred first, so it stops last
		upstream = standIn.URL
	}

	client, err := httpclient.New(upstream, // once, at start-up
		httpclient.WithTimeout(5*time.Second),
		httpclient.WithLogger(logger), // retries and breaker changes, with request_id
	)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		client.Close()
		return err
	}
	srv := &http.Server{
		Handler:           requestid.Middleware((&server{client: client, log: logger}).routes()),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())

	select {
	case <-ctx.Done(): // SIGINT or SIGTERM
	case err := <-served:
		client.Close()
		return fmt.Errorf("serving: %w", err)
	}
	fmt.Fprintln(out, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.grace)
	defer cancel()
	err = srv.Shutdown(shutdownCtx) // stop accepting, wait for handlers
	if err != nil {
		srv.Close() // the grace period ran out: cut the remaining connections
		err = fmt.Errorf("shutdown: %w", err)
	}
	<-served
	fmt.Fprintln(out, "server stopped")
	client.Close() // then close the client's pool
	fmt.Fprintln(out, "client closed")
	return err
}

// server holds what the handlers share. The client is built once in run and
// shared by every request: it is safe for concurrent use and keeps one
// connection pool and one breaker per origin.
type server struct {
	client *httpclient.Client
	log    *slog.Logger
}

// User is what the users service returns for /users/{id}.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", s.getUser)
	return mux
}

func (s *server) getUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	// r.Context() carries the request ID; the client sends it upstream.
	user, err := httpclient.Decode[User](s.client.Get(r.Context(), httpclient.Path("users", id)))
	status := http.StatusOK
	var se *httpclient.StatusError
	var coe *httpclient.CircuitOpenError
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(user)
	case errors.As(err, &coe):
		// Fail fast while the upstream is down, and say when to come back.
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(coe.Until).Seconds())+1))
		http.Error(w, "users service unavailable", status)
	case errors.As(err, &se) && se.StatusCode == http.StatusNotFound:
		status = http.StatusNotFound
		http.Error(w, "no such user", status)
	default:
		status = http.StatusBadGateway
		http.Error(w, "users service failed", status)
	}
	attrs := []any{"id", id, "status", status}
	if err != nil {
		attrs = append(attrs, "error_class", httpclient.ClassOf(err))
	}
	s.log.InfoContext(r.Context(), "GET /users/{id}", attrs...)
}

// startStandIn starts a local users service that logs the request ID it
// receives, so that the example runs without network access.
func startStandIn(out io.Writer) *httptest.Server {
	users := map[string]User{"42": {ID: "42", Name: "Ada Lovelace"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(out, "upstream: GET %s X-Request-ID=%s\n", r.URL.Path, r.Header.Get(requestid.Header))
		user, ok := users[r.PathValue("id")]
		if !ok {
			http.Error(w, "no such user", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(user)
	})
	return httptest.NewServer(mux)
}

// dropTime removes the time from log records, so that the example's output
// reads the same from one run to the next.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

// lockedWriter serialises writes from concurrent handlers and run.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
