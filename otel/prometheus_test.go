package otel_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/otel"
)

// promSetup is the documented way to /metrics: OpenTelemetry's Prometheus
// exporter as the MeterProvider's reader, registered on a Prometheus
// registry that promhttp serves.
func promSetup(t testing.TB) (http.Handler, *sdkmetric.MeterProvider) {
	t.Helper()
	reg := promclient.NewRegistry()
	exp, err := prometheus.New(prometheus.WithRegisterer(reg), prometheus.WithoutScopeInfo())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), mp
}

// scrape GETs /metrics and returns its lines.
func scrape(t *testing.T, h http.Handler) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	var lines []string
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// sample writes a text-format sample with its labels sorted, so that
// samples compare whatever order the exporter writes them in.
func sample(l string) string {
	open, end := strings.IndexByte(l, '{'), strings.LastIndexByte(l, '}')
	if open < 0 || end < open {
		return l
	}
	labels := strings.Split(l[open+1:end], ",")
	slices.Sort(labels)
	return l[:open] + "{" + strings.Join(labels, ",") + "}" + l[end+1:]
}

// TestPrometheus_R65_Names: through the exporter, the metrics have the
// names Prometheus users expect (the unit as a suffix, _total on
// counters), their types, and the values of a scripted call: 503, then a
// 200; then an open circuit.
func TestPrometheus_R65_Names(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, mp := promSetup(t)
		inst, err := otel.New(otel.WithMeterProvider(mp), otel.WithTracerProvider(tracenoop.NewTracerProvider()))
		if err != nil {
			t.Fatal(err)
		}
		srv, c := memClient(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("ok")}, inst.Hooks(),
			httpclient.WithCircuitBreaker(5, time.Minute))
		stop, err := inst.Observe(c)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		resp, err := c.Get(context.Background(), "/orders/7?token=secret")
		if err != nil {
			t.Fatal(err)
		}
		drain(t, resp)
		if err := c.Isolate(srv.URL, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(context.Background(), "/orders/8"); err == nil {
			t.Fatal("the isolated origin answered")
		}

		lines := scrape(t, h)
		text := strings.Join(lines, "\n")
		var samples []string
		for _, l := range lines {
			if !strings.HasPrefix(l, "#") {
				samples = append(samples, sample(l))
			}
		}
		for _, typ := range []string{
			"http_client_request_duration_seconds histogram",
			"tempest_client_call_duration_seconds histogram",
			"tempest_client_calls_total counter",
			"tempest_client_attempts_total counter",
			"tempest_client_retries_total counter",
			"tempest_client_fast_fails_total counter",
			"tempest_client_breaker_transitions_total counter",
			"tempest_client_breaker_state gauge",
			"tempest_client_breaker_until_half_open_seconds gauge",
		} {
			if !slices.Contains(lines, "# TYPE "+typ) {
				t.Errorf("no # TYPE %s in:\n%s", typ, text)
			}
		}
		common := `server_address="upstream.test",server_port="80",url_scheme="http"`
		for _, want := range []string{
			`http_client_request_duration_seconds_count{error_type="503",http_request_method="GET",http_response_status_code="503",` + common + `} 1`,
			`http_client_request_duration_seconds_count{http_request_method="GET",http_request_resend_count="1",http_response_status_code="200",` + common + `} 1`,
			`http_client_request_duration_seconds_bucket{http_request_method="GET",http_request_resend_count="1",http_response_status_code="200",` + common + `,le="0.005"} 1`,
			`tempest_client_calls_total{http_request_method="GET",http_response_status_code="200",` + common + `,tempest_stop="settled"} 1`,
			`tempest_client_calls_total{error_type="circuit_open",http_request_method="GET",` + common + `,tempest_stop="circuit_open"} 1`,
			`tempest_client_retries_total{http_request_method="GET",` + common + `,tempest_retry_after="false",tempest_retry_reason="status"} 1`,
			`tempest_client_fast_fails_total{http_request_method="GET",` + common + `} 1`,
			`tempest_client_breaker_state{` + common + `,tempest_breaker_state="open"} 1`,
			`tempest_client_breaker_state{` + common + `,tempest_breaker_state="closed"} 0`,
			`tempest_client_breaker_until_half_open_seconds{` + common + `} 60`,
		} {
			if !slices.Contains(samples, sample(want)) {
				t.Errorf("no sample\n\t%s\nin:\n%s", want, text)
			}
		}
		if strings.Contains(text, "orders") || strings.Contains(text, "secret") {
			t.Errorf("a path or a query reached /metrics:\n%s", text)
		}
		// Every counter ends in _total and every duration in _seconds.
		re := regexp.MustCompile(`^# TYPE (\S+) (\S+)$`)
		for _, l := range lines {
			m := re.FindStringSubmatch(l)
			if m == nil || !strings.HasPrefix(m[1], "tempest_") && !strings.HasPrefix(m[1], "http_client_") {
				continue
			}
			if m[2] == "counter" && !strings.HasSuffix(m[1], "_total") || strings.Contains(m[1], "duration") && !strings.HasSuffix(m[1], "_seconds") {
				t.Errorf("%s is a %s without the suffix Prometheus expects", m[1], m[2])
			}
		}
	})
}

// Serve the metrics on /metrics for Prometheus: OpenTelemetry's Prometheus
// exporter is the MeterProvider's reader, and promhttp serves its registry.
// The names follow Prometheus' rules: the unit as a suffix, _total on
// counters.
func Example_prometheus() {
	reg := promclient.NewRegistry()
	exporter, err := prometheus.New(prometheus.WithRegisterer(reg), prometheus.WithoutScopeInfo())
	if err != nil {
		log.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())

	inst, err := otel.New(otel.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("hello")})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL, httpclient.WithHooks(inst.Hooks()), quick)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	stop, err := inst.Observe(client)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// In a service: go http.ListenAndServe("127.0.0.1:9464", mux)

	fetch(client, "/greeting")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, "# TYPE tempest_client_calls") || strings.HasPrefix(l, "# TYPE tempest_client_retries") ||
			strings.HasPrefix(l, "# TYPE http_client_request_duration") {
			fmt.Println(l)
		}
	}
	// Output:
	// # TYPE http_client_request_duration_seconds histogram
	// # TYPE tempest_client_calls_total counter
	// # TYPE tempest_client_retries_total counter
}
