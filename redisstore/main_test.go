package redisstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that nothing outlives the tests: the Store starts no
// goroutine, every Breakers is closed (which stops its two) and every
// go-redis client is closed in its test's cleanup.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
