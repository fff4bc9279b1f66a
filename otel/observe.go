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
// tempest.client.breaker.until_half_open series, read (Client.Breakers, a
// pure read) whenever the meter collects, until stop is called. Observing
// two clients with one Instrumentation adds up their series for an origin
// both call. The error says c is nil or observed already.
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

// observe is the breaker callback: it reads the breakers of every client
// observed, sums them per series (an origin past the bound goes to its
// _OTHER), and reports each series' three states and, for open circuits,
// the longest time until one half-opens. The clients are read and the
// observations made outside obsMu.
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
		n     [3]int64
		open  bool
		until float64
	}
	var byIdx map[int]*series
	now := time.Now()
	for _, c := range clients {
		for name, snap := range c.Breakers() {
			org := i.origins.lookup(name)
			if byIdx == nil {
				byIdx = make(map[int]*series)
			}
			s := byIdx[org.idx]
			if s == nil {
				s = &series{o: org}
				byIdx[org.idx] = s
			}
			s.n[stateIndex(snap.State)]++
			if snap.State == breaker.Open {
				s.open = true
				s.until = max(s.until, snap.Until.Sub(now).Seconds(), 0)
			}
		}
	}
	for _, s := range byIdx {
		for st, opts := range s.o.states {
			o.ObserveInt64(i.breakerState, s.n[st], opts...)
		}
		if s.open {
			o.ObserveFloat64(i.untilHalfOpen, s.until, s.o.until...)
		}
	}
	return nil
}
