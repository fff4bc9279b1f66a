package redisstore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// R71: through httpclient.RateLimit.Gate, two clients (two replicas) share
// the limit: calls past it fail fast with a *httpclient.RateLimitError and
// never reach the upstream.
func TestGate_R71_HTTPClient(t *testing.T) {
	rdb := urlClient(t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	limit := ratelimit.Limit{Rate: 2, Per: time.Hour, Burst: 2}
	ns := namespace(t)
	var clients []*httpclient.Client
	for _, c := range []*redis.Client{rdb, another(t, rdb)} {
		s := newStore(t, c, redisstore.WithNamespace(ns), redisstore.WithTimeout(time.Second))
		gate := newGate(t, s, "upstream", limit)
		hc, err := httpclient.New(srv.URL, httpclient.WithRateLimit(httpclient.RateLimit{Gate: gate, FailFast: true}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { hc.Close() })
		clients = append(clients, hc)
	}

	ctx := context.Background()
	var ok, limited int
	for i := range 6 {
		resp, err := clients[i%2].Get(ctx, "/")
		var rle *httpclient.RateLimitError
		switch {
		case err == nil:
			resp.Body.Close()
			ok++
		case errors.As(err, &rle) && errors.Is(err, httpclient.ErrRateLimited):
			limited++
			if rle.RetryAfter < 29*time.Minute || rle.RetryAfter > 30*time.Minute {
				t.Errorf("RetryAfter %v at 2 per hour after the burst, want about 30m", rle.RetryAfter)
			}
		default:
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if ok != 2 || limited != 4 || hits.Load() != 2 {
		t.Errorf("%d calls went through, %d were rate limited, the upstream saw %d; want 2, 4, 2", ok, limited, hits.Load())
	}
}
