package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/internal/redisproc"
)

// DefaultStartTimeout is how long Start and Restart wait for redis-server to
// answer PING, unless [WithStartTimeout] says otherwise.
const DefaultStartTimeout = 10 * time.Second

// startAttempts is how many free ports Start tries: another process may take
// the port between the probe that found it free and redis-server's bind.
const startAttempts = 3

// An Option changes how [Start] runs redis-server.
type Option func(*config)

type config struct {
	args    []string
	timeout time.Duration
}

// WithArgs appends arguments to redis-server's command line, after those
// Start sets, so that a repeated option takes their value:
// WithArgs("--maxmemory", "1mb"). Overriding --port, --bind or --dir breaks
// [Server.Addr] and the cleanup of the directory.
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// WithStartTimeout sets how long Start and Restart wait for the server to
// answer PING before they fail the test. The default is
// [DefaultStartTimeout].
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// A Server is a redis-server process that [Start] started for one test. Its
// methods may be called from any goroutine, except that Restart may fail the
// test and so must be called from the test's goroutine, as t.Fatal must.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cfg  config

	mu   sync.Mutex
	proc *redisproc.Process // nil when not running
}

// Start starts a private redis-server on a free port of 127.0.0.1, with a
// temporary directory and no persistence (no RDB snapshots, no append-only
// file), and returns once it answers PING. The server is killed, and waited
// for, when the test and its subtests end.
//
// When redis-server is not on $PATH, Start skips the test, or fails it when
// $CI is "true". It fails the test when the server does not answer PING
// within the start timeout.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin := lookPath(t)
	cfg := config{timeout: DefaultStartTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	// The directory first, so that its cleanup runs after Kill's: cleanups
	// run last registered, first run.
	s := &Server{t: t, bin: bin, dir: t.TempDir(), cfg: cfg}
	t.Cleanup(s.cleanup)

	var errs []error
	for range startAttempts {
		port, err := redisproc.FreePort()
		if err != nil {
			t.Fatalf("redistest: finding a free port: %v", err)
		}
		s.port = port
		err = s.start()
		if err == nil {
			return s
		}
		errs = append(errs, fmt.Errorf("port %d: %w", port, err))
		if !errors.Is(err, redisproc.ErrExited) {
			break // a timeout: another port would not help
		}
	}
	t.Fatalf("redistest: starting redis-server: %v\n%s", errors.Join(errs...), s.logTail())
	return nil
}

// URL returns $REDIS_URL when it is set and not empty, for a test that
// neither kills nor restarts Redis; otherwise it starts a private server, as
// [Start] does, and returns its [Server.URL]. Tests sharing a server named
// by $REDIS_URL must not depend on an empty data set: they should use keys
// of their own (prefixed with t.Name(), say) or a database of their own.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return Start(t).URL()
}

// Addr returns the server's address, "127.0.0.1:PORT". It stays the same
// across Kill and Restart.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns the server's address as a URL naming database 0,
// "redis://127.0.0.1:PORT/0", the form go-redis's ParseURL takes.
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Kill kills the server with SIGKILL, as a crash would, and waits for the
// process to exit; its port then refuses connections until Restart. Kill
// does nothing when the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

// Restart starts the server again on the same port and returns once it
// answers PING; it kills the server first if it is running. The data set is
// empty afterwards, since the server persists nothing. Restart fails the
// test when the server does not come up, for instance when another process
// has taken the port meanwhile.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	s.killLocked()
	s.mu.Unlock()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restarting redis-server on %s: %v\n%s", s.Addr(), err, s.logTail())
	}
}

func (s *Server) cleanup() {
	s.Kill()
	if s.t.Failed() {
		if tail := s.logTail(); tail != "" {
			s.t.Logf("redistest: redis-server on %s\n%s", s.Addr(), tail)
		}
	}
}

// start runs redis-server on s.port and waits until it answers PING. On an
// error the process is killed and waited for.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("the server is already running")
	}
	p, err := redisproc.Start(redisproc.Config{Bin: s.bin, Port: s.port, Dir: s.dir, Args: s.cfg.args, Timeout: s.cfg.timeout})
	if err != nil {
		return err
	}
	s.proc = p
	return nil
}

func (s *Server) killLocked() {
	if s.proc != nil {
		s.proc.Kill()
		s.proc = nil
	}
}

// logTail returns the end of the server's log, for an error message.
func (s *Server) logTail() string { return redisproc.LogTail(s.dir) }

// lookPath returns redis-server's path, or skips the test (fails it under
// CI=true) when it is not installed.
func lookPath(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("redis-server is not installed, and CI=true: .ci/run installs it (apt-get install redis-server): %v", err)
	}
	t.Skip("redis-server is not installed (apt-get install redis-server)")
	return ""
}
