package requestid

import (
	"fmt"
	"net/textproto"
	"sync/atomic"

	"github.com/tempestsdk/tempest/internal/ascii"
)

// Header is the default name of the request-ID header, read from inbound
// requests and sent on outbound ones.
const Header = "X-Request-ID"

// headerSetting is the shared header name, with its canonical form kept
// beside it so that the middleware indexes http.Header maps without
// re-canonicalising the name on every request.
type headerSetting struct {
	name string // what HeaderName returns
	key  string // textproto.CanonicalMIMEHeaderKey(name)
}

var (
	defaultHeader = headerSetting{name: Header, key: textproto.CanonicalMIMEHeaderKey(Header)}
	// header is nil until SetHeaderName is first called: nil means defaultHeader.
	header atomic.Pointer[headerSetting]
)

func currentHeader() *headerSetting {
	if h := header.Load(); h != nil {
		return h
	}
	return &defaultHeader
}

// HeaderName returns the name of the request-ID header, [Header] unless
// [SetHeaderName] changed it. It is the one setting that both the inbound
// [Middleware] and the outbound httpclient read, so the two sides never
// disagree. It costs one atomic load.
func HeaderName() string {
	return currentHeader().name
}

// HeaderKey returns HeaderName in canonical form
// (net/textproto.CanonicalMIMEHeaderKey), the key under which an http.Header
// map holds it, so that code indexing the map directly finds a value set
// with Header.Set. It costs one atomic load.
func HeaderKey() string {
	return currentHeader().key
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
	key := textproto.CanonicalMIMEHeaderKey(name)
	if key == defaultHeader.key {
		header.Store(&defaultHeader)
		return nil
	}
	header.Store(&headerSetting{name: key, key: key})
	return nil
}

func isToken(s string) bool { return ascii.IsToken(s) }
