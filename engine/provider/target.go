package provider

import (
	"context"
	"errors"
	"slices"
	"time"
)

// OSTypes are the Kibana os_types values an item may carry, in canonical
// order (the default order of blocklist.os_types). One item holds exactly
// one of them.
var OSTypes = []string{"windows", "macos", "linux"}

// Limits of Kibana's blocklist, defined once for the configuration checks
// (engine/config), the packer and the planner.
const (
	// MaxValuesPerItem is the largest max_values_per_item: the most hash
	// values lumuctl puts in one item.
	MaxValuesPerItem = 2000
	// MaxListItems is how many items Kibana's endpoint_blocklists list holds
	// (a create beyond it is refused with a 400, "exception list would
	// exceed max size of 10000").
	MaxListItems = 10_000
)

// OwnerSpaceTag starts the tag Kibana 9.1+ (space awareness) puts on the
// endpoint artifacts it creates: ownerSpaceId:<space id>. The engine keeps
// such tags on every update it renders; a Target adds or drops none.
const OwnerSpaceTag = "ownerSpaceId:"

// Item is one Kibana exception-list item in the endpoint_blocklists list, as
// the engine sees it. Field names follow Kibana's wire names where possible.
type Item struct {
	ID          string   `json:"id,omitempty"`       // saved-object id; assigned by Kibana
	ItemID      string   `json:"item_id"`            // our stable id; the ownership prefix lives here
	Version     string   `json:"_version,omitempty"` // optimistic concurrency token
	Name        string   `json:"name"`
	Description string   `json:"description"`
	OSTypes     []string `json:"os_types"`
	Tags        []string `json:"tags"`
	Entries     []Entry  `json:"entries"`
	// Fields kept for drift detection and display; never sent back blindly.
	Type      string    `json:"type,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// Entry is one match_any hash entry of an item.
type Entry struct {
	Field    string   `json:"field"` // file.hash.md5|sha1|sha256
	Type     string   `json:"type"`  // match_any
	Operator string   `json:"operator"`
	Value    []string `json:"value"`
}

// ListRequest asks for every item of the blocklist container whose item_id
// starts with Prefix. Implementations must re-check the prefix client-side.
type ListRequest struct {
	Prefix string
	// CountUnmanaged asks for ListResponse.Unmanaged to count every item
	// of the list without Prefix (it may cost one more request).
	CountUnmanaged bool
	// Known, when not nil, holds items the caller already has (the
	// state's copies, by item_id). An implementation may give a listed
	// item whose entry values equal those of Known[item_id] Known's value
	// slices, so that the values are held once while the listing runs;
	// the answer is equal either way.
	Known map[string]Item
}

// ShareValues gives each entry of it whose values equal the entry of
// known at the same position known's slice (see ListRequest.Known).
func ShareValues(it *Item, known Item) {
	if len(known.Entries) != len(it.Entries) {
		return
	}
	for i := range it.Entries {
		if slices.Equal(known.Entries[i].Value, it.Entries[i].Value) {
			it.Entries[i].Value = known.Entries[i].Value
		}
	}
}

// ListResponse holds the owned items and a count of the other items seen.
type ListResponse struct {
	Owned []Item
	// Unmanaged counts items in the container that lack Prefix: all of
	// them with CountUnmanaged, otherwise only those the implementation
	// happened to see.
	Unmanaged int
}

// PolicyCheck is the result of checking Fleet policy ids.
type PolicyCheck struct {
	Missing []string // ids that are not Elastic Defend package policies
	// Warning is set when the check could not be made (e.g. no Fleet read
	// privilege); Missing is then empty.
	Warning string
}

// Target stores blocklist items. All methods are safe for concurrent use.
type Target interface {
	// EnsureContainer creates the endpoint_blocklists list if missing.
	EnsureContainer(ctx context.Context) error
	// ContainerExists reports whether the list exists (read-only).
	ContainerExists(ctx context.Context) (bool, error)
	List(ctx context.Context, req ListRequest) (ListResponse, error)
	// Get reads one item by saved-object id; ErrNotFound if absent.
	Get(ctx context.Context, id string) (Item, error)
	// GetByItemID reads one item by item_id; ErrNotFound if absent.
	GetByItemID(ctx context.Context, itemID string) (Item, error)
	Create(ctx context.Context, it Item) (Item, error)
	// Update overwrites the item identified by it.ID, guarded by it.Version.
	Update(ctx context.Context, it Item) (Item, error)
	// Delete removes the item after checking it still has expectVersion.
	Delete(ctx context.Context, id, expectVersion string) error
	CheckPolicies(ctx context.Context, ids []string) (PolicyCheck, error)
}

// TargetConfig is what a Target needs to reach one Kibana. APIKey is a
// secret: it must never be printed, logged or stored.
type TargetConfig struct {
	Name               string // configuration label
	URL                string
	APIKey             string // secret
	Space              string
	CAFile             string
	InsecureSkipVerify bool
	Timeout            time.Duration
	RetryTimeout       time.Duration
	// ReadOnly makes every non-GET request fail before it leaves the process.
	ReadOnly bool
	// HTTPLog is told about every request and retry; nil for none.
	HTTPLog HTTPLog
}

// TargetFactory builds a Target.
type TargetFactory func(TargetConfig) (Target, error)

// Factories is what cmd/lumuctl hands to the engine.
type Factories struct {
	Source SourceFactory
	Target TargetFactory
}

// Errors a Target returns, wrapped with detail. Test with errors.Is.
var (
	// ErrConflict: the item changed since it was read (_version mismatch)
	// or an item with this item_id already exists.
	ErrConflict = errors.New("conflict")
	// ErrNotFound: the item or list does not exist.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the API key lacks a privilege or license.
	ErrForbidden = errors.New("forbidden")
	// ErrReadOnly: a write was attempted through a read-only Target.
	ErrReadOnly = errors.New("write refused: client is read-only")
	// ErrUnauthorized: the credential was rejected.
	ErrUnauthorized = errors.New("unauthorized")
)

// ItemIDChecker is implemented by Targets whose item_ids are shared with
// other containers: Kibana's item_id is unique across every agnostic
// exception list, so an item of endpoint_trusted_apps can hold the item_id
// lumuctl would give a new blocklist item, and that create would fail with
// 409 on every run. The planner asks, before it plans a create, whether its
// item_id is free, and picks the next free sequence number when not.
type ItemIDChecker interface {
	// TakenElsewhere returns, of itemIDs, those held by an item that is not
	// an owned item of the blocklist container (as List saw it), mapped to
	// where it lives (a list id). Free ids are absent.
	TakenElsewhere(ctx context.Context, itemIDs []string) (map[string]string, error)
}
