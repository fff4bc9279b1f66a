// Command basic is the seed SDK's first example in Go: one client with a base
// URL and a timeout, and a typed GET /users/{id} whose status is checked and
// whose JSON is decoded in one line.
//
// Usage:
//
//	go run ./examples/basic [-upstream URL] [user-id ...]
//
// Without -upstream it starts a local stand-in for the users service that
// knows users 42 and 7, and looks up 42, 7 and 99 (a 404).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

// User is what the users service returns for /users/{id}.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("basic", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors go back to main, which prints them once
	upstream := fs.String("upstream", "", "base URL of the users service (default: a local stand-in)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: basic [-upstream URL] [user-id ...]")
			fs.PrintDefaults()
		}
		return err
	}
	baseURL, ids := *upstream, fs.Args()
	if baseURL == "" {
		standIn := startStandIn()
		defer standIn.Close()
		baseURL = standIn.URL
		if len(ids) == 0 {
			ids = []string{"42", "7", "99"}
		}
		fmt.Fprintf(stdout, "upstream: %s (local stand-in)\n", baseURL)
	}
	if len(ids) == 0 {
		return errors.New("no user IDs given")
	}

	// One client, built once: it keeps one connection pool for every call.
	client, err := httpclient.New(baseURL, httpclient.WithTimeout(10*time.Second))
	if err != nil {
		return err
	}
	defer client.Close()

	for _, id := range ids {
		user, err := fetchUser(ctx, client, id)
		var se *httpclient.StatusError
		switch {
		case errors.As(err, &se):
			// The seed's raise_for_status: a non-2xx status is an error that
			// carries the status and the start of the body.
			fmt.Fprintf(stdout, "user %s: %s (%s)\n", id, se.Status, bytes.TrimSpace(se.Body))
		case err != nil:
			return err // a transport failure, after the client's retries
		default:
			fmt.Fprintf(stdout, "user %s: %s\n", user.ID, user.Name)
		}
	}
	return nil
}

// fetchUser is the seed's fetch_user: GET /users/{id}, check the status and
// decode the JSON. Path escapes the ID, so that user data cannot add path
// segments or a query.
func fetchUser(ctx context.Context, client *httpclient.Client, id string) (User, error) {
	return httpclient.Decode[User](client.Get(ctx, httpclient.Path("users", id)))
}

// startStandIn starts a local users service, so that the example runs
// without network access.
func startStandIn() *httptest.Server {
	users := map[string]User{
		"42": {ID: "42", Name: "Ada Lovelace"},
		"7":  {ID: "7", Name: "Grace Hopper"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
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
