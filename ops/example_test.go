package ops_test

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/ops"
)

// upstreams answers every request in memory, so that the examples need no
// network: 503 from billing.internal, 200 from the others.
type upstreams struct{}

func (upstreams) RoundTrip(r *http.Request) (*http.Response, error) {
	code := http.StatusOK
	if r.URL.Hostname() == "billing.internal" {
		code = http.StatusServiceUnavailable
	}
	return &http.Response{
		StatusCode: code, Status: http.StatusText(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r,
	}, nil
}

// exampleClient returns a client over upstreams whose circuit opens after
// two failures, and calls each of hosts once.
func exampleClient(hosts ...string) *httpclient.Client {
	client, err := httpclient.New("",
		httpclient.WithTransport(upstreams{}),
		httpclient.WithCircuitBreaker(2, time.Minute),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond, Jitter: -1}),
	)
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range hosts {
		resp, err := client.Get(context.Background(), "https://"+h+"/")
		if err == nil {
			resp.Body.Close()
		}
	}
	return client
}

// state is the part of /state.json the examples print.
type state struct {
	Origins []struct {
		Origin  string `json:"origin"`
		Breaker struct {
			State string `json:"state"`
		} `json:"breaker"`
	} `json:"origins"`
	OriginsTotal   int  `json:"origins_total"`
	OriginsOmitted int  `json:"origins_omitted"`
	Controls       bool `json:"controls"`
}

func getState(h http.Handler, target string) state {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	var st state
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		log.Fatal(err)
	}
	return st
}

// The handler mounted under /debug/ops/ of an admin mux: billing.internal
// failed twice, so its circuit is open and listed first.
func ExampleHandler() {
	client := exampleClient("billing.internal", "search.internal")
	defer client.Close()

	admin := http.NewServeMux()
	admin.Handle("/debug/ops/", http.StripPrefix("/debug/ops", ops.Handler(client, ops.WithHosts("example.com"))))

	st := getState(admin, "/debug/ops/state.json")
	fmt.Println("origins_total:", st.OriginsTotal)
	for _, o := range st.Origins {
		fmt.Println(o.Origin, o.Breaker.State)
	}
	fmt.Println("controls:", st.Controls)
	// Output:
	// origins_total: 2
	// https://billing.internal:443 open
	// https://search.internal:443 closed
	// controls: false
}

// The handler on an internal port of its own, behind the service's own
// authentication (here HTTP basic authentication, standing in for whatever
// the service already uses). It is not run: it would listen.
func ExampleHandler_adminListener() {
	client, err := httpclient.New("https://billing.internal")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	admin := http.NewServeMux()
	admin.Handle("/debug/ops/", http.StripPrefix("/debug/ops", ops.Handler(client, ops.WithHosts("ops.internal"), ops.WithControls())))
	srv := &http.Server{
		Addr:              "127.0.0.1:9090", // an internal port, not the public listener
		Handler:           requireOperator("operator", passwordFromSecretStore(), admin),
		ReadHeaderTimeout: 5 * time.Second,
	}
	log.Fatal(srv.ListenAndServe())
}

// requireOperator lets through the requests that carry the operator's
// name and password, and answers 401 to the others; an empty password lets
// nobody through.
func requireOperator(user, password string, next http.Handler) http.Handler {
	wantUser, wantPassword := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gotUser, gotPassword := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		match := subtle.ConstantTimeCompare(gotUser[:], wantUser[:]) & subtle.ConstantTimeCompare(gotPassword[:], wantPassword[:])
		if !ok || password == "" || match != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="operators", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// passwordFromSecretStore stands in for where the service keeps its
// secrets.
func passwordFromSecretStore() string { return "" }

// With WithControls, the page has forms to isolate an origin and reset its
// breaker. A script can use them too: it reads the token from the page and
// posts it in the form body; without the token a POST is refused.
func ExampleWithControls() {
	client := exampleClient("search.internal")
	defer client.Close()
	h := ops.Handler(client, ops.WithHosts("example.com"), ops.WithControls())
	fmt.Println("controls:", getState(h, "/state.json").Controls)

	post := func(path string, form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	form := url.Values{"origin": {"https://search.internal"}, "for": {"10m"}}
	fmt.Println("without the token:", post("/isolate", form).Code)

	page := httptest.NewRecorder()
	h.ServeHTTP(page, httptest.NewRequest(http.MethodGet, "/", nil))
	form.Set("token", regexp.MustCompile(`name="token" value="([0-9a-f]{64})"`).FindStringSubmatch(page.Body.String())[1])
	var answer struct {
		Action  string `json:"action"`
		Breaker struct {
			State string `json:"state"`
		} `json:"breaker"`
	}
	rec := post("/isolate", form)
	json.Unmarshal(rec.Body.Bytes(), &answer)
	fmt.Println("with the token:", rec.Code, answer.Action, answer.Breaker.State)

	form.Del("for")
	rec = post("/reset", form)
	json.Unmarshal(rec.Body.Bytes(), &answer)
	fmt.Println("reset:", rec.Code, answer.Action, answer.Breaker.State)
	// Output:
	// controls: true
	// without the token: 403
	// with the token: 200 isolate open
	// reset: 200 reset closed
}

// WithMaxOrigins bounds what is listed: open circuits first, then the
// others by name; the rest are counted in origins_omitted.
func ExampleWithMaxOrigins() {
	client := exampleClient("a.internal", "b.internal", "c.internal", "d.internal", "billing.internal")
	defer client.Close()

	st := getState(ops.Handler(client, ops.WithHosts("example.com"), ops.WithMaxOrigins(3)), "/state.json")
	for _, o := range st.Origins {
		fmt.Println(o.Origin, o.Breaker.State)
	}
	fmt.Println("origins_total:", st.OriginsTotal, "origins_omitted:", st.OriginsOmitted)
	// Output:
	// https://billing.internal:443 open
	// https://a.internal:443 closed
	// https://b.internal:443 closed
	// origins_total: 5 origins_omitted: 2
}

// TestExample_R63_RequireOperator checks the authentication the admin
// listener example shows, so that the docs do not quote a broken one.
func TestExample_R63_RequireOperator(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ops") })
	for _, tc := range []struct {
		name, password, user, pass string
		basic                      bool
		want                       int
	}{
		{"right", "s3cret", "operator", "s3cret", true, http.StatusOK},
		{"no credentials", "s3cret", "", "", false, http.StatusUnauthorized},
		{"wrong password", "s3cret", "operator", "s3cre", true, http.StatusUnauthorized},
		{"wrong user", "s3cret", "admin", "s3cret", true, http.StatusUnauthorized},
		{"empty password configured", "", "operator", "", true, http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(http.MethodGet, "/debug/ops/", nil)
		if tc.basic {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		rec := httptest.NewRecorder()
		requireOperator("operator", tc.password, ok).ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
		}
		if rec.Code == http.StatusUnauthorized && (rec.Header().Get("WWW-Authenticate") == "" || strings.Contains(rec.Body.String(), "ops")) {
			t.Errorf("%s: 401 without a challenge, or with the page", tc.name)
		}
	}
}
