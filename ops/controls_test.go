package ops

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
)

const target = "http://billing.test"

func stateOf(t *testing.T, c *httpclient.Client) breaker.State {
	t.Helper()
	s, err := c.Breaker(target)
	if err != nil {
		t.Fatal(err)
	}
	return s.State
}

// TestControls_R63_RefusedWithoutOptIn: without WithControls, POST isolate
// and reset answer 403 and change nothing, other methods 405, and the page
// has no form and no token.
func TestControls_R63_RefusedWithoutOptIn(t *testing.T) {
	c := newClient(t, nil)
	h := Handler(c, WithHosts("example.com"))
	if tok := pageToken(t, h); tok != "" {
		t.Errorf("the read-only page embeds a token")
	}
	page := serve(h, http.MethodGet, "/", nil).Body.String()
	if strings.Contains(page, "<form") || strings.Contains(page, "<button") {
		t.Errorf("the read-only page has forms")
	}
	for _, p := range []string{"/isolate", "/reset"} {
		form := url.Values{"origin": {target}, "for": {"5m"}, "token": {strings.Repeat("0", 64)}}
		rec := serve(h, http.MethodPost, p, form, "Sec-Fetch-Site", "same-origin")
		if rec.Code != http.StatusForbidden {
			t.Errorf("POST %s without WithControls: %d, want 403", p, rec.Code)
		}
		checkSecurityHeaders(t, "403", rec.Header())
		if rec := serve(h, http.MethodGet, p, nil); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
			t.Errorf("GET %s without WithControls: %d Allow %q, want 405 Allow POST", p, rec.Code, rec.Header().Get("Allow"))
		}
	}
	if s := stateOf(t, c); s != breaker.Closed {
		t.Errorf("the breaker is %v after refused controls, want closed", s)
	}
}

// TestControls_R63_CrossSiteAndTokenRefused: with WithControls, a POST is
// refused (403, nothing changes) without the token, with a wrong one, with
// the token only in the query, from another site per Sec-Fetch-Site, or
// with a foreign Origin.
func TestControls_R63_CrossSiteAndTokenRefused(t *testing.T) {
	c := newClient(t, nil)
	h := Handler(c, WithHosts("example.com"), WithControls())
	tok := pageToken(t, h)
	if len(tok) != 64 {
		t.Fatalf("page token %q, want 64 hex digits", tok)
	}
	if other := pageToken(t, Handler(c, WithHosts("example.com"), WithControls())); other == tok {
		t.Errorf("two handlers share a token")
	}
	good := func() url.Values { return url.Values{"origin": {target}, "for": {"5m"}, "token": {tok}} }
	cases := []struct {
		name   string
		target string
		form   url.Values
		header []string
	}{
		{"no token", "/isolate", url.Values{"origin": {target}, "for": {"5m"}}, nil},
		{"empty token", "/isolate", url.Values{"origin": {target}, "for": {"5m"}, "token": {""}}, nil},
		{"wrong token", "/isolate", url.Values{"origin": {target}, "for": {"5m"}, "token": {strings.Repeat("a", 64)}}, nil},
		{"token prefix", "/isolate", url.Values{"origin": {target}, "for": {"5m"}, "token": {tok[:32]}}, nil},
		{"two tokens", "/isolate", url.Values{"origin": {target}, "for": {"5m"}, "token": {tok, tok}}, nil},
		{"token in the query", "/isolate?token=" + tok, url.Values{"origin": {target}, "for": {"5m"}}, nil},
		{"cross-site", "/isolate", good(), []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site", "/isolate", good(), []string{"Sec-Fetch-Site", "same-site"}},
		{"none", "/isolate", good(), []string{"Sec-Fetch-Site", "none"}},
		{"foreign Origin", "/isolate", good(), []string{"Origin", "https://evil.test"}},
		{"foreign port", "/isolate", good(), []string{"Origin", "http://example.com:8080"}},
		{"null Origin", "/isolate", good(), []string{"Origin", "null"}},
		{"same-origin but foreign Origin", "/isolate", good(), []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://evil.test"}},
		{"reset, wrong token", "/reset", url.Values{"origin": {target}, "token": {"x"}}, nil},
		{"reset, cross-site", "/reset", good(), []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, tc := range cases {
		rec := serve(h, http.MethodPost, tc.target, tc.form, tc.header...)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d %q, want 403", tc.name, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), tok) || strings.Contains(rec.Body.String(), "evil") {
			t.Errorf("%s: the refusal echoes the request: %q", tc.name, rec.Body)
		}
		if s := stateOf(t, c); s != breaker.Closed {
			t.Fatalf("%s: the breaker is %v, want closed", tc.name, s)
		}
	}
}

// TestControls_R63_AcceptedSameOrigin: a same-origin POST with the token
// isolates (the breaker really opens, for the time asked) and resets (it
// really closes), answering 303 to the page or JSON when asked.
func TestControls_R63_AcceptedSameOrigin(t *testing.T) {
	c := newClient(t, nil)
	h := Handler(c, WithHosts("example.com"), WithControls())
	tok := pageToken(t, h)

	start := time.Now()
	rec := serve(h, http.MethodPost, "/isolate", url.Values{"origin": {target}, "for": {"5m"}, "token": {tok}},
		"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com") // httptest's Host is example.com
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "./" {
		t.Fatalf("isolate: %d Location %q (%s), want 303 to ./", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	checkSecurityHeaders(t, "303", rec.Header())
	s, _ := c.Breaker(target)
	if s.State != breaker.Open || s.LastChange == nil || s.LastChange.Cause != breaker.CauseTrip {
		t.Fatalf("after isolate the breaker is %+v, want open by a trip", s)
	}
	if d := s.Until.Sub(start); d < 5*time.Minute || d > 5*time.Minute+10*time.Second {
		t.Errorf("isolated until %v after the request, want 5m", d)
	}

	// No Sec-Fetch-Site and no Origin (curl, an older browser): the token suffices.
	rec = serve(h, http.MethodPost, "/reset", url.Values{"origin": {target + "/any/path"}, "token": {tok}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("reset: %d %s, want 303", rec.Code, rec.Body)
	}
	if s := stateOf(t, c); s != breaker.Closed {
		t.Fatalf("after reset the breaker is %v, want closed", s)
	}

	// Accept: application/json gets the breaker's snapshot.
	rec = serve(h, http.MethodPost, "/isolate", url.Values{"origin": {target}, "for": {"90s"}, "token": {tok}},
		"Accept", "text/html;q=0.5, application/json")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("isolate asking for JSON: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var got struct {
		Action  string `json:"action"`
		Breaker struct {
			State string    `json:"state"`
			Until time.Time `json:"until"`
		} `json:"breaker"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Action != "isolate" || got.Breaker.State != "open" || time.Until(got.Breaker.Until) > 90*time.Second {
		t.Errorf("isolate's JSON %+v, want isolate, open, within 90s", got)
	}
	rec = serve(h, http.MethodPost, "/reset", url.Values{"origin": {target}, "token": {tok}}, "Accept", "application/json")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"state": "closed"`) {
		t.Errorf("reset asking for JSON: %d %s", rec.Code, rec.Body)
	}
	if s := stateOf(t, c); s != breaker.Closed {
		t.Errorf("after reset the breaker is %v, want closed", s)
	}

	// The page's forms use the same token and post beside the page.
	page := serve(h, http.MethodGet, "/", nil).Body.String()
	for _, want := range []string{`action="./isolate"`, `action="./reset"`, `name="for"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// TestControls_R63_MethodNotAllowed: GET, PUT and HEAD on the control
// routes answer 405 with Allow: POST.
func TestControls_R63_MethodNotAllowed(t *testing.T) {
	c := newClient(t, nil)
	h := Handler(c, WithHosts("example.com"), WithControls())
	for _, p := range []string{"/isolate", "/reset"} {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut} {
			rec := serve(h, m, p+"?origin="+url.QueryEscape(target)+"&for=5m", nil)
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
				t.Errorf("%s %s: %d Allow %q, want 405 Allow POST", m, p, rec.Code, rec.Header().Get("Allow"))
			}
		}
	}
	if s := stateOf(t, c); s != breaker.Closed {
		t.Errorf("the breaker is %v, want closed", s)
	}
}

// TestControls_R63_BadInput: with a good token, bad or hostile input is
// a 400 that changes nothing.
func TestControls_R63_BadInput(t *testing.T) {
	c := newClient(t, nil)
	h := Handler(c, WithHosts("example.com"), WithControls())
	tok := pageToken(t, h)
	cases := []struct {
		name, target string
		form         url.Values
	}{
		{"missing origin", "/isolate", url.Values{"for": {"5m"}}},
		{"empty origin", "/isolate", url.Values{"origin": {""}, "for": {"5m"}}},
		{"two origins", "/isolate", url.Values{"origin": {target, "http://other.test"}, "for": {"5m"}}},
		{"missing for", "/isolate", url.Values{"origin": {target}}},
		{"bad duration", "/isolate", url.Values{"origin": {target}, "for": {"five minutes"}}},
		{"over 24h", "/isolate", url.Values{"origin": {target}, "for": {"24h0m1s"}}},
		{"zero", "/isolate", url.Values{"origin": {target}, "for": {"0s"}}},
		{"negative", "/isolate", url.Values{"origin": {target}, "for": {"-5m"}}},
		{"huge", "/isolate", url.Values{"origin": {target}, "for": {"99999999999999h"}}},
		{"not a URL", "/isolate", url.Values{"origin": {"billing"}, "for": {"5m"}}},
		{"ftp", "/isolate", url.Values{"origin": {"ftp://billing.test"}, "for": {"5m"}}},
		{"javascript", "/isolate", url.Values{"origin": {"javascript:alert(1)"}, "for": {"5m"}}},
		{"control characters", "/isolate", url.Values{"origin": {"http://bil\x00ling.test\r\n"}, "for": {"5m"}}},
		{"credentials", "/isolate", url.Values{"origin": {"http://user:pw@billing.test"}, "for": {"5m"}}},
		{"bad port", "/isolate", url.Values{"origin": {"http://billing.test:99999"}, "for": {"5m"}}},
		{"too long", "/isolate", url.Values{"origin": {"http://" + strings.Repeat("a", 3000) + ".test"}, "for": {"5m"}}},
		{"reset, missing origin", "/reset", url.Values{}},
		{"reset, markup", "/reset", url.Values{"origin": {"<script>alert(1)</script>"}}},
	}
	for _, tc := range cases {
		tc.form.Set("token", tok)
		rec := serve(h, http.MethodPost, tc.target, tc.form, "Sec-Fetch-Site", "same-origin")
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %q, want 400", tc.name, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: Content-Type %q, want plain text", tc.name, ct)
		}
		checkSecurityHeaders(t, tc.name, rec.Header())
		if strings.Contains(rec.Body.String(), "pw") {
			t.Errorf("%s: the error shows a password: %q", tc.name, rec.Body)
		}
	}
	// A body over 8 KiB does not parse.
	big := url.Values{"origin": {target}, "for": {"5m"}, "token": {tok}, "pad": {strings.Repeat("x", 16<<10)}}
	if rec := serve(h, http.MethodPost, "/isolate", big); rec.Code != http.StatusBadRequest {
		t.Errorf("a 16 KiB form: %d, want 400", rec.Code)
	}
	// Nor does a malformed one.
	req := httptest.NewRequest(http.MethodPost, "/isolate", strings.NewReader("token="+tok+"&origin=%zz&for=5m"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("a malformed form: %d %q, want 400", rec.Code, rec.Body)
	}
	// An empty POST has no token.
	if rec := serve(h, http.MethodPost, "/isolate", nil); rec.Code != http.StatusForbidden {
		t.Errorf("an empty POST: %d, want 403 (no token)", rec.Code)
	}
	if got := c.Breakers(); len(got) != 0 {
		t.Errorf("bad input made state: %v", got)
	}
}

// TestControls_R63_BreakerDisabled: on a client with no breaker, the
// controls answer 400 with the client's reason.
func TestControls_R63_BreakerDisabled(t *testing.T) {
	c := newClient(t, nil, httpclient.WithCircuitBreaker(0, 0))
	h := Handler(c, WithHosts("example.com"), WithControls())
	tok := pageToken(t, h)
	rec := serve(h, http.MethodPost, "/isolate", url.Values{"origin": {target}, "for": {"5m"}, "token": {tok}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "disabled") {
		t.Errorf("isolate with no breaker: %d %q, want 400 saying it is disabled", rec.Code, rec.Body)
	}
}

// TestControls_R63_OriginDefaultPort: the Origin check treats a default port
// as no port on either side (a proxy may write "host:443" into Host), and
// still refuses another scheme's default port, another port, and an Origin
// that is not http or https.
func TestControls_R63_OriginDefaultPort(t *testing.T) {
	c := newClient(t, nil)
	h := Handler(c, WithHosts("example.com", "ops.test"), WithControls())
	tok := pageToken(t, h)
	for _, tc := range []struct {
		host, origin string
		ok           bool
	}{
		{"ops.test", "http://ops.test", true},
		{"ops.test:80", "http://ops.test", true},
		{"ops.test", "http://ops.test:80", true},
		{"ops.test:443", "https://ops.test", true},
		{"OPS.test:443", "https://ops.TEST:443", true},
		{"ops.test", "https://ops.test:443", true},
		{"ops.test:8080", "http://ops.test:8080", true},
		{"[::1]:443", "https://[::1]", true},
		{"ops.test:443", "http://ops.test", false},
		{"ops.test:80", "https://ops.test", false},
		{"ops.test:8080", "http://ops.test", false},
		{"ops.test", "http://ops.test:8080", false},
		{"ops.test:8080", "http://ops.test:80", false},
		{"ops.test:1080", "http://ops.test:80", false},
		{"ops.test", "ftp://ops.test", false},
		{"ops.test", "chrome-extension://ops.test", false},
		{"ops.test", "null", false},
		{"ops.test", "", false},
	} {
		form := url.Values{"origin": {target}, "for": {"5m"}, "token": {tok}}
		req := httptest.NewRequest(http.MethodPost, "/isolate", strings.NewReader(form.Encode()))
		req.Host = tc.host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := http.StatusForbidden
		if tc.ok {
			want = http.StatusSeeOther
		}
		if rec.Code != want {
			t.Errorf("Host %q, Origin %q: %d %q, want %d", tc.host, tc.origin, rec.Code, rec.Body, want)
		}
		wantState := breaker.Closed
		if tc.ok {
			wantState = breaker.Open
		}
		if s := stateOf(t, c); s != wantState {
			t.Errorf("Host %q, Origin %q: the breaker is %v, want %v", tc.host, tc.origin, s, wantState)
		}
		if err := c.ResetBreaker(target); err != nil {
			t.Fatal(err)
		}
	}
}

// TestControls_R63_AcceptQZero: JSON only when the Accept header asks for it;
// q=0 refuses it.
func TestControls_R63_AcceptQZero(t *testing.T) {
	for accept, want := range map[string]bool{
		"application/json":              true,
		"text/html, application/json":   true,
		"application/json;q=0.5":        true,
		"application/json;q=0":          false,
		"application/json; q=0.000":     false,
		"application/json;q=bogus":      false,
		"text/html":                     false,
		"":                              false,
		"application/jsonx":             false,
		"application/json;charset=utf8": true,
	} {
		r := httptest.NewRequest(http.MethodPost, "/isolate", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if got := wantsJSON(r); got != want {
			t.Errorf("Accept %q: wantsJSON = %v, want %v", accept, got, want)
		}
	}
}

// TestHosts_R63_OnlyKnownHosts: the handler answers an IP address,
// localhost and the names given to WithHosts, on every route; any other
// Host is refused, so that a page rebound to the handler's address cannot
// read it or post to it (DNS rebinding).
func TestHosts_R63_OnlyKnownHosts(t *testing.T) {
	h := Handler(newClient(t, nil), WithHosts("Ops.Internal.", "admin.test"), WithControls())
	for host, ok := range map[string]bool{
		"127.0.0.1:9090":      true,
		"10.1.2.3":            true,
		"[::1]:9090":          true,
		"[fe80::1%25eth0]:80": true, // an address with a zone
		"localhost:9090":      true,
		"LOCALHOST":           true,
		"grafana.localhost":   true,
		"ops.internal:8443":   true,
		"OPS.INTERNAL.":       true,
		"admin.test":          true,
		"evil.example":        false,
		"ops.internal.evil":   false,
		"localhost.evil":      false,
		"":                    false,
		"127.0.0.1.nip.io":    false,
	} {
		for _, target := range []string{"/", "/state.json"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Host = host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Code == http.StatusOK; got != ok {
				t.Errorf("GET %s with Host %q: %d, want ok=%v", target, host, rec.Code, ok)
			}
			if !ok && (strings.Contains(rec.Body.String(), "token") || rec.Header().Get("Cache-Control") != "no-store") {
				t.Errorf("Host %q: a refusal must show nothing and carry the security headers: %q", host, rec.Body)
			}
		}
	}
}
