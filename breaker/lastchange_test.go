package breaker

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// R61: a snapshot holds the last change the breaker made, with its cause,
// nil before the first; it marshals with snake_case names and states and
// causes as text, for an operator's page.
func TestSnapshot_R61_LastChange(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	b, err := New(Settings{FailureThreshold: 1, Recovery: time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if s := b.Snapshot(); s.LastChange != nil {
		t.Fatalf("a new breaker's last change %+v, want none", s.LastChange)
	}
	tk, _ := b.Allow()
	tk.Done(Failure)
	s := b.Snapshot()
	want := Change{From: Closed, To: Open, Generation: 2, At: now, Until: now.Add(time.Minute), Cause: CauseFailures}
	if s.LastChange == nil || *s.LastChange != want {
		t.Fatalf("last change %+v, want %+v", s.LastChange, want)
	}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{`"last_change":{"from":"closed","to":"open","generation":2,"at":"2030-01-01T12:00:00Z","until":"2030-01-01T12:01:00Z","cause":"failures"}`} {
		if !strings.Contains(string(js), frag) {
			t.Fatalf("JSON %s lacks %s", js, frag)
		}
	}
	b.Reset()
	if s := b.Snapshot(); s.LastChange == nil || s.LastChange.To != Closed || s.LastChange.Cause != CauseReset {
		t.Fatalf("after Reset, last change %+v", s.LastChange)
	}
}
