package breaker

import (
	"errors"
	"testing"
	"time"
)

// R60: the breakers of one Template share one copy of its settings, each
// with its own state and its own OnStateChange; invalid settings are
// refused as New refuses them.
func TestTemplate_R60_SharedSettingsOwnState(t *testing.T) {
	if _, err := NewTemplate(Settings{Recovery: -time.Second}); !errors.Is(err, ErrInvalidSettings) {
		t.Fatalf("err %v, want ErrInvalidSettings", err)
	}
	var fromSettings int
	tp, err := NewTemplate(Settings{FailureThreshold: 1, Recovery: time.Hour, OnStateChange: func(Change) { fromSettings++ }})
	if err != nil {
		t.Fatal(err)
	}
	var own int
	a, b := tp.New(nil), tp.New(func(Change) { own++ })
	if a.cfg != b.cfg || a.cfg != tp.cfg {
		t.Fatal("the template's breakers hold copies of its settings")
	}
	for _, br := range []*Breaker{a, b} {
		tk, err := br.Allow()
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(Failure)
	}
	if a.State() != Open || b.State() != Open {
		t.Fatal("a failure at threshold 1 left a breaker closed")
	}
	c := tp.New(nil)
	if c.State() != Closed {
		t.Fatal("a new breaker of the template starts where another one is")
	}
	if fromSettings != 1 || own != 1 {
		t.Fatalf("OnStateChange from the settings ran %d times, the breaker's own %d; want 1 each", fromSettings, own)
	}
}
