package requestid

import (
	"fmt"

	"github.com/tempestsdk/tempest/internal/idheader"

	"github.com/tempestsdk/tempest/internal/ascii"
)

// Header is the default name of the request-ID header, read from inbound
// requests and sent on outbound ones.
const Header = "X-Request-ID"

// HeaderName returns the name of the request-ID header, [Header] unless
// [SetHeaderName] changed it. It is the one setting that both the inbound
// [Middleware] and the outbound httpclient read, so the two sides never
// disagree. It costs one atomic load.
func HeaderName() string {
	return idheader.Load().Name
}

// SetHeaderName changes the request-ID header name for the middleware and the
// outbound client alike, for services whose fleet uses another name (such as
// X-Correlation-ID). It stores the canonical form
// ([net/textproto.CanonicalMIMEHeaderKey]); any spelling of [Header] restores
// the default, after which HeaderName returns Header exactly.
//
// It returns an error, and changes nothing, when name is not a valid HTTP
// field name (an RFC 9110 token). Call it once at start-up, before serving:
// requests already in flight may still use the old name.
func SetHeaderName(name string) error {
	if !isToken(name) {
		return fmt.Errorf("requestid: invalid header name %q: want an RFC 9110 token", name)
	}
	idheader.Store(name)
	return nil
}

func isToken(s string) bool { return ascii.IsToken(s) }
