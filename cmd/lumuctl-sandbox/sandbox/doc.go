// Package sandbox starts the lumuctl sandbox in-process: a Lumu Defender
// stand-in (package lumusim), a Kibana stand-in (package kibanasim) and a
// control server, each on its own loopback HTTP listener. The
// lumuctl-sandbox command is a thin wrapper around Start; tests and
// benchmarks call Start directly.
//
// It owns the wiring: listeners, generated keys, the scenario and the Fleet
// policy ids handed to both stand-ins, the control server (Lumu's control
// API under /lumu/, Kibana's under /kibana/) and Info, the JSON line the
// command prints. It does not own the behaviour of either stand-in.
//
// Start with Start and Options:
//
//	sb, err := sandbox.Start(ctx, sandbox.Options{Scenario: "small", Seed: 1})
//	if err != nil { ... }
//	defer sb.Close()
//	info := sb.Info() // lumu_url, kibana_url, control_url, keys, company_uuid, policy_ids
//
// From a shell (see package lumusim for the Lumu routes):
//
//	lumuctl-sandbox serve --scenario small > info.json &
//	curl -s -X POST "$(jq -r .lumu_url info.json)/api/incidents/all?key=$(jq -r .lumu_key info.json)&items=5" -d '{}'
//	curl -s "$(jq -r .control_url info.json)/lumu/counters"
package sandbox
