// Package contract checks HTTP traffic against the contract of Kibana's
// Exception Lists API that lumuctl relies on: exception_lists.yaml in this
// package, an OpenAPI document written for lumuctl from the facts of
// Kibana's own OpenAPI source schemas (its header names the elastic/kibana
// files, commits and the Kibana versions it holds for). It is embedded, so
// nothing outside the repository is needed to build or test.
//
// It owns loading that document with kin-openapi, routing a request to its
// operation, and validating every request (query and body) and every
// response (status, body) with openapi3filter. Violations are recorded,
// not enforced: the wrapped handler always runs and its response is passed
// through unchanged.
//
// It does not know anything about blocklist rules (those are enforced by the
// kibanasim stand-in) and it does not cover routes the contract omits, such
// as Fleet's /api/fleet/package_policies and /api/exception_lists/summary;
// those are skipped explicitly and counted (see Checker.Skipped).
//
// Start with Load, then wrap a handler with Checker.Middleware and read
// Checker.Violations after the run.
package contract
