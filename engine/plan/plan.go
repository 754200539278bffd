package plan

import (
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Mode says what kind of plan this is.
type Mode string

// Plan modes.
const (
	ModeNormal  Mode = "normal"  // converge the blocklists to the configuration
	ModeDestroy Mode = "destroy" // remove every owned item of the selected blocklists
)

// Plan is everything apply needs to execute a change, and everything a
// reviewer needs to judge it. It holds no credentials. A Plan is built by
// Make, rendered by views, saved with Encode and executed by engine/apply.
//
// Fields are in the saved-plan file; changing their meaning needs a new
// FormatVersion.
type Plan struct {
	FormatVersion int       `json:"format_version"`
	ToolVersion   string    `json:"tool_version"`
	CreatedAt     time.Time `json:"created_at"`
	Mode          Mode      `json:"mode"`
	// Targets are the blocklist names selected with --target (empty: all).
	Targets []string `json:"targets,omitempty"`
	// AllowMassDelete records --allow-mass-delete, so applying the saved
	// plan does not need the flag again.
	AllowMassDelete bool `json:"allow_mass_delete"`
	// Namespace is the ownership namespace (settings.namespace).
	Namespace string   `json:"namespace"`
	Bindings  Bindings `json:"bindings"`
	// Kibanas lists each Kibana the plan reads or writes, in name order.
	Kibanas []KibanaPlan `json:"kibanas"`
	// Blocklists holds the per-blocklist changes, in name order; blocklists
	// that are no longer configured but still own items come last.
	Blocklists []BlocklistPlan `json:"blocklists"`
	Summary    Summary         `json:"summary"`
	// Warnings are non-fatal notes made while planning (rendered by views).
	Warnings []Note `json:"warnings,omitempty"`
	// Digest is the sha256 of the canonical encoding of the plan with Digest
	// empty. It identifies the plan (apply refuses a digest applied before).
	Digest string `json:"plan_digest"`
	// Signature is "hmac-sha256:<hex>", an HMAC-SHA256 of Digest under the
	// operator's plan key (LUMUCTL_PLAN_KEY), or empty. It is not covered
	// by Digest (it is computed from it); see Sign.
	Signature string `json:"plan_signature,omitempty"`
}

// Bindings tie a saved plan to the world it was made against. apply PLANFILE
// refuses the plan when any of them no longer holds.
type Bindings struct {
	// ConfigDigest is config.Config.Digest(): the evaluated configuration
	// without secrets.
	ConfigDigest string `json:"config_digest"`
	// StateLineage and StateSerial identify the state file version read.
	StateLineage string `json:"state_lineage"`
	StateSerial  uint64 `json:"state_serial"`
}

// KibanaPlan is what the plan knows about one Kibana.
type KibanaPlan struct {
	Name string `json:"name"`
	// CreateContainer is true when the endpoint_blocklists list is missing.
	CreateContainer bool `json:"create_container"`
	// LiveDigest is LiveSet.Digest of the owned items read at plan time;
	// LiveItems are those items (item_id, id, _version), so that a refusal
	// can say which ones changed.
	LiveDigest string     `json:"live_digest"`
	LiveItems  []LiveItem `json:"live_items,omitempty"`
	// OwnedItems is the number of items carrying the namespace prefix.
	OwnedItems int `json:"owned_items"`
	// Unmanaged counts items of the list without our prefix, when known.
	Unmanaged int `json:"unmanaged_items"`
}

// BlocklistPlan holds the changes of one blocklist.
type BlocklistPlan struct {
	Name   string `json:"name"`
	Kibana string `json:"kibana"`
	// Orphan is true for a blocklist that is no longer in the configuration
	// but still owns items: all of them are deleted.
	Orphan    bool     `json:"orphan,omitempty"`
	PolicyIDs []string `json:"policy_ids,omitempty"` // empty: global (policy:all)
	// Sources are the ioc_filter names feeding the blocklist.
	Sources []string `json:"sources,omitempty"`
	// Drift lists owned items changed in Kibana outside lumuctl.
	Drift []Drift `json:"drift,omitempty"`
	// Changes are the item writes, ordered by OS, hash type, item_id.
	Changes []ItemChange `json:"changes,omitempty"`
	// Unchanged counts owned items that stay as they are.
	Unchanged int `json:"unchanged_items"`
	// Hash counts over (OS, hash) values of this blocklist.
	HashesBefore  int `json:"hashes_before"`
	HashesAdded   int `json:"hashes_added"`
	HashesRemoved int `json:"hashes_removed"`
	HashesAfter   int `json:"hashes_after"`
	// Provenance says which incidents of this blocklist's sources produced
	// each hash whose recorded provenance this plan sets: every hash it
	// adds, and, when the plan writes anything, every hash it keeps whose
	// incidents (by company, filter and id) are not the ones recorded at
	// the last apply. Apply records it and forgets the removed hashes; the
	// provenance of every other kept hash stays as recorded.
	Provenance Provenance `json:"provenance"`
	// PriorProvenance says which incidents had put each hash this plan
	// removes into this blocklist, as recorded at the last apply (for
	// display only).
	PriorProvenance Provenance `json:"prior_provenance"`
}

// ItemChange is one write to Kibana.
type ItemChange struct {
	Action   provider.Action   `json:"action"`
	ItemID   string            `json:"item_id"`
	OS       string            `json:"os"`
	HashType provider.HashType `json:"hash_type"`
	// ID and ExpectVersion identify the live item (update, delete): the
	// write is refused by Kibana (409) if the item changed since.
	ID            string `json:"id,omitempty"`
	ExpectVersion string `json:"expect_version,omitempty"`
	// After is the full item to write (create, update); nil for delete.
	// In an update read from a plan file and not yet resolved against the
	// live item (Unresolved, Resolve), its entry holds no values: Diff says
	// what they are.
	After *provider.Item `json:"after,omitempty"`
	// Diff is an update's change of the live item's values (set by Make
	// when After's values are in the form it rebuilds; the plan file then
	// carries it instead of After's values).
	Diff *ValueDiff `json:"-"`
	// Added and Removed are the hash values this change adds to / removes
	// from the blocklist+OS (sorted); moves between items are not listed.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// MovedIn are hashes this item takes over from another item of the
	// same blocklist and OS (they stay blocked throughout).
	MovedIn []string `json:"moved_in,omitempty"`
	// Reasons explain a rewrite that is not about hashes (drift restore).
	Reasons []string `json:"reasons,omitempty"`
}

// Drift describes an owned item changed in Kibana outside lumuctl.
type Drift struct {
	ItemID string `json:"item_id"`
	// What lists the changed aspects: "deleted", "values", "name",
	// "description", "os_types", "tags", "entries". Items carry no meta
	// (SPEC 5), so a meta found on a live item is not drift.
	What []string `json:"what"`
	// Added and Removed are values added/removed outside lumuctl compared
	// with the last apply (when the state knows the item).
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// Provenance maps hashes of one blocklist to the incidents that produced
// them; each incident is once in the table.
type Provenance struct {
	Incidents []provider.IncidentRef `json:"incidents"`
	// Hashes maps a hash to indexes into Incidents.
	Hashes map[string][]int `json:"hashes"`
}

// Lookup returns the incidents that produced hash (nil if unknown).
func (p Provenance) Lookup(hash string) []provider.IncidentRef {
	idx := p.Hashes[hash]
	if len(idx) == 0 {
		return nil
	}
	out := make([]provider.IncidentRef, 0, len(idx))
	for _, i := range idx {
		if i >= 0 && i < len(p.Incidents) {
			out = append(out, p.Incidents[i])
		}
	}
	return out
}

// Summary holds the plan's totals.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	// Hash-value counts over all blocklists and OSes.
	HashesAdded   int `json:"hashes_added"`
	HashesRemoved int `json:"hashes_removed"`
	BlockedAfter  int `json:"blocked_after"`
	// Containers is the number of endpoint_blocklists lists to create.
	Containers int `json:"containers,omitempty"`
	Drifted    int `json:"drifted,omitempty"`
}

// HasChanges reports whether applying the plan would write anything.
func (p *Plan) HasChanges() bool {
	return p.Summary.Add+p.Summary.Change+p.Summary.Destroy+p.Summary.Containers > 0
}

// Note is a warning recorded in the plan.
type Note struct {
	Summary string `json:"summary"`
	Detail  string `json:"detail,omitempty"`
}
