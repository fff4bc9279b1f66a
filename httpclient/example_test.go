package httpclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/requestid"
)

// upstream is a stand-in for the external service in these examples: it
// echoes the method, path and X-Request-ID it receives, and /users/{id}
// returns JSON.
func upstream() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutPrefix(r.URL.Path, "/v1/users/"); ok {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":%q,"name":"Ada"}`, id)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s id=%q body=%s", r.Method, r.URL.RequestURI(), r.Header.Get("X-Request-ID"), body)
	}))
}

func show(resp *http.Response, err error) {
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))
}

// The seed's first example: a client with a base URL and a timeout, and a
// typed GET decoded in one line.
func ExampleNew() {
	srv := upstream()
	defer srv.Close()

	client, err := httpclient.New(srv.URL+"/v1", httpclient.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	type User struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	user, err := httpclient.Decode[User](client.Get(context.Background(), httpclient.Path("users", "42")))
	fmt.Println(user, err)
	// Output: {42 Ada} <nil>
}

func ExampleClient_Get() {
	srv := upstream()
	defer srv.Close()
	client, _ := httpclient.New(srv.URL + "/v1")
	defer client.Close()

	show(client.Get(context.Background(), "/items", httpclient.Query("q", "red shoes")))
	// Output: 200 GET /v1/items?q=red+shoes id="" body=
}

func ExampleClient_Post() {
	srv := upstream()
	defer srv.Close()
	client, _ := httpclient.New(srv.URL + "/v1")
	defer client.Close()

	// A POST is retried only when it is safe to repeat: here the key says so.
	show(client.Post(context.Background(), "/charge",
		httpclient.JSON(map[string]int{"amount": 100}),
		httpclient.Header("Idempotency-Key", "order-7")))
	// Output: 200 POST /v1/charge id="" body={"amount":100}
}

func ExampleClient_Put() {
	srv := upstream()
	defer srv.Close()
	client, _ := httpclient.New(srv.URL + "/v1")
	defer client.Close()

	// PUT is idempotent: on a 503 or a reset it is retried like a GET, and
	// a *strings.Reader body is replayed on each attempt.
	show(client.Put(context.Background(), "/items/7", httpclient.Body(strings.NewReader("blue"), "text/plain")))
	// Output: 200 PUT /v1/items/7 id="" body=blue
}

func ExampleClient_Patch() {
	srv := upstream()
	defer srv.Close()
	client, _ := httpclient.New(srv.URL + "/v1")
	defer client.Close()

	// PATCH, like POST, is retried only with an Idempotency-Key, Idempotent,
	// or a failure that proves nothing was sent.
	show(client.Patch(context.Background(), "/items/7", httpclient.JSON(map[string]string{"color": "red"})))
	// Output: 200 PATCH /v1/items/7 id="" body={"color":"red"}
}

func ExampleClient_Delete() {
	srv := upstream()
	defer srv.Close()
	client, _ := httpclient.New(srv.URL + "/v1")
	defer client.Close()

	// Path escapes each segment, so user data cannot add one.
	show(client.Delete(context.Background(), httpclient.Path("items", "a/b")))
	// Output: 200 DELETE /v1/items/a%2Fb id="" body=
}

func ExampleClient_Request() {
	srv := upstream()
	defer srv.Close()
	client, _ := httpclient.New(srv.URL + "/v1")
	defer client.Close()

	// The request ID in the context goes out in X-Request-ID.
	ctx := requestid.NewContext(context.Background(), "req-123")
	show(client.Request(ctx, http.MethodOptions, "/items"))
	// Output: 200 OPTIONS /v1/items id="req-123" body=
}

func ExampleClient_Do() {
	srv := upstream()
	defer srv.Close()
	client, _ := httpclient.New("")
	defer client.Close()

	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/raw", strings.NewReader("replayable"))
	show(client.Do(req))
	// Output: 200 PUT /raw id="" body=replayable
}

// StandardClient hands the client's retries and breaker to code that only
// accepts an *http.Client; call options travel in the context.
func ExampleClient_StandardClient() {
	srv := upstream()
	defer srv.Close()
	client, _ := httpclient.New("")
	defer client.Close()

	hc := client.StandardClient()
	ctx := httpclient.WithRequestOptions(context.Background(), httpclient.Timeout(2*time.Second))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/third-party", nil)
	show(hc.Do(req))
	// Output: 200 GET /third-party id="" body=
}

// The seed's second example: retries with backoff and a circuit breaker, and
// failing fast once the upstream is down.
func ExampleWithCircuitBreaker() {
	var hits atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()

	client, err := httpclient.New(down.URL,
		httpclient.WithTimeout(5*time.Second),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{
			MaxAttempts:    3,                     // 1 try + 2 retries
			BackoffInitial: 10 * time.Millisecond, // 10ms, 20ms, ... (the default is 500ms)
			BackoffMax:     8 * time.Second,
		}),
		httpclient.WithCircuitBreaker(5, 30*time.Second), // open after 5 straight failures
		httpclient.WithDefaultHeaders(http.Header{"X-Api-Key": {"..."}}),
		httpclient.WithRequestIDPropagation(true),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	for i := 1; i <= 3; i++ {
		resp, err := client.Get(context.Background(), "/health")
		switch {
		case errors.Is(err, httpclient.ErrCircuitOpen):
			var coe *httpclient.CircuitOpenError
			errors.As(err, &coe)
			fmt.Printf("call %d: circuit open, not calling the upstream (hits so far %d)\n", i, hits.Load())
		case err != nil:
			fmt.Println("error:", err)
		default:
			resp.Body.Close()
			fmt.Printf("call %d: %d after %d hits\n", i, resp.StatusCode, hits.Load())
		}
	}
	// Output:
	// call 1: 503 after 3 hits
	// call 2: 503 after 5 hits
	// call 3: circuit open, not calling the upstream (hits so far 5)
}

// Decode checks the status: a non-2xx response is a *StatusError.
func ExampleDecode() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such user", http.StatusNotFound)
	}))
	defer srv.Close()
	client, _ := httpclient.New(srv.URL)
	defer client.Close()

	_, err := httpclient.Decode[map[string]any](client.Get(context.Background(), "/users/9"))
	var se *httpclient.StatusError
	if errors.As(err, &se) {
		fmt.Println(se.StatusCode, strings.TrimSpace(string(se.Body)))
	}
	// Output: 404 no such user
}

// The seed's "singleton in resources.py, closed on the lifespan", in Go: build
// the client once in main, hand it to handlers, and close it only after the
// server has shut down.
func Example_lifecycle() {
	up := upstream()
	defer up.Close()

	client, err := httpclient.New(up.URL + "/v1") // once, at start-up
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		// r.Context() carries the inbound request ID; the client forwards it.
		resp, err := client.Get(r.Context(), "/users/42")
		if err != nil {
			http.Error(w, "upstream unavailable", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	srv := httptest.NewServer(requestid.Middleware(mux))

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/profile", nil)
	req.Header.Set("X-Request-ID", "abc-1")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Header.Get("X-Request-ID"), string(b))
	}

	// Shutdown order: stop serving (waiting for handlers), then close the client.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Config.Shutdown(ctx)
	srv.Close()
	client.Close()
	// Output: abc-1 {"id":"42","name":"Ada"}
}
