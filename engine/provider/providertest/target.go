package providertest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Target is an in-memory provider.Target.
type Target struct {
	mu        sync.Mutex
	container bool
	items     map[string]provider.Item // by id
	nextID    int
	seq       int
	// Policies are the existing Fleet policy ids.
	Policies map[string]bool
	// ReadOnly refuses writes like the real read-only client.
	ReadOnly bool
	// BeforeWrite, if set, runs before each write with its kind
	// ("create", "update", "delete") and item_id; a non-nil error fails it.
	BeforeWrite func(kind, itemID string) error
	// Writes counts writes by kind.
	Writes map[string]int
	// Elsewhere holds item_ids taken by items of other lists (item_id →
	// list id): Create refuses them with ErrConflict, like Kibana, and
	// TakenElsewhere reports them. Set it before use.
	Elsewhere map[string]string
	// Checked counts the item_ids TakenElsewhere was asked about.
	Checked int
}

var _ provider.Target = (*Target)(nil)

// NewTarget returns an empty Target whose container exists.
func NewTarget() *Target {
	return &Target{container: true, items: map[string]provider.Item{}, Policies: map[string]bool{}, Writes: map[string]int{}}
}

// SetContainer sets whether the endpoint_blocklists list exists.
func (t *Target) SetContainer(exists bool) { t.mu.Lock(); t.container = exists; t.mu.Unlock() }

// TotalWrites is the number of successful item writes.
func (t *Target) TotalWrites() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.Writes["create"] + t.Writes["update"] + t.Writes["delete"]
}

// Put stores an item as someone else would (a new _version), returning it.
func (t *Target) Put(it provider.Item) provider.Item {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it.ID == "" {
		for id, old := range t.items {
			if old.ItemID == it.ItemID {
				it.ID = id
			}
		}
	}
	if it.ID == "" {
		t.nextID++
		it.ID = fmt.Sprintf("id-%d", t.nextID)
	}
	t.seq++
	it.Version = fmt.Sprintf("v%d", t.seq)
	t.items[it.ID] = clone(it)
	return clone(it)
}

// All returns every item sorted by item_id.
func (t *Target) All() []provider.Item {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]provider.Item, 0, len(t.items))
	for _, it := range t.items {
		out = append(out, clone(it))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ItemID < out[j].ItemID })
	return out
}

func clone(it provider.Item) provider.Item {
	b, _ := json.Marshal(it)
	var out provider.Item
	_ = json.Unmarshal(b, &out)
	out.ID, out.Version = it.ID, it.Version
	return out
}

func (t *Target) write(kind, itemID string) error {
	if t.ReadOnly {
		return provider.ErrReadOnly
	}
	if t.BeforeWrite != nil {
		if err := t.BeforeWrite(kind, itemID); err != nil {
			return err
		}
	}
	return nil
}

// EnsureContainer implements provider.Target.
func (t *Target) EnsureContainer(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.container {
		return nil
	}
	if err := t.write("container", ""); err != nil {
		return err
	}
	t.container = true
	return nil
}

// ContainerExists implements provider.Target.
func (t *Target) ContainerExists(ctx context.Context) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.container, nil
}

// List implements provider.Target.
func (t *Target) List(ctx context.Context, req provider.ListRequest) (provider.ListResponse, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.container {
		return provider.ListResponse{}, fmt.Errorf("list: %w", provider.ErrNotFound)
	}
	var resp provider.ListResponse
	for _, it := range t.items {
		if strings.HasPrefix(it.ItemID, req.Prefix) {
			resp.Owned = append(resp.Owned, clone(it))
		} else {
			resp.Unmanaged++
		}
	}
	sort.Slice(resp.Owned, func(i, j int) bool { return resp.Owned[i].ItemID < resp.Owned[j].ItemID })
	return resp, nil
}

// Get implements provider.Target.
func (t *Target) Get(ctx context.Context, id string) (provider.Item, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.items[id]
	if !ok {
		return provider.Item{}, fmt.Errorf("item %s: %w", id, provider.ErrNotFound)
	}
	return clone(it), nil
}

// GetByItemID implements provider.Target.
func (t *Target) GetByItemID(ctx context.Context, itemID string) (provider.Item, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, it := range t.items {
		if it.ItemID == itemID {
			return clone(it), nil
		}
	}
	return provider.Item{}, fmt.Errorf("item_id %s: %w", itemID, provider.ErrNotFound)
}

// Create implements provider.Target.
func (t *Target) Create(ctx context.Context, it provider.Item) (provider.Item, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.write("create", it.ItemID); err != nil {
		return provider.Item{}, err
	}
	if !t.container {
		return provider.Item{}, fmt.Errorf("create: list missing: %w", provider.ErrNotFound)
	}
	for _, old := range t.items {
		if old.ItemID == it.ItemID {
			return provider.Item{}, fmt.Errorf("item_id %s already exists: %w", it.ItemID, provider.ErrConflict)
		}
	}
	if list, ok := t.Elsewhere[it.ItemID]; ok {
		return provider.Item{}, fmt.Errorf("item_id %s already exists in list %s: %w", it.ItemID, list, provider.ErrConflict)
	}
	t.nextID++
	t.seq++
	it.ID = fmt.Sprintf("id-%d", t.nextID)
	it.Version = fmt.Sprintf("v%d", t.seq)
	t.items[it.ID] = clone(it)
	t.Writes["create"]++
	return clone(it), nil
}

// Update implements provider.Target.
func (t *Target) Update(ctx context.Context, it provider.Item) (provider.Item, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.write("update", it.ItemID); err != nil {
		return provider.Item{}, err
	}
	old, ok := t.items[it.ID]
	if !ok {
		return provider.Item{}, fmt.Errorf("item %s: %w", it.ID, provider.ErrNotFound)
	}
	if old.Version != it.Version {
		return provider.Item{}, fmt.Errorf("item %s changed (_version %s, expected %s): %w", it.ItemID, old.Version, it.Version, provider.ErrConflict)
	}
	t.seq++
	it.Version = fmt.Sprintf("v%d", t.seq)
	t.items[it.ID] = clone(it)
	t.Writes["update"]++
	return clone(it), nil
}

// Delete implements provider.Target.
func (t *Target) Delete(ctx context.Context, id, expectVersion string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.items[id]
	if err := t.write("delete", old.ItemID); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("item %s: %w", id, provider.ErrNotFound)
	}
	if old.Version != expectVersion {
		return fmt.Errorf("item %s changed: %w", old.ItemID, provider.ErrConflict)
	}
	delete(t.items, id)
	t.Writes["delete"]++
	return nil
}

// CheckPolicies implements provider.Target.
func (t *Target) CheckPolicies(ctx context.Context, ids []string) (provider.PolicyCheck, error) {
	var pc provider.PolicyCheck
	for _, id := range ids {
		if !t.Policies[id] {
			pc.Missing = append(pc.Missing, id)
		}
	}
	return pc, nil
}

var _ provider.ItemIDChecker = (*Target)(nil)

// TakenElsewhere implements provider.ItemIDChecker from Elsewhere.
func (t *Target) TakenElsewhere(ctx context.Context, itemIDs []string) (map[string]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Checked += len(itemIDs)
	out := map[string]string{}
	for _, id := range itemIDs {
		if list, ok := t.Elsewhere[id]; ok {
			out[id] = list
		}
	}
	return out, nil
}
