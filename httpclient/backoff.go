package httpclient

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// backoff is R8's nominal wait before attempt n+1, n >= 1:
// min(max, initial * 2^(n-1)), computed without overflow.
func backoff(initial, maxWait time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	shift := n - 1
	if initial <= 0 {
		return 0
	}
	if shift >= 63 || initial > maxWait>>shift {
		return maxWait
	}
	return min(maxWait, initial<<shift)
}

// jittered shortens d by a random fraction of at most jitter (R8); it never
// lengthens it.
func jittered(d time.Duration, jitter float64) time.Duration {
	if jitter <= 0 || d <= 0 {
		return d
	}
	return d - time.Duration(float64(d)*jitter*rand.Float64())
}

// parseRetryAfter reads R9's Retry-After: delta-seconds (saturating) or an
// HTTP-date, measured against the response's Date header when that is valid,
// else now. Only the first header counts; an invalid or negative value gives
// ok == false; zero or a past date gives 0.
func parseRetryAfter(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	vs := h["Retry-After"]
	if len(vs) == 0 {
		return 0, false
	}
	v := strings.TrimSpace(vs[0])
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		const maxSeconds = int64(math.MaxInt64 / int64(time.Second))
		var secs int64
		for i := 0; i < len(v); i++ {
			secs = secs*10 + int64(v[i]-'0')
			if secs > maxSeconds {
				return time.Duration(math.MaxInt64), true
			}
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	ref := now
	if ds := h["Date"]; len(ds) > 0 {
		if d, err := http.ParseTime(strings.TrimSpace(ds[0])); err == nil {
			ref = d
		}
	}
	if !at.After(ref) {
		return 0, true
	}
	return at.Sub(ref), true // Sub saturates
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
