package redisproc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrExited reports that redis-server exited before it answered PING
// (another process took the port, say).
var ErrExited = errors.New("redis-server exited before it answered PING")

// Config says how to run one redis-server.
type Config struct {
	Bin     string        // the redis-server binary
	Port    int           // on 127.0.0.1
	Dir     string        // its working directory; its log is redis-server.log there
	Args    []string      // extra flags
	Timeout time.Duration // how long to wait for PING
	// OwnGroup puts the server in a process group of its own, so that a
	// Ctrl-C at the terminal reaches the parent only (Linux; elsewhere
	// ignored). On Linux the server is also killed when the thread that
	// started it exits.
	OwnGroup bool
}

// Process is one run of redis-server.
type Process struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when cmd.Wait has returned
	err  error         // cmd.Wait's error, set before done is closed
	addr string
}

// Start runs redis-server as c says and returns once it answers PING. On
// an error the process is killed and waited for, and the error wraps
// ErrExited when the server exited by itself.
func Start(c Config) (*Process, error) {
	log, err := os.OpenFile(LogPath(c.Dir), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	args := []string{
		"--port", strconv.Itoa(c.Port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--protected-mode", "no",
		"--daemonize", "no",
		"--dir", c.Dir,
	}
	cmd := exec.Command(c.Bin, append(args, c.Args...)...)
	cmd.Dir = c.Dir
	// An *os.File: the child writes to it directly, with no copying goroutine.
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr(c.OwnGroup)
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &Process{cmd: cmd, log: log, done: make(chan struct{}), addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port))}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := waitPing(p.addr, p.done, c.Timeout); err != nil {
		if errors.Is(err, ErrExited) {
			err = fmt.Errorf("%w (%v)", err, p.err)
		}
		p.Kill()
		return nil, err
	}
	return p, nil
}

// Pid is the server's process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Addr is the server's host:port.
func (p *Process) Addr() string { return p.addr }

// Kill kills the server with SIGKILL and waits for it to exit.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill() // fails only when the process has exited already
	<-p.done
	p.log.Close()
}

// LogPath is the server's log in dir.
func LogPath(dir string) string { return filepath.Join(dir, "redis-server.log") }

// LogTail returns the end of the server's log in dir, for an error message.
func LogTail(dir string) string {
	b, err := os.ReadFile(LogPath(dir))
	if err != nil || len(b) == 0 {
		return ""
	}
	const limit = 4 << 10
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return "redis-server's log (" + LogPath(dir) + "):\n" + string(b)
}

// FreePort returns a TCP port of 127.0.0.1 that no one listened on a
// moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pingAttempt bounds one PING while waiting for the server.
const pingAttempt = 250 * time.Millisecond

// waitPing polls addr with PING until the server answers PONG, the process
// exits (done is closed) or the timeout passes, backing off from 1ms to
// 50ms between attempts. No sleep stands in for synchronisation: each
// attempt asks the server itself.
func waitPing(addr string, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	backoff := time.Millisecond
	for {
		select {
		case <-done:
			return ErrExited
		default:
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("redis-server did not answer PING on %s within %v", addr, timeout)
		}
		// A short attempt, so that an exit is seen soon even when something
		// else accepts on the port and never answers.
		err := Ping(addr, min(left, pingAttempt))
		if err == nil {
			return nil
		}
		if time.Until(deadline) <= 0 {
			return fmt.Errorf("redis-server did not answer PING on %s within %v: %w", addr, timeout, err)
		}
		wait := time.NewTimer(min(backoff, time.Until(deadline)))
		select {
		case <-done:
			wait.Stop()
			return ErrExited
		case <-wait.C:
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// Ping sends PING to addr in RESP and expects +PONG back.
func Ping(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := io.WriteString(conn, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		// -LOADING while a data set loads, say.
		return fmt.Errorf("PING answered %q", strings.TrimRight(line, "\r\n"))
	}
	return nil
}
