package redisstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultNamespace is the first element of every key a Store writes,
// unless [WithNamespace] says otherwise.
const DefaultNamespace = "tempest"

// DefaultTimeout bounds each Redis call of a Store, unless [WithTimeout]
// says otherwise.
const DefaultTimeout = 50 * time.Millisecond

// ErrInvalidConfig is wrapped by the errors of New and RateGate for a bad
// argument or option. A bad [ratelimit.Limit] wraps
// ratelimit.ErrInvalidLimit instead.
var ErrInvalidConfig = errors.New("redisstore: invalid configuration")

// Store keeps Tempest's shared state in Redis. It holds no connection of
// its own: it uses the client it was given, which the caller closes. A
// Store is safe for concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	ns      string
	timeout time.Duration
	log     *slog.Logger
}

// Option configures a Store.
type Option func(*config)

type config struct {
	ns      string
	timeout time.Duration
	log     *slog.Logger
	errs    []error
}

// WithNamespace sets the first element of every key the Store writes, so
// that several applications can share one Redis. Default
// [DefaultNamespace]. It may not be empty nor hold a brace, which would
// move the keys' Redis Cluster hash tag.
func WithNamespace(ns string) Option {
	return func(c *config) {
		if ns == "" || strings.ContainsAny(ns, "{}") {
			c.errs = append(c.errs, fmt.Errorf("%w: WithNamespace(%q): empty or holding a brace", ErrInvalidConfig, ns))
			return
		}
		c.ns = ns
	}
}

// WithTimeout bounds each Redis call, on top of the caller's context.
// Default [DefaultTimeout]. It must be positive.
//
// A go-redis client bounds a call by its context only when its options
// have ContextTimeoutEnabled set; otherwise a Redis that accepts
// connections but does not answer holds each call for the client's
// ReadTimeout (3s by default). New logs a warning for such a client.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithTimeout(%v) must be positive", ErrInvalidConfig, d))
			return
		}
		c.timeout = d
	}
}

// WithLogger sets where the Store's gates report losing Redis (Warn) and
// getting it back (Info), once per transition, and a panicking
// [WithOnTransition] hook (Error). Default slog.Default(): a fleet-wide
// limit that silently became a local one is worth a line in the log. A
// nil logger logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.log = l
	}
}

// New returns a Store that keeps its state in rdb: a *redis.Client, a
// *redis.ClusterClient (each key lives in one slot; see the package
// documentation), a *redis.Ring or a failover client. It sends nothing to
// Redis: a Redis that is down is not an error here, the gates fall back
// (see [Store.RateGate]).
func New(rdb redis.UniversalClient, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: a nil Redis client", ErrInvalidConfig)
	}
	cfg := config{ns: DefaultNamespace, timeout: DefaultTimeout, log: slog.Default()}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	s := &Store{rdb: rdb, ns: cfg.ns, timeout: cfg.timeout, log: cfg.log}
	s.checkClient()
	return s, nil
}

// checkClient warns when rdb ignores context deadlines for longer than the
// Store's timeout, so that a hung Redis would cost each call more than it.
func (s *Store) checkClient() {
	var ctxTimeout bool
	var read time.Duration
	switch c := s.rdb.(type) {
	case *redis.Client:
		o := c.Options()
		ctxTimeout, read = o.ContextTimeoutEnabled, o.ReadTimeout
	case *redis.ClusterClient:
		o := c.Options()
		ctxTimeout, read = o.ContextTimeoutEnabled, o.ReadTimeout
	default:
		return
	}
	if ctxTimeout || (read > 0 && read <= s.timeout) {
		return
	}
	s.log.Warn("redisstore: the Redis client ignores context deadlines (ContextTimeoutEnabled is false): a Redis that hangs holds each call for the client's ReadTimeout, not the store's timeout",
		slog.Duration("timeout", s.timeout), slog.Duration("read_timeout", read))
}

// key is the Redis key of kind (such as "rl") for the user's key: ns:kind:{key}.
// The braces make key the Redis Cluster hash tag, so that every Redis key
// of one user key lands in one slot.
func (s *Store) key(kind, key string) string {
	return s.ns + ":" + kind + ":{" + key + "}"
}
