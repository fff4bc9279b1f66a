package breaker

import (
	"sync"
	"testing"
	"time"
)

// R60: the zero Template, and a nil *Template, make breakers of the
// default Settings; they used to panic with a nil pointer dereference.
func TestTemplate_R60_ZeroAndNilMakeDefaults(t *testing.T) {
	for name, tp := range map[string]*Template{"zero": {}, "nil": nil} {
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("%s Template: New panicked: %v", name, v)
				}
			}()
			b := tp.New(nil)
			if b.State() != Closed {
				t.Errorf("%s Template: new breaker %v", name, b.State())
			}
		}()
	}
}

// R60: one Template used from many goroutines, each breaker with its own
// OnStateChange, in ratio and growth modes; each change reaches only its
// own breaker's callback (run with -race).
func TestTemplate_R60_Concurrent(t *testing.T) {
	tp, err := NewTemplate(Settings{FailureThreshold: 1, Recovery: time.Hour, MaxRecovery: 2 * time.Hour,
		FailureRatio: 0.5, MinimumThroughput: 1, Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	counts := make([]int, 64)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := tp.New(func(Change) { counts[i]++ })
			tk, err := b.Allow()
			if err != nil {
				t.Error(err)
				return
			}
			tk.Done(Failure)
			if b.State() != Open {
				t.Errorf("breaker %d %v", i, b.State())
			}
		}()
	}
	wg.Wait()
	for i, n := range counts {
		if n != 1 {
			t.Errorf("breaker %d saw %d changes, want 1", i, n)
		}
	}
}
