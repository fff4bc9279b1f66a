package ops

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
)

// wire is /state.json as a client decodes it (breaker.State marshals to
// text but does not unmarshal).
type wire struct {
	Origins []struct {
		Origin  string `json:"origin"`
		Breaker *struct {
			State string `json:"state"`
		} `json:"breaker"`
	} `json:"origins"`
	OriginsTotal   int `json:"origins_total"`
	OriginsOmitted int `json:"origins_omitted"`
}

// getState fetches /state.json and decodes it twice: into generic maps, to
// check the names on the wire, and into wire.
func getState(t *testing.T, h http.Handler) (map[string]any, wire) {
	t.Helper()
	rec := serve(h, http.MethodGet, "/state.json", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /state.json: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	checkSecurityHeaders(t, "GET /state.json", rec.Header())
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("decoding: %v\n%s", err, rec.Body)
	}
	var st wire
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return raw, st
}

// at reads a value from decoded JSON: keys for objects, ints for arrays.
func at(t *testing.T, v any, steps ...any) any {
	t.Helper()
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: %T is not an object", s, v)
			}
			if v, ok = m[s]; !ok {
				t.Fatalf("no key %q in %v", s, m)
			}
		case int:
			a, ok := v.([]any)
			if !ok || s >= len(a) {
				t.Fatalf("at [%d]: %v", s, v)
			}
			v = a[s]
		}
	}
	return v
}

func keys(t *testing.T, v any) string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%T is not an object", v)
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}

// TestJSON_R63_FieldByField scripts a state (one origin open after two
// failures, with the give-up that opening caused; one closed with budget
// numbers) and checks every field of /state.json.
func TestJSON_R63_FieldByField(t *testing.T) {
	c := newClient(t, []string{"down.test"})
	before := time.Now()
	get(t, c, "http://down.test/x/%3Cscript%3E?secret=hunter2") // 503, retried once, opens the circuit, gives up
	for range 3 {
		get(t, c, "http://up.test/ok")
	}
	after := time.Now()

	raw, _ := getState(t, Handler(c, WithHosts("example.com")))
	if got, want := keys(t, raw), "controls,generated_at,give_ups,origins,origins_omitted,origins_total"; got != want {
		t.Errorf("top-level keys %s, want %s", got, want)
	}
	gen, err := time.Parse(time.RFC3339Nano, at(t, raw, "generated_at").(string))
	if err != nil || gen.Before(before) || gen.After(time.Now()) {
		t.Errorf("generated_at %v (%v), want between %v and now", gen, err, before)
	}
	if got := at(t, raw, "origins_total"); got != 2.0 {
		t.Errorf("origins_total %v, want 2", got)
	}
	if got := at(t, raw, "origins_omitted"); got != 0.0 {
		t.Errorf("origins_omitted %v, want 0", got)
	}
	if got := at(t, raw, "controls"); got != false {
		t.Errorf("controls %v, want false", got)
	}
	if n := len(at(t, raw, "origins").([]any)); n != 2 {
		t.Fatalf("%d origins, want 2", n)
	}

	// The open origin comes first.
	open := at(t, raw, "origins", 0)
	if got, want := keys(t, open), "breaker,budget,origin,until_half_open_seconds"; got != want {
		t.Errorf("open origin's keys %s, want %s", got, want)
	}
	checks := []struct {
		steps []any
		want  any
	}{
		{[]any{"origin"}, "http://down.test:80"},
		{[]any{"breaker", "state"}, "open"},
		{[]any{"breaker", "generation"}, 2.0},
		{[]any{"breaker", "last_change", "from"}, "closed"},
		{[]any{"breaker", "last_change", "to"}, "open"},
		{[]any{"breaker", "last_change", "generation"}, 2.0},
		{[]any{"breaker", "last_change", "cause"}, "failures"},
		{[]any{"budget", "calls"}, 1.0},
		{[]any{"budget", "retries"}, 1.0},
		{[]any{"budget", "available"}, 9.0}, // int(0.5*1) + 10 - 1
	}
	for _, ck := range checks {
		if got := at(t, open, ck.steps...); got != ck.want {
			t.Errorf("origins[0]%v = %v, want %v", ck.steps, got, ck.want)
		}
	}
	until, err := time.Parse(time.RFC3339Nano, at(t, open, "breaker", "until").(string))
	if err != nil || until.Before(before.Add(time.Minute)) || until.After(after.Add(time.Minute)) {
		t.Errorf("breaker.until %v (%v), want a minute after the failures", until, err)
	}
	if lc := at(t, open, "breaker", "last_change", "until"); lc != at(t, open, "breaker", "until") {
		t.Errorf("last_change.until %v, want the breaker's until", lc)
	}
	if s := at(t, open, "until_half_open_seconds").(float64); s <= 55 || s > 60 {
		t.Errorf("until_half_open_seconds %v, want just under 60", s)
	}

	closed := at(t, raw, "origins", 1)
	if got, want := keys(t, closed), "breaker,budget,origin"; got != want {
		t.Errorf("closed origin's keys %s, want %s (no until_half_open_seconds)", got, want)
	}
	for _, ck := range []struct {
		steps []any
		want  any
	}{
		{[]any{"origin"}, "http://up.test:80"},
		{[]any{"breaker", "state"}, "closed"},
		{[]any{"breaker", "generation"}, 1.0},
		{[]any{"budget", "calls"}, 3.0},
		{[]any{"budget", "retries"}, 0.0},
		{[]any{"budget", "available"}, 11.0}, // int(0.5*3) + 10
	} {
		if got := at(t, closed, ck.steps...); got != ck.want {
			t.Errorf("origins[1]%v = %v, want %v", ck.steps, got, ck.want)
		}
	}
	if _, ok := at(t, closed, "breaker").(map[string]any)["last_change"]; ok {
		t.Errorf("a breaker that never changed has a last_change")
	}

	giveUps := at(t, raw, "give_ups").([]any)
	if len(giveUps) != 1 {
		t.Fatalf("%d give-ups, want 1", len(giveUps))
	}
	for _, ck := range []struct {
		steps []any
		want  any
	}{
		{[]any{"stop"}, "circuit_open"},
		{[]any{"attempt", "method"}, "GET"},
		{[]any{"attempt", "origin"}, "http://down.test:80"},
		{[]any{"attempt", "path"}, "/x/%3Cscript%3E"},
		{[]any{"attempt", "n"}, 2.0},
		{[]any{"attempt", "max"}, 3.0},
	} {
		if got := at(t, giveUps[0], ck.steps...); got != ck.want {
			t.Errorf("give_ups[0]%v = %v, want %v", ck.steps, got, ck.want)
		}
	}
	if when, err := time.Parse(time.RFC3339Nano, at(t, giveUps[0], "at").(string)); err != nil || when.Before(before) || when.After(after) {
		t.Errorf("give_ups[0].at %v (%v), want during the calls", when, err)
	}

	// With controls, the flag says so; the query of a call never shows.
	rec := serve(Handler(c, WithHosts("example.com"), WithControls()), http.MethodGet, "/state.json", nil)
	if !strings.Contains(rec.Body.String(), `"controls": true`) {
		t.Errorf("with WithControls, controls is not true:\n%s", rec.Body)
	}
	if strings.Contains(rec.Body.String(), "hunter2") {
		t.Errorf("the JSON shows a query string")
	}
}

// TestJSON_R63_EmptyLists checks that a client with no state gives empty
// lists, not nulls.
func TestJSON_R63_EmptyLists(t *testing.T) {
	c := newClient(t, nil)
	rec := serve(Handler(c, WithHosts("example.com")), http.MethodGet, "/state.json", nil)
	for _, want := range []string{`"origins": []`, `"give_ups": []`, `"origins_total": 0`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, rec.Body)
		}
	}
}

// TestJSON_R63_BudgetOnlyOrigins: with the breaker disabled, origins come
// from the budgets alone, with no breaker and no until_half_open_seconds.
func TestJSON_R63_BudgetOnlyOrigins(t *testing.T) {
	c := newClient(t, nil, httpclient.WithCircuitBreaker(0, 0))
	get(t, c, "http://b.test/")
	get(t, c, "http://a.test/")
	raw, _ := getState(t, Handler(c, WithHosts("example.com")))
	for i, want := range []string{"http://a.test:80", "http://b.test:80"} {
		o := at(t, raw, "origins", i)
		if got := keys(t, o); got != "budget,origin" {
			t.Errorf("origins[%d] keys %s, want budget,origin", i, got)
		}
		if got := at(t, o, "origin"); got != want {
			t.Errorf("origins[%d] = %v, want %s", i, got, want)
		}
	}
	page := serve(Handler(c, WithHosts("example.com")), http.MethodGet, "/", nil).Body.String()
	if !strings.Contains(page, "no breaker") || strings.Count(page, `class="state-closed"`) != 2 {
		t.Errorf("the page does not show two origins with no breaker:\n%s", page)
	}
}

// TestOrigins_R63_OrderedAndBounded: 5000 origins, 50 listed: open first
// (by name), then half-open, then closed by name; the rest counted; the
// page stays small.
func TestOrigins_R63_OrderedAndBounded(t *testing.T) {
	c := newClient(t, nil, httpclient.WithOriginLimit(10000, time.Hour))
	const total = 5000
	name := func(i int) string { return fmt.Sprintf("http://h%04d.test", i) }
	for i := range total {
		get(t, c, name(i)+"/")
	}
	// Open and half-open circuits among the last names, so that only the
	// ordering can bring them first.
	for _, i := range []int{4990, 4970, 4980} {
		if err := c.Isolate(name(i), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{4999, 4985} {
		if err := c.Isolate(name(i), time.Nanosecond); err != nil {
			t.Fatal(err)
		}
	}
	// The two isolations of a nanosecond end as the clock moves on: the
	// circuits are half-open (no sleep: a read of the clock is the wait).
	for _, i := range []int{4999, 4985} {
		for s, _ := c.Breaker(name(i)); s.State != breaker.HalfOpen; s, _ = c.Breaker(name(i)) {
			if s.State != breaker.Open {
				t.Fatalf("%s is %v, want open then half-open", name(i), s.State)
			}
		}
	}

	for _, controls := range []bool{false, true} {
		opts := []Option{WithHosts("example.com"), WithMaxOrigins(50)}
		if controls {
			opts = append(opts, WithControls())
		}
		h := Handler(c, opts...)
		_, st := getState(t, h)
		if st.OriginsTotal != total || st.OriginsOmitted != total-50 || len(st.Origins) != 50 {
			t.Fatalf("total %d, omitted %d, listed %d; want %d, %d, 50", st.OriginsTotal, st.OriginsOmitted, len(st.Origins), total, total-50)
		}
		var want []string
		for _, i := range []int{4970, 4980, 4990, 4985, 4999} {
			want = append(want, name(i)+":80")
		}
		for i := 0; len(want) < 50; i++ {
			if i != 4970 && i != 4980 && i != 4990 && i != 4985 && i != 4999 {
				want = append(want, name(i)+":80")
			}
		}
		for i, o := range st.Origins {
			if o.Origin != want[i] {
				t.Fatalf("origins[%d] = %s, want %s", i, o.Origin, want[i])
			}
		}
		for i, s := range []string{"open", "open", "open", "half-open", "half-open", "closed"} {
			if got := st.Origins[i].Breaker.State; got != s {
				t.Errorf("origins[%d] is %s, want %s", i, got, s)
			}
		}

		rec := serve(h, http.MethodGet, "/", nil)
		page := rec.Body.String()
		if rec.Body.Len() >= 64<<10 {
			t.Errorf("controls %v: the page is %d bytes, want under 64 KiB", controls, rec.Body.Len())
		}
		if n := strings.Count(page, "<tr class=\"state-"); n != 50 {
			t.Errorf("controls %v: the page has %d origin rows, want 50", controls, n)
		}
		if !strings.Contains(page, "4950 more origins not listed") {
			t.Errorf("controls %v: the page does not say how many more origins there are", controls)
		}
		if !strings.Contains(page, "5000 origins: 3 open, 2 half-open, 4995 closed") {
			t.Errorf("controls %v: the page's counts are wrong", controls)
		}
		t.Logf("controls %v: page %d bytes", controls, rec.Body.Len())
	}

	// The default is 200.
	if _, st := getState(t, Handler(c, WithHosts("example.com"))); len(st.Origins) != 200 || st.OriginsOmitted != total-200 {
		t.Errorf("default: %d listed, %d omitted; want 200, %d", len(st.Origins), st.OriginsOmitted, total-200)
	}
	if _, st := getState(t, Handler(c, WithHosts("example.com"), WithMaxOrigins(0), nil)); len(st.Origins) != 200 {
		t.Errorf("WithMaxOrigins(0): %d listed, want the default 200", len(st.Origins))
	}
}

// TestHandler_R63_NilClient: a nil client gives a handler that answers 500
// with a clear message, and does not panic.
func TestHandler_R63_NilClient(t *testing.T) {
	h := Handler(nil, WithHosts("example.com"), WithControls())
	for _, target := range []string{"/", "/state.json", "/isolate"} {
		rec := serve(h, http.MethodGet, target, nil)
		if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "nil *httpclient.Client") {
			t.Errorf("GET %s: %d %q, want 500 naming the nil client", target, rec.Code, rec.Body)
		}
		checkSecurityHeaders(t, "nil client", rec.Header())
	}
}

// TestRoutes_R63_MethodsAndPaths: GET and HEAD on the page and the JSON,
// 405 with Allow for other methods, 404 elsewhere.
func TestRoutes_R63_MethodsAndPaths(t *testing.T) {
	h := Handler(newClient(t, nil), WithHosts("example.com"))
	for _, target := range []string{"", "/", "/state.json"} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			req := serveTarget(h, m, target)
			if req.Code != http.StatusOK {
				t.Errorf("%s %q: %d, want 200", m, target, req.Code)
			}
		}
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			rec := serveTarget(h, m, target)
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %q: %d Allow %q, want 405 with Allow: GET, HEAD", m, target, rec.Code, rec.Header().Get("Allow"))
			}
			checkSecurityHeaders(t, m+" "+target, rec.Header())
		}
	}
	for _, target := range []string{"/nope", "/state.json/", "/index.html"} {
		if rec := serveTarget(h, http.MethodGet, target); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, rec.Code)
		}
	}
}

// TestRoutes_R63_HeadHasNoBody: HEAD answers the headers of GET, with a
// Content-Length, and no body, whatever serves the handler: a
// ResponseRecorder records what the handler writes, and a real server
// reports the length.
func TestRoutes_R63_HeadHasNoBody(t *testing.T) {
	c := newClient(t, []string{"down.test"})
	get(t, c, "http://down.test/x")
	for _, h := range []http.Handler{Handler(c, WithHosts("example.com")), Handler(c, WithHosts("example.com"), WithControls()), Handler(nil, WithHosts("example.com"))} {
		for _, target := range []string{"", "/", "/state.json", "/nope", "/isolate"} {
			getRec := serveTarget(h, http.MethodGet, target)
			rec := serveTarget(h, http.MethodHead, target)
			if rec.Code != getRec.Code {
				t.Errorf("HEAD %q: %d, GET %d", target, rec.Code, getRec.Code)
			}
			if rec.Body.Len() != 0 {
				t.Errorf("HEAD %q: %d bytes of body, want none", target, rec.Body.Len())
			}
			if ct, want := rec.Header().Get("Content-Type"), getRec.Header().Get("Content-Type"); ct != want {
				t.Errorf("HEAD %q: Content-Type %q, GET %q", target, ct, want)
			}
			checkSecurityHeaders(t, "HEAD "+target, rec.Header())
			if getRec.Code == http.StatusOK {
				if cl := getRec.Header().Get("Content-Length"); cl != strconv.Itoa(getRec.Body.Len()) {
					t.Errorf("GET %q: Content-Length %q for %d bytes", target, cl, getRec.Body.Len())
				}
				if n, err := strconv.Atoi(rec.Header().Get("Content-Length")); err != nil || n < 100 {
					t.Errorf("HEAD %q: Content-Length %q, want the length of the answer", target, rec.Header().Get("Content-Length"))
				}
			}
		}
	}

	srv := httptest.NewServer(Handler(c, WithHosts("example.com")))
	defer srv.Close()
	for _, p := range []string{"/", "/state.json"} {
		resp, err := srv.Client().Head(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.ContentLength < 100 {
			t.Errorf("HEAD %s over the wire: %d, %d bytes of body, Content-Length %d", p, resp.StatusCode, len(body), resp.ContentLength)
		}
	}
	srv.Client().CloseIdleConnections()
}
