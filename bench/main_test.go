package bench

import (
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test or benchmark leaves a goroutine behind:
// every transport's idle connections are closed and every server shut down.
// None of the peers starts a background goroutine of its own.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func maxProcs() int { return runtime.GOMAXPROCS(0) }
