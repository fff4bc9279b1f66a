package breaker_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

func ExampleNew() {
	b, err := breaker.New(breaker.Settings{
		FailureThreshold: 3,
		Recovery:         10 * time.Second,
		// ProbeTimeout left zero: a probe may take Recovery.
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(b.State())

	_, err = breaker.New(breaker.Settings{Recovery: -time.Second})
	fmt.Println(errors.Is(err, breaker.ErrInvalidSettings), err)
	// Output:
	// closed
	// true breaker: invalid settings: Recovery -1s is negative
}

func ExampleBreaker_Allow() {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	b, _ := breaker.New(breaker.Settings{
		FailureThreshold: 2,
		Recovery:         30 * time.Second,
		Now:              func() time.Time { return now },
	})

	call := func(upstreamErr error) error {
		// Step one: ask. A refusal is a *breaker.OpenError.
		t, err := b.Allow()
		if err != nil {
			return err
		}
		// Step two: report, exactly once.
		if upstreamErr != nil {
			t.Done(breaker.Failure)
			return upstreamErr
		}
		t.Done(breaker.Success)
		return nil
	}

	down := errors.New("503 from upstream")
	fmt.Println(call(down))
	fmt.Println(call(down))
	err := call(nil) // not sent: the circuit is open
	var oe *breaker.OpenError
	if errors.As(err, &oe) {
		fmt.Println("fail fast until", oe.Until.Format(time.TimeOnly))
	}

	now = now.Add(30 * time.Second)
	fmt.Println(call(nil), b.State()) // the probe succeeds
	// Output:
	// 503 from upstream
	// 503 from upstream
	// fail fast until 12:00:30
	// <nil> closed
}

func ExampleBreaker_Trip() {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	b, _ := breaker.New(breaker.Settings{
		Now: func() time.Time { return now },
		OnStateChange: func(c breaker.Change) {
			fmt.Printf("%v -> %v (generation %d, %v)\n", c.From, c.To, c.Generation, c.Cause)
		},
	})

	// An operator, or a shared-state integration, opens the circuit for a minute.
	b.Trip(now.Add(time.Minute))
	_, err := b.Allow()
	fmt.Println(errors.Is(err, breaker.ErrOpen))

	b.Reset()
	_, err = b.Allow()
	fmt.Println(err)
	// Output:
	// closed -> open (generation 2, trip)
	// true
	// open -> closed (generation 3, reset)
	// <nil>
}

// A breaker per tenant, all of one configuration: the template holds the
// settings once, and each breaker says whose it is when it changes.
func ExampleTemplate() {
	t, err := breaker.NewTemplate(breaker.Settings{FailureThreshold: 1, Recovery: time.Minute})
	if err != nil {
		panic(err)
	}
	breakers := map[string]*breaker.Breaker{}
	for _, tenant := range []string{"acme", "globex"} {
		breakers[tenant] = t.New(func(ch breaker.Change) {
			fmt.Printf("%s: %v -> %v\n", tenant, ch.From, ch.To)
		})
	}
	tk, _ := breakers["globex"].Allow()
	tk.Done(breaker.Failure)
	fmt.Println(breakers["acme"].State(), breakers["globex"].State())
	// Output:
	// globex: closed -> open
	// closed open
}
