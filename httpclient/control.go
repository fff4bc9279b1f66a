package httpclient

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// ErrNoBreaker is returned by the operator controls when the client's breaker
// is disabled (WithCircuitBreaker(0, ...)).
var ErrNoBreaker = errors.New("httpclient: circuit breaker disabled")

// BreakerSnapshot is one origin's breaker as it stands, for health and debug
// endpoints (R51).
type BreakerSnapshot struct {
	Origin              string
	State               breaker.State
	Generation          uint64
	ConsecutiveFailures int
	// Until is when an open circuit half-opens (or, half-open with a probe
	// in flight, that probe's deadline); zero otherwise.
	Until time.Time
	// HalfOpensIn is how long until Until, 0 when Until is zero.
	HalfOpensIn   time.Duration
	ProbeInFlight bool
	// ProbesInFlight counts the half-open probes under way (R45).
	ProbesInFlight int
	// Calls and Failures are the ratio mode's counts over its window
	// (consecutive mode: Failures is ConsecutiveFailures).
	Calls, Failures int
	// Breaks counts consecutive failed probes, which lengthen breaks when
	// MaxRecovery is set.
	Breaks int
}

// Breakers returns a snapshot of every origin's breaker the client keeps,
// sorted by origin; nil when the breaker is disabled.
func (c *Client) Breakers() []BreakerSnapshot {
	var out []BreakerSnapshot
	for _, e := range c.reg.all() {
		if e.br != nil {
			out = append(out, snapshotOf(e.origin, e.br))
		}
	}
	slices.SortFunc(out, func(a, b BreakerSnapshot) int { return strings.Compare(a.Origin, b.Origin) })
	return out
}

func snapshotOf(origin string, br *breaker.Breaker) BreakerSnapshot {
	sn := br.Snapshot()
	bs := BreakerSnapshot{
		Origin:              origin,
		State:               sn.State,
		Generation:          sn.Generation,
		ConsecutiveFailures: sn.ConsecutiveFailures,
		Until:               sn.Until,
		ProbeInFlight:       sn.ProbeInFlight,
		ProbesInFlight:      sn.ProbesInFlight,
		Calls:               sn.Calls,
		Failures:            sn.Failures,
		Breaks:              sn.Breaks,
	}
	if !sn.Until.IsZero() {
		bs.HalfOpensIn = max(time.Until(sn.Until), 0)
	}
	return bs
}

// Breaker returns the snapshot of one origin's breaker; origin is a URL or
// scheme://host[:port]. It is a pure read: an origin the client keeps no
// state for is reported Closed with Generation 0, and no state is made for
// it.
func (c *Client) Breaker(origin string) (BreakerSnapshot, error) {
	norm, err := c.originName(origin)
	if err != nil {
		return BreakerSnapshot{}, err
	}
	br := c.reg.peek(norm)
	if br == nil {
		return BreakerSnapshot{Origin: norm, State: breaker.Closed}, nil
	}
	return snapshotOf(norm, br), nil
}

// Isolate opens origin's circuit for d, whatever its state, so that an
// operator can take a misbehaving upstream out of rotation; calls fail fast
// until then, and it half-opens as usual (R51). d must be positive.
func (c *Client) Isolate(origin string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%w: Isolate: duration %v must be positive", ErrInvalidRequest, d)
	}
	s, err := c.originOf(origin)
	if err != nil {
		return err
	}
	s.br.Trip(time.Now().Add(d))
	return nil
}

// ResetBreaker closes origin's circuit and clears its counts, whatever its
// state (R51).
func (c *Client) ResetBreaker(origin string) error {
	s, err := c.originOf(origin)
	if err != nil {
		return err
	}
	s.br.Reset()
	return nil
}

// originOf finds (or makes) the state of the origin named by a URL.
func (c *Client) originOf(origin string) (*originState, error) {
	norm, err := c.originName(origin)
	if err != nil {
		return nil, err
	}
	return c.reg.lookup(norm), nil
}

// originName returns the normalised origin (R16) of a URL given to an
// operator control.
func (c *Client) originName(origin string) (string, error) {
	if c.failureThreshold <= 0 {
		return "", ErrNoBreaker
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not an http or https origin", ErrInvalidRequest, redactRaw(origin))
	}
	if _, err := portOf(u.Scheme, u.Host); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidRequest, redactRaw(origin), err)
	}
	return normalizeOrigin(u.Scheme, u.Host), nil
}
