package redisstore_test

import (
	"context"
	"log"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// A rate limit of 200 calls a second, in bursts of up to 20, shared by
// every replica that runs this code against the same Redis. With Redis out
// of reach, each of the four replicas admits a quarter of it on its own.
// (Not run: it needs a Redis.)
func ExampleStore_RateGate() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "redis:6379",
		ContextTimeoutEnabled: true, // so that the store's timeout bounds a Redis that hangs
	})
	defer rdb.Close()

	store, err := redisstore.New(rdb, redisstore.WithNamespace("billing"))
	if err != nil {
		log.Fatal(err)
	}
	gate, err := store.RateGate("partner-api", ratelimit.Limit{Rate: 200, Burst: 20},
		redisstore.WithLocalShare(1.0/4), // four replicas
		redisstore.WithOnTransition(func(up bool) { log.Printf("shared rate limit up: %v", up) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	client, err := httpclient.New("https://partner.example",
		httpclient.WithRateLimit(httpclient.RateLimit{Gate: gate, MaxWait: time.Second}))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/v1/quotes")
	if err != nil {
		log.Fatal(err) // a *httpclient.RateLimitError when the fleet's slot was over a second away
	}
	resp.Body.Close()
}

// The circuit breakers of every replica that runs this code against the
// same Redis, shared: a circuit that opens on one opens on all, and while
// it is half-open one replica probes for the fleet. (Not run: it needs a
// Redis.)
func ExampleStore_Breakers() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()

	store, err := redisstore.New(rdb, redisstore.WithNamespace("billing"))
	if err != nil {
		log.Fatal(err)
	}
	breakers, err := store.Breakers(
		redisstore.WithBreakerOnTransition(func(up bool) { log.Printf("shared breakers up: %v", up) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer breakers.Close() // after the client's Close: deferred calls run last first

	client, err := httpclient.New("https://partner.example",
		httpclient.WithCircuitBreaker(5, 10*time.Second),
		httpclient.WithSharedBreakers(breakers))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/v1/quotes")
	if err != nil {
		log.Fatal(err) // wraps httpclient.ErrCircuitOpen when the fleet's circuit is open
	}
	resp.Body.Close()
}
