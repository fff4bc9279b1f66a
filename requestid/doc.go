// Package requestid gives every inbound HTTP request an ID and carries it
// through the context into the logs and into the outbound calls the request
// makes, so that one ID ties together what several services did for it.
//
// The inbound flow, in [Middleware]:
//
//  1. Accept or generate. The first value of the request-ID header
//     ([HeaderName], [Header] by default) is trusted only when [Valid] accepts
//     it: the ID ends up in logs and in other services' requests, so a caller
//     must not be able to inject arbitrary text there. Otherwise (no header, an
//     empty, over-long or badly formed value) a random UUID v4 from [Generate]
//     replaces it.
//  2. Context. The ID is stored in the request's context with [NewContext];
//     handlers read it with [FromContext].
//  3. Echo. The ID is set on the response header before the next handler runs,
//     so that it reaches the caller even when the handler fails.
//  4. Log. A logger built on [NewLogHandler] stamps every record logged with that
//     context with a top-level "request_id" attribute ([AttrKey]), whatever
//     groups the logger has.
//
// Outbound, the client in package github.com/tempestsdk/tempest/httpclient
// sends the context's ID on every attempt and redirect hop under the same
// header name: [SetHeaderName] changes it for both sides at once. Header values
// are never logged, the request ID excepted.
package requestid
