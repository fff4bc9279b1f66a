package otel

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
)

// Observe reports the breakers of c as the tempest.client.breaker.state and
// tempest.client.breaker.until_half_open series, and its concurrency limit
// (when c has one) as the tempest.client.concurrency.limit, in_flight and
// queued series, read (Client.Breakers and Client.ConcurrencyLimits, pure
// reads) whenever the meter collects, until stop is called. Observing two
// clients with one Instrumentation adds up their series for an origin both
// call. The error says c is nil or observed already.
//
// The callback that reads the clients is registered with the meter in
// New and stays for the meter provider's life; with no client observed it
// reports nothing.
func (i *Instrumentation) Observe(c *httpclient.Client) (stop func(), err error) {
	if c == nil {
		return nil, errors.New("otel: Observe(nil)")
	}
	i.obsMu.Lock()
	defer i.obsMu.Unlock()
	if _, dup := i.observed[c]; dup {
		return nil, errors.New("otel: Observe: the client is observed already")
	}
	i.observed[c] = struct{}{}
	var once sync.Once
	return func() {
		once.Do(func() {
			i.obsMu.Lock()
			delete(i.observed, c)
			i.obsMu.Unlock()
		})
	}, nil
}

// observe is the callback of the breaker and concurrency series: it reads
// the breakers and concurrency limiters of every client observed, sums them
// per series (an origin past the bound goes to its _OTHER), and reports
// each series' three breaker states and, for open circuits, the longest
// time until one half-opens; and, for the origins with a concurrency
// limiter, the sums of their limits, attempts in flight and attempts
// queued. A series reports only what its origins have: no breaker states
// for origins with no breaker, no concurrency series for a client with no
// limit. The clients are read and the observations made outside obsMu.
func (i *Instrumentation) observe(_ context.Context, o metric.Observer) error {
	i.obsMu.Lock()
	clients := make([]*httpclient.Client, 0, len(i.observed))
	for c := range i.observed {
		clients = append(clients, c)
	}
	i.obsMu.Unlock()
	if len(clients) == 0 {
		return nil
	}
	type series struct {
		o     *origin
		br    bool // a breaker is in the series
		n     [3]int64
		open  bool
		until float64
		conc  bool // a concurrency limiter is in the series
		limit int64
		in    int64
		queue int64
	}
	var byIdx map[int]*series
	get := func(name string) *series {
		org := i.origins.lookup(name)
		if byIdx == nil {
			byIdx = make(map[int]*series)
		}
		s := byIdx[org.idx]
		if s == nil {
			s = &series{o: org}
			byIdx[org.idx] = s
		}
		return s
	}
	now := time.Now()
	for _, c := range clients {
		for name, snap := range c.Breakers() {
			s := get(name)
			s.br = true
			s.n[stateIndex(snap.State)]++
			if snap.State == breaker.Open {
				s.open = true
				s.until = max(s.until, snap.Until.Sub(now).Seconds(), 0)
			}
		}
		for name, snap := range c.ConcurrencyLimits() {
			s := get(name)
			s.conc = true
			s.limit += int64(snap.Limit)
			s.in += int64(snap.InFlight)
			s.queue += int64(snap.Queued)
		}
	}
	for _, s := range byIdx {
		if s.br {
			for st, opts := range s.o.states {
				o.ObserveInt64(i.breakerState, s.n[st], opts...)
			}
		}
		if s.open {
			o.ObserveFloat64(i.untilHalfOpen, s.until, s.o.bare...)
		}
		if s.conc {
			o.ObserveInt64(i.concLimit, s.limit, s.o.bare...)
			o.ObserveInt64(i.concInFlight, s.in, s.o.bare...)
			o.ObserveInt64(i.concQueued, s.queue, s.o.bare...)
		}
	}
	return nil
}
