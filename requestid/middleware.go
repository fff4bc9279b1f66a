package requestid

import (
	"net/http"

	"github.com/tempestsdk/tempest/internal/idheader"
)

// Middleware returns a handler that gives each request an ID and then calls
// next. It takes the first value of the [HeaderName] header and
// trusts it only when [Valid] accepts it; otherwise it uses a new ID from
// [Generate]. It sets the ID on the response header before next runs, so the
// caller gets it even from a handler that fails, and passes next a shallow
// copy of the request whose context carries the ID ([FromContext]).
//
// The ResponseWriter is passed through unwrapped, so
// [net/http.ResponseController] and optional interfaces keep working. The
// inbound header itself is left as it arrived: read the ID with FromContext,
// not from the request header, which may hold a value that was rejected.
func Middleware(next http.Handler) http.Handler {
	if next == nil {
		panic("requestid: Middleware called with a nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := idheader.Load()
		var id string
		if vs := r.Header[h.Key]; len(vs) > 0 && Valid(vs[0]) {
			id = vs[0]
		} else {
			id = Generate()
		}
		w.Header()[h.Key] = []string{id}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}
