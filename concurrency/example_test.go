package concurrency_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tempestsdk/tempest/concurrency"
)

// At most two calls at once, and no queue: a third is refused at once,
// with the limit.
func ExampleLimiter_Acquire() {
	l, err := concurrency.New(concurrency.Settings{Limit: 2})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	a, _ := l.Acquire(ctx)
	b, _ := l.Acquire(ctx)
	_, err = l.Acquire(ctx)
	var le *concurrency.LimitedError
	if errors.As(err, &le) {
		fmt.Println("refused; limit", le.Limit)
	}
	a.Release()
	b.Release()
	fmt.Printf("%+v\n", l.Snapshot())
	// Output:
	// refused; limit 2
	// {Limit:2 InFlight:0 Queued:0 Rejected:1}
}

// An adaptive limit: each permit records its call's latency. Windows at
// the unqueued latency, with the limit in use, grow it; a window at ten
// times that latency halves it. OnLimit hears each change.
func ExampleAdaptive() {
	l, err := concurrency.New(concurrency.Settings{
		Limit:    8,
		Adaptive: &concurrency.Adaptive{Window: 4, OnLimit: func(from, to int) { fmt.Printf("limit %d -> %d\n", from, to) }},
	})
	if err != nil {
		panic(err)
	}
	window := func(rtt time.Duration) {
		var held []concurrency.Permit
		for {
			p, ok := l.TryAcquire()
			if !ok {
				break
			}
			held = append(held, p)
		}
		for _, p := range held {
			p.Record(rtt)
		}
		for _, p := range held {
			p.Release()
		}
	}
	// A window is at least half the limit: eight permits make two.
	window(20 * time.Millisecond)  // the first sets the baseline; the second, all in use, grows by half
	window(20 * time.Millisecond)  // grows by half again
	window(200 * time.Millisecond) // ten times the baseline: halved
	// Output:
	// limit 8 -> 12
	// limit 12 -> 18
	// limit 18 -> 9
}

// ReleaseAfter bounds how long a holder that may never release keeps its
// slot: here a permit given to code that forgets it comes back at 50ms.
func ExamplePermit_ReleaseAfter() {
	l, _ := concurrency.New(concurrency.Settings{Limit: 1, Queue: 1})
	p, _ := l.TryAcquire()
	p.ReleaseAfter(50 * time.Millisecond) // never released by hand
	start := time.Now()
	q, err := l.Acquire(context.Background()) // queued until the bound
	fmt.Println(err, time.Since(start) >= 50*time.Millisecond)
	q.Release()
	// Output:
	// <nil> true
}
