package requestid_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/tempestsdk/tempest/requestid"
)

func ExampleMiddleware() {
	handler := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := requestid.FromContext(r.Context())
		fmt.Println("handler sees:", id)
	}))

	req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
	req.Header.Set(requestid.Header, "abc-123")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)

	fmt.Println("response header:", rec.Header().Get(requestid.Header))

	// An invalid inbound ID is replaced by a generated UUID v4.
	req = httptest.NewRequest(http.MethodGet, "/orders/42", nil)
	req.Header.Set(requestid.Header, "not valid, has spaces")
	rec = httptest.NewRecorder()
	requestid.Middleware(http.NotFoundHandler()).ServeHTTP(rec, req)
	fmt.Println("replaced:", len(rec.Header().Get(requestid.Header)) == 36)
	// Output:
	// handler sees: abc-123
	// response header: abc-123
	// replaced: true
}

func ExampleNewContext() {
	// A background job has no inbound request: give it an ID so that its
	// logs and outbound calls can be traced.
	ctx := requestid.NewContext(context.Background(), "job-2024-nightly")
	id, ok := requestid.FromContext(ctx)
	fmt.Println(id, ok)
	// Output: job-2024-nightly true
}

func ExampleFromContext() {
	id, ok := requestid.FromContext(context.Background())
	fmt.Printf("%q %v\n", id, ok)

	ctx := requestid.NewContext(context.Background(), "abc-123")
	id, ok = requestid.FromContext(ctx)
	fmt.Printf("%q %v\n", id, ok)
	// Output:
	// "" false
	// "abc-123" true
}

func ExampleNewLogHandler() {
	jsonHandler := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		// Drop the time so that the output is deterministic.
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})
	logger := slog.New(requestid.NewLogHandler(jsonHandler))

	ctx := requestid.NewContext(context.Background(), "abc-123")
	logger.WithGroup("http").With("method", "GET").InfoContext(ctx, "request done", "status", 200)
	logger.Info("no request in context")
	// Output:
	// {"level":"INFO","msg":"request done","request_id":"abc-123","http":{"method":"GET","status":200}}
	// {"level":"INFO","msg":"no request in context"}
}

func ExampleSetHeaderName() {
	// At start-up, before serving: both the middleware and the outbound
	// client now use X-Correlation-Id.
	if err := requestid.SetHeaderName("x-correlation-id"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(requestid.HeaderName())

	fmt.Println(requestid.SetHeaderName("X Correlation"))

	// Restore the default.
	if err := requestid.SetHeaderName(requestid.Header); err != nil {
		fmt.Println(err)
	}
	fmt.Println(requestid.HeaderName())
	// Output:
	// X-Correlation-Id
	// requestid: invalid header name "X Correlation": want an RFC 9110 token
	// X-Request-ID
}

func ExampleValid() {
	for _, id := range []string{
		"abc-123",
		"550e8400-e29b-41d4-a716-446655440000",
		"svc:trace/span=1",
		"has space",
		"a,b",
		"",
	} {
		fmt.Printf("%q %v\n", id, requestid.Valid(id))
	}
	// Output:
	// "abc-123" true
	// "550e8400-e29b-41d4-a716-446655440000" true
	// "svc:trace/span=1" true
	// "has space" false
	// "a,b" false
	// "" false
}

func ExampleGenerate() {
	id := requestid.Generate()
	fmt.Println(len(id), id[14:15], requestid.Valid(id))
	// Output: 36 4 true
}
