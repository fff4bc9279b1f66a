package httpclient

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tempestsdk/tempest/internal/ascii"
)

// validateRequest is R4: a request the caller built wrongly fails before its
// first attempt, is not retried and counts for nothing in the breaker.
func validateRequest(req *http.Request) error {
	if req.URL == nil {
		return fmt.Errorf("%w: nil URL", ErrInvalidRequest)
	}
	if req.Method != "" && !isToken(req.Method) {
		return fmt.Errorf("%w: method %q", ErrInvalidRequest, req.Method)
	}
	if s := strings.ToLower(req.URL.Scheme); s != "http" && s != "https" {
		return fmt.Errorf("%w: scheme %q: only http and https", ErrInvalidRequest, req.URL.Scheme)
	}
	if req.URL.Host == "" {
		return fmt.Errorf("%w: no host in URL", ErrInvalidRequest)
	}
	// What net/http would refuse while writing, checked here so that it
	// is the caller's error and never an upstream failure (R56).
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validHost(host) || !validHost(req.URL.Host) {
		return fmt.Errorf("%w: invalid host %q", ErrInvalidRequest, host)
	}
	if err := validPort(req.URL.Host); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	if hasCTL(req.URL.RawQuery) || hasCTL(req.URL.Opaque) {
		return fmt.Errorf("%w: control character in the URL", ErrInvalidRequest)
	}
	if req.ContentLength > 0 && (req.Body == nil || req.Body == http.NoBody) {
		return fmt.Errorf("%w: ContentLength %d with no body", ErrInvalidRequest, req.ContentLength)
	}
	for k, vs := range req.Header {
		if err := validHeader(k, vs); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidRequest, err)
		}
	}
	for k, vs := range req.Trailer {
		if err := validHeader(k, vs); err != nil {
			return fmt.Errorf("%w: trailer: %v", ErrInvalidRequest, err)
		}
	}
	return nil
}

// validHost is net/http's check of a Host header (httpguts.ValidHostHeader,
// after punycode): the bytes a host, an IP literal, a zone or a port may
// hold.
func validHost(h string) bool { return h == "" || hostChar.All(h) }

var hostChar = func() *ascii.Set {
	s := ascii.New("!$%&'()*+,-.:;=[]_~")
	for c := 0x80; c < 0x100; c++ {
		s[c] = true // net/http turns an internationalised name into punycode first
	}
	return s
}()

// validPort rejects a port that is not a number from 1 to 65535, which would
// otherwise fail in the dial and be taken for a dead upstream.
func validPort(hostport string) error {
	u := url.URL{Host: hostport}
	p := u.Port()
	if p == "" {
		return nil
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return fmt.Errorf("invalid port %q", p) // no sign: net/http would take "+80" for a host name
		}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid port %q", p)
	}
	return nil
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}

// validHeaderValue reports a value net/http sends: no control character
// other than a tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

func validHeader(name string, values []string) error {
	if !isToken(name) {
		return fmt.Errorf("header name %q is not a valid field name", name)
	}
	for _, v := range values {
		if !validHeaderValue(v) {
			return fmt.Errorf("header %s: value has a control character", name)
		}
	}
	return nil
}

// isToken reports an RFC 9110 token.
func isToken(s string) bool { return ascii.IsToken(s) }
