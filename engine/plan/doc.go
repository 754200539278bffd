// Package plan owns lumuctl's plan: what apply would change in Kibana and
// why. It holds the in-memory model (Plan, ItemChange, whose action is the
// one provider.Action), the planner
// (Make) that compares the desired hashes from the sources with the owned
// items in Kibana, the safety guards, and the versioned saved-plan file
// (Encode/Decode) with its bindings and digest.
//
// The item rules are here, whatever the source or target: every source's
// answer loses the ioc_filter's exclude values and the never-block list
// (exclude.go), and every owned item's body is rendered here, ownerSpaceId
// tags included, and compared with the live item for drift (render.go). A
// Target sends exactly the planned body; a Source only yields hashes.
//
// It does not talk HTTP (it drives provider.Source and provider.Target), does
// not print (views render a Plan), and does not write: applying a plan is
// engine/apply's job.
//
// Start with Make, then Plan. Encode/Decode handle the plan file; Verify
// checks a decoded plan's integrity.
package plan
