package ops

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
)

// memTransport answers every request in memory: 503 for the hosts in down,
// 200 for the others. It starts no goroutine.
type memTransport struct{ down map[string]bool }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	code := http.StatusOK
	if m.down[r.URL.Hostname()] {
		code = http.StatusServiceUnavailable
	}
	return &http.Response{
		StatusCode: code, Status: http.StatusText(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: r,
	}, nil
}

// newClient builds a client over memTransport, with the hosts in down
// failing, a breaker that opens after 2 failures for a minute, fast
// retries, and a budget of half the calls plus 10.
func newClient(t *testing.T, down []string, opts ...httpclient.Option) *httpclient.Client {
	t.Helper()
	m := memTransport{down: map[string]bool{}}
	for _, h := range down {
		m.down[h] = true
	}
	all := append([]httpclient.Option{
		httpclient.WithTransport(m),
		httpclient.WithCircuitBreaker(2, time.Minute),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond, Jitter: -1}),
		httpclient.WithRetryBudget(httpclient.RetryBudget{Ratio: 0.5, Reserve: 10}),
	}, opts...)
	c, err := httpclient.New("", all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get makes one call and closes its body; the outcome does not matter.
func get(t *testing.T, c *httpclient.Client, rawURL string) {
	t.Helper()
	resp, err := c.Get(context.Background(), rawURL)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// serve runs one request through h, as a browser on the same origin would
// send it unless header says otherwise.
func serve(h http.Handler, method, target string, form url.Values, header ...string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var tokenRE = regexp.MustCompile(`name="token" value="([0-9a-f]+)"`)

// pageToken reads the form token from h's page; "" when the page has none.
func pageToken(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := serve(h, http.MethodGet, "/", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /: %d %s", rec.Code, rec.Body)
	}
	m := tokenRE.FindStringSubmatch(rec.Body.String())
	if m == nil {
		return ""
	}
	return m[1]
}

// checkSecurityHeaders checks the headers every answer carries.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": csp,
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	for _, d := range []string{"default-src 'none'", "style-src 'unsafe-inline'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(h.Get("Content-Security-Policy"), d) {
			t.Errorf("%s: Content-Security-Policy lacks %q", what, d)
		}
	}
}

// serveTarget runs a request for a path that may be "" (as http.StripPrefix
// leaves it for the mount point itself).
func serveTarget(h http.Handler, method, p string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", nil)
	req.URL.Path = p
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
