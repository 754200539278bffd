// Package lumusim is an in-process stand-in for the Lumu Defender API, as
// documented by Lumu (docs/compatibility.md cites the source of each rule).
// It is a test and demo tool: the providers/lumu tests, the CLI testscripts, the benchmarks and the
// lumuctl-sandbox command start it. It is deliberately as strict as the real
// API is known to be, because a lenient fake hides client bugs.
//
// It owns: the generated scenarios ([GenerateScenario]), the Lumu HTTP API
// ([Server] is an http.Handler), fault, latency and rate-limit injection,
// request counters, and a small JSON control API ([Server.Control]). It does
// not own the Kibana stand-in (package kibanasim) nor the wiring of both into
// loopback servers (package sandbox).
//
// Start with [New] and [Options]; then read server.go for the routes.
//
// # Lumu API (served by Server)
//
// Every route is under /api and needs the company key in the query string
// (?key=...); a missing or unknown key gets 401 on every route. Paging is in
// the query string even for POST (page is 1-based, items is 1..100, default
// 50); paging fields in the body are ignored.
//
//	POST /api/incidents/all                 body {fromDate,toDate,status,adversary-types,labels}
//	POST /api/incidents/open|muted|closed   body {adversary-types,labels}
//	GET  /api/incidents/{id}/context?hash=sha256|sha1|md5
//	GET  /api/incidents/{id}/details
//	POST /api/incidents/{id}/mark-as-read|comment|mute|unmute|close   (200, empty body)
//
// Choices where the reference is silent or unsure, documented here so tests
// can rely on them:
//   - fromDate more than 90 days before now is rejected with 400 (the real
//     retention edge is unconfirmed; 90 days is the largest window any known
//     client uses). toDate before fromDate is 400 too. Both filter on
//     lastContact, bounds inclusive.
//   - Unknown status or adversary-type values in the body are 400, and so are
//     JSON type mismatches; unknown body fields are ignored. An empty body is
//     the same as {}.
//   - Lists are ordered by lastContact, most recent first (ties by id).
//   - The hash query parameter is case-insensitive (XSOAR sends SHA256).
//   - 400 bodies are {"name":...,"detail":...}; 401/404/429 use the same
//     envelope. Injected 502/503/504 answer with an HTML body, like a gateway.
//   - The rate limit is a fixed one-minute window per key, counted from the
//     first request of the window; when enabled, every authorised response
//     carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset, and a
//     429 also Retry-After.
//   - The daily quota (Options.RequestsPerDay, off by default) counts the
//     requests answered per key per UTC day of the server's clock; beyond it
//     every request is a 429 whose RateLimit-Reset and Retry-After point at
//     the next UTC midnight. Refused requests do not count. It is checked
//     before the per-minute limit.
//
// # Request pipeline and counters
//
// Each /api request is classified into a [Kind], then: latency for that kind
// is slept, a matching injected [Fault] answers (counted as "fault"), the key
// is checked (counted as "unauthorized"), the rate limit is applied (counted
// as "rate_limited"), and only then the handler runs and the request is
// counted under its kind (list, context, details, action, other). Total
// counts every request. So, with no faults, a cold listing of P pages and C
// contexts reads back exactly list=P and context=C.
//
// # Control API (served by Server.Control, paths include the /lumu prefix)
//
//	GET  /lumu/incidents?status=open           ids (and status, lastContact) of the incidents
//	POST /lumu/incidents                       add one: {"adversary_types":[...],"hashes":{"sha256":[...]}, ...}
//	POST /lumu/incidents/{id}/close|mute|reopen|contact
//	POST /lumu/faults                          {"kind":"context","status":503,"count":2} or {"clear":true}
//	POST /lumu/latency                         {"kind":"list","duration":"200ms"}
//	POST /lumu/ratelimit                       {"per_minute":50} and/or {"per_day":10000}
//	GET  /lumu/counters
//	POST /lumu/counters/reset
//
// # Example
//
// With `lumuctl-sandbox serve --scenario small` running and its JSON line in
// $info:
//
//	LUMU=$(echo "$info" | jq -r .lumu_url); KEY=$(echo "$info" | jq -r .lumu_key)
//	curl -s -X POST "$LUMU/api/incidents/all?key=$KEY&page=1&items=10" \
//	  -H 'Content-Type: application/json' \
//	  -d '{"status":["open"],"adversary-types":["Malware","C2C"]}'
//	ID=$(curl -s -X POST "$LUMU/api/incidents/open?key=$KEY&items=1" | jq -r '.items[0].id')
//	curl -s "$LUMU/api/incidents/$ID/context?key=$KEY&hash=sha256"
//	CTL=$(echo "$info" | jq -r .control_url)
//	curl -s -X POST "$CTL/lumu/incidents/$ID/close"
//	curl -s "$CTL/lumu/counters"
package lumusim
