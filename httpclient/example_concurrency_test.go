package httpclient_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
)

// A fixed limit of two attempts in flight per origin, and no queue: while
// two responses are still being read, a third call fails fast, sends
// nothing, and says what the limit was. The breaker does not count it.
func ExampleWithConcurrencyLimit() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.OK("report")})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL, httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{
		Fixed: 2,                  // zero (the default) is the adaptive limit
		Queue: httpclient.NoQueue, // the default waits a little, in a queue of 16
	}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	ctx := context.Background()
	a, _ := client.Get(ctx, "/reports/1") // a slot each until the body is closed
	b, _ := client.Get(ctx, "/reports/2")
	_, err = client.Get(ctx, "/reports/3")
	var cle *httpclient.ConcurrencyLimitError
	if errors.As(err, &cle) {
		fmt.Printf("refused: limit %d, %d in flight; a circuit open: %v\n", cle.Limit, cle.InFlight, errors.Is(err, httpclient.ErrCircuitOpen))
	}
	a.Body.Close()
	b.Body.Close()
	state, _ := client.ConcurrencyLimit(upstream.URL)
	fmt.Printf("after: %+v\n", state)
	snap, _ := client.Breaker(upstream.URL)
	fmt.Println("breaker:", snap.State)
	// Output:
	// refused: limit 2, 2 in flight; a circuit open: false
	// after: {Limit:2 InFlight:0 Queued:0 Rejected:1}
	// breaker: closed
}

// An operator lowers one origin's limit while the client runs; the value
// outlives the origin's state. ConcurrencyLimits lists every origin's.
func ExampleClient_SetConcurrencyLimit() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.OK("ok")})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL, httpclient.WithConcurrencyLimit(httpclient.ConcurrencyLimit{}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	before, _ := client.ConcurrencyLimit(upstream.URL)
	if err := client.SetConcurrencyLimit(upstream.URL, 8); err != nil {
		panic(err)
	}
	for _, s := range client.ConcurrencyLimits() {
		fmt.Printf("adaptive, from %d; set to %d\n", before.Limit, s.Limit)
	}
	// Output:
	// adaptive, from 64; set to 8
}
