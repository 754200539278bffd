// Package kibanasim is the Kibana stand-in of lumuctl-sandbox: an
// http.Handler that answers the Exception Lists and Fleet routes lumuctl uses
// as strictly as real Kibana does for Elastic Defend Blocklists
// (docs/compatibility.md lists every rule it enforces, with its source in
// Kibana's code or documentation).
//
// It owns: the in-memory exception lists and items, the route-level
// ("zod") checks, the BlocklistValidator rules, both error envelopes (Boom
// {"statusCode","error","message"} and SIEM {"message","status_code"}), the
// check order on create and update, `_version` optimistic concurrency, the
// KQL subset of `_find`, Fleet package-policy listing, the optional 9.1+
// space awareness (ownerSpaceId tags), seeded unowned items, latency and
// fault injection, request counters and a request log, and a JSON control
// API (Server.Control) for tests and demos.
//
// It does not own the sandbox command, the Lumu stand-in or the scenario
// generator (package sandbox and lumusim), and it does not validate
// against Kibana's OpenAPI schemas itself: subpackage contract does that
// and can be plugged in with Options.ContractCheck.
//
// Start with New and Options in server.go; the rules are in validate.go,
// `_find` and its KQL subset in find.go and kql.go, faults and counters in
// faults.go, the control API in control.go.
package kibanasim
