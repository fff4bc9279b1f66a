package otel

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/tempestsdk/tempest/httpclient"
)

// R67 / creed: 1e5 calls hook-driven over distinct origins, ports, custom
// methods, statuses and attempt numbers: the Instrumentation's own maps
// stay bounded (origins at max + the _OTHERs, the set cache at
// maxCachedSets). (Held up.)
func TestAdv_R67_InternalMapsBounded(t *testing.T) {
	i, err := New(WithMeterProvider(metricnoop.NewMeterProvider()), WithTracerProvider(tracenoop.NewTracerProvider()), WithMaxOrigins(10))
	if err != nil {
		t.Fatal(err)
	}
	h := i.Hooks()
	ctx := context.Background()
	for n := range 100000 {
		origin := fmt.Sprintf("http://h%d.example:%d", n, 1+n%65535)
		if n%3 == 0 {
			origin = fmt.Sprintf("weird%d://x", n)
		}
		m := fmt.Sprintf("M%d", n)
		call := httpclient.Call{Method: m, Origin: origin, Path: "/p"}
		cctx := h.CallStart(ctx, (*http.Request)(nil), call)
		a := httpclient.Attempt{Method: m, Origin: origin, N: n % 50, Hedge: n % 7}
		actx := h.AttemptStart(cctx, nil, a)
		if actx == nil {
			actx = cctx
		}
		h.AttemptDone(actx, a, httpclient.AttemptResult{Status: 100 + n%500, Class: httpclient.ClassStatus})
		h.Retry(cctx, httpclient.RetryEvent{Attempt: a})
		h.GiveUp(cctx, a, httpclient.Stop(fmt.Sprint("stop", n%3)))
		h.CallDone(cctx, call, httpclient.CallResult{Status: 100 + n%500, Stop: httpclient.StopSettled})
	}
	i.origins.mu.RLock()
	defer i.origins.mu.RUnlock()
	var sets int
	for _, o := range i.origins.all {
		o.mu.RLock()
		sets += len(o.sets)
		o.mu.RUnlock()
	}
	if len(i.origins.byName) > 10 || len(i.origins.all) > 13 || sets > maxCachedSets+64 {
		t.Errorf("byName %d, all %d, cached sets %d", len(i.origins.byName), len(i.origins.all), sets)
	}
}
