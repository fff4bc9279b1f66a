package httpclient

import (
	"fmt"
	"net/http"
	"strings"
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
	for k, vs := range req.Header {
		if err := validHeader(k, vs); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidRequest, err)
		}
	}
	return nil
}

func validHeader(name string, values []string) error {
	if !isToken(name) {
		return fmt.Errorf("header name %q is not a valid field name", name)
	}
	for _, v := range values {
		for i := 0; i < len(v); i++ {
			if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
				return fmt.Errorf("header %s: value has a control character", name)
			}
		}
	}
	return nil
}

// isToken reports an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
