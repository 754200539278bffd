package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// liveItem is an owned item read from Kibana, with its parsed item_id.
type liveItem struct {
	item     provider.Item
	os       string
	hashType provider.HashType
	seq      int
	// parsed is false when the item_id carries the blocklist prefix but not
	// the layout lumuctl writes; such items are deleted.
	parsed bool
}

// liveKibana is what one Kibana holds for this namespace.
type liveKibana struct {
	plan        KibanaPlan
	byBlocklist map[string][]liveItem
	configured  map[string]bool // blocklists configured for this kibana
	elsewhere   map[string]bool // blocklists configured for another kibana block
}

// orphanNames lists blocklists that own items here but are not configured
// anywhere.
func (lk *liveKibana) orphanNames() []string {
	var out []string
	for name := range lk.byBlocklist {
		if !lk.configured[name] && !lk.elsewhere[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// splitOwnedID recognises an owned item_id under namespace ns. ok is false
// for ids without the namespace prefix. blocklist is the label after the
// prefix; parsed says whether the rest follows lumuctl's layout
// (pack.ParseItemID), else the item is owned but outside every group.
func splitOwnedID(ns, itemID string) (blocklist, os string, ht provider.HashType, seq int, parsed, ok bool) {
	rest, found := strings.CutPrefix(itemID, pack.OwnedPrefix(ns))
	if !found {
		return "", "", "", 0, false, false
	}
	blocklist, _, _ = strings.Cut(rest, "-")
	if !pack.ValidLabel(blocklist, 48, false) {
		return "", "", "", 0, false, false
	}
	os, ht, seq, parsed = pack.ParseItemID(pack.BlocklistPrefix(ns, blocklist), itemID)
	return blocklist, os, ht, seq, parsed, true
}

// readKibana lists the namespace's owned items of one Kibana.
// known are the state's items (see provider.ListRequest.Known); may be nil.
func readKibana(ctx context.Context, cfg *config.Config, name string, t provider.Target, known map[string]provider.Item) (*liveKibana, hcl.Diagnostics) {
	k := cfg.Kibanas[name]
	rng := k.DeclRange
	errDiag := func(summary string, err error) hcl.Diagnostics {
		// The range points at the kibana block; Target errors name it too.
		detail := err.Error()
		if !strings.Contains(detail, fmt.Sprintf("kibana %q", name)) {
			detail = fmt.Sprintf("kibana %q: %s", name, detail)
		}
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng}}
	}
	if t == nil {
		return nil, errDiag("No client for Kibana", fmt.Errorf("internal error: no target configured"))
	}
	lk := &liveKibana{
		plan:        KibanaPlan{Name: name},
		byBlocklist: map[string][]liveItem{},
		configured:  map[string]bool{},
		elsewhere:   map[string]bool{},
	}
	for bname, bl := range cfg.Blocklists {
		if bl.Kibana.Name == name {
			lk.configured[bname] = true
		} else {
			lk.elsewhere[bname] = true
		}
	}
	ns := cfg.Settings.Namespace
	exists, resp, summary, err := readOwned(ctx, t, ns, true, known)
	if err != nil {
		return nil, errDiag(summary, err)
	}
	lk.plan.CreateContainer = !exists
	owned := resp.Owned
	lk.plan.Unmanaged = resp.Unmanaged
	for _, it := range owned {
		bl, os, ht, seq, parsed, ok := splitOwnedID(ns, it.ItemID)
		if !ok {
			// The Target must only return owned items; never trust it.
			continue
		}
		lk.byBlocklist[bl] = append(lk.byBlocklist[bl], liveItem{item: it, os: os, hashType: ht, seq: seq, parsed: parsed})
		lk.plan.OwnedItems++
	}
	ls := NewLiveSet(exists, owned, ns)
	lk.plan.LiveDigest, lk.plan.LiveItems = ls.Digest(), ls.Items
	return lk, nil
}

// shareValues points each entry of a live item whose values are the ones
// the state recorded for that item at the state's slice: the hashes of an
// unchanged item are then held once, not once from Kibana and once from
// the state (the live copy becomes garbage). The Kibana client already
// does it page by page (provider.ListRequest.Known); this covers the rest.
func shareValues(lk *liveKibana, prior map[string]provider.Item) {
	for _, items := range lk.byBlocklist {
		for k := range items {
			it := &items[k].item
			prev, ok := prior[it.ItemID]
			if !ok || len(prev.Entries) != len(it.Entries) {
				continue
			}
			it.Entries = slices.Clone(it.Entries) // may be shared with the Target's answer
			provider.ShareValues(it, prev)
		}
	}
}

// readOwned reads whether t's container list exists and, when it does, the
// items owned by namespace ns (and the count of the others when
// countUnmanaged is set). On failure, summary says which read failed.
func readOwned(ctx context.Context, t provider.Target, ns string, countUnmanaged bool, known map[string]provider.Item) (exists bool, resp provider.ListResponse, summary string, err error) {
	exists, err = t.ContainerExists(ctx)
	if err != nil {
		return false, resp, "Cannot read the Kibana blocklist", err
	}
	if !exists {
		return false, resp, "", nil
	}
	resp, err = t.List(ctx, provider.ListRequest{Prefix: pack.OwnedPrefix(ns), CountUnmanaged: countUnmanaged, Known: known})
	if err != nil {
		return true, resp, "Cannot list Kibana blocklist items", err
	}
	return true, resp, "", nil
}

// ReadLive reads the live set of one Kibana for namespace ns, the same
// read the planner makes (without counting unmanaged items): apply PLANFILE
// reads it again to check a saved plan's bindings (apply.Verify).
func ReadLive(ctx context.Context, t provider.Target, ns string) (LiveSet, error) {
	exists, resp, _, err := readOwned(ctx, t, ns, false, nil)
	if err != nil {
		return LiveSet{}, err
	}
	ls := NewLiveSet(exists, resp.Owned, ns)
	ls.Bodies = make(map[string]provider.Item, len(ls.Items))
	for _, it := range resp.Owned {
		if strings.HasPrefix(it.ItemID, pack.OwnedPrefix(ns)) {
			ls.Bodies[it.ItemID] = it
		}
	}
	return ls, nil
}

// LiveItem identifies one owned item as read from Kibana.
type LiveItem struct {
	ItemID  string `json:"item_id"`
	ID      string `json:"id"`
	Version string `json:"_version"`
}

// LiveSet is what a plan binds to in one Kibana: whether the container list
// exists and the owned items with their _version.
type LiveSet struct {
	ContainerExists bool
	Items           []LiveItem // sorted by item_id
	// Bodies are the items read, by item_id (ReadLive only): a saved
	// plan's updates are rebuilt from them (Resolve). Not in Digest.
	Bodies map[string]provider.Item
}

// NewLiveSet keeps the items carrying the namespace prefix, sorted.
func NewLiveSet(containerExists bool, items []provider.Item, ns string) LiveSet {
	ls := LiveSet{ContainerExists: containerExists}
	for _, it := range items {
		if strings.HasPrefix(it.ItemID, pack.OwnedPrefix(ns)) {
			ls.Items = append(ls.Items, LiveItem{ItemID: it.ItemID, ID: it.ID, Version: it.Version})
		}
	}
	sort.Slice(ls.Items, func(i, j int) bool { return ls.Items[i].ItemID < ls.Items[j].ItemID })
	return ls
}

// Digest summarises the set; apply PLANFILE recomputes it and refuses the
// plan when it differs.
func (ls LiveSet) Digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "container=%t\n", ls.ContainerExists)
	for _, it := range ls.Items {
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", it.ItemID, it.ID, it.Version)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Changes describes how now differs from the set the plan was made
// against, one line per difference (at most max item lines per kind).
func (ls LiveSet) Changes(now LiveSet, max int) []string {
	var out []string
	if ls.ContainerExists != now.ContainerExists {
		if now.ContainerExists {
			out = append(out, "the endpoint_blocklists list was created")
		} else {
			out = append(out, "the endpoint_blocklists list was deleted")
		}
	}
	before := map[string]LiveItem{}
	for _, it := range ls.Items {
		before[it.ItemID] = it
	}
	var added, removed, changed []string
	for _, it := range now.Items {
		old, ok := before[it.ItemID]
		switch {
		case !ok:
			added = append(added, it.ItemID)
		case old.ID != it.ID || old.Version != it.Version:
			changed = append(changed, it.ItemID)
		}
		delete(before, it.ItemID)
	}
	for id := range before {
		removed = append(removed, id)
	}
	sort.Strings(removed)
	list := func(verb string, ids []string) {
		if len(ids) == 0 {
			return
		}
		shown := ids
		if len(shown) > max {
			shown = shown[:max]
		}
		line := fmt.Sprintf("%d owned item(s) %s: %s", len(ids), verb, strings.Join(shown, ", "))
		if len(ids) > max {
			line += fmt.Sprintf(", and %d more", len(ids)-max)
		}
		out = append(out, line)
	}
	list("changed", changed)
	list("created", added)
	list("deleted", removed)
	return out
}
