package httpclient

import (
	"strings"
	"testing"
	"unsafe"
)

// R60: originKey.own keeps the key's value with an empty scheme, host or
// both, and never shares memory with the caller's strings.
func TestOriginKeyOwn_R60_EdgeCases(t *testing.T) {
	url := "https://h.example:8443/p?" + strings.Repeat("q", 4096)
	for _, k := range []originKey{{url[:5], url[8:22]}, {"", url[8:22]}, {url[:5], ""}, {"", ""}} {
		o := k.own()
		if o != k {
			t.Fatalf("own(%q,%q) = (%q,%q)", k.scheme, k.host, o.scheme, o.host)
		}
		start := uintptr(unsafe.Pointer(unsafe.StringData(url)))
		for _, s := range []string{o.scheme, o.host} {
			if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); len(s) > 0 && p >= start && p < start+uintptr(len(url)) {
				t.Errorf("own(%q,%q) shares the URL's memory", k.scheme, k.host)
			}
		}
	}
}
