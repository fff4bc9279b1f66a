// Package tempest is the root of Tempest for Go, a resilient outbound HTTP
// client and its inbound request-ID middleware. The code lives in the
// subpackages: httpclient (the client most users import), breaker,
// requestid and httpclienttest.
package tempest
