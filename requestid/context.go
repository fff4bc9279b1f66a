package requestid

import "context"

// ctxKey is the context key for the request ID; an unexported type cannot
// collide with other packages' keys.
type ctxKey struct{}

// NewContext returns a copy of ctx that carries id as its request ID, for
// [FromContext], the outbound httpclient and [NewLogHandler] to find. It does not
// validate id: code that sets it is trusted ([Middleware] validates what
// arrives from outside). An empty id hides any ID ctx already carries, so that
// FromContext reports none.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the request ID carried by ctx. It reports false when
// there is none or it is empty, so that callers never send or log an empty ID.
func FromContext(ctx context.Context) (string, bool) {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id, id != ""
}
