package httpclient

import (
	"fmt"
	"net/url"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// Breakers returns a snapshot of the breaker of every origin the client
// keeps, by normalised origin (scheme://host:port); nil when the breaker is
// disabled. An origin whose state was dropped (WithOriginLimit) while its
// circuit was not closed is listed too, for its circuit is remembered. It
// is a pure read: no breaker moves and no hook runs.
func (c *Client) Breakers() map[string]breaker.Snapshot {
	if c.breakerOff {
		return nil
	}
	entries := c.reg.all()
	out := make(map[string]breaker.Snapshot, len(entries))
	for _, e := range entries {
		if e.br != nil {
			out[e.origin] = e.br.Snapshot()
		}
	}
	return out
}

// Breaker returns the snapshot of one origin's breaker; origin is any URL of
// the origin. It is a pure read: an origin the client keeps no state for is
// reported Closed in generation 0, and no state is made for it (the base
// origin's state exists from New, in generation 1). The error wraps
// ErrInvalidRequest when origin is not an http or https URL, or the breaker
// is disabled.
func (c *Client) Breaker(origin string) (breaker.Snapshot, error) {
	norm, err := c.originName(origin)
	if err != nil {
		return breaker.Snapshot{}, err
	}
	if br := c.reg.peek(norm); br != nil {
		return br.Snapshot(), nil
	}
	return breaker.Snapshot{State: breaker.Closed}, nil
}

// Isolate opens origin's circuit for d, whatever its state, in a new
// generation, so that an operator can take a misbehaving upstream out of
// rotation: calls fail fast until then, and it half-opens as usual. origin
// is any URL of the origin; the client keeps state for it from then on, as
// for any origin it calls. The error wraps ErrInvalidRequest when d is not
// positive, origin is not an http or https URL, or the breaker is
// disabled.
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
// state, in a new generation. origin is any URL of the origin; an origin
// the client keeps no state for is closed already, and is left so, with no
// state made. The error wraps ErrInvalidRequest as Isolate's does.
func (c *Client) ResetBreaker(origin string) error {
	norm, err := c.originName(origin)
	if err != nil {
		return err
	}
	if br := c.reg.peek(norm); br != nil {
		br.Reset()
	}
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
	if c.breakerOff {
		return "", fmt.Errorf("%w: the client's circuit breaker is disabled", ErrInvalidRequest)
	}
	return parseOrigin(origin)
}

// parseOrigin returns the normalised origin (R16) of a URL.
func parseOrigin(origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return "", fmt.Errorf("%w: origin %q does not parse: %v", ErrInvalidRequest, redactRaw(origin), redactURLError(err, origin))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not an http or https origin", ErrInvalidRequest, redactRaw(origin))
	}
	if err := validPort(u.Host); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidRequest, redactRaw(origin), err)
	}
	return normalizeOrigin(u.Scheme, u.Host), nil
}
