// Package provider is the contract between the lumuctl engine and the
// systems it talks to. It owns the request/response types and the two
// interfaces the engine drives:
//
//   - Source: a system that yields file hashes with provenance (Lumu Defender).
//   - Target: a system that stores blocklist items (Kibana's Elastic Defend
//     Blocklist).
//
// It does not own any HTTP code: implementations live in providers/lumu and
// providers/kibana, and cmd/lumuctl hands the engine a Factories value. The
// engine never imports an implementation, so tests can wire in fakes.
//
// Start with Source and Target; the data they exchange (Indicator, Item) is
// independent of any wire format.
package provider
