package httpclient

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// baseURL is the parsed base URL, split so that joining a relative call URL
// is a concatenation (R1).
type baseURL struct {
	prefix string // scheme://host/path with no trailing slash
	query  string // the base's raw query, "" if none
	origin string // normalised origin (R16)
	scheme string // as written, for the breaker registry's key
	host   string // as written
}

func parseBaseURL(raw string) (*baseURL, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: base URL: %v", ErrInvalidConfig, redactURLError(err, raw))
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return nil, fmt.Errorf("%w: base URL %q: scheme must be http or https", ErrInvalidConfig, redactRaw(raw))
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%w: base URL %q has no host", ErrInvalidConfig, redactRaw(raw))
	case u.User != nil:
		return nil, fmt.Errorf("%w: base URL must not carry userinfo", ErrInvalidConfig)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("%w: base URL %q must not carry a fragment", ErrInvalidConfig, redactRaw(raw))
	case u.Opaque != "":
		return nil, fmt.Errorf("%w: base URL %q is not hierarchical", ErrInvalidConfig, redactRaw(raw))
	}
	if _, err := portOf(u.Scheme, u.Host); err != nil {
		return nil, fmt.Errorf("%w: base URL %q: %v", ErrInvalidConfig, redactRaw(raw), err)
	}
	b := &baseURL{
		prefix: scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"),
		query:  u.RawQuery,
		origin: normalizeOrigin(u.Scheme, u.Host),
		scheme: u.Scheme,
		host:   u.Host,
	}
	return b, nil
}

// isAbsolute reports whether a call URL is used as given (R1): it begins with
// http:// or https://, in any case.
func isAbsolute(s string) bool {
	return hasPrefixFold(s, "http://") || hasPrefixFold(s, "https://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// join appends a relative call URL to the base (R1, R2). The base path is a
// prefix that no relative URL can leave.
func (b *baseURL) join(ref string) (string, error) {
	if strings.HasPrefix(ref, "//") {
		return "", fmt.Errorf("%w: relative URL %q begins with //", ErrInvalidRequest, redactRaw(ref))
	}
	if strings.IndexByte(ref, '#') >= 0 {
		return "", fmt.Errorf("%w: relative URL %q carries a fragment", ErrInvalidRequest, redactRaw(ref))
	}
	path, query, hasQuery := strings.Cut(ref, "?")
	if err := checkSegments(path); err != nil {
		return "", fmt.Errorf("%w: relative URL %q: %v", ErrInvalidRequest, redactRaw(ref), err)
	}
	path = strings.TrimPrefix(path, "/")
	var sb strings.Builder
	sb.Grow(len(b.prefix) + 1 + len(path) + 2 + len(b.query) + len(query))
	sb.WriteString(b.prefix)
	sb.WriteByte('/')
	sb.WriteString(path)
	switch {
	case b.query != "" && hasQuery && query != "":
		sb.WriteByte('?')
		sb.WriteString(b.query)
		sb.WriteByte('&')
		sb.WriteString(query)
	case b.query != "":
		sb.WriteByte('?')
		sb.WriteString(b.query)
	case hasQuery:
		sb.WriteByte('?')
		sb.WriteString(query)
	}
	return sb.String(), nil
}

// checkSegments rejects a path with a segment that is "." or ".." once
// percent-decoded (R2). A segment whose decoding holds a slash or backslash is
// checked part by part too, since some servers decode %2F before routing.
func checkSegments(path string) error {
	if strings.IndexByte(path, '.') < 0 && strings.IndexByte(path, '%') < 0 {
		return nil // no segment can decode to a dot
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "" {
			continue
		}
		dec := seg
		if strings.IndexByte(seg, '%') >= 0 {
			var err error
			if dec, err = url.PathUnescape(seg); err != nil {
				return fmt.Errorf("bad escape in segment %q", seg)
			}
		}
		for part := range strings.FieldsFuncSeq(dec, func(r rune) bool { return r == '/' || r == '\\' }) {
			if part == "." || part == ".." {
				return fmt.Errorf("dot segment %q", seg)
			}
		}
		if dec == "." || dec == ".." {
			return fmt.Errorf("dot segment %q", seg)
		}
	}
	return nil
}

// normalizeOrigin returns scheme://host:port with the scheme and host in lower
// case and the default port filled in (R16).
func normalizeOrigin(scheme, hostport string) string {
	scheme = strings.ToLower(scheme)
	port, _ := portOf(scheme, hostport)
	host := strings.ToLower(hostnameOf(hostport))
	return scheme + "://" + net.JoinHostPort(host, port)
}

func hostnameOf(hostport string) string {
	u := url.URL{Host: hostport}
	return u.Hostname()
}

// portOf returns the port of hostport in canonical form ("080" is "80"), or
// the scheme's default.
func portOf(scheme, hostport string) (string, error) {
	u := url.URL{Host: hostport}
	if p := u.Port(); p != "" {
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return "", fmt.Errorf("bad port %q", p)
			}
		}
		if p[0] == '0' && len(p) > 1 {
			if n, err := strconv.Atoi(p); err == nil {
				p = strconv.Itoa(n)
			}
		}
		return p, nil
	}
	if strings.EqualFold(scheme, "https") {
		return "443", nil
	}
	return "80", nil
}

// redactURL returns scheme://host/path: no userinfo, no query (R28).
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// redactRaw returns a URL the caller gave, for an error message, with its
// password shown as "***", exactly as net/http's client shows it in the
// *url.Error values it builds (R28). A URL that does not parse is redacted as
// a string: an invalid URL may still hold a real password.
func redactRaw(raw string) string {
	if strings.IndexByte(raw, '@') < 0 {
		return raw // no userinfo: the fail-fast paths allocate nothing
	}
	u, err := url.Parse(raw)
	if err != nil {
		return redactUserinfo(raw)
	}
	if _, ok := u.User.Password(); ok {
		return stripPassword(u)
	}
	return raw
}

// stripPassword is net/http's: u as a string, its password shown as "***".
// (*url.URL).Redacted would write "xxxxx", and url.UserPassword would
// escape the stars.
func stripPassword(u *url.URL) string {
	if _, ok := u.User.Password(); ok {
		return strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1)
	}
	return u.String()
}

// redactedReqURL is req's URL as net/http's client shows it in a *url.Error.
func redactedReqURL(req *http.Request) string {
	if req.URL == nil {
		return ""
	}
	return stripPassword(req.URL)
}

// redactUserinfo hides the password of a "user:pass@" after the first "//"
// of a URL that url.Parse rejects. The userinfo runs to the last '@' before
// the first '/', so that a '?' or '#' left unescaped in a password (one
// reason a URL fails to parse) does not end it early.
func redactUserinfo(raw string) string {
	i := strings.Index(raw, "//")
	if i < 0 {
		return raw
	}
	start := i + 2
	auth := raw[start:]
	if j := strings.IndexByte(auth, '/'); j >= 0 {
		auth = auth[:j]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return raw
	}
	user, _, hasPass := strings.Cut(auth[:at], ":")
	if !hasPass {
		return raw
	}
	return raw[:start] + user + ":***" + raw[start+at:]
}

// redactURLError redacts, in place, the *url.Error inside err that url.Parse
// returned for raw: it quotes the URL (cut at the first '#'), and its detail
// can quote a piece of the password too (`invalid port ":s3c"` for a '#' left
// unescaped in it). When raw holds a password, the URL becomes raw redacted
// and the detail that of parsing the redacted URL. Call it only on an error
// just returned to the client, which nobody else holds.
func redactURLError(err error, raw string) error {
	var ue *url.Error
	if !errors.As(err, &ue) || ue.Op != "parse" {
		return err
	}
	red := redactRaw(raw)
	if red == raw {
		return err
	}
	ue.URL = red
	var pe *url.Error
	if _, perr := url.Parse(red); errors.As(perr, &pe) {
		ue.Err = pe.Err // the same fault, found outside the password
	} else {
		ue.Err = errors.New("invalid userinfo (not shown: it holds a password)")
	}
	return err
}
