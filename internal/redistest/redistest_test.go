package redistest_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/internal/redistest"
	"go.uber.org/goleak"
)

// TestMain also checks that no goroutine outlives the tests: each server's
// waiting goroutine must have returned once its cleanup killed it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client speaks just enough RESP for these tests, independently of the
// package's own PING.
type client struct {
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return &client{conn: conn, r: bufio.NewReader(conn)}
}

// do sends a command and returns its reply: a string for a simple or bulk
// string, nil for a nil bulk string, an int64, a []any, or an error for an
// error reply or a broken connection.
func (c *client) do(args ...string) (any, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		return nil, err
	}
	return c.read()
}

func (c *client) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, errors.New(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, max(n, 0))
		for range n {
			v, err := c.read()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply %q", line)
}

// must is do, failing the test on an error.
func (c *client) must(t *testing.T, args ...string) any {
	t.Helper()
	v, err := c.do(args...)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return v
}

func configGet(t *testing.T, c *client, name string) string {
	t.Helper()
	v, ok := c.must(t, "CONFIG", "GET", name).([]any)
	if !ok || len(v) != 2 {
		t.Fatalf("CONFIG GET %s = %v", name, v)
	}
	return fmt.Sprint(v[1])
}

func TestStart(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)

	host, port, err := net.SplitHostPort(srv.Addr())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q (%v), want 127.0.0.1:PORT", srv.Addr(), err)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 {
		t.Fatalf("Addr() = %q: bad port", srv.Addr())
	}
	if want := "redis://127.0.0.1:" + port + "/0"; srv.URL() != want {
		t.Fatalf("URL() = %q, want %q", srv.URL(), want)
	}

	c := dial(t, srv.Addr())
	if v := c.must(t, "PING"); v != "PONG" {
		t.Fatalf("PING = %v, want PONG", v)
	}
	if v := c.must(t, "SET", "k", "v"); v != "OK" {
		t.Fatalf("SET = %v", v)
	}
	if v := c.must(t, "GET", "k"); v != "v" {
		t.Fatalf("GET = %v, want v", v)
	}
	// The flags Start promises.
	for name, want := range map[string]string{
		"port":           port,
		"bind":           "127.0.0.1",
		"save":           "",
		"appendonly":     "no",
		"protected-mode": "no",
		"daemonize":      "no",
	} {
		if got := configGet(t, c, name); got != want {
			t.Errorf("CONFIG GET %s = %q, want %q", name, got, want)
		}
	}
	if dir := configGet(t, c, "dir"); !strings.HasPrefix(dir, os.TempDir()) {
		t.Errorf("CONFIG GET dir = %q, want a directory under %s", dir, os.TempDir())
	}
}

func TestWithArgs(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "1mb"))
	if got := configGet(t, dial(t, srv.Addr()), "maxmemory"); got != "1048576" {
		t.Fatalf("CONFIG GET maxmemory = %q, want 1048576", got)
	}
}

func TestKill(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := dial(t, srv.Addr())
	c.must(t, "PING")

	srv.Kill()
	if _, err := c.do("PING"); err == nil {
		t.Fatal("PING on a connection to a killed server succeeded")
	}
	if conn, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial %s succeeded after Kill", srv.Addr())
	}
	srv.Kill() // a no-op on a stopped server
}

func TestRestart(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	addr := srv.Addr()
	dial(t, addr).must(t, "SET", "k", "v")

	srv.Kill()
	srv.Restart()
	if srv.Addr() != addr {
		t.Fatalf("Addr() = %s after Restart, want %s", srv.Addr(), addr)
	}
	c := dial(t, addr)
	if v := c.must(t, "PING"); v != "PONG" {
		t.Fatalf("PING after Restart = %v", v)
	}
	if v := c.must(t, "GET", "k"); v != nil {
		t.Fatalf("GET k after Restart = %v, want nil: nothing persists", v)
	}

	// Restart kills a running server first: c's connection breaks.
	srv.Restart()
	if _, err := c.do("PING"); err == nil {
		t.Fatal("a connection from before Restart still works")
	}
	if v := dial(t, addr).must(t, "PING"); v != "PONG" {
		t.Fatalf("PING after the second Restart = %v", v)
	}
}

// Servers started at once get ports of their own.
func TestParallel(t *testing.T) {
	t.Parallel()
	requireRedis(t)
	var mu sync.Mutex
	seen := map[string]bool{}
	t.Run("group", func(t *testing.T) {
		for i := range 4 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				srv := redistest.Start(t)
				dial(t, srv.Addr()).must(t, "PING")
				mu.Lock()
				defer mu.Unlock()
				if seen[srv.Addr()] {
					t.Errorf("two servers on %s", srv.Addr())
				}
				seen[srv.Addr()] = true
			})
		}
	})
	if len(seen) != 4 {
		t.Fatalf("%d servers, want 4", len(seen))
	}
}

// URL returns $REDIS_URL untouched, and needs no redis-server for it.
func TestURL_REDIS_URL(t *testing.T) {
	const u = "redis://redis.example:6380/3"
	t.Setenv("REDIS_URL", u)
	t.Setenv("PATH", t.TempDir())
	if got := redistest.URL(t); got != u {
		t.Fatalf("URL() = %q, want $REDIS_URL %q", got, u)
	}
}

// Without $REDIS_URL, URL starts a private server.
func TestURL_private(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	raw := redistest.URL(t)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "redis" || u.Path != "/0" || u.Hostname() != "127.0.0.1" {
		t.Fatalf("URL() = %q (%v), want redis://127.0.0.1:PORT/0", raw, err)
	}
	if v := dial(t, u.Host).must(t, "PING"); v != "PONG" {
		t.Fatalf("PING = %v", v)
	}
}

// fakeTB records Skip and Fatal instead of ending the test, so that the
// tests can see how Start fails; both end the calling goroutine, as the
// real ones do. Everything else goes to the real test.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	skipped string
	fatal   string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skip(args ...any) { f.skip(fmt.Sprint(args...)) }

func (f *fakeTB) Skipf(format string, args ...any) { f.skip(fmt.Sprintf(format, args...)) }

func (f *fakeTB) SkipNow() { f.skip("SkipNow") }

func (f *fakeTB) Fatal(args ...any) { f.fail(fmt.Sprint(args...)) }

func (f *fakeTB) Fatalf(format string, args ...any) { f.fail(fmt.Sprintf(format, args...)) }

func (f *fakeTB) FailNow() { f.fail("FailNow") }

func (f *fakeTB) skip(msg string) {
	f.mu.Lock()
	f.skipped = msg
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) fail(msg string) {
	f.mu.Lock()
	f.fatal = msg
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls fn on a goroutine of its own, which Skip and Fatal may end, and
// returns what they recorded.
func (f *fakeTB) run(fn func()) (skipped, fatal string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	skipped, fatal = f.skipped, f.fatal
	f.skipped, f.fatal = "", ""
	return skipped, fatal
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("REDIS_URL", "")

	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	skipped, fatal := f.run(func() { redistest.Start(f) })
	if want := "redis-server is not installed (apt-get install redis-server)"; skipped != want || fatal != "" {
		t.Errorf("Start without redis-server: skipped %q, fatal %q; want skipped %q", skipped, fatal, want)
	}
	skipped, fatal = f.run(func() { redistest.URL(f) })
	if skipped == "" || fatal != "" {
		t.Errorf("URL without redis-server: skipped %q, fatal %q; want a skip", skipped, fatal)
	}

	t.Setenv("CI", "true")
	skipped, fatal = f.run(func() { redistest.Start(f) })
	if skipped != "" || !strings.Contains(fatal, "redis-server is not installed") || !strings.Contains(fatal, "CI=true") {
		t.Errorf("Start without redis-server under CI=true: skipped %q, fatal %q; want a failure", skipped, fatal)
	}
}

// requireRedis skips (fails under CI=true) when redis-server is absent, for
// the tests that hand Start a fakeTB.
func requireRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed; in CI .ci/run installs it")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
}

// Restart fails the test when another process has taken the port.
func TestRestart_portTaken(t *testing.T) {
	t.Parallel()
	requireRedis(t)
	f := &fakeTB{TB: t}
	var srv *redistest.Server
	if skipped, fatal := f.run(func() { srv = redistest.Start(f) }); skipped != "" || fatal != "" {
		t.Fatalf("Start: skipped %q, fatal %q", skipped, fatal)
	}
	srv.Kill()
	l, err := net.Listen("tcp", srv.Addr())
	if err != nil {
		t.Fatalf("listen on the killed server's %s: %v", srv.Addr(), err)
	}
	_, fatal := f.run(srv.Restart)
	l.Close()
	if !strings.Contains(fatal, "restarting redis-server on "+srv.Addr()) || !strings.Contains(fatal, "exited before it answered PING") {
		t.Fatalf("Restart on a taken port: fatal %q", fatal)
	}

	// The port free again, Restart works.
	if skipped, fatal := f.run(srv.Restart); skipped != "" || fatal != "" {
		t.Fatalf("Restart: skipped %q, fatal %q", skipped, fatal)
	}
	if v := dial(t, srv.Addr()).must(t, "PING"); v != "PONG" {
		t.Fatalf("PING = %v", v)
	}
}

// Start fails the test, rather than hang, when the server does not answer
// within the start timeout, and leaves no process behind.
func TestStart_timeout(t *testing.T) {
	t.Parallel()
	requireRedis(t)
	f := &fakeTB{TB: t}
	var srv *redistest.Server
	_, fatal := f.run(func() { srv = redistest.Start(f, redistest.WithStartTimeout(time.Nanosecond)) })
	if srv != nil || !strings.Contains(fatal, "did not answer PING") {
		t.Fatalf("Start with a 1ns timeout: server %v, fatal %q", srv, fatal)
	}
}
