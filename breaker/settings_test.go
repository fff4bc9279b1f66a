package breaker

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// Every new field is validated: New returns an error wrapping
// ErrInvalidSettings that names the field, and never panics.
func TestNewRejectsInvalidModeSettings(t *testing.T) {
	for _, c := range []struct {
		s     Settings
		field string
	}{
		{Settings{FailureRatio: -0.1}, "FailureRatio"},
		{Settings{FailureRatio: math.Nextafter(1, 2)}, "FailureRatio"},
		{Settings{FailureRatio: 2}, "FailureRatio"},
		{Settings{FailureRatio: math.NaN()}, "FailureRatio"},
		{Settings{FailureRatio: math.Inf(1)}, "FailureRatio"},
		{Settings{FailureRatio: math.Inf(-1)}, "FailureRatio"},
		{Settings{FailureRatio: 0.5, MinimumThroughput: -1}, "MinimumThroughput"},
		{Settings{MinimumThroughput: -1}, "MinimumThroughput"},
		{Settings{FailureRatio: 0.5, Window: -time.Second}, "Window"},
		{Settings{Window: -1}, "Window"},
		{Settings{Window: 9}, "Window"},
		{Settings{SlowCall: -time.Millisecond}, "SlowCall"},
		{Settings{MaxRecovery: -time.Second}, "MaxRecovery"},
		{Settings{HalfOpenProbes: -1}, "HalfOpenProbes"},
		{Settings{HalfOpenProbes: 101}, "HalfOpenProbes"},
		{Settings{HalfOpenProbes: math.MaxInt}, "HalfOpenProbes"},
	} {
		b, err := New(c.s)
		if b != nil || !errors.Is(err, ErrInvalidSettings) {
			t.Errorf("New(%+v) = %v, %v; want nil and ErrInvalidSettings", c.s, b, err)
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("New(%+v): %q does not name %s", c.s, err, c.field)
		}
	}
}

// The edges of the valid ranges are accepted, and the ratio-mode fields are
// ignored (not rejected) in consecutive mode.
func TestNewAcceptsModeSettingsEdges(t *testing.T) {
	for _, s := range []Settings{
		{FailureRatio: 1},
		{FailureRatio: math.SmallestNonzeroFloat64},
		{FailureRatio: 0.5, MinimumThroughput: 1, Window: 10},
		{FailureRatio: 0.5, MinimumThroughput: math.MaxInt, Window: math.MaxInt64},
		{MinimumThroughput: 7, Window: time.Minute},
		{SlowCall: 1, MaxRecovery: math.MaxInt64},
		{Recovery: time.Minute, MaxRecovery: time.Second},
		{HalfOpenProbes: 1}, {HalfOpenProbes: 100},
	} {
		if _, err := New(s); err != nil {
			t.Errorf("New(%+v): %v", s, err)
		}
	}
}

// Zero values of the new fields keep consecutive mode, one probe, no slow
// calls and no growth.
func TestNewModeDefaults(t *testing.T) {
	cfg, err := Settings{}.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ratioMode() || cfg.minCalls != DefaultMinimumThroughput || time.Duration(cfg.bucket*windowBuckets) != DefaultWindow ||
		cfg.slowCall != 0 || cfg.maxRecovery != 0 || cfg.probes != DefaultHalfOpenProbes {
		t.Fatalf("defaults %+v", cfg)
	}
	b := mustNew(t, Settings{})
	if p := b.cur.Load(); p.win != nil {
		t.Fatal("consecutive mode keeps a window")
	}
}

func TestCauseFailureRatioString(t *testing.T) {
	if got := CauseFailureRatio.String(); got != "failure-ratio" {
		t.Fatalf("String() = %q", got)
	}
	if got := Cause(CauseFailureRatio + 1).String(); got != "Cause(8)" {
		t.Fatalf("String() = %q", got)
	}
}
