// Package lumu is the Lumu Defender source of lumuctl: it turns the
// incidents of one Lumu company into file hashes with provenance, as SPEC
// section 3 describes, and hands them to the engine as a
// provider.FetchResponse.
//
// It owns:
//
//   - Client: a small net/http client for the classic Defender API
//     (incident list, context per hash type, details), with tolerant
//     decoding, bounded response sizes, errors a person can act on, and a
//     key that never appears in any error or printed URL (Scrub).
//   - the request budget: a per-key rate limiter shared by every fetch that
//     uses the key, 429 handling (Retry-After, RateLimit-Reset) and jittered
//     exponential backoff bounded by the company's retry_timeout.
//   - extraction (Source.Fetch): window, statuses, adversary types, labels,
//     only_active, normalisation, provenance merged across incidents.
//     exclude and the never-block list are not here: the engine enforces
//     them for every source (engine/plan).
//   - the context cache: a bbolt file of its own (SourceOptions.CachePath),
//     never authoritative, holding no keys (cache.go).
//
// It does not own configuration parsing or defaults validation
// (engine/config), planning (engine/plan) or any printing: progress goes out
// through provider.ProgressFunc and problems through FetchResponse.
//
// Start with NewSource and Source.Fetch in source.go; the wire types are in
// wire.go and the HTTP behaviour in client.go.
package lumu
