package ops

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclient"
)

// hold makes one call and leaves its body open, so that the call keeps its
// concurrency slot (R75) until the returned func closes it; the test's
// cleanup closes it too.
func hold(t *testing.T, c *httpclient.Client, rawURL string) (release func()) {
	t.Helper()
	resp, err := c.Get(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return func() { resp.Body.Close() }
}

// limits returns the client's concurrency snapshot of origin, failing the
// test when it has none.
func limits(t *testing.T, c *httpclient.Client, origin string) concurrency.Snapshot {
	t.Helper()
	cs, ok := c.ConcurrencyLimits()[origin]
	if !ok {
		t.Fatalf("no concurrency state for %s in %v", origin, c.ConcurrencyLimits())
	}
	return cs
}

// waitQueued waits, a minute at most, until origin's limiter has n callers
// queued.
func waitQueued(t *testing.T, c *httpclient.Client, origin string, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		if cs := c.ConcurrencyLimits()[origin]; cs.Queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never had %d callers queued: %+v", origin, n, c.ConcurrencyLimits()[origin])
		}
	}
}

// rowOf returns the page's table row of origin, "" when there is none.
func rowOf(page, origin string) string {
	i := strings.Index(page, "<code>"+origin+"</code>")
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(page[:i], "<tr")
	end := strings.Index(page[i:], "</tr>")
	if start < 0 || end < 0 {
		return ""
	}
	return page[start : i+end]
}

// TestJSON_R75_ConcurrencyState: with WithConcurrencyLimit(Fixed: 3), each
// origin's entry has a concurrency object with its limit, in flight,
// queued and rejected; a body left open holds its slot, which shows, and
// closing it gives the slot back, which shows too. The origin in flight is
// listed before the quiet one whose name comes first.
func TestJSON_R75_ConcurrencyState(t *testing.T) {
	c := newClient(t, nil, httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{Fixed: 3}))
	get(t, c, "http://a.test/")
	release := hold(t, c, "http://z.test/")
	h := Handler(c, WithHosts("example.com"))

	raw, _ := getState(t, h)
	if n := len(at(t, raw, "origins").([]any)); n != 2 {
		t.Fatalf("%d origins, want 2", n)
	}
	for i, want := range []struct {
		origin   string
		inFlight float64
	}{{"http://z.test:80", 1}, {"http://a.test:80", 0}} {
		o := at(t, raw, "origins", i)
		if got := at(t, o, "origin"); got != want.origin {
			t.Errorf("origins[%d] = %v, want %s (the origin in flight first)", i, got, want.origin)
		}
		if got, wantKeys := keys(t, o), "breaker,budget,concurrency,origin"; got != wantKeys {
			t.Errorf("origins[%d] keys %s, want %s", i, got, wantKeys)
		}
		conc := at(t, o, "concurrency")
		if got, wantKeys := keys(t, conc), "in_flight,limit,queued,rejected"; got != wantKeys {
			t.Errorf("origins[%d].concurrency keys %s, want %s", i, got, wantKeys)
		}
		for k, v := range map[string]float64{"limit": 3, "in_flight": want.inFlight, "queued": 0, "rejected": 0} {
			if got := at(t, conc, k); got != v {
				t.Errorf("origins[%d].concurrency.%s = %v, want %v", i, k, got, v)
			}
		}
	}

	release()
	raw, _ = getState(t, h)
	if got := at(t, raw, "origins", 0, "origin"); got != "http://a.test:80" {
		t.Errorf("after the body is closed, origins[0] = %v, want a.test by name", got)
	}
	if got := at(t, raw, "origins", 1, "concurrency", "in_flight"); got != 0.0 {
		t.Errorf("after the body is closed, z.test has %v in flight, want 0", got)
	}
}

// TestJSON_R75_ConcurrencyOnlyOrigins: with the breaker and the budget off,
// the origins come from the concurrency limiters alone and are still
// listed, with nothing but the origin and its concurrency.
func TestJSON_R75_ConcurrencyOnlyOrigins(t *testing.T) {
	c := newClient(t, nil,
		httpclient.WithCircuitBreaker(0, 0),
		httpclient.WithRetryBudget(httpclient.RetryBudget{Disabled: true}),
		httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{Fixed: 3}))
	get(t, c, "http://b.test/")
	get(t, c, "http://a.test/")
	raw, st := getState(t, Handler(c, WithHosts("example.com")))
	if st.OriginsTotal != 2 || len(st.Origins) != 2 {
		t.Fatalf("total %d, listed %d; want 2 and 2", st.OriginsTotal, len(st.Origins))
	}
	for i, want := range []string{"http://a.test:80", "http://b.test:80"} {
		o := at(t, raw, "origins", i)
		if got := keys(t, o); got != "concurrency,origin" {
			t.Errorf("origins[%d] keys %s, want concurrency,origin", i, got)
		}
		if got := at(t, o, "origin"); got != want {
			t.Errorf("origins[%d] = %v, want %s", i, got, want)
		}
	}
}

// saturatedScene builds a client with a fixed limit of 2 and a queue, and
// the origins: a.test quiet, b.test with 1 in flight, c.test with 2 (full)
// and one refusal, d.test with 2 and a caller queued, and z.test isolated
// (open) and quiet. It returns the client and a func that ends the queued
// call and waits for it.
func saturatedScene(t *testing.T) (*httpclient.Client, func()) {
	t.Helper()
	c := newClient(t, nil, httpclient.WithOriginLimit(1000, time.Hour),
		httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{Fixed: 2, Queue: 4, MaxWait: time.Minute}))
	get(t, c, "http://a.test/")
	hold(t, c, "http://b.test/")
	hold(t, c, "http://c.test/")
	hold(t, c, "http://c.test/")
	// A caller with less time left than MinLeft (50ms) is refused at once
	// rather than queued.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	_, err := c.Get(ctx, "http://c.test/")
	cancel()
	if !errors.Is(err, httpclient.ErrConcurrencyLimited) {
		t.Fatalf("a third call to c.test: %v, want a concurrency refusal", err)
	}
	freeD := hold(t, c, "http://d.test/")
	hold(t, c, "http://d.test/")
	done := make(chan error, 1)
	go func() {
		resp, err := c.Get(context.Background(), "http://d.test/queued")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitQueued(t, c, "http://d.test:80", 1)
	if err := c.Isolate("http://z.test", time.Hour); err != nil {
		t.Fatal(err)
	}
	var ended bool
	end := func() {
		if ended {
			return
		}
		ended = true
		freeD()
		if err := <-done; err != nil {
			t.Errorf("the queued call: %v", err)
		}
	}
	t.Cleanup(end)
	return c, end
}

// TestOrigins_R75_SaturatedFirstAndBounded: within a circuit state, the
// origins with queued callers come first, then the full ones, then by
// calls in flight, then by name; WithMaxOrigins keeps that order's first,
// so a saturated origin is listed and a quiet one is not.
func TestOrigins_R75_SaturatedFirstAndBounded(t *testing.T) {
	c, end := saturatedScene(t)
	_, st := getState(t, Handler(c, WithHosts("example.com")))
	want := []string{"http://z.test:80", "http://d.test:80", "http://c.test:80", "http://b.test:80", "http://a.test:80"}
	if len(st.Origins) != len(want) {
		t.Fatalf("%d origins listed, want %d", len(st.Origins), len(want))
	}
	for i, o := range st.Origins {
		if o.Origin != want[i] {
			t.Errorf("origins[%d] = %s, want %s", i, o.Origin, want[i])
		}
	}

	raw, st := getState(t, Handler(c, WithHosts("example.com"), WithMaxOrigins(3)))
	if st.OriginsTotal != 5 || st.OriginsOmitted != 2 || len(st.Origins) != 3 {
		t.Fatalf("total %d, omitted %d, listed %d; want 5, 2, 3", st.OriginsTotal, st.OriginsOmitted, len(st.Origins))
	}
	for i, o := range st.Origins {
		if o.Origin != want[i] {
			t.Errorf("bounded: origins[%d] = %s, want %s", i, o.Origin, want[i])
		}
	}
	for i, w := range []map[string]float64{
		{"limit": 2, "in_flight": 0, "queued": 0, "rejected": 0},
		{"limit": 2, "in_flight": 2, "queued": 1, "rejected": 0},
		{"limit": 2, "in_flight": 2, "queued": 0, "rejected": 1},
	} {
		for k, v := range w {
			if got := at(t, raw, "origins", i, "concurrency", k); got != v {
				t.Errorf("origins[%d] (%s).concurrency.%s = %v, want %v", i, want[i], k, got, v)
			}
		}
	}

	// The queued call is admitted as a slot frees.
	end()
	if cs := limits(t, c, "http://d.test:80"); cs.Queued != 0 || cs.InFlight != 1 {
		t.Errorf("after the queued call, d.test is %+v, want 1 in flight and none queued", cs)
	}
}

// TestPage_R75_ConcurrencyColumn: the page has a concurrency column with
// "limit L · in flight N · queued Q · refused R" for each origin; an origin
// with queued callers or every slot taken is marked saturated in a cell of
// the half-open colours, the others are not, and the summary counts them.
// With controls, each origin has a form to set its limit, with the token.
func TestPage_R75_ConcurrencyColumn(t *testing.T) {
	c, _ := saturatedScene(t)
	h := Handler(c, WithHosts("example.com"), WithControls())
	rec := serve(h, http.MethodGet, "/", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /: %d", rec.Code)
	}
	checkSecurityHeaders(t, "GET /", rec.Header())
	page := rec.Body.String()
	for _, want := range []string{"<th>concurrency</th>", "2 at their concurrency limit.", "tr td.saturated{background:#fff1c2;color:#8a5a00}", "set their concurrency limits"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Errorf("the page has a script")
	}
	tok := pageToken(t, h)
	for _, tc := range []struct {
		origin, text string
		saturated    bool
	}{
		{"http://a.test:80", "limit 2 · in flight 0 · queued 0 · refused 0", false},
		{"http://b.test:80", "limit 2 · in flight 1 · queued 0 · refused 0", false},
		{"http://c.test:80", "limit 2 · in flight 2 · queued 0 · refused 1", true},
		{"http://d.test:80", "limit 2 · in flight 2 · queued 1 · refused 0", true},
		{"http://z.test:80", "limit 2 · in flight 0 · queued 0 · refused 0", false},
	} {
		row := rowOf(page, tc.origin)
		if row == "" {
			t.Errorf("no row for %s", tc.origin)
			continue
		}
		if !strings.Contains(row, tc.text) {
			t.Errorf("%s: the row lacks %q:\n%s", tc.origin, tc.text, row)
		}
		if got := strings.Contains(row, `<td class="saturated">`) && strings.Contains(row, "<strong>saturated</strong>"); got != tc.saturated {
			t.Errorf("%s: marked saturated %v, want %v:\n%s", tc.origin, got, tc.saturated, row)
		}
		form := `<form method="post" action="./limit"><input type="hidden" name="token" value="` + tok + `"><input type="hidden" name="origin" value="` + tc.origin + `"><input name="limit" type="number" min="1" max="100000" value="2"`
		if !strings.Contains(row, form) {
			t.Errorf("%s: the row has no limit form:\n%s", tc.origin, row)
		}
	}
	// An open row keeps its own colour; only the concurrency cell is marked.
	if !strings.Contains(rowOf(page, "http://z.test:80"), `<tr class="state-open">`) {
		t.Errorf("z.test's row is not an open one")
	}

	// Without controls, no form and no token.
	ro := serve(Handler(c, WithHosts("example.com")), http.MethodGet, "/", nil).Body.String()
	if strings.Contains(ro, `action="./limit"`) || tokenRE.MatchString(ro) {
		t.Errorf("the read-only page has a limit form or a token")
	}
	if !strings.Contains(rowOf(ro, "http://c.test:80"), "limit 2 · in flight 2 · queued 0 · refused 1") {
		t.Errorf("the read-only page does not show c.test's concurrency")
	}
}

// TestState_R75_NoLimitNoBlock: a client without a concurrency limit has
// no concurrency object in the JSON, no concurrency column or limit form
// on the page, and POST /limit answers 409 Conflict with a plain message
// saying why.
func TestState_R75_NoLimitNoBlock(t *testing.T) {
	c := newClient(t, nil)
	get(t, c, "http://a.test/")
	h := Handler(c, WithHosts("example.com"), WithControls())
	raw, _ := getState(t, h)
	if got := keys(t, at(t, raw, "origins", 0)); got != "breaker,budget,origin" {
		t.Errorf("origins[0] keys %s, want breaker,budget,origin (no concurrency)", got)
	}
	page := serve(h, http.MethodGet, "/", nil).Body.String()
	for _, bad := range []string{"concurrency", "in flight", `action="./limit"`, `name="limit"`, `class="saturated"`} {
		if strings.Contains(page, bad) {
			t.Errorf("the page of a client without the limit contains %q", bad)
		}
	}
	tok := pageToken(t, h)
	rec := serve(h, http.MethodPost, "/limit", url.Values{"origin": {"http://a.test"}, "limit": {"5"}, "token": {tok}}, "Sec-Fetch-Site", "same-origin")
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "no concurrency limit") || !strings.Contains(rec.Body.String(), "WithConcurrencyLimit") {
		t.Errorf("POST /limit without the limit: %d %q, want 409 saying there is no concurrency limit", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("409: Content-Type %q, want plain text", ct)
	}
	checkSecurityHeaders(t, "409", rec.Header())
	// The refusals come first: a wrong token is still a 403.
	rec = serve(h, http.MethodPost, "/limit", url.Values{"origin": {"http://a.test"}, "limit": {"5"}, "token": {"x"}})
	if rec.Code != http.StatusForbidden {
		t.Errorf("POST /limit without the limit and with a wrong token: %d, want 403", rec.Code)
	}
	if c.ConcurrencyLimits() != nil {
		t.Errorf("the client grew a concurrency limit")
	}
}

// TestControls_R75_SetLimit: a same-origin POST /limit with the token sets
// the origin's limit (the client's snapshot shows it), for any URL of the
// origin, answering 303 to the page or the limiter's snapshot as JSON when
// asked; raising the limit admits a queued caller at once; an adaptive
// limit is kept within its Max.
func TestControls_R75_SetLimit(t *testing.T) {
	c, end := saturatedScene(t)
	h := Handler(c, WithHosts("example.com"), WithControls())
	tok := pageToken(t, h)

	rec := serve(h, http.MethodPost, "/limit", url.Values{"origin": {"http://b.test"}, "limit": {"7"}, "token": {tok}},
		"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "./" {
		t.Fatalf("POST /limit: %d Location %q (%s), want 303 to ./", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	checkSecurityHeaders(t, "303", rec.Header())
	if cs := limits(t, c, "http://b.test:80"); cs.Limit != 7 || cs.InFlight != 1 {
		t.Errorf("after POST /limit 7, b.test is %+v, want limit 7 with 1 in flight", cs)
	}
	if cs := limits(t, c, "http://a.test:80"); cs.Limit != 2 {
		t.Errorf("a.test's limit moved to %d", cs.Limit)
	}

	// Raising a full limit admits the queued caller; JSON when asked, for
	// another spelling of the origin.
	rec = serve(h, http.MethodPost, "/limit", url.Values{"origin": {"HTTP://D.test:080/any/path"}, "limit": {"100000"}, "token": {tok}},
		"Accept", "application/json")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("POST /limit asking for JSON: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var got struct {
		Action      string                `json:"action"`
		Breaker     json.RawMessage       `json:"breaker"`
		Concurrency *concurrency.Snapshot `json:"concurrency"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Action != "limit" || got.Breaker != nil || got.Concurrency == nil || got.Concurrency.Limit != 100000 {
		t.Errorf("POST /limit's JSON %s, want action limit and the concurrency snapshot at 100000", rec.Body)
	}
	end() // returns once the queued call has been admitted and has ended
	if cs := limits(t, c, "http://d.test:80"); cs.Limit != 100000 || cs.Queued != 0 {
		t.Errorf("d.test is %+v, want limit 100000 and none queued", cs)
	}

	// An origin the client has not called yet: it keeps state for it.
	rec = serve(h, http.MethodPost, "/limit", url.Values{"origin": {"https://new.test"}, "limit": {"1"}, "token": {tok}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("POST /limit for a new origin: %d %s", rec.Code, rec.Body)
	}
	if cs := limits(t, c, "https://new.test:443"); cs.Limit != 1 {
		t.Errorf("new.test's limit is %d, want 1", cs.Limit)
	}

	// An adaptive limit goes on from the value, within its Max.
	ad := newClient(t, nil, httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{Adaptive: concurrency.Adaptive{Min: 2, Max: 50}}))
	get(t, ad, "http://a.test/")
	ha := Handler(ad, WithHosts("example.com"), WithControls())
	rec = serve(ha, http.MethodPost, "/limit", url.Values{"origin": {"http://a.test"}, "limit": {"900"}, "token": {pageToken(t, ha)}}, "Accept", "application/json")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"limit": 50`) {
		t.Errorf("POST /limit 900 on an adaptive limit of Max 50: %d %s, want 200 with limit 50", rec.Code, rec.Body)
	}
	if cs := limits(t, ad, "http://a.test:80"); cs.Limit != 50 {
		t.Errorf("the adaptive limit is %d, want its Max 50", cs.Limit)
	}
}

// TestControls_R75_LimitRefused: POST /limit goes through the same checks
// as /isolate and /reset. Without WithControls it is 403; with them, a
// missing or wrong token, a token in the query only, a cross-site Origin or
// Sec-Fetch-Site is 403; a limit that is not a whole number from 1 to
// 100000, or a bad origin, is 400 in plain text; GET, HEAD and PUT are 405.
// None of them changes the limit or echoes the request.
func TestControls_R75_LimitRefused(t *testing.T) {
	c := newClient(t, nil, httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{Fixed: 3}))
	get(t, c, target)
	origin := "http://billing.test:80"
	unchanged := func(what string) {
		t.Helper()
		if cs := limits(t, c, origin); cs.Limit != 3 {
			t.Fatalf("%s: the limit is %d, want 3 unchanged", what, cs.Limit)
		}
	}

	off := Handler(c, WithHosts("example.com"))
	if rec := serve(off, http.MethodPost, "/limit", url.Values{"origin": {target}, "limit": {"5"}, "token": {strings.Repeat("0", 64)}}, "Sec-Fetch-Site", "same-origin"); rec.Code != http.StatusForbidden {
		t.Errorf("POST /limit without WithControls: %d, want 403", rec.Code)
	}
	unchanged("controls off")

	h := Handler(c, WithHosts("example.com"), WithControls())
	tok := pageToken(t, h)
	good := func() url.Values { return url.Values{"origin": {target}, "limit": {"5"}, "token": {tok}} }
	for _, tc := range []struct {
		name   string
		target string
		form   url.Values
		header []string
	}{
		{"no token", "/limit", url.Values{"origin": {target}, "limit": {"5"}}, nil},
		{"wrong token", "/limit", url.Values{"origin": {target}, "limit": {"5"}, "token": {strings.Repeat("a", 64)}}, nil},
		{"two tokens", "/limit", url.Values{"origin": {target}, "limit": {"5"}, "token": {tok, tok}}, nil},
		{"token in the query", "/limit?token=" + tok, url.Values{"origin": {target}, "limit": {"5"}}, nil},
		{"cross-site", "/limit", good(), []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site", "/limit", good(), []string{"Sec-Fetch-Site", "same-site"}},
		{"foreign Origin", "/limit", good(), []string{"Origin", "https://evil.test"}},
		{"null Origin", "/limit", good(), []string{"Origin", "null"}},
		{"same-origin but foreign Origin", "/limit", good(), []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://evil.test"}},
	} {
		rec := serve(h, http.MethodPost, tc.target, tc.form, tc.header...)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d %q, want 403", tc.name, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), tok) || strings.Contains(rec.Body.String(), "evil") {
			t.Errorf("%s: the refusal echoes the request: %q", tc.name, rec.Body)
		}
		unchanged(tc.name)
	}

	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"missing limit", url.Values{"origin": {target}}},
		{"empty limit", url.Values{"origin": {target}, "limit": {""}}},
		{"two limits", url.Values{"origin": {target}, "limit": {"5", "6"}}},
		{"zero", url.Values{"origin": {target}, "limit": {"0"}}},
		{"negative", url.Values{"origin": {target}, "limit": {"-5"}}},
		{"plus sign", url.Values{"origin": {target}, "limit": {"+5"}}},
		{"over 100000", url.Values{"origin": {target}, "limit": {"100001"}}},
		{"huge", url.Values{"origin": {target}, "limit": {"99999999999999999999999"}}},
		{"fraction", url.Values{"origin": {target}, "limit": {"2.5"}}},
		{"exponent", url.Values{"origin": {target}, "limit": {"1e3"}}},
		{"hex", url.Values{"origin": {target}, "limit": {"0x10"}}},
		{"spaces", url.Values{"origin": {target}, "limit": {" 5 "}}},
		{"word", url.Values{"origin": {target}, "limit": {"five"}}},
		{"markup", url.Values{"origin": {target}, "limit": {"<script>alert(1)</script>"}}},
		{"missing origin", url.Values{"limit": {"5"}}},
		{"bad origin", url.Values{"origin": {"javascript:alert(1)"}, "limit": {"5"}}},
		{"credentials", url.Values{"origin": {"http://user:pw@billing.test"}, "limit": {"5"}}},
		{"bad port", url.Values{"origin": {"http://billing.test:99999"}, "limit": {"5"}}},
	} {
		tc.form.Set("token", tok)
		rec := serve(h, http.MethodPost, "/limit", tc.form, "Sec-Fetch-Site", "same-origin")
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %q, want 400", tc.name, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: Content-Type %q, want plain text", tc.name, ct)
		}
		checkSecurityHeaders(t, tc.name, rec.Header())
		if body := rec.Body.String(); strings.Contains(body, "<script") || strings.Contains(body, "pw@") || len(body) > 200 {
			t.Errorf("%s: the error echoes the request or is long: %q", tc.name, body)
		}
		unchanged(tc.name)
	}
	if rec := serve(h, http.MethodPost, "/limit", url.Values{"origin": {target}, "limit": {"zero"}, "token": {tok}}); !regexp.MustCompile(`from 1 to 100000`).MatchString(rec.Body.String()) {
		t.Errorf("a bad limit's error does not give the range: %q", rec.Body)
	}

	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut} {
		rec := serve(h, m, "/limit?origin="+url.QueryEscape(target)+"&limit=5&token="+tok, nil)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
			t.Errorf("%s /limit: %d Allow %q, want 405 Allow POST", m, rec.Code, rec.Header().Get("Allow"))
		}
		checkSecurityHeaders(t, m+" /limit", rec.Header())
	}
	unchanged("GET, HEAD, PUT")

	// The bounds themselves are accepted.
	for _, n := range []string{"1", "100000", "3"} {
		if rec := serve(h, http.MethodPost, "/limit", url.Values{"origin": {target}, "limit": {n}, "token": {tok}}); rec.Code != http.StatusSeeOther {
			t.Errorf("limit %s: %d %q, want 303", n, rec.Code, rec.Body)
		}
	}
	unchanged("back to 3")
}
