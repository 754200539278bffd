package views

import (
	"time"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// PlanJSONVersion is the format_version of the `show PLANFILE --json`
// document (docs/plan-json.md). The minor number grows when fields are
// added; the major number when a field is removed or changes meaning.
// Consumers must ignore fields they do not know.
//
// 3.0: an update saved as a change of its item's values (plan file format
// 4) has `value_change` instead of the values in `after`.
const PlanJSONVersion = "3.0"

// JSONPlan is the public JSON document of a plan (`show PLANFILE --json`):
// separate from the in-memory model (engine/plan.Plan) and from the plan
// file's encoded form, so that either can change without breaking
// consumers. Every hash is listed with its incidents, as in the JSON
// events.
type JSONPlan struct {
	FormatVersion   string              `json:"format_version"`
	ToolVersion     string              `json:"tool_version"`
	CreatedAt       time.Time           `json:"created_at"`
	Mode            string              `json:"mode"`
	Targets         []string            `json:"targets"`
	AllowMassDelete bool                `json:"allow_mass_delete"`
	Namespace       string              `json:"namespace"`
	Bindings        JSONBindings        `json:"bindings"`
	Kibanas         []JSONPlanKibana    `json:"kibanas"`
	Blocklists      []JSONPlanBlocklist `json:"blocklists"`
	Summary         JSONPlanSummary     `json:"summary"`
	Warnings        []JSONNote          `json:"warnings"`
	Digest          string              `json:"plan_digest"`
	Signature       string              `json:"plan_signature,omitempty"`
}

// JSONBindings tie the plan to the configuration and state it was made
// against.
type JSONBindings struct {
	ConfigDigest string `json:"config_digest"`
	StateLineage string `json:"state_lineage"`
	StateSerial  uint64 `json:"state_serial"`
}

// JSONPlanKibana is what the plan knows about one Kibana.
type JSONPlanKibana struct {
	Name            string `json:"name"`
	CreateContainer bool   `json:"create_container"`
	LiveDigest      string `json:"live_digest"`
	OwnedItems      int    `json:"owned_items"`
	UnmanagedItems  int    `json:"unmanaged_items"`
}

// JSONPlanBlocklist holds the changes of one blocklist.
type JSONPlanBlocklist struct {
	Name           string           `json:"name"`
	Kibana         string           `json:"kibana"`
	Orphan         bool             `json:"orphan"`
	PolicyIDs      []string         `json:"policy_ids"`
	Sources        []string         `json:"sources"`
	Drift          []JSONDrift      `json:"drift"`
	Changes        []JSONPlanChange `json:"changes"`
	UnchangedItems int              `json:"unchanged_items"`
	HashesBefore   int              `json:"hashes_before"`
	HashesAdded    int              `json:"hashes_added"`
	HashesRemoved  int              `json:"hashes_removed"`
	HashesAfter    int              `json:"hashes_after"`
}

// JSONPlanChange is one item write: the planned_change of the JSON events
// plus what apply sends (id, expect_version, the item body after). After
// is a *provider.Item, or for an update saved as a change of its item's
// values a JSONUpdateAfter, whose values ValueChange gives.
type JSONPlanChange struct {
	JSONChange
	ID            string           `json:"id,omitempty"`
	ExpectVersion string           `json:"expect_version,omitempty"`
	After         any              `json:"after,omitempty"`
	ValueChange   *JSONValueChange `json:"value_change,omitempty"`
}

// JSONUpdateAfter is the body of an update saved as a change of its
// item's values: every field but the entries' values.
type JSONUpdateAfter struct {
	*provider.Item
	Entries []JSONEntryShape `json:"entries"`
}

// JSONEntryShape is an entry without its values.
type JSONEntryShape struct {
	Field    string `json:"field"`
	Type     string `json:"type"`
	Operator string `json:"operator"`
}

// JSONValueChange says what an update does to the values of the item it
// rewrites (the one read at plan time, `id` at `expect_version`): the
// values after are the item's distinct values minus `removed` plus
// `added`, sorted, and the whole body apply sends has sha256
// `body_sha256` (apply refuses the plan when the item read then does not
// give it).
type JSONValueChange struct {
	Removed    []string `json:"removed"`
	Added      []string `json:"added"`
	BodySHA256 string   `json:"body_sha256"`
}

// JSONPlanSummary holds the plan's totals.
type JSONPlanSummary struct {
	Add           int `json:"add"`
	Change        int `json:"change"`
	Destroy       int `json:"destroy"`
	HashesAdded   int `json:"hashes_added"`
	HashesRemoved int `json:"hashes_removed"`
	BlockedAfter  int `json:"blocked_after"`
	Containers    int `json:"containers"`
	Drifted       int `json:"drifted"`
}

// JSONNote is a planning warning.
type JSONNote struct {
	Summary string `json:"summary"`
	Detail  string `json:"detail,omitempty"`
}

// PlanDocument builds the public JSON document of p.
func PlanDocument(p *plan.Plan) JSONPlan {
	doc := JSONPlan{
		FormatVersion: PlanJSONVersion, ToolVersion: p.ToolVersion, CreatedAt: p.CreatedAt, Mode: string(p.Mode),
		Targets: nonNil(p.Targets), AllowMassDelete: p.AllowMassDelete, Namespace: p.Namespace,
		Bindings:   JSONBindings{ConfigDigest: p.Bindings.ConfigDigest, StateLineage: p.Bindings.StateLineage, StateSerial: p.Bindings.StateSerial},
		Kibanas:    []JSONPlanKibana{},
		Blocklists: []JSONPlanBlocklist{},
		Summary: JSONPlanSummary{Add: p.Summary.Add, Change: p.Summary.Change, Destroy: p.Summary.Destroy,
			HashesAdded: p.Summary.HashesAdded, HashesRemoved: p.Summary.HashesRemoved, BlockedAfter: p.Summary.BlockedAfter,
			Containers: p.Summary.Containers, Drifted: p.Summary.Drifted},
		Warnings:  []JSONNote{},
		Digest:    p.Digest,
		Signature: p.Signature,
	}
	for _, k := range p.Kibanas {
		doc.Kibanas = append(doc.Kibanas, JSONPlanKibana{Name: k.Name, CreateContainer: k.CreateContainer,
			LiveDigest: k.LiveDigest, OwnedItems: k.OwnedItems, UnmanagedItems: k.Unmanaged})
	}
	for _, bp := range p.Blocklists {
		jb := JSONPlanBlocklist{Name: bp.Name, Kibana: bp.Kibana, Orphan: bp.Orphan,
			PolicyIDs: nonNil(bp.PolicyIDs), Sources: nonNil(bp.Sources), Drift: []JSONDrift{}, Changes: []JSONPlanChange{},
			UnchangedItems: bp.Unchanged, HashesBefore: bp.HashesBefore, HashesAdded: bp.HashesAdded,
			HashesRemoved: bp.HashesRemoved, HashesAfter: bp.HashesAfter}
		for _, d := range bp.Drift {
			jb.Drift = append(jb.Drift, JSONDrift{Blocklist: bp.Name, Kibana: bp.Kibana, ItemID: d.ItemID,
				What: nonNil(d.What), Added: nonNil(d.Added), Removed: nonNil(d.Removed)})
		}
		for _, c := range bp.Changes {
			jc := JSONPlanChange{JSONChange: evChange(bp, c), ID: c.ID, ExpectVersion: c.ExpectVersion}
			switch {
			case c.SavedAsDiff():
				ua := JSONUpdateAfter{Item: c.After, Entries: []JSONEntryShape{}}
				for _, e := range c.After.Entries {
					ua.Entries = append(ua.Entries, JSONEntryShape{Field: e.Field, Type: e.Type, Operator: e.Operator})
				}
				jc.After = ua
				jc.ValueChange = &JSONValueChange{Removed: nonNil(c.Diff.Drop), Added: nonNil(c.Diff.Add), BodySHA256: c.BodySum()}
			case c.After != nil:
				jc.After = c.After
			}
			jb.Changes = append(jb.Changes, jc)
		}
		doc.Blocklists = append(doc.Blocklists, jb)
	}
	for _, n := range p.Warnings {
		doc.Warnings = append(doc.Warnings, JSONNote{Summary: n.Summary, Detail: n.Detail})
	}
	return doc
}
