package breaker

import (
	"errors"
	"fmt"
	"time"

	"github.com/tempestsdk/tempest/internal/window"
)

// Defaults applied by New to zero-valued Settings fields.
const (
	DefaultFailureThreshold = 5
	DefaultRecovery         = 30 * time.Second

	// DefaultMinimumThroughput and DefaultWindow apply in ratio mode only;
	// see the package documentation for why they differ from other
	// libraries' defaults.
	DefaultMinimumThroughput = 20
	DefaultWindow            = 10 * time.Second

	DefaultHalfOpenProbes = 1
)

// maxHalfOpenProbes bounds Settings.HalfOpenProbes: a half-open period keeps
// one slot per probe and scans them on each half-open Allow.
const maxHalfOpenProbes = 100

// windowBuckets is how many buckets a ratio-mode Window is kept as.
const windowBuckets = window.Buckets

// ErrInvalidSettings is wrapped by every error New returns.
var ErrInvalidSettings = errors.New("breaker: invalid settings")

// Settings configures a Breaker. The zero value is valid and means the
// documented defaults.
type Settings struct {
	// FailureThreshold is the number of consecutive failures, while closed,
	// that opens the circuit (consecutive mode). Unused in ratio mode.
	// Default: 5. Negative: New returns an error.
	FailureThreshold int

	// Recovery is how long the circuit stays open before it half-opens.
	// Default: 30s. Negative: New returns an error.
	Recovery time.Duration

	// ProbeTimeout is how long a half-open probe admitted by Allow may stay
	// unanswered before it counts as a failure (AllowBounded sets its own
	// bound per call).
	// Default: Recovery. Negative: New returns an error.
	ProbeTimeout time.Duration

	// FailureRatio > 0 selects the ratio mode: the circuit opens when, over
	// the last Window, at least MinimumThroughput outcomes were reported and
	// the share of failures is >= FailureRatio. The ratio is evaluated on
	// each Failure, never on a Success. FailureThreshold is then unused.
	// 0.5 is the ratio we suggest (see the package documentation).
	// Default: 0, consecutive mode. Outside (0, 1], or NaN: New returns an
	// error.
	FailureRatio float64

	// MinimumThroughput is the number of outcomes (successes and failures;
	// Ignore is none) the last Window must hold before the ratio may open
	// the circuit. Ratio mode only.
	// Default: 20. Negative: New returns an error.
	MinimumThroughput int

	// Window is the sliding window of the ratio mode, kept as 10 buckets of
	// Window/10: counts cover the last Window to within one bucket. Ratio
	// mode only.
	// Default: 10s. Negative, or positive but under 10ns: New returns an
	// error.
	Window time.Duration

	// SlowCall > 0: a Success reported with Ticket.DoneTimed whose elapsed
	// time exceeds SlowCall counts as a Failure (both modes, probes
	// included), as resilience4j's slow-call rate does. Done is unaffected.
	// Default: 0, off. Negative: New returns an error.
	SlowCall time.Duration

	// MaxRecovery > Recovery turns on growth of repeated breaks: the k-th
	// consecutive failed (or timed-out) probe re-opens the circuit for
	// min(MaxRecovery, Recovery*2^(k-1)), shortened by up to 20% at random
	// but never below Recovery; k=1 is exactly Recovery. The count
	// resets when the circuit closes, and on Reset.
	// Default: 0 (as is any value <= Recovery): every break is Recovery.
	// Negative: New returns an error.
	MaxRecovery time.Duration

	// HalfOpenProbes is how many calls are admitted at once while half-open.
	// A probe that succeeds keeps its slot, so a half-open period admits
	// that many probes in all (plus one per probe reported as Ignore). The
	// circuit closes once that many probes have succeeded, and re-opens at
	// the first failed or timed-out probe.
	// Default: 1. Negative, or over 100: New returns an error.
	HalfOpenProbes int

	// Now is the clock.
	// Default: time.Now (which testing/synctest fakes inside a bubble).
	Now func() time.Time

	// OnStateChange is called once per state change (each new generation),
	// after the change and never under a lock, so it may call back into the
	// Breaker. Calls are serialised and in generation order; see Change.
	// A panic in it is recovered and passed to OnPanic.
	// Default: nil, no notifications.
	OnStateChange func(Change)

	// OnPanic receives the value of a panic recovered from OnStateChange.
	// A panic in OnPanic itself is recovered and dropped.
	// Default: nil, panics are dropped.
	OnPanic func(v any)
}

// config is Settings with defaults applied and validated.
type config struct {
	threshold    int64
	recovery     time.Duration
	probeTimeout time.Duration
	now          func() time.Time
	realClock    bool // now is time.Now: "is it before t" reads only the monotonic clock
	onChange     func(Change)
	onPanic      func(any)

	ratio       float64 // > 0: ratio mode
	minCalls    int64   // ratio mode: MinimumThroughput
	bucket      int64   // ratio mode: nanoseconds per window bucket
	slowCall    time.Duration
	maxRecovery time.Duration // > recovery: repeated breaks grow
	probes      int
}

// Validate reports what New would refuse in s, as New's error, without
// making a Breaker.
func (s Settings) Validate() error {
	_, err := s.config()
	return err
}

func (s Settings) config() (config, error) {
	if s.FailureThreshold < 0 {
		return config{}, fmt.Errorf("%w: FailureThreshold %d is negative", ErrInvalidSettings, s.FailureThreshold)
	}
	if s.Recovery < 0 {
		return config{}, fmt.Errorf("%w: Recovery %v is negative", ErrInvalidSettings, s.Recovery)
	}
	if s.ProbeTimeout < 0 {
		return config{}, fmt.Errorf("%w: ProbeTimeout %v is negative", ErrInvalidSettings, s.ProbeTimeout)
	}
	if r := s.FailureRatio; r != 0 && !(r > 0 && r <= 1) { // NaN fails r > 0
		return config{}, fmt.Errorf("%w: FailureRatio %v is outside (0, 1]", ErrInvalidSettings, r)
	}
	if s.MinimumThroughput < 0 {
		return config{}, fmt.Errorf("%w: MinimumThroughput %d is negative", ErrInvalidSettings, s.MinimumThroughput)
	}
	if s.Window < 0 {
		return config{}, fmt.Errorf("%w: Window %v is negative", ErrInvalidSettings, s.Window)
	}
	if s.Window > 0 && s.Window < windowBuckets {
		return config{}, fmt.Errorf("%w: Window %v is shorter than 10ns, one per bucket", ErrInvalidSettings, s.Window)
	}
	if s.SlowCall < 0 {
		return config{}, fmt.Errorf("%w: SlowCall %v is negative", ErrInvalidSettings, s.SlowCall)
	}
	if s.MaxRecovery < 0 {
		return config{}, fmt.Errorf("%w: MaxRecovery %v is negative", ErrInvalidSettings, s.MaxRecovery)
	}
	if s.HalfOpenProbes < 0 {
		return config{}, fmt.Errorf("%w: HalfOpenProbes %d is negative", ErrInvalidSettings, s.HalfOpenProbes)
	}
	if s.HalfOpenProbes > maxHalfOpenProbes {
		return config{}, fmt.Errorf("%w: HalfOpenProbes %d is over %d", ErrInvalidSettings, s.HalfOpenProbes, maxHalfOpenProbes)
	}
	c := config{
		threshold:    int64(s.FailureThreshold),
		recovery:     s.Recovery,
		probeTimeout: s.ProbeTimeout,
		now:          s.Now,
		onChange:     s.OnStateChange,
		onPanic:      s.OnPanic,
		ratio:        s.FailureRatio,
		minCalls:     int64(s.MinimumThroughput),
		slowCall:     s.SlowCall,
		maxRecovery:  s.MaxRecovery,
		probes:       s.HalfOpenProbes,
	}
	if c.threshold == 0 {
		c.threshold = DefaultFailureThreshold
	}
	if c.recovery == 0 {
		c.recovery = DefaultRecovery
	}
	if c.probeTimeout == 0 {
		c.probeTimeout = c.recovery
	}
	if c.now == nil {
		c.now, c.realClock = time.Now, true
	}
	if c.minCalls == 0 {
		c.minCalls = DefaultMinimumThroughput
	}
	window := s.Window
	if window == 0 {
		window = DefaultWindow
	}
	c.bucket = int64(window / windowBuckets)
	if c.maxRecovery <= c.recovery {
		c.maxRecovery = 0
	}
	if c.probes == 0 {
		c.probes = DefaultHalfOpenProbes
	}
	return c, nil
}

// ratioMode reports whether the circuit opens on a failure ratio.
func (c *config) ratioMode() bool { return c.ratio > 0 }
