package ops

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclient"
)

// TestPage_R63_Escaped: what the client recorded reaches the page through
// html/template: an escaped path stays escaped, a quote becomes an entity,
// and no query string shows.
func TestPage_R63_Escaped(t *testing.T) {
	c := newClient(t, []string{"down.test"})
	get(t, c, "http://down.test/%3Cscript%3Ealert(1)%3C/script%3E'onmouseover=x?token=hunter2")
	rec := serve(Handler(c, WithHosts("example.com"), WithControls()), http.MethodGet, "/", nil)
	page := rec.Body.String()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	checkSecurityHeaders(t, "GET /", rec.Header())
	if !strings.Contains(page, "<code>/%3Cscript%3Ealert%281%29%3C/script%3E&#39;onmouseover=x</code>") &&
		!strings.Contains(page, "<code>/%3Cscript%3Ealert(1)%3C/script%3E&#39;onmouseover=x</code>") {
		t.Errorf("the give-up's path is not shown escaped:\n%s", page)
	}
	for _, bad := range []string{"<script", "'onmouseover", "hunter2"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	for _, want := range []string{`id="breakers"`, `id="give-ups"`, `<tr class="state-open">`, `http-equiv="refresh" content="5"`, "internal port", "authentication"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// TestPage_R63_TemplateEscapes renders hostile values straight into the
// template: every field is escaped for its context, the concurrency
// column and its limit form (R75) included.
func TestPage_R63_TemplateEscapes(t *testing.T) {
	evil := `"><script>alert(1)</script><x y='`
	p := page{
		Generated: evil, Total: 1, Controls: true, Token: evil, Action: "javascript:alert(1)//", Concurrency: true,
		Rows: []row{{
			Origin: evil, State: evil, UntilHalfOpen: evil,
			Change: &change{From: evil, To: evil, Cause: evil, At: evil, Ago: evil},
			Budget: &httpclient.BudgetStatus{},
			Conc:   &concurrency.Snapshot{Limit: 1, InFlight: 1}, Saturated: true,
		}},
		GiveUps: []giveUp{{At: evil, Ago: evil, Method: evil, Origin: evil, Path: evil, Stop: evil}},
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"<script", "<x y", `action="javascript:`} {
		if strings.Contains(out, bad) {
			t.Errorf("the rendered page contains %q", bad)
		}
	}
	if !strings.Contains(out, "&lt;script&gt;") {
		t.Errorf("no escaped markup in the page: was the value dropped?")
	}
}

// TestPage_R63_SecurityHeaders: every kind of answer carries the headers.
func TestPage_R63_SecurityHeaders(t *testing.T) {
	h := Handler(newClient(t, nil), WithHosts("example.com"), WithControls())
	for _, tc := range []struct{ method, target string }{
		{http.MethodGet, "/"}, {http.MethodGet, "/state.json"}, {http.MethodGet, "/missing"},
		{http.MethodPost, "/"}, {http.MethodGet, "/isolate"}, {http.MethodPost, "/isolate"}, {http.MethodPost, "/reset"},
		{http.MethodGet, "/limit"}, {http.MethodPost, "/limit"},
	} {
		rec := serve(h, tc.method, tc.target, nil)
		checkSecurityHeaders(t, tc.method+" "+tc.target, rec.Header())
	}
}

// TestPage_R63_FormActionsBesideThePage: the forms resolve beside the page
// wherever it is mounted, with or without the prefix's slash.
func TestPage_R63_FormActionsBesideThePage(t *testing.T) {
	c := newClient(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/debug/ops/", http.StripPrefix("/debug/ops", Handler(c, WithHosts("example.com"), WithControls())))
	mux.Handle("/admin/", http.StripPrefix("/admin/", Handler(c, WithHosts("example.com"), WithControls())))
	mux.Handle("/x/a:b", http.StripPrefix("/x/a:b", Handler(c, WithHosts("example.com"), WithControls())))
	for _, tc := range []struct{ page, action string }{
		{"/debug/ops/", `action="./isolate"`},
		{"/admin/", `action="./isolate"`},
		{"/x/a:b", `action="./a:b/isolate"`},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.page, nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tc.action) {
			t.Errorf("GET %s: %d, want a page with %s", tc.page, rec.Code, tc.action)
		}
	}

	// A POST through the mount lands and redirects back to the page.
	tok := tokenRE.FindStringSubmatch(serve(mux, http.MethodGet, "/debug/ops/", nil).Body.String())[1]
	rec := serve(mux, http.MethodPost, "/debug/ops/isolate", map[string][]string{"origin": {"http://x.test"}, "for": {"1m"}, "token": {tok}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("POST through the mount: %d %s", rec.Code, rec.Body)
	}
	if s, _ := c.Breaker("http://x.test"); s.State.String() != "open" || time.Until(s.Until) > time.Minute {
		t.Errorf("after the POST, x.test is %v until %v", s.State, s.Until)
	}
}
