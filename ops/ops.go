package ops

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/tempestsdk/tempest/httpclient"
)

// defaultMaxOrigins is how many origins are listed without WithMaxOrigins.
const defaultMaxOrigins = 200

// Option configures Handler.
type Option func(*config)

type config struct {
	controls   bool
	maxOrigins int
	hosts      map[string]bool // WithHosts, lower case
}

// WithControls enables the POST routes /isolate, /reset and /limit and the
// page's forms for them. Without it they answer 403 and the page is
// read-only.
func WithControls() Option {
	return func(c *config) { c.controls = true }
}

// WithHosts names the host names (without a port) the handler answers to,
// beside IP addresses and localhost, which it always answers to. A request
// whose Host is another name is refused with 403: a page on a name an
// attacker controls and rebinds to the handler's address (DNS rebinding)
// is same-origin to the browser, and the Host header is what tells it
// apart (R63).
func WithHosts(names ...string) Option {
	return func(c *config) {
		if c.hosts == nil {
			c.hosts = make(map[string]bool, len(names))
		}
		for _, n := range names {
			c.hosts[strings.ToLower(strings.TrimSuffix(n, "."))] = true
		}
	}
}

// WithMaxOrigins sets how many origins the page and the JSON list, open
// circuits first; the others are counted, not listed. n < 1 means the
// default, 200.
func WithMaxOrigins(n int) Option {
	return func(c *config) { c.maxOrigins = n }
}

// Handler returns the operator endpoint for c: the page at "/" (and ""),
// the JSON at "/state.json", and with WithControls the POST routes
// "/isolate", "/reset" and "/limit", relative to where it is mounted (with
// http.StripPrefix). The package documentation describes the routes, the
// JSON and the checks on a POST. Mount it on an internal port behind the
// service's own authentication. A nil c gives a handler that answers 500 to
// everything.
func Handler(c *httpclient.Client, opts ...Option) http.Handler {
	cfg := config{maxOrigins: defaultMaxOrigins}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.maxOrigins < 1 {
		cfg.maxOrigins = defaultMaxOrigins
	}
	if c == nil {
		return nilClient{}
	}
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24 and later)
	return &handler{c: c, cfg: cfg, token: hex.EncodeToString(b[:])}
}

type handler struct {
	c     *httpclient.Client
	cfg   config
	token string // the form token, 64 hex digits
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if !h.hostAllowed(r.Host) {
		http.Error(w, "ops: refused: the request's Host is not an IP address, localhost or a name given to WithHosts (a guard against DNS rebinding)", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodHead {
		w = headWriter{w}
	}
	switch r.URL.Path {
	case "", "/":
		if allowGet(w, r) {
			h.servePage(w, r)
		}
	case "/state.json":
		if allowGet(w, r) {
			h.serveJSON(w)
		}
	case "/isolate":
		h.serveControl(w, r, actionIsolate)
	case "/reset":
		h.serveControl(w, r, actionReset)
	case "/limit":
		h.serveControl(w, r, actionLimit)
	default:
		http.Error(w, "ops: not found", http.StatusNotFound)
	}
}

// hostAllowed reports whether the handler answers to host (a Host header,
// with or without a port): an IP address, localhost or a subdomain of it,
// or a name given to WithHosts.
func (h *handler) hostAllowed(host string) bool {
	if name, _, err := net.SplitHostPort(host); err == nil {
		host = name
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "."))
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || h.cfg.hosts[host]
}

// allowGet answers 405 to a method other than GET and HEAD, and reports
// whether the request may go on.
func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "ops: method not allowed", http.StatusMethodNotAllowed)
	return false
}

// csp allows inline styles and forms to the page's own origin, and nothing
// else: no script, no image, no frame.
const csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func setSecurityHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// headWriter answers a HEAD request: it keeps the status and the headers,
// Content-Length included, and drops the body, whatever serves the
// handler (net/http drops it too, a ResponseRecorder or another server may
// not).
type headWriter struct{ http.ResponseWriter }

func (headWriter) Write(p []byte) (int, error) { return len(p), nil }

// Unwrap lets an http.ResponseController reach the writer underneath.
func (w headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// nilClient is the handler of a nil client.
type nilClient struct{}

func (nilClient) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.Method == http.MethodHead {
		w = headWriter{w}
	}
	http.Error(w, "ops: Handler was given a nil *httpclient.Client: there is nothing to show", http.StatusInternalServerError)
}
