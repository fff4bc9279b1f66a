package concurrency_test

import (
	"context"
	"errors"
	"fmt"

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
