package ops

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
)

// R63: cross-site variants are all refused; a token in the query only is
// refused; method override headers and HEAD on a POST route do nothing.
// (Held up.)
func TestAdv_R63_CrossSiteVariantsRefused(t *testing.T) {
	c := newClient(t, nil)
	h := Handler(c, WithHosts("example.com"), WithControls())
	tok := pageToken(t, h)
	good := url.Values{"token": {tok}, "origin": {"https://a.example"}, "for": {"1m"}}
	cases := []struct {
		name   string
		target string
		form   url.Values
		hdr    []string
	}{
		{"origin null", "/isolate", good, []string{"Origin", "null"}},
		{"sec-fetch-site same-site", "/isolate", good, []string{"Sec-Fetch-Site", "same-site"}},
		{"sec-fetch-site none", "/isolate", good, []string{"Sec-Fetch-Site", "none"}},
		{"two sec-fetch-site", "/isolate", good, []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Site", "cross-site"}},
		{"origin other host", "/isolate", good, []string{"Origin", "https://example.com.evil"}},
		{"origin other port", "/isolate", good, []string{"Origin", "http://example.com:8080"}},
		{"origin file", "/isolate", good, []string{"Origin", "file://example.com"}},
		{"token in query only", "/isolate?token=" + tok, url.Values{"origin": {"https://a.example"}, "for": {"1m"}}, nil},
		{"two tokens", "/isolate", url.Values{"token": {tok, tok}, "origin": {"https://a.example"}, "for": {"1m"}}, nil},
	}
	for _, k := range cases {
		rec := serve(h, http.MethodPost, k.target, k.form, k.hdr...)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d %s", k.name, rec.Code, rec.Body)
		}
	}
	if rec := serve(h, http.MethodHead, "/isolate", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("HEAD /isolate: %d", rec.Code)
	}
	if rec := serve(h, http.MethodGet, "/isolate", nil, "X-HTTP-Method-Override", "POST"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET with method override: %d", rec.Code)
	}
	big := url.Values{"token": {tok}, "origin": {"https://a.example"}, "for": {"1m"}, "pad": {strings.Repeat("x", 1<<20)}}
	if rec := serve(h, http.MethodPost, "/isolate", big); rec.Code != http.StatusBadRequest {
		t.Errorf("1 MiB form: %d", rec.Code)
	}
	if snap, _ := c.Breaker("https://a.example"); snap.Generation != 0 {
		t.Errorf("a refused control changed the breaker: %+v", snap)
	}
}

// R63: DNS rebinding. A page on evil.example whose name is rebound to the
// operator port is, to the browser, same-origin with it: it could GET the
// page (reading the token) and POST with Origin and Host both
// evil.example and Sec-Fetch-Site same-origin. The handler answers only a
// Host that is an IP address, localhost or a name given to WithHosts.
func TestAdv_R63_DNSRebindingRefused(t *testing.T) {
	c := newClient(t, nil)
	h := Handler(c, WithHosts("example.com"), WithControls())
	req := func(method, target string, form url.Values) *http.Request {
		var r *http.Request
		if form != nil {
			r = httptestRequest(method, target, form.Encode())
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptestRequest(method, target, "")
		}
		r.Host = "evil.example:9090"
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		return r
	}
	// The page is refused on that Host, token and all.
	rec := record(h, req(http.MethodGet, "/", nil))
	if rec.Code != http.StatusForbidden || tokenRE.MatchString(rec.Body.String()) {
		t.Errorf("GET / with Host evil.example: %d, token shown: %v", rec.Code, tokenRE.MatchString(rec.Body.String()))
	}
	// A POST with the right token, read by the page on its own Host, is
	// refused on the rebound one.
	tok := pageToken(t, h)
	r := req(http.MethodPost, "/isolate", url.Values{"token": {tok}, "origin": {"https://payments.internal"}, "for": {"24h"}})
	r.Header.Set("Origin", "http://evil.example:9090")
	if rec := record(h, r); rec.Code != http.StatusForbidden {
		t.Errorf("a rebound page on evil.example isolated an origin for 24h: %d", rec.Code)
	}
}

// R63: hostile strings that reach the client's registry or give-ups are
// escaped on the page and in the JSON. (Held up.)
func TestAdv_R63_HostileOriginEscaped(t *testing.T) {
	c := newClient(t, []string{"down.example"})
	for _, o := range []string{`http://a%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E`, `http://[::1]:80`, `HTTP://UPPER.example/`, `https://bücher.example/x/y`} {
		_ = c.Isolate(o, time.Minute)
	}
	get(t, c, "http://down.example/%3C/code%3E%3Cscript%3Ealert(1)%3C/script%3E")
	get(t, c, "http://down.example/</code><script>alert(1)</script>")
	h := Handler(c, WithHosts("example.com"), WithControls())
	for _, p := range []string{"/", "/state.json"} {
		rec := serve(h, http.MethodGet, p, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", p, rec.Code)
		}
		if strings.Contains(strings.ToLower(rec.Body.String()), "<script") {
			t.Errorf("%s: an unescaped <script> on the page:\n%s", p, rec.Body)
		}
	}
}

// R63: 20 000 origins: the JSON lists at most WithMaxOrigins, its size is
// bounded; concurrent reads while isolating and resetting race nothing.
// (Held up.)
func TestAdv_R63_ManyOriginsAndConcurrency(t *testing.T) {
	c := newClient(t, nil, httpclient.WithOriginLimit(30000, 0))
	for i := range 20000 {
		get(t, c, fmt.Sprintf("http://h%d.example:%d/", i, 1+i%60000))
	}
	h := Handler(c, WithHosts("example.com"), WithControls(), WithMaxOrigins(50))
	start := time.Now()
	rec := serve(h, http.MethodGet, "/state.json", nil)
	var st struct {
		Origins []json.RawMessage `json:"origins"`
		Total   int               `json:"origins_total"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Origins) != 50 || st.Total != 20000 || rec.Body.Len() > 64<<10 {
		t.Errorf("listed %d of %d, %d bytes", len(st.Origins), st.Total, rec.Body.Len())
	}
	if page := serve(h, http.MethodGet, "/", nil); page.Body.Len() > 256<<10 {
		t.Errorf("page %d bytes", page.Body.Len())
	}
	t.Logf("state.json over 20k origins in %v", time.Since(start))
	tok := pageToken(t, h)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				switch w % 3 {
				case 0:
					serve(h, http.MethodGet, "/", nil)
				case 1:
					serve(h, http.MethodPost, "/isolate", url.Values{"token": {tok}, "origin": {fmt.Sprintf("http://h%d.example", i)}, "for": {"1m"}})
				case 2:
					serve(h, http.MethodPost, "/reset", url.Values{"token": {tok}, "origin": {fmt.Sprintf("http://h%d.example", i)}})
				}
			}
		})
	}
	wg.Wait()
}

func httptestRequest(method, target, body string) *http.Request {
	return httptest.NewRequest(method, target, strings.NewReader(body))
}

func record(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}
