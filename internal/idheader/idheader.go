// Package idheader holds the name of the request-ID header: one setting,
// read by requestid's middleware and by httpclient, so that the inbound and
// the outbound side never disagree. requestid.SetHeaderName writes it.
package idheader

import (
	"net/textproto"
	"sync/atomic"
)

// Default is the default name, as requestid.Header spells it.
const Default = "X-Request-ID"

// Setting is a header name with its canonical form, the key under which an
// http.Header map holds it, kept beside it so that neither side
// re-canonicalises the name on every request.
type Setting struct {
	Name string // as requestid.HeaderName returns it
	Key  string // textproto.CanonicalMIMEHeaderKey(Name)
}

var (
	def = Setting{Name: Default, Key: textproto.CanonicalMIMEHeaderKey(Default)}
	cur atomic.Pointer[Setting] // nil: def
)

// Load returns the current setting: one atomic load.
func Load() *Setting {
	if s := cur.Load(); s != nil {
		return s
	}
	return &def
}

// Store makes name the header name; any spelling of Default restores it.
func Store(name string) {
	key := textproto.CanonicalMIMEHeaderKey(name)
	if key == def.Key {
		cur.Store(&def)
		return
	}
	cur.Store(&Setting{Name: key, Key: key})
}
