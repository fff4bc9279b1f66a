package httpclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// fdChildEnv carries the upstream's URL to the child process of
// TestFDExhaustion_R57_BurstLeavesCircuitClosed.
const fdChildEnv = "TEMPEST_FD_CHILD_URL"

// fdBurstResult is what the child reports on its last line of output.
type fdBurstResult struct {
	Calls, OK, Local, CircuitOpen, Other int
	State                                string
	After                                int // calls that succeeded after the burst
}

// R57: a burst of calls that runs the process out of file descriptors is
// the local machine's limit, not the upstream's fault: after it, the healthy
// upstream's circuit is closed and calls succeed. The burst runs in a child
// process whose descriptor limit is lowered to 64 (the upstream lives here,
// unlimited), so that the test process itself is never starved.
func TestFDExhaustion_R57_BurstLeavesCircuitClosed(t *testing.T) {
	if os.Getenv(fdChildEnv) != "" {
		t.Skip("the child runs TestFDExhaustionChild")
	}
	var inFlight atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hold each request while many are open, so that the child's
		// sockets pile up; no test waits on this.
		if inFlight.Add(1) > 1 {
			time.Sleep(20 * time.Millisecond)
		}
		inFlight.Add(-1)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFDExhaustionChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), fdChildEnv+"="+srv.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var res fdBurstResult
	lines := splitLines(out)
	for i := len(lines) - 1; i >= 0; i-- {
		if json.Unmarshal(lines[i], &res) == nil && res.Calls > 0 {
			break
		}
	}
	t.Logf("burst under a 64-descriptor limit: %+v", res)
	if res.Calls == 0 {
		t.Fatalf("no result from the child:\n%s", out)
	}
	if res.OK == res.Calls {
		t.Fatalf("the burst never ran out of descriptors (%+v): the test proves nothing", res)
	}
	if res.Other > 0 {
		t.Errorf("%d calls failed with a class other than local: %+v", res.Other, res)
	}
	if res.State != breaker.Closed.String() || res.CircuitOpen > 0 {
		t.Errorf("local exhaustion opened the healthy upstream's circuit: %+v", res)
	}
	if res.After != 20 {
		t.Errorf("%d of 20 calls succeeded after the burst", res.After)
	}
}

// TestFDExhaustionChild is the child of TestFDExhaustion_R57_BurstLeavesCircuitClosed.
func TestFDExhaustionChild(t *testing.T) {
	url := os.Getenv(fdChildEnv)
	if url == "" {
		t.Skip("run by TestFDExhaustion_R57_BurstLeavesCircuitClosed")
	}
	limit, calls := uint64(64), 300
	if v, err := strconv.Atoi(os.Getenv("TEMPEST_FD_LIMIT")); err == nil {
		limit = uint64(v)
	}
	if v, err := strconv.Atoi(os.Getenv("TEMPEST_FD_CALLS")); err == nil {
		calls = v
	}
	lim := syscall.Rlimit{Cur: limit, Max: limit}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	c, err := New(url, WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond, BackoffMax: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res := fdBurstResult{Calls: calls}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range res.Calls {
		wg.Go(func() {
			resp, err := c.Get(context.Background(), "/")
			mu.Lock()
			defer mu.Unlock()
			switch cl := ClassOf(err); {
			case err == nil:
				res.OK++
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			case cl == "local":
				res.Local++
			case cl == "circuit_open":
				res.CircuitOpen++
			default:
				res.Other++
			}
		})
	}
	wg.Wait()
	c.ownTransport.CloseIdleConnections()
	s, _ := c.Breaker(url)
	res.State = s.State.String()
	for range 20 {
		resp, err := c.Get(context.Background(), "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			res.After++
		}
	}
	b, _ := json.Marshal(res)
	fmt.Printf("\n%s\n", b)
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		out = append(out, b[:i])
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}
