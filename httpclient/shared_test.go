package httpclient

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclienttest"
)

// fleet is an in-process SharedBreakers for the seam's unit tests: it
// delivers each replica's publications to the others at once, and holds
// one probe token per origin until it expires. (The redisstore module's
// tests claim fleet behaviour against a real Redis.)
type fleet struct {
	mu       sync.Mutex
	members  []*member
	open     map[string]time.Time // origin: open until
	probe    map[string]time.Time // origin: token held until
	calls    map[string]int       // method: calls
	probePan bool
}

type member struct {
	f     *fleet
	watch func(origin string, open bool, d time.Duration)
}

func newFleet() *fleet {
	return &fleet{open: map[string]time.Time{}, probe: map[string]time.Time{}, calls: map[string]int{}}
}

func (f *fleet) member() *member {
	m := &member{f: f}
	f.mu.Lock()
	f.members = append(f.members, m)
	f.mu.Unlock()
	return m
}

func (f *fleet) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fleet) others(m *member, method string) []*member {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	var out []*member
	for _, o := range f.members {
		if o != m && o.watch != nil {
			out = append(out, o)
		}
	}
	return out
}

func (m *member) Opened(origin string, d time.Duration) {
	m.f.mu.Lock()
	m.f.open[origin] = time.Now().Add(d)
	m.f.mu.Unlock()
	for _, o := range m.f.others(m, "Opened") {
		o.watch(origin, true, d)
	}
}

func (m *member) Closed(origin string) {
	m.f.mu.Lock()
	delete(m.f.open, origin)
	delete(m.f.probe, origin)
	m.f.mu.Unlock()
	for _, o := range m.f.others(m, "Closed") {
		o.watch(origin, false, 0)
	}
}

func (m *member) Probe(_ context.Context, origin string, ttl time.Duration) bool {
	m.f.others(m, "Probe")
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	if m.f.probePan {
		panic("store")
	}
	if until, ok := m.f.probe[origin]; ok && time.Now().Before(until) {
		return false
	}
	m.f.probe[origin] = time.Now().Add(ttl)
	return true
}

func (m *member) Learn(origin string) {
	m.f.others(m, "Learn")
	m.f.mu.Lock()
	until, ok := m.f.open[origin]
	m.f.mu.Unlock()
	if ok && time.Now().Before(until) {
		m.watch(origin, true, time.Until(until))
	}
}

func (m *member) Watch(f func(origin string, open bool, d time.Duration)) { m.watch = f }

// replicas makes n clients of one in-memory upstream sharing f, each with
// a breaker that opens at the first failure and a 1s recovery.
func replicas(t *testing.T, f *fleet, srv *httpclienttest.Server, n int) []*Client {
	t.Helper()
	var out []*Client
	for range n {
		out = append(out, clientFor(t, srv, WithCircuitBreaker(1, time.Second), WithSharedBreakers(f.member()),
			WithRetryPolicy(RetryPolicy{MaxAttempts: 1})))
	}
	return out
}

func stateOf(t *testing.T, c *Client, origin string) breaker.Snapshot {
	t.Helper()
	s, err := c.Breaker(origin)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// R72: a circuit that opens on one replica opens on the others at once,
// for the break that remains; after the break exactly one replica probes,
// and its success closes the circuit everywhere. The success path of a
// closed breaker never calls the store.
func TestShared_R72_TripOnceProbeOnceCloseEverywhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet()
		var fail bool
		var slow time.Duration
		var mu sync.Mutex
		srv := httpclienttest.NewMemoryServer(httpclienttest.ScriptFunc(func(int, *http.Request) httpclienttest.Response {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return httpclienttest.Status(503)
			}
			return httpclienttest.Response{Status: 200, Delay: slow, Body: []byte("ok")}
		}))
		cs := replicas(t, f, srv, 3)
		origin := srv.URL + ":80"
		for _, c := range cs { // every replica knows the origin
			for range 10 {
				resp, err := c.Get(context.Background(), "/")
				if err != nil {
					t.Fatal(err)
				}
				readAll(t, resp)
			}
		}
		if f.count("Learn") != 3 || f.count("Opened")+f.count("Closed")+f.count("Probe") != 0 {
			t.Fatalf("the success path called the store: %v", f.calls)
		}

		mu.Lock()
		fail = true
		mu.Unlock()
		resp, err := cs[0].Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		for i, c := range cs {
			if s := stateOf(t, c, origin); s.State != breaker.Open || time.Until(s.Until) != time.Second {
				t.Errorf("replica %d: %v until +%v; want open for the 1s break", i, s.State, time.Until(s.Until))
			}
		}
		if f.count("Opened") != 1 {
			t.Errorf("%d publications of the trip; the remote trips must not echo", f.count("Opened"))
		}

		mu.Lock()
		fail, slow = false, 100*time.Millisecond
		mu.Unlock()
		time.Sleep(time.Second) // the break, in the bubble
		hits := len(srv.Requests())
		// Every replica calls while the first one's probe is in flight:
		// only that one reaches the upstream.
		probed := make(chan error, 1)
		go func() {
			resp, err := cs[0].Get(context.Background(), "/")
			if err == nil {
				resp.Body.Close()
			}
			probed <- err
		}()
		synctest.Wait()
		for i, c := range cs[1:] {
			if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrCircuitOpen) {
				t.Errorf("replica %d during the fleet's probe: %v; want a fast failure", i+1, err)
			}
		}
		if err := <-probed; err != nil {
			t.Fatalf("the probe: %v", err)
		}
		if n := len(srv.Requests()) - hits; n != 1 {
			t.Errorf("%d requests during the half-open period; want one probe for the fleet", n)
		}
		for i, c := range cs {
			if s := stateOf(t, c, origin); s.State != breaker.Closed {
				t.Errorf("replica %d is %v after the fleet's probe succeeded", i, s.State)
			}
		}
		if f.count("Closed") != 1 {
			t.Errorf("%d publications of the close", f.count("Closed"))
		}
	})
}

// R72: a replica that starts late learns the fleet's state on first use
// of an origin, without that call waiting for the store.
func TestShared_R72_LateReplicaLearns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet()
		srv := httpclienttest.NewMemoryServer(httpclienttest.Sequence{httpclienttest.Status(503)})
		cs := replicas(t, f, srv, 1)
		resp, err := cs[0].Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		late := replicas(t, f, srv, 1)[0]
		// The first call goes out (the store answers after it has begun),
		// and the circuit opens as the answer arrives.
		hits := len(srv.Requests())
		if _, err := late.Get(context.Background(), "/"); err != nil && !errors.Is(err, ErrCircuitOpen) {
			t.Fatal(err)
		}
		if _, err := late.Get(context.Background(), "/"); !errors.Is(err, ErrCircuitOpen) {
			t.Errorf("the late replica's second call: %v; want a fast failure", err)
		}
		if n := len(srv.Requests()) - hits; n > 1 {
			t.Errorf("the late replica sent %d requests to an origin the fleet knows is down", n)
		}
	})
}

// R72: a store that panics breaks no call: the breaker runs local-only;
// and the store needs the breaker.
func TestShared_R72_BrokenStoreAndConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet()
		f.probePan = true
		srv := httpclienttest.NewMemoryServer(httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("ok")})
		c := replicas(t, f, srv, 1)[0]
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		time.Sleep(time.Second)
		resp, err = c.Get(context.Background(), "/") // the probe: the store panics, the call goes on
		if err != nil {
			t.Fatalf("probe with a panicking store: %v", err)
		}
		readAll(t, resp)
	})
	if _, err := New("http://x.test", WithCircuitBreaker(0, 0), WithSharedBreakers(newFleet().member())); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("shared breakers without a breaker: %v", err)
	}
}
