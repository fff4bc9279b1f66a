package requestid_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/tempestsdk/tempest/requestid"
)

// Compile-time guard of the pinned API and of the names the httpclient
// package calls: one line per name.
var (
	_ string                                        = requestid.Header
	_ func(http.Handler) http.Handler               = requestid.Middleware
	_ func(context.Context, string) context.Context = requestid.NewContext
	_ func(context.Context) (string, bool)          = requestid.FromContext
	_ func() string                                 = requestid.HeaderName
	_ func(string) error                            = requestid.SetHeaderName
	_ func(string) bool                             = requestid.Valid
	_ func() string                                 = requestid.Generate
	_ string                                        = requestid.AttrKey
	_ func(slog.Handler) slog.Handler               = requestid.NewLogHandler
)

// The values of the pinned constants are part of the contract too.
func TestPinnedConstants(t *testing.T) {
	if requestid.Header != "X-Request-ID" {
		t.Errorf("Header = %q, want X-Request-ID", requestid.Header)
	}
	if requestid.AttrKey != "request_id" {
		t.Errorf("AttrKey = %q, want request_id", requestid.AttrKey)
	}
}
