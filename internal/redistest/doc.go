// Package redistest starts private redis-server processes for tests. It is
// for tests only: no package of the SDK imports it outside a _test.go file.
//
// [Start] runs Debian's redis-server (the package redis-server) on a free
// loopback port, with a temporary directory and no persistence, waits until
// it answers PING, and kills it when the test ends:
//
//	srv := redistest.Start(t)
//	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
//	...
//	srv.Kill()    // the outage: SIGKILL, and the port refuses connections
//	srv.Restart() // the recovery: the same port, an empty data set
//
// Tests that only read and write, and never kill or restart the server, call
// [URL] instead: it returns $REDIS_URL when that is set, so that such tests
// can run against a server of the caller's choosing, and otherwise starts a
// private server as Start does. Tests that kill or restart Redis always use
// Start, whatever $REDIS_URL says.
//
// When redis-server is not on $PATH, Start and URL skip the test, or fail it
// when $CI is "true" (.ci/run installs the package in CI).
//
// The package uses the standard library only, so that any module of the
// repository can use it from its tests without new dependencies: it speaks
// just enough RESP over a net.Conn to send PING. Nested modules whose path is
// under github.com/tempestsdk/tempest may import it, as Go's rule for
// internal packages allows.
//
// A Server leaves nothing behind once its test's cleanups have run: the
// process is killed and waited for, and the one goroutine that waits for
// each process (so that an early exit is seen at once) has returned. On
// Linux the process is also killed if the test binary dies without running
// its cleanups (a -timeout panic, say).
package redistest
