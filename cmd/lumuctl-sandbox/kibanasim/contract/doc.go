// Package contract checks HTTP traffic against Kibana's published OpenAPI
// source schemas for the Exception Lists API (the copies under
// shared/reference/kibana-openapi, see SOURCE.txt there).
//
// It owns loading those split YAML files with kin-openapi (external relative
// $refs allowed), routing a request to its operation, and validating every
// request (query and body) and every response (status, body) with
// openapi3filter. Violations are recorded, not enforced: the wrapped handler
// always runs and its response is passed through unchanged.
//
// It does not know anything about blocklist rules (those are enforced by the
// kibanasim stand-in) and it does not cover routes the schemas omit, such as
// Fleet's /api/fleet/package_policies and /api/exception_lists/summary; those
// are skipped explicitly and counted (see Checker.Skipped).
//
// Start with Load, then wrap a handler with Checker.Middleware and read
// Checker.Violations after the run.
package contract
