package httpclient

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
)

// trackedBody records whether it was read and closed.
type trackedBody struct {
	r      io.Reader
	read   bool
	closed bool
}

func (b *trackedBody) Read(p []byte) (int, error) { b.read = true; return b.r.Read(p) }
func (b *trackedBody) Close() error               { b.closed = true; return nil }

func decodeResponse(t *testing.T, body string) (*http.Response, *trackedBody) {
	t.Helper()
	tb := &trackedBody{r: strings.NewReader(body)}
	return &http.Response{StatusCode: 200, Status: "200 OK", Body: tb,
		Request: &http.Request{Method: "GET", URL: mustURL(t, "https://x.test/a")}}, tb
}

// R33, R39: a limit of math.MaxInt64 means "no practical limit"; limit+1 used
// to overflow to a negative count, so nothing was read and the zero value came
// back with a nil error.
func TestDecodeLimit_MaxInt64ReadsWholeBody(t *testing.T) {
	type T struct{ A int }
	resp, tb := decodeResponse(t, `{"A":7}`)
	v, err := DecodeLimit[T](resp, nil, math.MaxInt64)
	if err != nil || v.A != 7 {
		t.Fatalf("DecodeLimit(MaxInt64) = %+v, %v; want {A:7}, nil", v, err)
	}
	if !tb.closed {
		t.Error("body not closed")
	}
	// The boundary just below still works, and a body of exactly limit bytes
	// is not too large.
	resp, _ = decodeResponse(t, `{"A":7}`)
	if v, err := DecodeLimit[T](resp, nil, int64(len(`{"A":7}`))); err != nil || v.A != 7 {
		t.Errorf("DecodeLimit(len(body)) = %+v, %v", v, err)
	}
}

// R39: a limit <= 0 is the caller's mistake: an error wrapping
// ErrInvalidRequest before any decoding, and the body is still closed.
func TestDecodeLimit_NonPositiveLimitIsError(t *testing.T) {
	type T struct{ A int }
	for _, limit := range []int64{0, -1, math.MinInt64} {
		resp, tb := decodeResponse(t, `{"A":7}`)
		v, err := DecodeLimit[T](resp, nil, limit)
		if !errors.Is(err, ErrInvalidRequest) || v.A != 0 {
			t.Errorf("DecodeLimit(%d) = %+v, %v; want an error wrapping ErrInvalidRequest", limit, v, err)
		}
		if !tb.closed {
			t.Errorf("DecodeLimit(%d): body not closed", limit)
		}
	}
	// The call's own error still comes back as it is (R39).
	sentinel := errors.New("boom")
	if _, err := DecodeLimit[T](nil, sentinel, 0); err != sentinel {
		t.Errorf("call error replaced by %v", err)
	}
}
