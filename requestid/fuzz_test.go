package requestid_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tempestsdk/tempest/requestid"
)

// allowed is R26's character set, spelled out independently of the package's
// table.
const allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:+/="

// FuzzValid checks R26's invariants: Valid accepts exactly 1 to 128 bytes of
// the allowed set, and the middleware trusts a value exactly when Valid does,
// generating a UUID v4 (itself Valid) otherwise.
func FuzzValid(f *testing.F) {
	for _, s := range []string{
		"", "a", "abc-123", "550e8400-e29b-41d4-a716-446655440000",
		allowed, strings.Repeat("a", 128), strings.Repeat("a", 129),
		"a b", "a,b", "a;b", " a", "a ", "a\t", "a\r\nX-Evil: 1", "\n", "\x00",
		"\x7f", "\x80", "é", "日本", "\xff\xfe", "a\"b", "%41", "=",
	} {
		f.Add(s)
	}
	key := http.CanonicalHeaderKey(requestid.HeaderName())
	f.Fuzz(func(t *testing.T, s string) {
		valid := requestid.Valid(s)
		want := len(s) >= 1 && len(s) <= 128
		for i := 0; want && i < len(s); i++ {
			want = strings.IndexByte(allowed, s[i]) >= 0
		}
		if valid != want {
			t.Fatalf("Valid(%q) = %v, want %v", s, valid, want)
		}

		var got string
		var ok bool
		h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok = requestid.FromContext(r.Context())
		}))
		// Set the map directly: the server may hand a handler any bytes.
		req := &http.Request{Method: http.MethodGet, Header: http.Header{key: {s}}}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !ok {
			t.Fatalf("inbound %q: no ID in the handler's context", s)
		}
		if valid && got != s {
			t.Fatalf("inbound valid %q: handler got %q", s, got)
		}
		if !valid && (!isUUIDv4(got) || !requestid.Valid(got)) {
			t.Fatalf("inbound invalid %q: handler got %q, want a valid UUID v4", s, got)
		}
		if echoed := rec.Header().Get(key); echoed != got {
			t.Fatalf("inbound %q: echoed %q, handler got %q", s, echoed, got)
		}
	})
}
