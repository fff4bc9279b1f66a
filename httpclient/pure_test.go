package httpclient

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mustBase(t testing.TB, raw string) *baseURL {
	t.Helper()
	b, err := parseBaseURL(raw)
	if err != nil {
		t.Fatalf("parseBaseURL(%q): %v", raw, err)
	}
	return b
}

// R1: relative call URLs are appended to the base path with exactly one slash,
// queries kept verbatim after the base's.
func TestJoin_R1(t *testing.T) {
	cases := []struct{ base, ref, want string }{
		{"https://api.example.com/v1", "/users/42", "https://api.example.com/v1/users/42"},
		{"https://api.example.com/v1/", "/users/42", "https://api.example.com/v1/users/42"},
		{"https://api.example.com/v1/", "users/42", "https://api.example.com/v1/users/42"},
		{"https://api.example.com", "users", "https://api.example.com/users"},
		{"https://api.example.com/v1", "v1:batchGet", "https://api.example.com/v1/v1:batchGet"},
		{"https://api.example.com/v1?key=a", "/x?b=c%20d&e", "https://api.example.com/v1/x?key=a&b=c%20d&e"},
		{"https://api.example.com/v1?key=a", "/x", "https://api.example.com/v1/x?key=a"},
		{"https://api.example.com/v1", "/x?q=../..", "https://api.example.com/v1/x?q=../.."},
		{"HTTPS://API.example.com:8443/a%2Fb", "c", "https://API.example.com:8443/a%2Fb/c"},
	}
	for _, tc := range cases {
		got, err := mustBase(t, tc.base).join(tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("join(%q, %q) = %q, %v; want %q", tc.base, tc.ref, got, err, tc.want)
		}
	}
}

// R2: a relative URL cannot leave the base path.
func TestJoin_R2_R35_Rejects(t *testing.T) {
	b := mustBase(t, "https://api.example.com/v1")
	for _, ref := range []string{
		"//evil.example.com/x", "/a#frag", "../admin", "/a/../../admin", "./x", "/a/.",
		"%2e%2E/admin", "/a/%2E", "/x/..%2Fadmin", "/x/%2e%2e%5cadmin", "/bad%zz",
	} {
		if got, err := b.join(ref); err == nil || !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("join(%q) = %q, %v; want an ErrInvalidRequest", ref, got, err)
		}
	}
}

func TestIsAbsolute_R1(t *testing.T) {
	for s, want := range map[string]bool{
		"http://x": true, "HTTPS://x/y": true, "HtTp://x": true,
		"/x": false, "ftp://x": false, "v1:batchGet": false, "http:/x": false, "": false,
	} {
		if got := isAbsolute(s); got != want {
			t.Errorf("isAbsolute(%q) = %v", s, got)
		}
	}
}

// R16: one breaker per origin: scheme, lower-case host, port with defaults.
func TestNormalizeOrigin_R16(t *testing.T) {
	cases := map[[2]string]string{
		{"HTTP", "Example.COM"}:        "http://example.com:80",
		{"https", "example.com"}:       "https://example.com:443",
		{"https", "example.com:443"}:   "https://example.com:443",
		{"http", "example.com:8080"}:   "http://example.com:8080",
		{"http", "[::1]:9000"}:         "http://[::1]:9000",
		{"https", "[2001:DB8::1]"}:     "https://[2001:db8::1]:443",
		{"http", "127.0.0.1"}:          "http://127.0.0.1:80",
		{"http", "API.example.com:80"}: "http://api.example.com:80",
	}
	for in, want := range cases {
		if got := normalizeOrigin(in[0], in[1]); got != want {
			t.Errorf("normalizeOrigin(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

// R8: min(BackoffMax, BackoffInitial*2^(n-1)), without overflow.
func TestBackoff_R8(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		init, max time.Duration
		n         int
		want      time.Duration
	}{
		{500 * ms, 8 * time.Second, 1, 500 * ms},
		{500 * ms, 8 * time.Second, 2, time.Second},
		{500 * ms, 8 * time.Second, 5, 8 * time.Second},
		{500 * ms, 8 * time.Second, 6, 8 * time.Second},
		{500 * ms, 8 * time.Second, 1000, 8 * time.Second},
		{time.Duration(1<<62) - 1, time.Duration(1<<63 - 1), 3, time.Duration(1<<63 - 1)},
		{1, time.Duration(1<<63 - 1), 63, time.Duration(1 << 62)},
		{1, time.Duration(1<<63 - 1), 64, time.Duration(1<<63 - 1)},
	}
	for _, tc := range cases {
		if got := backoff(tc.init, tc.max, tc.n); got != tc.want {
			t.Errorf("backoff(%v, %v, %d) = %v, want %v", tc.init, tc.max, tc.n, got, tc.want)
		}
	}
}

// R8: jitter shortens by at most the fraction and never lengthens.
func TestJitter_R8(t *testing.T) {
	d := time.Second
	lo := time.Duration(float64(d) * 0.8)
	seenShorter := false
	for range 2000 {
		got := jittered(d, 0.2)
		if got > d || got < lo {
			t.Fatalf("jittered(1s, 0.2) = %v, outside [%v, %v]", got, lo, d)
		}
		seenShorter = seenShorter || got < d
	}
	if !seenShorter {
		t.Error("jitter never shortened a wait")
	}
	if got := jittered(d, 0); got != d {
		t.Errorf("jittered(1s, 0) = %v", got)
	}
}

// R9: delta-seconds (saturating) or HTTP-date against Date; first header wins;
// invalid or negative ignored; zero or past means no wait.
func TestParseRetryAfter_R9(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	cases := []struct {
		vals   []string
		date   string
		want   time.Duration
		wantOK bool
	}{
		{nil, "", 0, false},
		{[]string{"3"}, "", 3 * time.Second, true},
		{[]string{" 7 "}, "", 7 * time.Second, true},
		{[]string{"0"}, "", 0, true},
		{[]string{"-1"}, "", 0, false},
		{[]string{"1.5"}, "", 0, false},
		{[]string{"soon"}, "", 0, false},
		{[]string{""}, "", 0, false},
		{[]string{"99999999999999999999999999"}, "", time.Duration(1<<63 - 1), true},
		{[]string{"2", "9"}, "", 2 * time.Second, true},
		{[]string{"junk", "9"}, "", 0, false},
		{[]string{date(90 * time.Second)}, "", 90 * time.Second, true},
		{[]string{date(-time.Hour)}, "", 0, true},
		// Measured against the response's Date, not the local clock.
		{[]string{now.Add(time.Hour + 30*time.Second).Format(http.TimeFormat)}, date(time.Hour), 30 * time.Second, true},
		// An invalid Date falls back to the local clock.
		{[]string{date(10 * time.Second)}, "yesterday", 10 * time.Second, true},
		// RFC 850 and asctime forms are HTTP-dates too.
		{[]string{now.Add(20 * time.Second).Format("Monday, 02-Jan-06 15:04:05 GMT")}, "", 20 * time.Second, true},
		{[]string{now.Add(20 * time.Second).Format(time.ANSIC)}, "", 20 * time.Second, true},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.vals != nil {
			h["Retry-After"] = tc.vals
		}
		if tc.date != "" {
			h.Set("Date", tc.date)
		}
		got, ok := parseRetryAfter(h, now)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("parseRetryAfter(%q, Date %q) = %v, %v; want %v, %v", tc.vals, tc.date, got, ok, tc.want, tc.wantOK)
		}
	}
}

// New rejects every invalid configuration with an error, never a panic.
func TestNew_InvalidConfig(t *testing.T) {
	cases := map[string]struct {
		base string
		opts []Option
	}{
		"relative base":      {"/v1", nil},
		"ftp base":           {"ftp://x", nil},
		"no host":            {"http://", nil},
		"userinfo":           {"https://u:p@x", nil},
		"fragment":           {"https://x/#f", nil},
		"bad port":           {"https://x:abc", nil},
		"zero timeout":       {"", []Option{WithTimeout(0)}},
		"negative timeout":   {"", []Option{WithTimeout(-time.Second)}},
		"negative attempts":  {"", []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: -1})}},
		"negative initial":   {"", []Option{WithRetryPolicy(RetryPolicy{BackoffInitial: -1})}},
		"negative max":       {"", []Option{WithRetryPolicy(RetryPolicy{BackoffMax: -1})}},
		"max below initial":  {"", []Option{WithRetryPolicy(RetryPolicy{BackoffInitial: 2 * time.Second, BackoffMax: time.Second})}},
		"jitter too large":   {"", []Option{WithRetryPolicy(RetryPolicy{Jitter: 0.6})}},
		"negative threshold": {"", []Option{WithCircuitBreaker(-1, time.Second)}},
		"negative recovery":  {"", []Option{WithCircuitBreaker(1, -time.Second)}},
		"nil transport":      {"", []Option{WithTransport(nil)}},
		"bad default header": {"", []Option{WithDefaultHeaders(http.Header{"Bad Name": {"x"}})}},
		"bad default value":  {"", []Option{WithDefaultHeaders(http.Header{"X-A": {"a\r\nb"}})}},
	}
	for name, tc := range cases {
		c, err := New(tc.base, tc.opts...)
		if err == nil || c != nil {
			t.Errorf("%s: New = %v, %v; want an error", name, c, err)
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: error %v does not wrap ErrInvalidConfig", name, err)
		}
	}
}

// Defaults as docs/defaults.md lists them; nil options ignored; last wins (R34).
func TestNew_Defaults(t *testing.T) {
	c, err := New("https://api.example.com", nil, WithTimeout(time.Second), WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.timeout != 2*time.Second {
		t.Errorf("timeout = %v, want the last option's 2s", c.timeout)
	}
	want := RetryPolicy{MaxAttempts: 3, BackoffInitial: 500 * time.Millisecond, BackoffMax: 8 * time.Second, Jitter: 0.2}
	if c.retry.MaxAttempts != want.MaxAttempts || c.retry.BackoffInitial != want.BackoffInitial ||
		c.retry.BackoffMax != want.BackoffMax || c.retry.Jitter != want.Jitter {
		t.Errorf("retry = %+v, want %+v", c.retry, want)
	}
	if c.breakerOff || c.breaker.FailureThreshold != 0 || c.breaker.Recovery != 0 || !c.propagateID {
		t.Errorf("breaker %+v propagate %v: want the breaker package's defaults", c.breaker, c.propagateID)
	}
	if c.ownTransport == nil {
		t.Error("no own transport")
	}
	p, _ := RetryPolicy{BackoffMax: 100 * time.Millisecond}.resolve()
	if p.BackoffInitial != 100*time.Millisecond {
		t.Errorf("BackoffInitial with a smaller max = %v", p.BackoffInitial)
	}
	p, _ = RetryPolicy{BackoffInitial: 20 * time.Second}.resolve()
	if p.BackoffMax != 20*time.Second {
		t.Errorf("BackoffMax with a larger initial = %v", p.BackoffMax)
	}
	p, _ = RetryPolicy{Jitter: -1}.resolve()
	if p.Jitter != 0 {
		t.Errorf("negative jitter resolved to %v", p.Jitter)
	}
}

func TestNewTransport_R43_Tuning(t *testing.T) {
	tr := NewTransport()
	if tr == http.DefaultTransport || tr.Proxy == nil || !tr.ForceAttemptHTTP2 ||
		tr.MaxIdleConnsPerHost < 100 || tr.TLSHandshakeTimeout != 5*time.Second {
		t.Errorf("NewTransport not tuned: %+v", tr)
	}
	if NewTransport() == tr {
		t.Error("NewTransport returned a shared transport")
	}
}

func TestPath(t *testing.T) {
	for in, want := range map[string]string{
		"users|42":    "/users/42",
		"users|a/b?c": "/users/a%2Fb%3Fc",
		"files|a b#c": "/files/a%20b%23c",
		"":            "/",
	} {
		var segs []string
		if in != "" {
			segs = strings.Split(in, "|")
		}
		if got := Path(segs...); got != want {
			t.Errorf("Path(%q) = %q, want %q", segs, got, want)
		}
	}
	b := mustBase(t, "https://x/v1")
	if _, err := b.join(Path("..", "admin")); err == nil {
		t.Error(`Path("..") escaped the base (R2)`)
	}
}

// R3: Query appends escaped pairs after the existing query, untouched.
func TestAppendQuery_R3(t *testing.T) {
	for _, tc := range []struct {
		target string
		pairs  []string
		want   string
	}{
		{"https://x/a", []string{"k=v"}, "https://x/a?k=v"},
		{"https://x/a?raw=%2F", []string{"k=v", "z=1"}, "https://x/a?raw=%2F&k=v&z=1"},
		{"https://x/a?", []string{"k=v"}, "https://x/a?k=v"},
	} {
		if got := appendQuery(tc.target, tc.pairs); got != tc.want {
			t.Errorf("appendQuery(%q, %q) = %q, want %q", tc.target, tc.pairs, got, tc.want)
		}
	}
	var cc callConfig
	Query("a b", "c&d").applyCall(&cc)
	if cc.query[0] != "a+b=c%26d" {
		t.Errorf("Query escaping = %q", cc.query[0])
	}
}

func TestCutUTF8_R33(t *testing.T) {
	s := strings.Repeat("é", 600) // 1200 bytes
	got := cutUTF8([]byte(s), 1024)
	if len(got) != 1024 || !strings.HasPrefix(s, string(got)) {
		t.Errorf("cut to %d bytes", len(got))
	}
	got = cutUTF8([]byte("a\xffb"), 1024)
	if string(got) != "ab" {
		t.Errorf("invalid UTF-8 kept: %q", got)
	}
	_ = url.Values{}
}
