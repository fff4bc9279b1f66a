package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/internal/redistest"
	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// client returns a go-redis client of addr that honours context deadlines,
// closed when the test ends.
func client(t testing.TB, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// urlClient is client for redistest.URL: $REDIS_URL or a private server,
// for tests that neither kill Redis nor read the whole keyspace.
func urlClient(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// namespace is a namespace of the test's own, for a shared server.
func namespace(t testing.TB) string {
	return "test-" + regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "-")
}

func newStore(t testing.TB, rdb redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(rdb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newGate(t testing.TB, s *redisstore.Store, key string, l ratelimit.Limit, opts ...redisstore.GateOption) *redisstore.Gate {
	t.Helper()
	g, err := s.RateGate(key, l, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// retryAfter returns the RetryAfter of a refusal, failing the test for
// anything else.
func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	var le *ratelimit.LimitedError
	if !errors.As(err, &le) || !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("err %v, want a *ratelimit.LimitedError", err)
	}
	return le.RetryAfter
}

// near fails the test unless got is in [want-below, want].
func near(t *testing.T, what string, got, want, below time.Duration) {
	t.Helper()
	if got > want || got < want-below {
		t.Errorf("%s = %v, want %v (at most %v less, for the time the calls took)", what, got, want, below)
	}
}

// countHook counts the commands a go-redis client sends.
type countHook struct {
	cmds atomic.Int64
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// transitions records what a WithOnTransition hook saw.
type transitions struct {
	mu  sync.Mutex
	ups []bool
}

func (tr *transitions) hook(up bool) {
	tr.mu.Lock()
	tr.ups = append(tr.ups, up)
	tr.mu.Unlock()
}

func (tr *transitions) seen() []bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]bool(nil), tr.ups...)
}

// logBuffer is a slog text log, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the log's lines that hold s.
func (b *logBuffer) lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(b.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// another returns a second client of rdb's server, as another process
// would have, closed when the test ends.
func another(t testing.TB, rdb *redis.Client) *redis.Client {
	t.Helper()
	o := rdb.Options()
	c := redis.NewClient(&redis.Options{Addr: o.Addr, DB: o.DB, Username: o.Username, Password: o.Password, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// fleetRun is how long the fleet tests run: 2s in make test, FLEET_RUN
// (a duration) when set, as make bench-fleet sets it to 5s.
func fleetRun() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("FLEET_RUN")); err == nil && d > 0 {
		return d
	}
	return 2 * time.Second
}
