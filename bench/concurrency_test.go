package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclient"
)

// BenchmarkConcurrencyLimit is the concurrency limit's cost per call on
// the success path with no contention (issue 13): a GET, one at a time and
// from 32 goroutines per CPU, with Tempest alone, with a fixed limit and
// with the adaptive one, each so high that no call is ever refused or
// queued. transport=mem answers in memory (the limit's cost against the
// client's own); transport=loopback is a real server on 127.0.0.1 (against
// a real call).
func BenchmarkConcurrencyLimit(b *testing.B) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(smallBody) }))
	defer srv.Close()
	for _, tr := range []struct {
		name string
		base string
		rt   func() http.RoundTripper
	}{
		{"mem", memBase, func() http.RoundTripper { return &memTransport{status: 200, body: smallBody} }},
		{"loopback", srv.URL, func() http.RoundTripper {
			return &http.Transport{MaxIdleConnsPerHost: 256}
		}},
	} {
		for _, tc := range []struct {
			name string
			opts []httpclient.Option
		}{
			{"tempest", nil},
			{"tempest+fixed-limit", []httpclient.Option{httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{Fixed: 1 << 20})}},
			// Min = Max: the adaptive bookkeeping runs, but 64 callers on two
			// cores (a loaded server) cannot shrink the limit into refusals.
			{"tempest+adaptive-limit", []httpclient.Option{httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{Adaptive: concurrency.Adaptive{Min: 1 << 20, Max: 1 << 20}})}},
		} {
			rt := tr.rt()
			c, err := httpclient.New(tr.base, append([]httpclient.Option{httpclient.WithTransport(rt)}, tc.opts...)...)
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
			b.Run("transport="+tr.name+"/mode=serial/client="+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := get(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("transport="+tr.name+"/mode=parallel/client="+tc.name, func(b *testing.B) {
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
			if t, ok := rt.(*http.Transport); ok {
				t.CloseIdleConnections()
			}
		}
	}
}
