package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun looks up a known and an unknown user on a local upstream: the first
// is decoded, the second is a *StatusError carrying the 404 and its body.
func TestRun(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		if r.URL.Path != "/api/users/1" {
			http.Error(w, "no such user", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"1","name":"Test User"}`))
	}))
	defer upstream.Close()

	var out bytes.Buffer
	err := run(context.Background(), []string{"-upstream", upstream.URL + "/api", "1", "a/b"}, &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := "user 1: Test User\n" +
		"user a/b: 404 Not Found (no such user)\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	mu.Lock()
	defer mu.Unlock()
	// Path escapes the ID: "a/b" stays one segment.
	if got := strings.Join(paths, ", "); got != "GET /api/users/1, GET /api/users/a%2Fb" {
		t.Errorf("upstream saw %s", got)
	}
}

// TestRunStandIn runs the example as `go run` does, against its own stand-in.
func TestRunStandIn(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{
		"user 42: Ada Lovelace\n",
		"user 7: Grace Hopper\n",
		"user 99: 404 Not Found (no such user)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"-nope"},
		{"-upstream", "ftp://example.com"},
		{"-upstream", "http://127.0.0.1:1"}, // no IDs
	} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-upstream") {
		t.Errorf("run(-h) = %v, output %q; want flag.ErrHelp and the usage", err, out.String())
	}
}
