package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// MaxListItems is how many items Kibana's endpoint_blocklists list holds:
// MAX_EXCEPTION_LIST_SIZE in the lists plugin (provider.MaxListItems).
const MaxListItems = provider.MaxListItems

// ListSize is, for one Kibana, how many items its endpoint_blocklists list
// holds now and after the plan.
type ListSize struct {
	Before, After int
	// Foreign are the items without this configuration's prefix (other
	// teams, other namespaces, hand-made entries).
	Foreign int
	// Limit is MaxListItems minus the kibana block's list_headroom.
	Limit int
}

// listSize counts the whole list of one Kibana before and after the
// plan's changes to it: the items of every other owner count too, since
// the 10,000 are shared.
func listSize(lk *liveKibana, headroom int, blocklists []BlocklistPlan) ListSize {
	s := ListSize{Foreign: lk.plan.Unmanaged, Limit: MaxListItems - headroom}
	s.Before = lk.plan.Unmanaged + lk.plan.OwnedItems
	s.After = s.Before
	for _, bp := range blocklists {
		if bp.Kibana != lk.plan.Name {
			continue
		}
		for _, c := range bp.Changes {
			switch c.Action {
			case provider.Create:
				s.After++
			case provider.Delete:
				s.After--
			}
		}
	}
	return s
}

// checkListSize fails the plan (exit 1, before any write) when it would
// grow a Kibana's list beyond MaxListItems - list_headroom. A plan that
// does not grow the list is never refused, so a list that is already too
// full can always be shrunk.
func checkListSize(cfg *config.Config, live map[string]*liveKibana, blocklists []BlocklistPlan) hcl.Diagnostics {
	var diags hcl.Diagnostics
	names := make([]string, 0, len(live))
	for name := range live {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		k := cfg.Kibanas[name]
		if k == nil {
			continue
		}
		s := listSize(live[name], k.ListHeadroom, blocklists)
		if s.After <= s.Before || s.After <= s.Limit {
			continue
		}
		var hints []string
		for _, bp := range blocklists {
			bl := cfg.Blocklists[bp.Name]
			if bp.Kibana != name || bl == nil || bp.HashesAfter == 0 {
				continue
			}
			items := bp.Unchanged
			for _, c := range bp.Changes {
				if c.Action != provider.Delete {
					items++
				}
			}
			groups := map[string]bool{}
			for _, c := range bp.Changes {
				if c.Action != provider.Delete {
					groups[c.OS+"/"+string(c.HashType)] = true
				}
			}
			least := max((bp.HashesAfter+pack.MaxValuesLimit-1)/pack.MaxValuesLimit, len(groups))
			hints = append(hints, fmt.Sprintf("blocklist %q would use %d items for %d hashes with max_values_per_item = %d, and about %d at %d",
				bp.Name, items, bp.HashesAfter, bl.MaxValuesPerItem, least, pack.MaxValuesLimit))
		}
		detail := fmt.Sprintf("After this plan the endpoint_blocklists list of kibana %q would hold %d items: %d owned by this configuration and %d by others (other teams, other namespaces, entries made by hand). Kibana holds at most %d items per list for everyone, and list_headroom = %d keeps %d of them free for others, so this configuration may grow the list to at most %d items; the plan needs %d more than that. Raise max_values_per_item so that fewer items hold the hashes",
			name, s.After, s.After-s.Foreign, s.Foreign, MaxListItems, k.ListHeadroom, k.ListHeadroom, s.Limit, s.After-s.Limit)
		if len(hints) > 0 {
			detail += ": " + strings.Join(hints, "; ")
		}
		detail += ", or lower list_headroom if the other users of this Kibana need less room. Nothing was written."
		rng := k.DeclRange
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Kibana blocklist would be too full",
			Detail:   detail,
			Subject:  &rng,
		})
	}
	return diags
}

// checkPackable refuses, before packing, a blocklist whose hashes cannot
// fit the list whatever else it holds: at max_values_per_item values per
// item it needs at least one item per OS and hash type for every
// max_values_per_item hashes. (Packing would otherwise fail on the item
// sequence, which has four digits.)
func checkPackable(cfg *config.Config, blName string, desired map[provider.HashType][]string) *hcl.Diagnostic {
	bl := cfg.Blocklists[blName]
	if bl == nil || bl.Kibana == nil || bl.MaxValuesPerItem <= 0 {
		return nil
	}
	k := bl.Kibana
	limit := MaxListItems - k.ListHeadroom
	least, hashes, groupMax := 0, 0, 0
	for _, set := range desired {
		n := (len(set) + bl.MaxValuesPerItem - 1) / bl.MaxValuesPerItem
		least += n * len(bl.OSTypes)
		hashes += len(set) * len(bl.OSTypes)
		groupMax = max(groupMax, n)
	}
	if groupMax <= MaxListItems-1 {
		return nil
	}
	at2000 := 0
	for _, set := range desired {
		at2000 += max((len(set)+pack.MaxValuesLimit-1)/pack.MaxValuesLimit, 1) * len(bl.OSTypes)
	}
	rng := bl.DeclRange
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Kibana blocklist would be too full",
		Detail: fmt.Sprintf("Blocklist %q needs at least %d items in the endpoint_blocklists list of kibana %q for its %d hashes (all OSes) with max_values_per_item = %d. Kibana holds at most %d items per list for everyone, and list_headroom = %d keeps %d of them free for others, so this configuration may use at most %d. Raise max_values_per_item so that fewer items hold the hashes (at %d it needs about %d). Nothing was written.",
			blName, least, k.Name, hashes, bl.MaxValuesPerItem, MaxListItems, k.ListHeadroom, k.ListHeadroom, limit, pack.MaxValuesLimit, at2000),
		Subject: &rng,
	}
}
