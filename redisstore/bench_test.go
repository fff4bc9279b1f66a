package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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
