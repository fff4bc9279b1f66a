// Package ascii holds the byte classes of HTTP's grammar that the module's
// packages share: one table per class, built one way.
package ascii

// Set is a class of bytes.
type Set [256]bool

// New returns the set of ASCII letters and digits plus the bytes of extra.
func New(extra string) *Set {
	var s Set
	for c := '0'; c <= '9'; c++ {
		s[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		s[c] = true
		s[c-'a'+'A'] = true
	}
	for i := 0; i < len(extra); i++ {
		s[extra[i]] = true
	}
	return &s
}

// All reports whether str is not empty and every byte of it is in s.
func (s *Set) All(str string) bool {
	if str == "" {
		return false
	}
	for i := 0; i < len(str); i++ {
		if !s[str[i]] {
			return false
		}
	}
	return true
}

// Token is RFC 9110's tchar: the bytes of a method or a header name.
var Token = New("!#$%&'*+-.^_`|~")

// IsToken reports an RFC 9110 token.
func IsToken(s string) bool { return Token.All(s) }
