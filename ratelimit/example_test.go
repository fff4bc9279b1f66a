package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tempestsdk/tempest/ratelimit"
)

// A limiter of 2 events per second with bursts of 2: two at once, then one
// every 500ms. Time is passed in.
func ExampleLimiter_Take() {
	l, err := ratelimit.New(ratelimit.Limit{Rate: 2, Burst: 2})
	if err != nil {
		panic(err)
	}
	ctx, now := context.Background(), time.Now()
	for i := range 4 {
		wait, err := l.Take(ctx, now, 0) // fail fast
		var le *ratelimit.LimitedError
		if errors.As(err, &le) {
			fmt.Printf("event %d: refused, retry after %v\n", i+1, le.RetryAfter)
			continue
		}
		fmt.Printf("event %d: admitted after %v\n", i+1, wait)
	}
	wait, _ := l.Take(ctx, now, time.Second) // or wait up to a second
	fmt.Println("a waiting event: admitted after", wait)
	// Output:
	// event 1: admitted after 0s
	// event 2: admitted after 0s
	// event 3: refused, retry after 500ms
	// event 4: refused, retry after 500ms
	// a waiting event: admitted after 500ms
}

// Wait sleeps until the event is admitted, or refuses at once when that
// would be past the context's deadline.
func ExampleLimiter_Wait() {
	l, err := ratelimit.New(ratelimit.Limit{Rate: 10}) // one per 100ms
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	fmt.Println(l.Wait(ctx)) // the first is admitted at once
	err = l.Wait(ctx)        // the second would wait past the deadline
	var le *ratelimit.LimitedError
	if errors.As(err, &le) {
		fmt.Println("refused at once; retry after about", le.RetryAfter.Round(10*time.Millisecond))
	}
	// Output:
	// <nil>
	// refused at once; retry after about 100ms
}
