package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The upstream's paths: the two JSON bodies the load asks for, and the
// control endpoints, which the request count leaves out.
const (
	pathSmall = "/v1/items/small" // a JSON body of smallSize bytes
	pathLarge = "/v1/items/large" // a JSON body of largeSize bytes
	pathStats = "/_stats"         // GET: the counters, as upstreamStats
	pathReset = "/_reset"         // POST: zero the counters

	smallSize = 1 << 10
	largeSize = 64 << 10
)

// Reset modes: where in an exchange the upstream resets the connection.
const (
	// resetMidBody sends the status line, the headers (with the full
	// Content-Length) and half of the body, then resets: the caller sees
	// the reset while reading the body, whatever net/http's transport does.
	resetMidBody = "mid-body"
	// resetBeforeResponse resets as soon as the request is read. On a
	// reused keep-alive connection net/http's transport then retries a GET
	// on its own, so the caller sees nothing but the extra request.
	resetBeforeResponse = "before-response"
)

// faults is the upstream's mix of failures. They are spread evenly rather
// than drawn independently per request: in every block of faultBlock
// requests the upstream receives, exactly round(p503*faultBlock) are
// answered 503 and round(pReset*faultBlock) are reset, at positions fixed by
// a seeded permutation, so that every client meets the same faults in the
// same order and no client's figures depend on its luck with the dice (with
// 1% of 503s, whether p99 falls among the retried calls would otherwise be a
// coin toss).
type faults struct {
	p503      float64 // share of requests answered 503
	pReset    float64 // share of requests whose connection is reset
	resetMode string
}

// faultBlock is the block over which the fault shares are exact.
const faultBlock = 1000

// fault is what the upstream does to a request.
type fault int

const (
	faultNone fault = iota
	fault503
	faultReset
)

// faultPlan says which request gets which fault: request n is position
// n%faultBlock of its block; perm, a fixed permutation of the positions,
// rotated per block, ranks it, and the first n503 ranks get a 503, the next
// nReset a reset.
type faultPlan struct {
	perm         [faultBlock]uint16
	n503, nReset int
}

func newFaultPlan(f faults) *faultPlan {
	p := &faultPlan{n503: int(math.Round(f.p503 * faultBlock)), nReset: int(math.Round(f.pReset * faultBlock))}
	r := rand.New(rand.NewPCG(1, 2))
	for i, v := range r.Perm(faultBlock) {
		p.perm[i] = uint16(v)
	}
	return p
}

// of is the fault of request n (0-based).
func (p *faultPlan) of(n int64) fault {
	block, pos := uint64(n)/faultBlock, uint64(n)%faultBlock
	rot := (block * 0x9e3779b97f4a7c15 >> 32) % faultBlock // a different rotation for each block
	switch rank := int(p.perm[(pos+rot)%faultBlock]); {
	case rank < p.n503:
		return fault503
	case rank < p.n503+p.nReset:
		return faultReset
	default:
		return faultNone
	}
}

// upstreamStats is what pathStats reports.
type upstreamStats struct {
	Requests int64 `json:"requests"` // requests to pathSmall and pathLarge (and 404s), control paths excluded
	Status   int64 `json:"status_503"`
	Resets   int64 `json:"resets"`
}

// upstream is the service under load.
type upstream struct {
	faults
	plan         *faultPlan
	small, large []byte
	requests     atomic.Int64
	status503    atomic.Int64
	resets       atomic.Int64
}

var body503 = []byte(`{"error":"over capacity, retry later"}`)

func newUpstream(f faults) *upstream {
	return &upstream{faults: f, plan: newFaultPlan(f), small: jsonBody(smallSize), large: jsonBody(largeSize)}
}

// jsonBody returns a JSON array of records, exactly size bytes long (size
// at least a few dozen).
func jsonBody(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	const tail = `],"pad":""}`
	for i := 0; ; i++ {
		rec := fmt.Sprintf(`{"id":%d,"sku":"SKU-%06d","name":"Difference engine part %d","quantity":%d,"price":%d.99},`, i, 7*i, i, i%10+1, i%100)
		if b.Len()+len(rec)+len(tail) > size {
			break
		}
		b.WriteString(rec)
	}
	s := strings.TrimSuffix(b.String(), ",")
	pad := size - len(s) - len(tail)
	return []byte(s + `],"pad":"` + strings.Repeat("x", pad) + `"}`)
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case pathStats:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(upstreamStats{Requests: u.requests.Load(), Status: u.status503.Load(), Resets: u.resets.Load()})
		return
	case pathReset:
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		u.requests.Store(0)
		u.status503.Store(0)
		u.resets.Store(0)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	n := u.requests.Add(1) - 1
	var body []byte
	switch r.URL.Path {
	case pathSmall:
		body = u.small
	case pathLarge:
		body = u.large
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch u.plan.of(n) {
	case fault503:
		u.status503.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(len(body503)))
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(body503)
	case faultReset:
		u.resets.Add(1)
		u.reset(w, body)
	default:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}
}

// reset resets the connection of w (SO_LINGER 0, then close: the kernel
// sends an RST, not a FIN), after half of body when the mode is mid-body.
func (u *upstream) reset(w http.ResponseWriter, body []byte) {
	if u.resetMode == resetMidBody {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// serveUpstream is the upstream process: it listens on addr, prints the
// address it got on stdout, and serves until its stdin is closed (the load
// process exited or is done with it).
func serveUpstream(addr string, f faults) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newUpstream(f), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Println(ln.Addr().String())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// upstreamProcess is the upstream running in a child process.
type upstreamProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	base  string       // http://host:port
	ctl   *http.Client // for the control paths, on a transport of its own
}

// startUpstream re-executes this program with -upstream and waits for the
// address it prints.
func startUpstream(addr string, f faults) (*upstreamProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-upstream", "-addr", addr,
		"-p503", strconv.FormatFloat(f.p503, 'g', -1, 64),
		"-preset", strconv.FormatFloat(f.pReset, 'g', -1, 64),
		"-reset-mode", f.resetMode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &upstreamProcess{cmd: cmd, stdin: stdin, ctl: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("upstream process: reading its address: %w", err)
	}
	p.base = "http://" + strings.TrimSpace(line)
	return p, nil
}

// stats reads the upstream's counters.
func (p *upstreamProcess) stats() (upstreamStats, error) {
	var s upstreamStats
	resp, err := p.ctl.Get(p.base + pathStats)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}

// resetStats zeroes the upstream's counters.
func (p *upstreamProcess) resetStats() error {
	resp, err := p.ctl.Post(p.base+pathReset, "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("upstream %s: %s", pathReset, resp.Status)
	}
	return nil
}

// stop closes the child's stdin, which ends it, and waits; it kills the
// child if it has not exited within 5 s.
func (p *upstreamProcess) stop() error {
	p.ctl.CloseIdleConnections()
	p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		return <-done
	}
}
