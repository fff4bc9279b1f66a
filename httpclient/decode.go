package httpclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
)

// defaultDecodeLimit is the most Decode reads of a body (R33).
const defaultDecodeLimit = 10 << 20

// Decode checks a call's outcome and decodes its JSON body into a T, so that
// one line does it all:
//
//	user, err := httpclient.Decode[User](c.Get(ctx, httpclient.Path("users", id)))
//
// It returns err as it is; a *StatusError for a non-2xx status; the zero T
// and a nil error for 204, 205, a HEAD request and an empty body; an error
// wrapping ErrBodyTooLarge past 10 MiB ([DecodeLimit] sets another limit). It always closes
// the body.
func Decode[T any](resp *http.Response, err error) (T, error) {
	return decodeLimit[T](resp, err, defaultDecodeLimit)
}

// DecodeLimit returns a Decode that reads at most limit bytes of the body,
// for the same one-line form:
//
//	report, err := httpclient.DecodeLimit[Report](100<<20)(c.Get(ctx, "/report"))
//
// A body of exactly limit bytes is decoded, and math.MaxInt64 reads any body
// whole. A limit <= 0 is an error wrapping ErrInvalidRequest, returned
// before the body is read (a zero limit is a mistake, never "the default":
// use Decode for that); the body is closed all the same. The call's own
// error is returned as it is.
func DecodeLimit[T any](limit int64) func(*http.Response, error) (T, error) {
	return func(resp *http.Response, err error) (T, error) { return decodeLimit[T](resp, err, limit) }
}

func decodeLimit[T any](resp *http.Response, err error, limit int64) (T, error) {
	var v T
	if err == nil && limit <= 0 {
		if resp != nil {
			drainClose(resp.Body)
		}
		return v, fmt.Errorf("%w: DecodeLimit: limit %d is not positive", ErrInvalidRequest, limit)
	}
	if _, err = CheckStatus(resp, err); err != nil {
		return v, err
	}
	defer drainClose(resp.Body)
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusResetContent ||
		(resp.Request != nil && resp.Request.Method == http.MethodHead) {
		return v, nil
	}
	// Read one byte past the limit to tell "exactly limit" from "more";
	// limit+1 would overflow at MaxInt64, where no body can be longer anyway.
	n := limit
	if n < math.MaxInt64 {
		n++
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, n))
	if err != nil {
		return v, fmt.Errorf("httpclient: reading response body: %w", err)
	}
	if int64(len(data)) > limit {
		return v, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("httpclient: decoding JSON response: %w", err)
	}
	return v, nil
}

// CheckStatus passes a 2xx response through and turns any other into a
// *StatusError, reading at most 1 KiB of its body and closing it. err is
// returned as it is.
func CheckStatus(resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		if resp != nil {
			drainClose(resp.Body)
		}
		return nil, err
	}
	if resp == nil {
		return nil, errors.New("httpclient: nil response")
	}
	if resp.Body == nil {
		resp.Body = http.NoBody // a response not from the client may have none
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer drainClose(resp.Body)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxStatusErrorBody))
	se := &StatusError{
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		Header:     resp.Header,
		Body:       cutUTF8(body, maxStatusErrorBody),
	}
	if resp.Request != nil {
		se.Method = resp.Request.Method
		se.URL = redactURL(resp.Request.URL)
	}
	if se.Status == "" {
		se.Status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil, se
}
