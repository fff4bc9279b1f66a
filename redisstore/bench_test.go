package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/internal/redistest"
	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// BenchmarkGate is the cost of one fail-fast Take: a local
// ratelimit.Limiter against the Redis Gate, one round trip to a private
// redis-server on loopback, serially and from GOMAXPROCS goroutines. The
// limits are high enough that every Take is admitted: a billion a second
// locally, and Redis's most, a million a second (one per microsecond).
func BenchmarkGate(b *testing.B) {
	ctx := context.Background()
	local, err := ratelimit.New(ratelimit.Limit{Rate: 1_000_000_000, Burst: 1_000_000_000})
	if err != nil {
		b.Fatal(err)
	}
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	b.Cleanup(func() { rdb.Close() })
	s, err := redisstore.New(rdb, redisstore.WithTimeout(time.Second))
	if err != nil {
		b.Fatal(err)
	}
	gate, err := s.RateGate("bench", ratelimit.Limit{Rate: 1_000_000, Burst: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		g    ratelimit.Gate
	}{{"gate=local", local}, {"gate=redis", gate}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bc.g.Take(ctx, time.Now(), 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := bc.g.Take(ctx, time.Now(), 0); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// dataHook counts the commands a go-redis client sends but those of a
// connection's handshake (HELLO, CLIENT SETINFO and the like), which the subscriber's
// connection sends on its own schedule.
type dataHook struct{ countHook }

func (h *dataHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n != "hello" && n != "client" {
			h.cmds.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *dataHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// BenchmarkSharedSuccessPath is the success path of a closed breaker, a
// GET to an in-memory upstream, without and with WithSharedBreakers on a
// private redis-server: the shared breakers add no Redis command
// (redis-cmds/op, counted by a go-redis hook, is 0 once the origin is
// learned) and no allocation.
func BenchmarkSharedSuccessPath(b *testing.B) {
	srv := redistest.Start(b)
	up := httpclienttest.NewMemoryServer(httpclienttest.ScriptFunc(func(int, *http.Request) httpclienttest.Response { return httpclienttest.OK("ok") }))
	b.Cleanup(up.Close)
	for _, shared := range []bool{false, true} {
		b.Run(fmt.Sprintf("shared=%v", shared), func(b *testing.B) {
			tr := up.Transport()
			defer tr.CloseIdleConnections()
			opts := []httpclient.Option{httpclient.WithTransport(tr), httpclient.WithCircuitBreaker(5, time.Second)}
			var hook dataHook
			if shared {
				rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
				defer rdb.Close()
				rdb.AddHook(&hook)
				s, err := redisstore.New(rdb, redisstore.WithTimeout(time.Second))
				if err != nil {
					b.Fatal(err)
				}
				br, err := s.Breakers(redisstore.WithPollInterval(time.Hour))
				if err != nil {
					b.Fatal(err)
				}
				defer br.Close()
				opts = append(opts, httpclient.WithSharedBreakers(br))
			}
			hc, err := httpclient.New(up.URL, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer hc.Close() // before br.Close: deferred calls run last first
			ctx := context.Background()
			get := func() {
				resp, err := hc.Get(ctx, "/")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			get() // the first use: Learn, one PTTL from the worker
			if shared {
				deadline := time.Now().Add(5 * time.Second)
				for hook.cmds.Load() == 0 { // a poll, bounded by the deadline
					if time.Now().After(deadline) {
						b.Fatal("the Learn of the first call never reached Redis")
					}
					time.Sleep(time.Millisecond)
				}
			}
			cmds := hook.cmds.Load()
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
			b.ReportMetric(float64(hook.cmds.Load()-cmds)/float64(b.N), "redis-cmds/op")
		})
	}
}
