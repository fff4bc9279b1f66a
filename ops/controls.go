package ops

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
)

type action string

const (
	actionIsolate action = "isolate"
	actionReset   action = "reset"
	actionLimit   action = "limit"
)

const (
	// maxIsolate is the longest isolation a form may ask for.
	maxIsolate = 24 * time.Hour
	// maxFormBytes bounds a control's form body.
	maxFormBytes = 8 << 10
	// maxOriginLen bounds the origin field.
	maxOriginLen = 2048
	// maxLimit is the highest concurrency limit a form may set.
	maxLimit = 100000
)

// controlResult is the JSON answer to an accepted control, for a request
// whose Accept asks for JSON: the breaker for isolate and reset, the
// concurrency limiter for limit.
type controlResult struct {
	Action      action                `json:"action"`
	Breaker     *breaker.Snapshot     `json:"breaker,omitempty"`
	Concurrency *concurrency.Snapshot `json:"concurrency,omitempty"`
}

// serveControl runs POST /isolate, /reset and /limit, after the checks the
// package documentation lists. Refusals are 403, bad input 400, a limit
// for a client without a concurrency limit 409; none echoes the request.
func (h *handler) serveControl(w http.ResponseWriter, r *http.Request, act action) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "ops: method not allowed: "+string(act)+" takes a POST", http.StatusMethodNotAllowed)
		return
	}
	if !h.cfg.controls {
		http.Error(w, "ops: controls are off (the handler was made without WithControls)", http.StatusForbidden)
		return
	}
	if err := sameOrigin(r); err != nil {
		http.Error(w, "ops: refused: "+err.Error(), http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "ops: the form does not parse (or is over 8 KiB)", http.StatusBadRequest)
		return
	}
	form := r.PostForm // the body only: a token in the URL does not count
	token, ok := single(form, "token")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(h.token)) != 1 {
		http.Error(w, "ops: refused: the form's token is missing or wrong (reload the page)", http.StatusForbidden)
		return
	}
	origin, ok := single(form, "origin")
	if !ok || origin == "" {
		http.Error(w, "ops: the form needs one origin field", http.StatusBadRequest)
		return
	}
	if err := checkOrigin(origin); err != nil {
		http.Error(w, "ops: "+err.Error(), http.StatusBadRequest)
		return
	}
	var (
		err error
		n   int
	)
	switch act {
	case actionIsolate:
		var d time.Duration
		if d, err = isolateFor(form); err != nil {
			http.Error(w, "ops: "+err.Error(), http.StatusBadRequest)
			return
		}
		err = h.c.Isolate(origin, d)
	case actionReset:
		err = h.c.ResetBreaker(origin)
	case actionLimit:
		if h.c.ConcurrencyLimits() == nil {
			http.Error(w, "ops: the client has no concurrency limit to set (it was made without httpclient.WithConcurrencyLimit)", http.StatusConflict)
			return
		}
		if n, err = limitOf(form); err != nil {
			http.Error(w, "ops: "+err.Error(), http.StatusBadRequest)
			return
		}
		err = h.c.SetConcurrencyLimit(origin, n)
	}
	if err != nil {
		// The client's errors name the origin (with any password
		// redacted); the operator typed it, so it may be shown back as
		// plain text.
		http.Error(w, "ops: "+err.Error(), http.StatusBadRequest)
		return
	}
	if wantsJSON(r) {
		res := controlResult{Action: act}
		if act == actionLimit {
			if cs, err := h.c.ConcurrencyLimit(origin); err == nil {
				res.Concurrency = &cs
			}
		} else {
			snap, _ := h.c.Breaker(origin)
			res.Breaker = &snap
		}
		writeJSON(w, http.StatusOK, res)
		return
	}
	w.Header().Set("Location", "./")
	w.WriteHeader(http.StatusSeeOther)
}

// sameOrigin refuses a request a browser sent from another site: its
// Sec-Fetch-Site must be absent or "same-origin", and its Origin, when
// present, must be an http or https origin that names the request's Host.
// A default port is the same as none on either side, so that a proxy that
// writes the port into Host ("ops.internal:443") does not lock the
// operator out.
func sameOrigin(r *http.Request) error {
	if v, ok := r.Header["Sec-Fetch-Site"]; ok && (len(v) != 1 || v[0] != "same-origin") {
		return errors.New("Sec-Fetch-Site says the form was posted from another site")
	}
	if v, ok := r.Header["Origin"]; ok {
		if len(v) != 1 {
			return errors.New("more than one Origin header")
		}
		u, err := url.Parse(v[0])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			!strings.EqualFold(withoutDefaultPort(u.Scheme, u.Host), withoutDefaultPort(u.Scheme, r.Host)) {
			return errors.New("the Origin header does not name this host")
		}
	}
	return nil
}

// withoutDefaultPort drops the scheme's default port from host:port.
func withoutDefaultPort(scheme, hostport string) string {
	if scheme == "https" {
		return strings.TrimSuffix(hostport, ":443")
	}
	return strings.TrimSuffix(hostport, ":80")
}

// single returns the only value of a form field; ok is false when it is
// absent or repeated.
func single(form url.Values, name string) (string, bool) {
	v := form[name]
	if len(v) != 1 {
		return "", false
	}
	return v[0], true
}

// checkOrigin rejects what cannot be an origin before the client sees it:
// too long, not http or https, no host, or with a user's credentials.
func checkOrigin(origin string) error {
	if len(origin) > maxOriginLen {
		return errors.New("the origin is too long")
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("the origin must be an http or https URL such as https://host:port")
	}
	if u.User != nil {
		return errors.New("the origin must not carry credentials")
	}
	return nil
}

// isolateFor reads the form's duration: positive, at most 24h.
func isolateFor(form url.Values) (time.Duration, error) {
	s, ok := single(form, "for")
	if !ok || s == "" {
		return 0, errors.New(`the form needs one "for" field, a duration such as 5m`)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New(`"for" must be a duration such as 5m or 1h30m`)
	}
	if d <= 0 || d > maxIsolate {
		return 0, errors.New(`"for" must be more than 0 and at most 24h`)
	}
	return d, nil
}

// limitOf reads the form's concurrency limit: one field of decimal
// digits, 1 to 100000.
func limitOf(form url.Values) (int, error) {
	s, ok := single(form, "limit")
	if !ok || s == "" {
		return 0, errors.New(`the form needs one "limit" field, a whole number from 1 to 100000`)
	}
	if len(s) > len(strconv.Itoa(maxLimit)) || strings.Trim(s, "0123456789") != "" {
		return 0, errors.New(`"limit" must be a whole number from 1 to 100000`)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, errors.New(`"limit" must be a whole number from 1 to 100000`)
	}
	return n, nil
}

// wantsJSON reports whether the request's Accept names application/json.
func wantsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err == nil && mt == "application/json" {
				// q=0 means "not acceptable" (RFC 9110, 12.4.2).
				q, err := strconv.ParseFloat(params["q"], 64)
				return params["q"] == "" || err == nil && q > 0
			}
		}
	}
	return false
}
