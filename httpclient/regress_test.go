package httpclient

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"

	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
)

// trackedBody records whether it was read and closed.
type trackedBody struct {
	r      io.Reader
	read   bool
	closed bool
}

func (b *trackedBody) Read(p []byte) (int, error) { b.read = true; return b.r.Read(p) }
func (b *trackedBody) Close() error               { b.closed = true; return nil }

func decodeResponse(t *testing.T, body string) (*http.Response, *trackedBody) {
	t.Helper()
	tb := &trackedBody{r: strings.NewReader(body)}
	return &http.Response{StatusCode: 200, Status: "200 OK", Body: tb,
		Request: &http.Request{Method: "GET", URL: mustURL(t, "https://x.test/a")}}, tb
}

// R33, R39: a limit of math.MaxInt64 means "no practical limit"; limit+1 used
// to overflow to a negative count, so nothing was read and the zero value came
// back with a nil error.
func TestDecodeLimit_MaxInt64ReadsWholeBody(t *testing.T) {
	type T struct{ A int }
	resp, tb := decodeResponse(t, `{"A":7}`)
	v, err := DecodeLimit[T](math.MaxInt64)(resp, nil)
	if err != nil || v.A != 7 {
		t.Fatalf("DecodeLimit(MaxInt64) = %+v, %v; want {A:7}, nil", v, err)
	}
	if !tb.closed {
		t.Error("body not closed")
	}
	// The boundary just below still works, and a body of exactly limit bytes
	// is not too large.
	resp, _ = decodeResponse(t, `{"A":7}`)
	if v, err := DecodeLimit[T](int64(len(`{"A":7}`)))(resp, nil); err != nil || v.A != 7 {
		t.Errorf("DecodeLimit(len(body)) = %+v, %v", v, err)
	}
}

// R39: a limit <= 0 is the caller's mistake: an error wrapping
// ErrInvalidRequest before any decoding, and the body is still closed.
func TestDecodeLimit_NonPositiveLimitIsError(t *testing.T) {
	type T struct{ A int }
	for _, limit := range []int64{0, -1, math.MinInt64} {
		resp, tb := decodeResponse(t, `{"A":7}`)
		v, err := DecodeLimit[T](limit)(resp, nil)
		if !errors.Is(err, ErrInvalidRequest) || v.A != 0 {
			t.Errorf("DecodeLimit(%d) = %+v, %v; want an error wrapping ErrInvalidRequest", limit, v, err)
		}
		if !tb.closed {
			t.Errorf("DecodeLimit(%d): body not closed", limit)
		}
	}
	// The call's own error still comes back as it is (R39).
	sentinel := errors.New("boom")
	if _, err := DecodeLimit[T](0)(nil, sentinel); err != sentinel {
		t.Errorf("call error replaced by %v", err)
	}
}

// R23: default headers given with non-canonical names ("authorization",
// "x-request-id") lose to the call's header and to the propagated request ID,
// as canonical ones do; they used to go out beside them, so the upstream got
// two Authorization values.
func TestDefaultHeaders_R23_NonCanonicalKeysDoNotDuplicate(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		srv, c := upstream(t, nil, opts, WithDefaultHeaders(http.Header{
			"authorization": {"Bearer default"},
			"x-request-id":  {"default-id"},
			"x-api-key":     {"k1"},
			"X-Api-Key":     {"k2"},
		}))
		ctx := requestid.NewContext(context.Background(), "req-1")
		resp, err := c.Get(ctx, "/a", Header("Authorization", "Bearer call"))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		// Without a call header or an ID, the defaults go out, once each.
		resp, err = c.Get(context.Background(), "/b")
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		reqs := srv.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		h := reqs[0].Header
		if got := h.Values("Authorization"); !slices.Equal(got, []string{"Bearer call"}) {
			t.Errorf("with a call header: Authorization %q, want exactly [Bearer call]", got)
		}
		if got := h.Values("X-Request-Id"); !slices.Equal(got, []string{"req-1"}) {
			t.Errorf("with an ID in the context: X-Request-Id %q, want exactly [req-1]", got)
		}
		// Keys that canonicalise to one name are merged, in the order of
		// the keys as written, sorted.
		if got := h.Values("X-Api-Key"); !slices.Equal(got, []string{"k2", "k1"}) {
			t.Errorf("merged default X-Api-Key %q, want [k2 k1]", got)
		}
		h = reqs[1].Header
		if got := h.Values("Authorization"); !slices.Equal(got, []string{"Bearer default"}) {
			t.Errorf("defaults only: Authorization %q", got)
		}
		if got := h.Values("X-Request-Id"); !slices.Equal(got, []string{"default-id"}) {
			t.Errorf("defaults only: X-Request-Id %q", got)
		}
	})
}

// R28, R32: errors the client builds itself show a URL's password as "***",
// as net/http's own *url.Error does, including for URLs that do not parse.
func TestErrors_R28_PasswordRedacted(t *testing.T) {
	const secretURL = "https://user:s3cret@host.invalid/x"
	ctx := context.Background()
	c, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func() error{
		"JSON encoding error": func() error {
			_, err := c.Post(ctx, secretURL, JSON(make(chan int)))
			return err
		},
		"invalid method": func() error {
			_, err := c.Request(ctx, "BAD METHOD", secretURL)
			return err
		},
		"invalid method with options": func() error {
			_, err := c.Request(ctx, "BAD METHOD", secretURL, Header("X-A", "1"))
			return err
		},
		"bad escape (unparseable)": func() error {
			_, err := c.Get(ctx, "https://user:s3cret@host.invalid/%zz")
			return err
		},
		"bad escape with options": func() error {
			_, err := c.Get(ctx, "https://user:s3cret@host.invalid/%zz", Query("a", "1"))
			return err
		},
		"space in host (unparseable)": func() error {
			_, err := c.Get(ctx, "https://user:s3cret@ho st/x")
			return err
		},
		"not http, no base URL": func() error {
			_, err := c.Get(ctx, "ftp://user:s3cret@host.invalid/x")
			return err
		},
		"unescaped # in the password": func() error {
			// url.Parse's detail would quote `":s3c"` as a bad port.
			_, err := c.Get(ctx, "https://user:s3c#ret@host.invalid/x")
			return err
		},
		"bad escape in the password": func() error {
			_, err := c.Get(ctx, "https://user:s3cret%zz@host.invalid/x")
			return err
		},
		"relative URL beginning with //": func() error {
			b, _ := New("https://host.invalid")
			defer b.Close()
			_, err := b.Get(ctx, "//user:s3cret@evil.invalid/x")
			return err
		},
		"base URL with another scheme": func() error {
			_, err := New("ftp://user:s3cret@host.invalid/")
			return err
		},
		"base URL that does not parse": func() error {
			_, err := New("https://user:s3cret@host.invalid/%zz")
			return err
		},
		"ErrClosed": func() error {
			closed, _ := New("")
			closed.Close()
			_, err := closed.Get(ctx, secretURL)
			if !errors.Is(err, ErrClosed) {
				t.Errorf("ErrClosed: got %v", err)
			}
			return err
		},
	}
	for name, call := range cases {
		err := call()
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "s3c") || strings.Contains(msg, "ret@") {
			t.Errorf("%s: password in %q", name, msg)
		}
	}
	c.Close()
	_, err = c.Get(ctx, secretURL)
	var ue *url.Error
	if !errors.As(err, &ue) || ue.URL != "https://user:***@host.invalid/x" {
		t.Errorf("ErrClosed: *url.Error URL = %q, want net/http's redaction https://user:***@host.invalid/x", ue.URL)
	}
}

// R3: Query on an absolute URL with a fragment goes into the query, not the
// fragment (which is never sent); a '?' inside the fragment is not a query.
func TestQuery_R3_BeforeFragment(t *testing.T) {
	srv, c := upstream(t, nil, nil)
	for _, tc := range []struct{ url, want string }{
		{srv.URL + "/p#frag", "/p?a=1"},
		{srv.URL + "/p?x=1#frag", "/p?x=1&a=1"},
		{srv.URL + "/p?#frag", "/p?a=1"},
		{srv.URL + "/p#frag?y=2", "/p?a=1"},
	} {
		resp, err := c.Get(context.Background(), tc.url, Query("a", "1"))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		reqs := srv.Requests()
		if got := reqs[len(reqs)-1].Path; got != tc.want {
			t.Errorf("Get(%q, Query(a, 1)): server got %q, want %q", tc.url, got, tc.want)
		}
	}
}

// R34: a timeout, total timeout or recovery that is positive but under 1ms is
// a unit slip (WithTimeout(10) is 10ns), reported by New with the value and
// the likely intent.
func TestConfig_R34_SubMillisecondDurationIsError(t *testing.T) {
	cases := map[string]struct {
		opt  Option
		want string
	}{
		"WithTimeout":                {WithTimeout(10), "WithTimeout(10ns): under 1ms; did you mean 10*time.Second?"},
		"WithTotalTimeout":           {WithTotalTimeout(30), "WithTotalTimeout(30ns): under 1ms; did you mean 30*time.Second?"},
		"WithCircuitBreaker":         {WithCircuitBreaker(5, 30), "WithCircuitBreaker recovery (30ns): under 1ms; did you mean 30*time.Second?"},
		"BreakerPolicy.Recovery":     {WithBreaker(breaker.Settings{Recovery: 30}), "WithBreaker: Settings.Recovery (30ns): under 1ms; did you mean 30*time.Second?"},
		"BreakerPolicy.MaxRecovery":  {WithBreaker(breaker.Settings{MaxRecovery: 300}), "WithBreaker: Settings.MaxRecovery (300ns): under 1ms; did you mean 300*time.Millisecond or 300*time.Second?"},
		"WithTimeout just under 1ms": {WithTimeout(time.Millisecond - 1), "WithTimeout(999.999µs): under 1ms"},
	}
	for name, tc := range cases {
		c, err := New("", tc.opt)
		if err == nil {
			c.Close()
			t.Errorf("%s: New accepted it", name)
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New error %q; want one wrapping ErrInvalidConfig that says %q", name, err, tc.want)
		}
	}
	// 1ms is the smallest accepted value.
	c, err := New("", WithTimeout(time.Millisecond), WithTotalTimeout(time.Millisecond),
		WithBreaker(breaker.Settings{Recovery: time.Millisecond, MaxRecovery: time.Millisecond}))
	if err != nil {
		t.Fatalf("1ms rejected: %v", err)
	}
	c.Close()
}

// R40: the per-call Timeout and TotalTimeout options fail the call before
// sending, with an error wrapping ErrInvalidRequest, for a value under 1ms,
// through the verbs and through Do with WithRequestOptions.
func TestRequestOptions_R40_SubMillisecondTimeoutIsError(t *testing.T) {
	srv, c := upstream(t, nil, nil)
	ctx := context.Background()
	cases := map[string]struct {
		opt  SendOption
		want string
	}{
		"Timeout":      {Timeout(10), "Timeout(10ns): under 1ms; did you mean 10*time.Second?"},
		"TotalTimeout": {TotalTimeout(30), "TotalTimeout(30ns): under 1ms; did you mean 30*time.Second?"},
	}
	for name, tc := range cases {
		_, err := c.Get(ctx, "/", tc.opt)
		if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s via Get: error %v; want one wrapping ErrInvalidRequest that says %q", name, err, tc.want)
		}
		req, _ := http.NewRequestWithContext(WithRequestOptions(ctx, tc.opt), "GET", srv.URL+"/", nil)
		_, err = c.Do(req)
		if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s via Do: error %v; want one wrapping ErrInvalidRequest that says %q", name, err, tc.want)
		}
		_, err = c.StandardClient().Do(req)
		if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s via StandardClient: error %v; want one wrapping ErrInvalidRequest that says %q", name, err, tc.want)
		}
	}
	if n := srv.Hits(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
	// A later valid Timeout replaces the slip, as the last option wins.
	resp, err := c.Get(ctx, "/", Timeout(10), Timeout(time.Second))
	if err != nil {
		t.Fatalf("Timeout(10), Timeout(1s): %v", err)
	}
	readAll(t, resp)
}
