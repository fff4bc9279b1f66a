package requestid_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/tempestsdk/tempest/internal/idheader"
	"github.com/tempestsdk/tempest/requestid"
)

// isUUIDv4 reports whether s is a lower-case canonical UUID with version
// nibble 4 and variant bits 10 (R26).
func isUUIDv4(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return s[14] == '4' && strings.IndexByte("89ab", s[19]) >= 0
}

// useHeaderName sets the shared header name for one test and restores the
// default when it ends (R25).
func useHeaderName(t *testing.T, name string) {
	t.Helper()
	if err := requestid.SetHeaderName(name); err != nil {
		t.Fatalf("SetHeaderName(%q): %v", name, err)
	}
	t.Cleanup(func() {
		if err := requestid.SetHeaderName(requestid.Header); err != nil {
			t.Errorf("restoring the default header name: %v", err)
		}
	})
}

func TestFromContext_PlainContextHasNoID(t *testing.T) {
	id, ok := requestid.FromContext(context.Background())
	if id != "" || ok {
		t.Errorf("FromContext(Background) = %q, %v; want \"\", false", id, ok)
	}
}

func TestNewContext_RoundTrip(t *testing.T) {
	ctx := requestid.NewContext(context.Background(), "abc-123")
	id, ok := requestid.FromContext(ctx)
	if id != "abc-123" || !ok {
		t.Errorf("FromContext = %q, %v; want abc-123, true", id, ok)
	}
}

func TestNewContext_EmptyIDIsNoID(t *testing.T) {
	ctx := requestid.NewContext(context.Background(), "")
	if id, ok := requestid.FromContext(ctx); id != "" || ok {
		t.Errorf("FromContext after NewContext(\"\") = %q, %v; want \"\", false", id, ok)
	}
	// An empty ID also hides an outer one: the caller asked for none.
	ctx = requestid.NewContext(requestid.NewContext(context.Background(), "outer"), "")
	if id, ok := requestid.FromContext(ctx); id != "" || ok {
		t.Errorf("FromContext after shadowing with \"\" = %q, %v; want \"\", false", id, ok)
	}
}

func TestValid_R26(t *testing.T) {
	cases := []struct {
		id   string
		want bool
	}{
		{"a", true},
		{"abc-123", true},
		{"550e8400-e29b-41d4-a716-446655440000", true},
		{"AZaz09._-:+/=", true},
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", true},
		{"svc:trace/span+b64==", true},
		{strings.Repeat("x", 128), true},
		{"", false},
		{strings.Repeat("x", 129), false},
		{"a b", false},
		{"a,b", false},
		{"a;b", false},
		{"a\"b", false},
		{"a\rb", false},
		{"a\nb", false},
		{"a\r\nX-Evil: 1", false},
		{"a\tb", false},
		{"\x00", false},
		{"\x7f", false},
		{"é", false},
		{"日本", false},
		{"a*b", false},
		{"<script>", false},
	}
	for _, c := range cases {
		if got := requestid.Valid(c.id); got != c.want {
			t.Errorf("Valid(%q) = %v, want %v", c.id, got, c.want)
		}
	}
}

func TestGenerate_R26_UUIDv4(t *testing.T) {
	for range 1000 {
		id := requestid.Generate()
		if !isUUIDv4(id) {
			t.Fatalf("Generate() = %q, not a lower-case canonical UUID v4", id)
		}
		if !requestid.Valid(id) {
			t.Fatalf("Generate() = %q, which Valid rejects", id)
		}
	}
}

func TestGenerate_R26_Unique(t *testing.T) {
	const n = 10000
	seen := make(map[string]struct{}, n)
	for range n {
		id := requestid.Generate()
		if _, dup := seen[id]; dup {
			t.Fatalf("Generate() returned %q twice", id)
		}
		seen[id] = struct{}{}
	}
}

func TestHeaderName_R42_DefaultIsHeader(t *testing.T) {
	if got := requestid.HeaderName(); got != requestid.Header {
		t.Errorf("HeaderName() = %q, want %q", got, requestid.Header)
	}
}

func TestSetHeaderName_R42_StoresCanonicalForm(t *testing.T) {
	useHeaderName(t, "x-correlation-id")
	if got := requestid.HeaderName(); got != "X-Correlation-Id" {
		t.Errorf("HeaderName() = %q, want X-Correlation-Id", got)
	}
}

func TestSetHeaderName_R42_AnySpellingOfHeaderRestoresDefault(t *testing.T) {
	useHeaderName(t, "X-Other")
	for _, name := range []string{"x-request-id", "X-REQUEST-ID", "X-Request-Id", requestid.Header} {
		if err := requestid.SetHeaderName("X-Other"); err != nil {
			t.Fatal(err)
		}
		if err := requestid.SetHeaderName(name); err != nil {
			t.Fatalf("SetHeaderName(%q): %v", name, err)
		}
		if got := requestid.HeaderName(); got != requestid.Header {
			t.Errorf("after SetHeaderName(%q), HeaderName() = %q, want %q", name, got, requestid.Header)
		}
	}
}

func TestSetHeaderName_R42_InvalidNamesAreErrors(t *testing.T) {
	useHeaderName(t, "X-Trace")
	for _, name := range []string{
		"", " ", "X Request", "X-Request-ID:", "X-Request-ID\r\n", "a,b", "a/b",
		"(x)", "a=b", "é", "a\x00", "\"q\"", "a@b", "{x}", "a\tb",
	} {
		err := requestid.SetHeaderName(name)
		if err == nil {
			t.Errorf("SetHeaderName(%q) = nil, want an error", name)
		}
		if got := requestid.HeaderName(); got != "X-Trace" {
			t.Errorf("after failed SetHeaderName(%q), HeaderName() = %q, want it unchanged (X-Trace)", name, got)
		}
	}
}

func TestSetHeaderName_R42_TokenPunctuationAccepted(t *testing.T) {
	for _, name := range []string{"X-Id!#$%&'*+.^_`|~", "a", "X1"} {
		t.Run(name, func(t *testing.T) { useHeaderName(t, name) })
	}
}

// R25: the setting is read on every outbound request while it may be set at
// start-up; under -race this checks it is an atomic, not a plain variable.
func TestHeaderName_R42_ConcurrentUse(t *testing.T) {
	t.Cleanup(func() { _ = requestid.SetHeaderName(requestid.Header) })
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 100 {
				_ = requestid.SetHeaderName([]string{"X-A", "X-B"}[i%2])
			}
		}()
		go func() {
			defer wg.Done()
			for range 100 {
				if n := requestid.HeaderName(); n != "X-A" && n != "X-B" && n != requestid.Header {
					t.Errorf("HeaderName() = %q", n)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = requestid.Generate()
	}
}

func BenchmarkHeaderName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = requestid.HeaderName()
	}
}

// R42: the shared setting keeps the canonical form the outbound client
// indexes headers by.
func TestHeaderKey_R42(t *testing.T) {
	if k := idheader.Load().Key; k != "X-Request-Id" || requestid.HeaderName() != requestid.Header {
		t.Fatalf("default key %q name %q", k, requestid.HeaderName())
	}
	t.Cleanup(func() { _ = requestid.SetHeaderName(requestid.Header) })
	if err := requestid.SetHeaderName("x-correlation-id"); err != nil {
		t.Fatal(err)
	}
	if k := idheader.Load().Key; k != "X-Correlation-Id" {
		t.Errorf("key %q", k)
	}
}
