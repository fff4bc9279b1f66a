package requestid_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tempestsdk/tempest/requestid"
)

// seen is what the handler behind Middleware observed.
type seen struct {
	ctxID     string
	ctxOK     bool
	respHdrID string // w.Header().Get(HeaderName()) read by the handler itself
	calls     int
}

// serve runs Middleware, with inbound as the values of the request-ID header,
// around a handler that records the ID in its context and the response header
// as it stands when the handler starts.
func serve(t *testing.T, inbound []string) (*seen, *httptest.ResponseRecorder) {
	t.Helper()
	s := &seen{}
	h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls++
		s.ctxID, s.ctxOK = requestid.FromContext(r.Context())
		s.respHdrID = w.Header().Get(requestid.HeaderName())
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, v := range inbound {
		req.Header.Add(requestid.HeaderName(), v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if s.calls != 1 {
		t.Fatalf("next handler called %d times, want 1", s.calls)
	}
	return s, rec
}

func TestMiddleware_R26_TrustsValidInboundID(t *testing.T) {
	s, rec := serve(t, []string{"abc-123"})
	if s.ctxID != "abc-123" || !s.ctxOK {
		t.Errorf("handler's FromContext = %q, %v; want abc-123, true", s.ctxID, s.ctxOK)
	}
	if got := rec.Header().Values(requestid.Header); len(got) != 1 || got[0] != "abc-123" {
		t.Errorf("response %s = %q, want exactly [abc-123]", requestid.Header, got)
	}
}

func TestMiddleware_R26_FirstValueWins(t *testing.T) {
	s, rec := serve(t, []string{"first-id", "second-id"})
	if s.ctxID != "first-id" {
		t.Errorf("handler's ID = %q, want first-id", s.ctxID)
	}
	if got := rec.Header().Values(requestid.Header); len(got) != 1 || got[0] != "first-id" {
		t.Errorf("response %s = %q, want exactly [first-id]", requestid.Header, got)
	}
}

// R26: an invalid first value is not rescued by a valid second one: the
// first value is the only one looked at.
func TestMiddleware_R26_InvalidFirstValueIsNotSkipped(t *testing.T) {
	s, _ := serve(t, []string{"bad id", "good-id"})
	if !isUUIDv4(s.ctxID) {
		t.Errorf("handler's ID = %q, want a generated UUID v4", s.ctxID)
	}
}

func TestMiddleware_R26_ReplacesInvalidIDWithUUIDv4(t *testing.T) {
	cases := map[string][]string{
		"absent":    nil,
		"empty":     {""},
		"129 chars": {strings.Repeat("a", 129)},
		"space":     {"abc 123"},
		"comma":     {"abc,123"},
		"non-ASCII": {"abc-é"},
		"CR/LF":     {"abc\r\nX-Evil: 1"},
		"LF":        {"abc\n123"},
		"NUL":       {"abc\x00"},
	}
	for name, inbound := range cases {
		t.Run(name, func(t *testing.T) {
			s, rec := serve(t, inbound)
			if !s.ctxOK || !isUUIDv4(s.ctxID) {
				t.Fatalf("handler's ID = %q, %v; want a generated UUID v4", s.ctxID, s.ctxOK)
			}
			if got := rec.Header().Get(requestid.Header); got != s.ctxID {
				t.Errorf("response %s = %q, want the generated %q", requestid.Header, got, s.ctxID)
			}
		})
	}
}

func TestMiddleware_R26_GeneratesDistinctIDs(t *testing.T) {
	a, _ := serve(t, nil)
	b, _ := serve(t, nil)
	if a.ctxID == b.ctxID {
		t.Errorf("two requests without an ID both got %q", a.ctxID)
	}
}

func TestMiddleware_R26_ResponseHeaderSetBeforeHandlerRuns(t *testing.T) {
	for _, inbound := range [][]string{{"abc-123"}, nil} {
		s, _ := serve(t, inbound)
		if s.respHdrID == "" || s.respHdrID != s.ctxID {
			t.Errorf("inbound %q: handler saw response header %q, want its ID %q already set",
				inbound, s.respHdrID, s.ctxID)
		}
	}
}

// R26: a replaced ID must not go unnoticed when the handler writes a body
// without calling WriteHeader: the header was set before next ran.
func TestMiddleware_R26_HeaderSentWithImplicitWriteHeader(t *testing.T) {
	h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := rec.Result().Header.Get(requestid.Header); !isUUIDv4(got) {
		t.Errorf("sent %s = %q, want a UUID v4", requestid.Header, got)
	}
}

func TestMiddleware_R26_DoesNotMutateCallersRequest(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	before := req.Context()
	var got *http.Request
	requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
	})).ServeHTTP(httptest.NewRecorder(), req)
	if got == req {
		t.Error("next got the caller's *http.Request; want a copy from WithContext")
	}
	if req.Context() != before {
		t.Error("the caller's request context changed")
	}
	if _, ok := requestid.FromContext(req.Context()); ok {
		t.Error("the caller's request context carries an ID")
	}
}

func TestMiddleware_R25_R42_CustomHeaderName(t *testing.T) {
	useHeaderName(t, "x-correlation-id")

	// The custom header is read and echoed.
	s, rec := serve(t, []string{"corr-1"})
	if s.ctxID != "corr-1" {
		t.Errorf("handler's ID = %q, want corr-1 from X-Correlation-Id", s.ctxID)
	}
	if got := rec.Header().Get("X-Correlation-Id"); got != "corr-1" {
		t.Errorf("response X-Correlation-Id = %q, want corr-1", got)
	}
	if got := rec.Header().Get(requestid.Header); got != "" {
		t.Errorf("response %s = %q, want none once the name changed", requestid.Header, got)
	}

	// The default header is no longer read.
	h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ctxID, _ = requestid.FromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(requestid.Header, "ignored-id")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if !isUUIDv4(s.ctxID) {
		t.Errorf("with the name changed, an %s header gave ID %q; want a generated one", requestid.Header, s.ctxID)
	}
}

// STYLE 7: the ResponseWriter is not wrapped, so http.ResponseController and
// optional interfaces (http.Flusher) reach the server's writer.
func TestMiddleware_ResponseWriterNotWrapped(t *testing.T) {
	rec := httptest.NewRecorder()
	var got http.ResponseWriter
	var flushErr error
	requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = w
		flushErr = http.NewResponseController(w).Flush()
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got != rec {
		t.Errorf("next got ResponseWriter %T, want the server's own %T", got, rec)
	}
	if flushErr != nil || !rec.Flushed {
		t.Errorf("ResponseController.Flush = %v, flushed %v; want nil, true", flushErr, rec.Flushed)
	}
}

// R26 end to end over a real connection: the server canonicalises the inbound
// header, the handler sees the ID, the client gets it back, and
// ResponseController's deadlines (which need the real writer) work.
func TestMiddleware_R26_OverRealServer(t *testing.T) {
	srv := httptest.NewServer(requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := requestid.FromContext(r.Context())
		if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
			t.Errorf("ResponseController.EnableFullDuplex: %v", err)
		}
		_, _ = io.WriteString(w, id)
	})))
	defer srv.Close()

	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header["x-request-id"] = []string{"wire-id"} // lower case on the wire
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "wire-id" {
		t.Errorf("handler saw %q, want wire-id", body)
	}
	if got := resp.Header.Get(requestid.Header); got != "wire-id" {
		t.Errorf("response %s = %q, want wire-id", requestid.Header, got)
	}
}

func TestMiddleware_NilHandlerPanicsAtOnce(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Middleware(nil) did not panic")
		}
	}()
	requestid.Middleware(nil)
}

func BenchmarkMiddleware(b *testing.B) {
	h := requestid.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(requestid.Header, "abc-123")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
