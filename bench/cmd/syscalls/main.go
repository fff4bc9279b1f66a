// Command syscalls counts the system calls each client under test makes per
// call on a real loopback connection, with strace -c -f, over HTTP/1.1 and
// HTTP/2.
//
// It serves the upstream itself (a JSON body, keep-alive; HTTP/2 over TLS)
// and runs every client in a child process of its own under strace, twice:
// with -n calls and with none, so that what the process does to start and
// stop cancels out. Calls are sequential on one goroutine over a warm pool,
// so that the count is of the client, not of the scheduler. The server is
// in this process, which strace does not follow.
//
// Usage (from bench/, as `make bench-syscalls` runs it):
//
//	go run ./cmd/syscalls [-n 2000] [-md syscalls.md]
//
// The table goes to standard output and, with -md, to a file that
// docs/benchmarks.md quotes.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/tempestsdk/tempest/bench"
	"github.com/tempestsdk/tempest/httpclient"
)

const path = "/users/42"

var body = []byte(`{"id":42,"name":"Ada Lovelace","email":"ada@example.com"}`)

func main() {
	n := flag.Int("n", 2000, "calls per client and protocol")
	flag.IntVar(&procs, "procs", 1, "GOMAXPROCS of the client processes")
	commit := flag.String("commit", "", "the commit measured, for the table's heading")
	md := flag.String("md", "", "also write the Markdown table to this file")
	client := flag.String("client", "", "child mode: the client to run")
	url := flag.String("url", "", "child mode: the upstream's base URL")
	cert := flag.String("cert", "", "child mode: the upstream's certificate (PEM), for HTTP/2")
	flag.Parse()
	var err error
	if *client != "" {
		err = child(*client, *url, *cert, *n)
	} else {
		err = parent(*n, *md, *commit)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "syscalls:", err)
		os.Exit(1)
	}
}

// child makes n calls with one client, after one call that opens the
// connection (counted in the n = 0 run too).
func child(name, base, certFile string, n int) error {
	p, ok := bench.PeerByName(name)
	if !ok {
		return fmt.Errorf("no client %q", name)
	}
	rt := httpclient.NewTransport()
	if certFile != "" {
		b, err := os.ReadFile(certFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return errors.New("no certificate in " + certFile)
		}
		rt.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	c, err := p.New(base, rt, bench.DefaultPolicy)
	if err != nil {
		return err
	}
	defer c.Close()
	url := base + path
	if p.BaseURL {
		url = path
	}
	ctx := context.Background()
	for i := range n + 1 {
		if st, err := c.Get(ctx, url); err != nil || st != 200 {
			return fmt.Errorf("call %d: %d %v", i, st, err)
		}
	}
	rt.CloseIdleConnections()
	return nil
}

type count struct {
	total int
	calls map[string]int
}

func parent(n int, mdPath, commit string) error {
	if _, err := exec.LookPath("strace"); err != nil {
		return errors.New("strace is not installed (apt-get install strace)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "syscalls")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	h1 := httptest.NewServer(h)
	defer h1.Close()
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.Config.ErrorLog = log.New(io.Discard, "", 0)
	h2.StartTLS()
	defer h2.Close()
	certFile := dir + "/cert.pem"
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h2.Certificate().Raw})
	if err := os.WriteFile(certFile, pemBytes, 0o600); err != nil {
		return err
	}

	type key struct{ proto, client string }
	results := map[key][]float64{} // syscalls per call, one per pass
	io := map[key][]float64{}      // of which reads and writes on sockets
	tops := map[key]map[string]float64{}
	protos := []struct{ name, url, cert string }{{"h1", h1.URL, ""}, {"h2", h2.URL, certFile}}
	for pass := range passes {
		for _, proto := range protos {
			for _, p := range bench.Peers {
				run := func(calls int) (count, error) {
					trace := fmt.Sprintf("%s/%s-%s-%d-%d.txt", dir, proto.name, p.Name, calls, pass)
					args := []string{"-f", "-c", "-o", trace, self, "-client", p.Name, "-url", proto.url, "-n", strconv.Itoa(calls)}
					if proto.cert != "" {
						args = append(args, "-cert", proto.cert)
					}
					cmd := exec.Command("strace", args...)
					cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
					cmd.Stderr = os.Stderr
					if err := cmd.Run(); err != nil {
						return count{}, fmt.Errorf("%s %s: %w", proto.name, p.Name, err)
					}
					return readCount(trace)
				}
				base, err := run(0)
				if err != nil {
					return err
				}
				full, err := run(n)
				if err != nil {
					return err
				}
				k := key{proto.name, p.Name}
				results[k] = append(results[k], float64(full.total-base.total)/float64(n))
				ioCalls := 0
				for name, v := range full.calls {
					if ioSyscalls[name] {
						ioCalls += v - base.calls[name]
					}
				}
				io[k] = append(io[k], float64(ioCalls)/float64(n))
				if tops[k] == nil {
					tops[k] = map[string]float64{}
				}
				for name, v := range full.calls {
					tops[k][name] += float64(v-base.calls[name]) / float64(n) / passes
				}
			}
		}
	}

	var out strings.Builder
	if commit == "" {
		commit = "commit not recorded"
	}
	fmt.Fprintf(&out, "`make bench-syscalls` at commit %s: system calls per call of the client process (`strace -c -f`, GOMAXPROCS=%d, %d sequential GETs on a warm pool, less a run of none; median of %d interleaved passes), against a server in another process on 127.0.0.1. Socket I/O (read, write and their kin) is what the client asks of the kernel; the rest (futex, nanosleep, epoll_pwait) is Go's scheduler parking and waking threads, and varies from run to run.\n\n", commit, procs, n, passes)
	fmt.Fprintf(&out, "| proto | client | syscalls/call | × raw | socket I/O/call | × raw | the most frequent, per call (mean) |\n| --- | --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, proto := range protos {
		rawAll, rawIO := median(results[key{proto.name, "raw"}]), median(io[key{proto.name, "raw"}])
		for _, p := range bench.Peers {
			k := key{proto.name, p.Name}
			all, ioPer := median(results[k]), median(io[k])
			type kv struct {
				k string
				v float64
			}
			var top []kv
			for name, v := range tops[k] {
				if v >= 0.05 {
					top = append(top, kv{name, v})
				}
			}
			sort.Slice(top, func(i, j int) bool { return top[i].v > top[j].v || top[i].v == top[j].v && top[i].k < top[j].k })
			var cells []string
			for i, t := range top {
				if i == 5 {
					break
				}
				cells = append(cells, fmt.Sprintf("%s %.2f", t.k, t.v))
			}
			fmt.Fprintf(&out, "| %s | %s | %.2f | %s | %.2f | %s | %s |\n", proto.name, p.Name, all, ratio(all, rawAll, p.Name), ioPer, ratio(ioPer, rawIO, p.Name), strings.Join(cells, ", "))
		}
	}
	fmt.Print(out.String())
	if mdPath != "" {
		return os.WriteFile(mdPath, []byte(out.String()), 0o644)
	}
	return nil
}

// procs is the clients' GOMAXPROCS.
var procs int

// passes is how many times every client is counted, interleaved.
const passes = 5

// ioSyscalls are the system calls that move a connection's bytes.
var ioSyscalls = map[string]bool{
	"read": true, "write": true, "readv": true, "writev": true,
	"recvfrom": true, "sendto": true, "recvmsg": true, "sendmsg": true,
}

func ratio(v, raw float64, client string) string {
	if client == "raw" {
		return "1"
	}
	if raw == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", v/raw)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// readCount parses strace -c's summary: one row per system call, "calls" in
// the fourth column, "total" on the last row.
func readCount(path string) (count, error) {
	f, err := os.Open(path)
	if err != nil {
		return count{}, err
	}
	defer f.Close()
	c := count{calls: map[string]int{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || strings.HasPrefix(fields[0], "%") || strings.HasPrefix(fields[0], "-") {
			continue
		}
		name := fields[len(fields)-1]
		// Rows are "% time, seconds, usecs/call, calls, [errors,] syscall".
		calls, err := strconv.Atoi(fields[3])
		if err != nil {
			continue
		}
		if name == "total" {
			c.total = calls
		} else {
			c.calls[name] = calls
		}
	}
	if c.total == 0 {
		return c, fmt.Errorf("%s: no total in strace's summary", path)
	}
	return c, sc.Err()
}
