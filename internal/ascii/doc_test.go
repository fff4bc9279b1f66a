package ascii

import "testing"

func TestIsToken(t *testing.T) {
	for s, want := range map[string]bool{"": false, "GET": true, "X-Request-ID": true, "a b": false, "é": false, "a:b": false, "!#$%&'*+-.^_`|~09aZ": true} {
		if got := IsToken(s); got != want {
			t.Errorf("IsToken(%q) = %v, want %v", s, got, want)
		}
	}
	s := New("._")
	if !s.All("a.b_9") || s.All("a-b") || s.All("") {
		t.Error("New(\"._\") is wrong")
	}
}
