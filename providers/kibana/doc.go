// Package kibana is the lumuctl Target for Elastic Defend Blocklists: an
// HTTP client for Kibana's exception-list API (SPEC sections 5 and 6,
// reference/kibana-blocklist-api.md). It owns the wire format, the request
// headers, paging of _find, the mapping of Kibana's two error envelopes onto
// the provider sentinel errors, retries, TLS settings and the read-only
// transport that plan uses.
//
// It does not decide what to write: packing hashes into items, naming
// items, choosing which items to update or delete and guarding against mass
// deletes belong to the engine. It never decides ownership by itself either:
// List returns only items whose item_id carries the requested prefix,
// checked client-side on every item whatever the server's filter did.
//
// # Where to start
//
// New builds a Client from a provider.TargetConfig (Factory is the same
// function typed as provider.TargetFactory); every method of
// provider.Target is implemented on *Client. Errors returned by the client
// are *APIError values (or wrap them) that unwrap to the provider sentinels
// (provider.ErrConflict, ErrNotFound, ErrForbidden, ErrUnauthorized,
// ErrReadOnly), so callers test them with errors.Is.
//
// # Choices worth knowing
//
//   - Every exception-list request carries namespace_type=agnostic,
//     "Authorization: ApiKey <key>", "kbn-xsrf: true" on non-GET requests,
//     "Content-Type: application/json" with a body, and
//     "elastic-api-version: 2023-10-31" (the only version of these public
//     routes; Kibana before 8.11 ignores it, newer Kibana would otherwise pick
//     its default, which could change). Fleet requests do not carry it.
//   - ca_file adds the PEM bundle to a copy of the system roots (not a pool
//     of its own), so a Kibana with a public certificate keeps working when a
//     private CA is added; a file without any certificate is an error.
//   - List pages with per_page 1000 sorted by tie_breaker_id (unique, so
//     pages do not shift on ties) and never asks beyond Kibana's 10,000
//     result window (page*per_page <= 10000). Should more than 10,000 items
//     match one filter (Kibana caps a list at 10,000 items, so this needs a
//     non-conforming server), the prefix is split by its next character over
//     [-0-9_a-z] and each narrower prefix is listed on its own; items whose
//     next character lies outside that set make List fail with a count
//     rather than be skipped. A page that brings no new item ends List with
//     an error (a server repeating itself).
//   - Update keeps ownerSpaceId:* tags (Kibana 9.1+ adds them and answers
//     403 when they are dropped). The client is responsible for that, not the
//     engine: it merges in the ownerSpaceId tags of the item as this client
//     last read it at the same _version, and reads the item first when it
//     has not seen that version (a different live _version is then a
//     conflict before anything is written).
//   - Retries (SPEC 6): connection errors, 429 (Retry-After honoured), 500,
//     502, 503 and 504 are retried with jittered exponential backoff for at
//     most retry_timeout per request, for reads and for the three guarded
//     writes: create (fixed item_id; a 409 after a retry reads the item back
//     and accepts it when it is what was sent), update (carries _version;
//     same check on a 409 after a retry) and delete (after a fresh read; a
//     404 after a retry is success).
//   - The API key is only ever written into the Authorization header; error
//     texts are scrubbed of it and base URLs with user info are refused.
package kibana
