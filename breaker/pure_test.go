package breaker

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Queries are pure reads (STYLE 11): with a half-open probe past its bound
// and an open period over, State, Snapshot and Peek make no transition and
// run no callback, so a caller may ask them while holding a lock that its
// OnStateChange takes (the registry-sweep deadlock of the Trust issue).
func TestQueriesArePureReads_R54_NoCallbackUnderCallersLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var underLock, changes int
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, ProbeTimeout: time.Second,
			OnStateChange: func(Change) {
				if !mu.TryLock() {
					underLock++ // the caller's lock is held: this would deadlock
					return
				}
				changes++
				mu.Unlock()
			}})
		fail(t, b, 1)
		time.Sleep(time.Second)
		admit(t, b) // the probe, never reported
		time.Sleep(time.Second)

		mu.Lock()
		before := changes
		s := b.Snapshot()
		st := b.State()
		oe := b.Peek()
		mu.Unlock()

		if underLock > 0 {
			t.Fatalf("OnStateChange ran %d times from a query, under the caller's lock", underLock)
		}
		if changes != before {
			t.Fatalf("queries made %d transitions", changes-before)
		}
		if s.State != Open || st != Open || s.Generation != 4 || s.Breaks != 1 {
			t.Fatalf("snapshot %+v, State %v: want the pending re-open, generation 4", s, st)
		}
		if oe != nil {
			t.Fatalf("Peek = %v: the expired probe's slot is free for the next Allow", oe)
		}
		if got := b.cur.Load().gen; got != 3 {
			t.Fatalf("current generation %d after queries, want 3 (no transition)", got)
		}
		// The first call after it makes the transition that Snapshot foretold.
		refuse(t, b)
		if got := b.Snapshot(); !foretold(got, s) {
			t.Fatalf("after Allow %+v, Snapshot foretold %+v", got, s)
		}
		if changes != before+1 {
			t.Fatalf("Allow made %d transitions, want 1", changes-before)
		}
	})
}

// R51: a Snapshot reads well in a health endpoint's JSON: names in
// snake_case, states as words, no Until when there is none.
func TestSnapshot_R51_JSON(t *testing.T) {
	b, err := json.Marshal(map[string]Snapshot{"http://a:80": {State: HalfOpen, Generation: 3, ProbeInFlight: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"http://a:80":{"state":"half-open","generation":3,"consecutive_failures":0,"probe_in_flight":true,"calls":0,"failures":0,"probes_in_flight":0,"breaks":0}}`
	if string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	for _, v := range []interface{ MarshalText() ([]byte, error) }{Open, Failure, CauseProbeTimeout} {
		if txt, _ := v.MarshalText(); string(txt) != v.(fmt.Stringer).String() {
			t.Errorf("%v: MarshalText %q", v, txt)
		}
	}
}

// foretold reports whether a snapshot taken after a transition is the one
// taken before it foretold: the same in everything but LastChange, which
// holds only changes already made.
func foretold(after, before Snapshot) bool {
	if after.LastChange == nil || before.LastChange == after.LastChange {
		return false // the transition was made and recorded
	}
	after.LastChange, before.LastChange = nil, nil
	return after == before
}
