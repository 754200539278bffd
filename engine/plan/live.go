package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
	rest, found := strings.CutPrefix(itemID, OwnedPrefix(ns))
	if !found {
		return "", "", "", 0, false, false
	}
	blocklist, _, _ = strings.Cut(rest, "-")
	if !validLabel(blocklist, 48) {
		return "", "", "", 0, false, false
	}
	os, ht, seq, parsed = pack.ParseItemID(pack.BlocklistPrefix(ns, blocklist), itemID)
	return blocklist, os, ht, seq, parsed, true
}

// readKibana lists the namespace's owned items of one Kibana.
func readKibana(ctx context.Context, cfg *config.Config, name string, t provider.Target) (*liveKibana, hcl.Diagnostics) {
	k := cfg.Kibanas[name]
	rng := k.DeclRange
	errDiag := func(summary string, err error) hcl.Diagnostics {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary,
			Detail: fmt.Sprintf("kibana %q: %s", name, err), Subject: &rng}}
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
	exists, err := t.ContainerExists(ctx)
	if err != nil {
		return nil, errDiag("Cannot read the Kibana blocklist", err)
	}
	ns := cfg.Settings.Namespace
	var owned []provider.Item
	if !exists {
		lk.plan.CreateContainer = true
	} else {
		resp, err := t.List(ctx, provider.ListRequest{Prefix: OwnedPrefix(ns)})
		if err != nil {
			return nil, errDiag("Cannot list Kibana blocklist items", err)
		}
		owned = resp.Owned
		lk.plan.Unmanaged = resp.Unmanaged
	}
	for _, it := range owned {
		bl, os, ht, seq, parsed, ok := splitOwnedID(ns, it.ItemID)
		if !ok {
			// The Target must only return owned items; never trust it.
			continue
		}
		lk.byBlocklist[bl] = append(lk.byBlocklist[bl], liveItem{item: it, os: os, hashType: ht, seq: seq, parsed: parsed})
		lk.plan.OwnedItems++
	}
	lk.plan.LiveDigest = LiveDigest(exists, owned, ns)
	return lk, nil
}

// LiveDigest summarises the owned items of one Kibana (item_id, id,
// _version, sorted) and whether the container exists. apply PLANFILE
// recomputes it and refuses the plan when it differs.
func LiveDigest(containerExists bool, items []provider.Item, ns string) string {
	lines := make([]string, 0, len(items))
	for _, it := range items {
		if !strings.HasPrefix(it.ItemID, OwnedPrefix(ns)) {
			continue
		}
		lines = append(lines, it.ItemID+"\x00"+it.ID+"\x00"+it.Version)
	}
	sort.Strings(lines)
	h := sha256.New()
	fmt.Fprintf(h, "container=%t\n", containerExists)
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
