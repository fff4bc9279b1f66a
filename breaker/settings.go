package breaker

import (
	"errors"
	"fmt"
	"time"
)

// Defaults applied by New to zero-valued Settings fields.
const (
	DefaultFailureThreshold = 5
	DefaultRecovery         = 30 * time.Second
)

// ErrInvalidSettings is wrapped by every error New returns.
var ErrInvalidSettings = errors.New("breaker: invalid settings")

// Settings configures a Breaker. The zero value is valid and means the
// documented defaults.
type Settings struct {
	// FailureThreshold is the number of consecutive failures, while closed,
	// that opens the circuit.
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
	c := config{
		threshold:    int64(s.FailureThreshold),
		recovery:     s.Recovery,
		probeTimeout: s.ProbeTimeout,
		now:          s.Now,
		onChange:     s.OnStateChange,
		onPanic:      s.OnPanic,
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
	return c, nil
}
