// Package ops is an operator endpoint for an httpclient.Client: an
// http.Handler that shows the client's circuit breakers, retry budgets,
// concurrency limits and recent give-ups as JSON and as a small
// self-contained HTML page, with optional controls to isolate an origin,
// reset its breaker or set its concurrency limit (R63, R75).
//
// The page tells its viewer which upstreams are failing and, with controls
// on, lets them take one out of rotation. Serve it on an internal port,
// behind the service's own authentication; never on the public listener:
//
//	admin := http.NewServeMux()
//	admin.Handle("/debug/ops/", http.StripPrefix("/debug/ops", ops.Handler(client)))
//	go http.ListenAndServe("127.0.0.1:9090", requireOperator(admin))
//
// # Routes
//
// Paths are relative to where the handler is mounted:
//
//	GET  /            the HTML page; it reloads itself every 5 seconds
//	GET  /state.json  the same state as JSON
//	POST /isolate     form fields origin, for (a duration such as "5m", at most 24h), token
//	POST /reset       form fields origin, token
//	POST /limit       form fields origin, limit (a whole number from 1 to 100000), token
//
// GET also answers HEAD, with its headers and no body; another method gets
// 405 with an Allow header, an unknown path 404. The POST routes are
// refused with 403 unless WithControls is given, and the page shows their
// forms only then. A POST that is accepted answers 303 back to the page, or
// 200 with a JSON body when its Accept header asks for application/json:
// {"action": "isolate"|"reset", "breaker": <breaker.Snapshot>} or
// {"action": "limit", "concurrency": <concurrency.Snapshot>}. One with bad
// input answers 400 with a plain-text error. POST /limit calls
// Client.SetConcurrencyLimit: a fixed limit keeps the value, an adaptive
// one goes on from it within its Min and Max; to a client made without
// httpclient.WithConcurrencyLimit it answers 409 Conflict (there is no
// limit to set), after the checks below and before reading the limit.
//
// # Cross-site requests
//
// Every route answers only a request whose Host is an IP address,
// localhost (or a name under it) or a name given to WithHosts, and refuses
// any other with 403: a page on a name an attacker controls, rebound by DNS
// to the handler's address, is same-origin to the browser, and its Host is
// what gives it away.
//
// A POST is refused with 403 unless all three hold: its Sec-Fetch-Site header
// is absent or "same-origin"; its Origin header, when present, is an http or
// https origin that names the request's Host (a default port counts as none,
// on either side); and its form field token equals the handler's token, 32
// random bytes in hex made by Handler, which the page embeds in its forms
// (read it from there to script the controls). The token is compared in
// constant time and read from the form body only, never from the URL.
//
// # JSON
//
// GET /state.json answers an object with snake_case names:
//
//	{
//	  "generated_at": "2026-01-02T15:04:05.123Z",    // when the state was read
//	  "origins": [                                   // at most WithMaxOrigins, open circuits first
//	    {
//	      "origin": "https://billing.internal:443",  // normalised scheme://host:port
//	      "breaker": {...},                          // breaker.Snapshot's JSON; absent when the breaker is disabled
//	      "until_half_open_seconds": 42.5,           // only when the circuit is open
//	      "budget": {"calls": 10, "retries": 2, "available": 100}, // httpclient.BudgetStatus; absent when the budget is disabled
//	      "concurrency": {"limit": 32, "in_flight": 3, "queued": 0, "rejected": 0} // concurrency.Snapshot; absent without a concurrency limit
//	    }
//	  ],
//	  "origins_total": 3,                            // origins the client keeps state for
//	  "origins_omitted": 0,                          // origins_total minus those listed
//	  "give_ups": [...],                             // httpclient.GiveUpRecord's JSON, newest first, at most 64
//	  "controls": false                              // whether WithControls was given
//	}
//
// The origins are the union of Client.Breakers, Client.Budgets and
// Client.ConcurrencyLimits, sorted open first, then half-open, then
// closed; within each, those whose concurrency limiter has callers queued
// (most first), then those with every slot taken, then by slots in flight
// (most first); then by name. WithMaxOrigins keeps the first, so that a
// saturated origin is listed before a quiet one whose circuit is in the
// same state. Without a concurrency limit the order is the circuit's
// state, then the name. Nothing of the
// operator's own request appears in any answer (but the token, in the page's
// forms): no header value and no query string. Give-up paths are escaped
// paths without their query, as the client records them.
//
// Every answer carries Cache-Control: no-store, X-Content-Type-Options:
// nosniff, X-Frame-Options: DENY and a Content-Security-Policy that allows
// no script, no external resource, inline styles, and forms posting to the
// page's own origin only.
//
// # Concurrency limits
//
// With httpclient.WithConcurrencyLimit (R75), each origin's entry in the
// JSON has a "concurrency" object (limit, in_flight, queued and rejected,
// the refusals so far), and the page has a concurrency column that shows
// it as "limit L · in flight N · queued Q · refused R", marked saturated,
// in the colours of a half-open circuit, when callers are queued or every
// slot is taken. With WithControls, a form beside it posts to /limit. A
// client without the limit has neither the object nor the column.
package ops
