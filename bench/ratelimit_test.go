package bench

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/ratelimit"
)

// BenchmarkRateLimit is the rate limiter's cost per call on the success
// path (issue 12): a GET over the in-memory transport, one at a time and
// from 32 goroutines per CPU, with Tempest alone, with a per-origin limit
// and with a shared Gate, both set so high that no call ever waits or is
// refused. The fleet-wide gate's cost is the redisstore module's
// BenchmarkGate.
func BenchmarkRateLimit(b *testing.B) {
	ctx := context.Background()
	never := ratelimit.Limit{Rate: 1 << 19, Per: time.Millisecond, Burst: 1 << 19} // about 5e8 per second
	shared, err := ratelimit.New(never)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rate httpclient.RateLimit
	}{
		{"tempest", httpclient.RateLimit{}},
		{"tempest+origin-limit", httpclient.RateLimit{PerOrigin: never}},
		{"tempest+shared-gate", httpclient.RateLimit{Gate: shared}},
	} {
		c, err := httpclient.New(memBase, httpclient.WithTransport(&memTransport{status: 200, body: smallBody}), httpclient.WithRateLimit(tc.rate))
		if err != nil {
			b.Fatal(err)
		}
		get := func() error {
			resp, err := c.Get(ctx, memPath)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		}
		b.Run("mode=serial/client="+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := get(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("mode=parallel/client="+tc.name, func(b *testing.B) {
			b.SetParallelism(32)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		c.Close()
	}
}
