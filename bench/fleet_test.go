package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/internal/redistest"
	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// The fleet's costs (issue 12): what sharing breakers and rate limits
// through Redis adds to a call, and the same work beside gobreaker v2's
// DistributedCircuitBreaker. Each starts a private redis-server
// (internal/redistest); without one they skip.

// cmdCounter counts the commands a go-redis client sends, pipelines
// included.
type cmdCounter struct{ n atomic.Int64 }

func (c *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// newRedis returns a client of addr counting its commands, closed at the
// end of the benchmark.
func newRedis(tb testing.TB, addr string) (*redis.Client, *cmdCounter) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	cc := &cmdCounter{}
	rdb.AddHook(cc)
	tb.Cleanup(func() { rdb.Close() })
	return rdb, cc
}

// BenchmarkFleetSuccessPath is the success path of a closed breaker (a GET
// over the in-memory transport) with and without breakers shared through
// Redis: the shared one must make no Redis round trip and cost nothing
// measurable. It reports Redis commands per call.
func BenchmarkFleetSuccessPath(b *testing.B) {
	srv := redistest.Start(b)
	for _, shared := range []bool{false, true} {
		name := "client=tempest"
		opts := []httpclient.Option{httpclient.WithTransport(&memTransport{status: 200, body: smallBody})}
		var cc *cmdCounter
		if shared {
			name = "client=tempest+shared-breakers"
			var rdb *redis.Client
			rdb, cc = newRedis(b, srv.Addr())
			st, err := redisstore.New(rdb, redisstore.WithLogger(nil))
			if err != nil {
				b.Fatal(err)
			}
			brs, err := st.Breakers(redisstore.WithPollInterval(time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { brs.Close() })
			opts = append(opts, httpclient.WithSharedBreakers(brs))
		}
		c, err := httpclient.New(memBase, opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			get := func() {
				resp, err := c.Get(ctx, memPath)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			get() // the origin's first use: Learn
			var before int64
			if cc != nil {
				before = cc.n.Load()
			}
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
			if cc != nil {
				b.ReportMetric(float64(cc.n.Load()-before)/float64(b.N), "redis-cmds/op")
			}
		})
		c.Close()
	}
}

// BenchmarkFleetRateGate is one admitted Take of a rate limit: local
// (ratelimit.Limiter), shared through Redis, and shared with a lease of 100
// events per round trip. The limit is high enough that nothing waits.
func BenchmarkFleetRateGate(b *testing.B) {
	srv := redistest.Start(b)
	limit := ratelimit.Limit{Rate: 1 << 19, Per: time.Millisecond, Burst: 1 << 19}
	local, err := ratelimit.New(limit)
	if err != nil {
		b.Fatal(err)
	}
	gates := []struct {
		name string
		g    ratelimit.Gate
		cc   *cmdCounter
	}{{"gate=local", local, nil}}
	for _, lease := range []int{1, 100} {
		rdb, cc := newRedis(b, srv.Addr())
		st, err := redisstore.New(rdb, redisstore.WithLogger(nil))
		if err != nil {
			b.Fatal(err)
		}
		g, err := st.RateGate(fmt.Sprintf("bench-%d", lease), ratelimit.Limit{Rate: 1000000, Burst: 100000}, redisstore.WithLease(lease))
		if err != nil {
			b.Fatal(err)
		}
		gates = append(gates, struct {
			name string
			g    ratelimit.Gate
			cc   *cmdCounter
		}{fmt.Sprintf("gate=redis/lease=%d", lease), g, cc})
	}
	for _, gt := range gates {
		b.Run(gt.name, func(b *testing.B) {
			ctx := context.Background()
			var before int64
			if gt.cc != nil {
				before = gt.cc.n.Load()
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gt.g.Take(ctx, time.Now(), 0); err != nil {
					b.Fatal(err)
				}
			}
			if gt.cc != nil {
				b.ReportMetric(float64(gt.cc.n.Load()-before)/float64(b.N), "redis-cmds/op")
			}
		})
	}
}

// gobreakerStore is a minimal go-redis SharedDataStore written to
// gobreaker v2.4.0's interface (gobreaker ships the interface, no store):
// Lock is SET NX with gobreaker's 5 s mutex timeout, Unlock DEL, GetData GET
// (a missing key is empty data), SetData SET.
type gobreakerStore struct{ rdb *redis.Client }

var errLocked = errors.New("gobreakerStore: locked")

func (s gobreakerStore) Lock(name string) error {
	ok, err := s.rdb.SetNX(context.Background(), name, 1, 5*time.Second).Result()
	if err == nil && !ok {
		err = errLocked
	}
	return err
}

func (s gobreakerStore) Unlock(name string) error {
	return s.rdb.Del(context.Background(), name).Err()
}

func (s gobreakerStore) GetData(name string) ([]byte, error) {
	b, err := s.rdb.Get(context.Background(), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

func (s gobreakerStore) SetData(name string, data []byte) error {
	return s.rdb.Set(context.Background(), name, data, 0).Err()
}

// TestFleetThroughput runs 3 replicas x 32 goroutines of successful GETs
// against one loopback upstream for 3 s per client, sharing breaker state
// through one Redis: Tempest with WithSharedBreakers, and gobreaker v2.4.0's
// DistributedCircuitBreaker over gobreakerStore. It reports successful
// calls per second and Redis commands per call. It runs only with
// BENCH_FLEET set (make bench-fleet), and writes BENCH_FLEET_OUT when set.
func TestFleetThroughput(t *testing.T) {
	if os.Getenv("BENCH_FLEET") == "" {
		t.Skip("set BENCH_FLEET=1 (make bench-fleet)")
	}
	srv := redistest.Start(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(smallBody) }))
	defer up.Close()
	const replicas, goroutines, span = 3, 32, 3 * time.Second

	type result struct {
		name     string
		ok, errs int64
		cmds     int64
	}
	run := func(name string, call func(replica int) error, counters []*cmdCounter) result {
		var ok, errs atomic.Int64
		var before int64
		for _, c := range counters {
			before += c.n.Load()
		}
		deadline := time.Now().Add(span)
		var wg sync.WaitGroup
		for r := range replicas {
			for range goroutines {
				wg.Go(func() {
					for time.Now().Before(deadline) {
						if call(r) == nil {
							ok.Add(1)
						} else {
							errs.Add(1)
						}
					}
				})
			}
		}
		wg.Wait()
		var after int64
		for _, c := range counters {
			after += c.n.Load()
		}
		return result{name: name, ok: ok.Load(), errs: errs.Load(), cmds: after - before}
	}

	var results []result
	{ // Tempest
		var cs []*httpclient.Client
		var ccs []*cmdCounter
		for range replicas {
			rdb, cc := newRedis(t, srv.Addr())
			st, err := redisstore.New(rdb, redisstore.WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			brs, err := st.Breakers()
			if err != nil {
				t.Fatal(err)
			}
			c, err := httpclient.New(up.URL, httpclient.WithSharedBreakers(brs))
			if err != nil {
				t.Fatal(err)
			}
			defer brs.Close()
			defer c.Close()
			cs, ccs = append(cs, c), append(ccs, cc)
		}
		results = append(results, run("tempest (WithSharedBreakers, redisstore)", func(r int) error {
			resp, err := cs[r].Get(context.Background(), "/")
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		}, ccs))
	}
	{ // gobreaker
		var cbs []*gobreaker.DistributedCircuitBreaker[int]
		var ccs []*cmdCounter
		hc := &http.Client{Transport: httpclient.NewTransport()}
		for range replicas {
			rdb, cc := newRedis(t, srv.Addr())
			cb, err := gobreaker.NewDistributedCircuitBreaker[int](gobreakerStore{rdb}, gobreaker.Settings{Name: "upstream"})
			if err != nil {
				t.Fatal(err)
			}
			cbs, ccs = append(cbs, cb), append(ccs, cc)
		}
		results = append(results, run("gobreaker v2.4.0 DistributedCircuitBreaker (go-redis SharedDataStore)", func(r int) error {
			_, err := cbs[r].Execute(func() (int, error) {
				resp, err := hc.Get(up.URL + "/")
				if err != nil {
					return 0, err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode, nil
			})
			return err
		}, ccs))
	}

	out := fmt.Sprintf("Fleet throughput: %d replicas x %d goroutines, %v each, successful GETs to one loopback upstream, breaker state shared through one Redis.\n\n", replicas, goroutines, span)
	out += "| client | successful calls/s | errors | Redis commands per call |\n| --- | --- | --- | --- |\n"
	for _, r := range results {
		perCall := float64(r.cmds) / float64(max(r.ok+r.errs, 1))
		out += fmt.Sprintf("| %s | %.0f | %d | %.2f |\n", r.name, float64(r.ok)/span.Seconds(), r.errs, perCall)
	}
	t.Log("\n" + out)
	if p := os.Getenv("BENCH_FLEET_OUT"); p != "" {
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
