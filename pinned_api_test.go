package tempest_test

// The public names pinned since the project began, one line each: if any of
// them changes, this file stops compiling.

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/requestid"
)

var (
	_ func(string, ...httpclient.Option) (*httpclient.Client, error) = httpclient.New

	_ func(time.Duration) httpclient.Option          = httpclient.WithTimeout
	_ func(httpclient.RetryPolicy) httpclient.Option = httpclient.WithRetryPolicy
	_ func(int, time.Duration) httpclient.Option     = httpclient.WithCircuitBreaker
	_ func(http.Header) httpclient.Option            = httpclient.WithDefaultHeaders
	_ func(bool) httpclient.Option                   = httpclient.WithRequestIDPropagation
	_ func(http.RoundTripper) httpclient.Option      = httpclient.WithTransport

	_ = httpclient.RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Second, BackoffMax: time.Second}

	_ func(*httpclient.Client, context.Context, string, ...httpclient.RequestOption) (*http.Response, error) = (*httpclient.Client).Get
	_ func(*httpclient.Client, context.Context, string, ...httpclient.RequestOption) (*http.Response, error) = (*httpclient.Client).Post
	_ func(*httpclient.Client, context.Context, string, ...httpclient.RequestOption) (*http.Response, error) = (*httpclient.Client).Put
	_ func(*httpclient.Client, context.Context, string, ...httpclient.RequestOption) (*http.Response, error) = (*httpclient.Client).Patch
	_ func(*httpclient.Client, context.Context, string, ...httpclient.RequestOption) (*http.Response, error) = (*httpclient.Client).Delete

	_ func(*httpclient.Client, context.Context, string, string, ...httpclient.RequestOption) (*http.Response, error) = (*httpclient.Client).Request

	_ func(*httpclient.Client, *http.Request) (*http.Response, error) = (*httpclient.Client).Do
	_ func(*httpclient.Client) *http.Client                           = (*httpclient.Client).StandardClient
	_ func(*httpclient.Client) error                                  = (*httpclient.Client).Close

	_ func(any) httpclient.RequestOption            = httpclient.JSON
	_ func(string, string) httpclient.RequestOption = httpclient.Header
	_ func(string, string) httpclient.RequestOption = httpclient.Query

	_       = httpclient.CircuitOpenError{Origin: "", Until: time.Time{}}
	_ error = &httpclient.CircuitOpenError{}
	_ error = httpclient.ErrCircuitOpen
	_ error = httpclient.ErrClosed

	_ func(http.Handler) http.Handler               = requestid.Middleware
	_ func(context.Context, string) context.Context = requestid.NewContext
	_ func(context.Context) (string, bool)          = requestid.FromContext
)

const _ = requestid.Header

func TestPinnedAPI(t *testing.T) {
	if requestid.Header != "X-Request-ID" {
		t.Errorf("requestid.Header = %q", requestid.Header)
	}
	var err error = &httpclient.CircuitOpenError{Origin: "https://x:443"}
	if !errors.Is(err, httpclient.ErrCircuitOpen) {
		t.Error("errors.Is(*CircuitOpenError, ErrCircuitOpen) is false")
	}
}
