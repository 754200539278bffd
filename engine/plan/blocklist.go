package plan

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// planInput is one blocklist to plan.
type planInput struct {
	ns, name, kibana string
	policyIDs        []string
	osTypes          []string
	max              int
	// desired holds the desired hashes by type, each once, in no order
	// (nil: remove everything).
	desired map[provider.HashType][]string
	// rank orders the hashes a group gains (see pack.Input.Rank); may be nil.
	rank   func(hash string) int64
	live   []liveItem
	prior  map[string]provider.Item
	orphan bool
	// taken are, per group, seqs whose item_id an item of another list
	// holds: new items skip them (see avoidTaken).
	taken map[groupKey][]int
	// checked caches checkedDesired.
	checked map[provider.HashType]*pack.Desired
}

type groupKey struct {
	os string
	ht provider.HashType
}

// planBlocklist packs every (OS, hash type) group of one blocklist and turns
// the result into item changes and drift reports.
func planBlocklist(in planInput) (BlocklistPlan, error) {
	bp := BlocklistPlan{Name: in.name, Kibana: in.kibana, Orphan: in.orphan, PolicyIDs: in.policyIDs}
	groups := map[groupKey][]liveItem{}
	liveByItemID := map[string]bool{}
	for _, li := range in.live {
		liveByItemID[li.item.ItemID] = true
		if !li.parsed {
			// Owned, but not in lumuctl's layout: removed.
			values := ItemValues(li.item)
			bp.Changes = append(bp.Changes, ItemChange{
				Action: provider.Delete, ItemID: li.item.ItemID, ID: li.item.ID, ExpectVersion: li.item.Version,
				OS: firstOr(li.item.OSTypes, ""), Removed: values,
				Reasons: []string{"item_id does not follow lumuctl's layout"},
			})
			bp.HashesBefore += len(values)
			bp.HashesRemoved += len(values)
			continue
		}
		k := groupKey{li.os, li.hashType}
		groups[k] = append(groups[k], li)
	}
	if !in.orphan {
		for _, os := range in.osTypes {
			for ht, set := range in.desired {
				if len(set) > 0 {
					k := groupKey{os, ht}
					if _, ok := groups[k]; !ok {
						groups[k] = nil
					}
				}
			}
		}
	}
	// Items recorded in state but gone from Kibana: deleted outside lumuctl.
	prefix := pack.BlocklistPrefix(in.ns, in.name)
	for _, id := range slices.Sorted(maps.Keys(in.prior)) {
		if strings.HasPrefix(id, prefix) && !liveByItemID[id] {
			bp.Drift = append(bp.Drift, Drift{ItemID: id, What: []string{"deleted"}, Removed: ItemValues(in.prior[id])})
		}
	}

	keys := make([]groupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].os != keys[j].os {
			return osOrder(keys[i].os) < osOrder(keys[j].os)
		}
		return keys[i].ht < keys[j].ht
	})
	// The groups are independent (pack is pure, and in is only read once
	// the sorted desired sets exist): planned in parallel, one per core,
	// each into its own groupPlan, merged in key order.
	for _, k := range keys {
		if _, err := in.checkedDesired(k.ht); err != nil {
			return bp, fmt.Errorf("internal error: %w", err)
		}
	}
	parts := make([]groupPlan, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, k := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = planGroup(&in, k, groups[k], &parts[i])
		})
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			return bp, errs[i]
		}
		g := &parts[i]
		bp.Changes = append(bp.Changes, g.changes...)
		bp.Drift = append(bp.Drift, g.drift...)
		bp.Unchanged += g.unchanged
		bp.HashesBefore += g.before
		bp.HashesAdded += g.added
		bp.HashesRemoved += g.removed
		bp.HashesAfter += g.after
	}
	sort.SliceStable(bp.Changes, func(i, j int) bool { return bp.Changes[i].ItemID < bp.Changes[j].ItemID })
	sort.SliceStable(bp.Drift, func(i, j int) bool { return bp.Drift[i].ItemID < bp.Drift[j].ItemID })
	return bp, nil
}

// groupPlan is what planGroup adds to its blocklist's plan.
type groupPlan struct {
	changes                       []ItemChange
	drift                         []Drift
	unchanged                     int
	before, added, removed, after int
}

// planGroup packs one (OS, hash type) group into out. It only reads in
// (checkedDesired is computed beforehand), so groups run concurrently.
func planGroup(in *planInput, k groupKey, items []liveItem, out *groupPlan) error {
	wanted := !in.orphan && containsStr(in.osTypes, k.os)
	var desired []string
	var checked *pack.Desired
	if wanted {
		checked = in.checked[k.ht]
		desired = checked.Hashes()
	}
	byID := map[string]liveItem{}
	existing := make([]pack.Existing, 0, len(items))
	reasons := map[string][]string{}
	for _, li := range items {
		byID[li.item.ItemID] = li
		var force bool
		if wanted {
			want := renderItem(in, li.item.ItemID, k.os, k.ht, li.seq, nil, ownerSpaceTags(li.item.Tags))
			if what := shapeDrift(li.item, want); len(what) > 0 {
				force = true
				reasons[li.item.ItemID] = what
			}
		}
		// Values changed outside lumuctl since the last apply.
		if prev, ok := in.prior[li.item.ItemID]; ok {
			added, removed := setDiff(itemValues(prev), itemValues(li.item))
			what := append([]string(nil), reasons[li.item.ItemID]...)
			if len(added)+len(removed) > 0 {
				what = append([]string{"values"}, what...)
			}
			if len(what) > 0 {
				out.drift = append(out.drift, Drift{ItemID: li.item.ItemID, What: what, Added: added, Removed: removed})
			}
		} else if len(reasons[li.item.ItemID]) > 0 {
			out.drift = append(out.drift, Drift{ItemID: li.item.ItemID, What: reasons[li.item.ItemID]})
		}
		existing = append(existing, pack.Existing{ID: li.item.ItemID, Seq: li.seq, Values: itemValues(li.item), ForceRewrite: force})
	}
	max := in.max
	if max <= 0 {
		max = pack.MaxValuesLimit
	}
	g := pack.Group{Namespace: in.ns, Blocklist: in.name, OS: k.os, Type: k.ht}
	var res *pack.Result
	var err error
	if checked != nil {
		res, err = pack.PackGroupChecked(g, max, existing, checked, in.rank, in.taken[k]...)
	} else {
		res, err = pack.PackGroup(g, max, existing, nil, in.rank, in.taken[k]...)
	}
	if err != nil {
		// Inputs were validated by config and splitOwnedID; a failure here
		// is a bug, and planning must not guess.
		return fmt.Errorf("internal error: %w", err)
	}
	// Distinct normalised values present before: the desired ones already
	// present (desired minus Blocked) plus the present ones not desired
	// (Unblocked). No map of every value is needed.
	out.before += len(desired) - len(res.Blocked) + len(res.Unblocked)
	out.added += len(res.Blocked)
	out.removed += len(res.Unblocked)
	out.after += len(desired)
	newly := make(map[string]bool, len(res.Blocked))
	for _, h := range res.Blocked {
		newly[h] = true
	}
	for _, it := range res.Items {
		c := ItemChange{ItemID: it.ID, OS: k.os, HashType: k.ht, Removed: it.Removed}
		for _, h := range it.Added {
			if newly[h] {
				c.Added = append(c.Added, h)
			} else {
				c.MovedIn = append(c.MovedIn, h)
			}
		}
		li, isLive := byID[it.ID]
		c.Action = it.Action
		switch it.Action {
		case provider.NoOp:
			out.unchanged++
			continue
		case provider.Create:
			c.After = renderItem(in, it.ID, k.os, k.ht, it.Seq, it.Values, nil)
		case provider.Update:
			c.ID, c.ExpectVersion = li.item.ID, li.item.Version
			c.After = renderItem(in, it.ID, k.os, k.ht, it.Seq, it.Values, ownerSpaceTags(li.item.Tags))
			c.After.ID, c.After.Version = li.item.ID, li.item.Version
			c.Diff = newValueDiff(itemValues(li.item), it.Values)
		case provider.Delete:
			c.ID, c.ExpectVersion = li.item.ID, li.item.Version
		}
		if isLive {
			c.Reasons = append(c.Reasons, reasons[it.ID]...)
			if n := len(it.Displaced); n > 0 {
				c.Reasons = append(c.Reasons, fmt.Sprintf("%d duplicate value(s) held by another item", n))
			}
			if n := len(it.Normalized); n > 0 {
				c.Reasons = append(c.Reasons, fmt.Sprintf("%d value(s) rewritten in lowercase", n))
			}
			if it.Duplicates > 0 {
				c.Reasons = append(c.Reasons, fmt.Sprintf("%d repeated value(s) in the item", it.Duplicates))
			}
		}
		out.changes = append(out.changes, c)
	}
	return nil
}

// ItemValues returns every hash value of an item, across its entries.
func ItemValues(it provider.Item) []string {
	var out []string
	for _, e := range it.Entries {
		out = append(out, e.Value...)
	}
	return out
}

// itemValues is ItemValues without a copy for the usual item of one entry:
// the result may share the item's memory and must not be modified.
func itemValues(it provider.Item) []string {
	if len(it.Entries) == 1 {
		return it.Entries[0].Value
	}
	return ItemValues(it)
}

// checkedDesired returns the desired hashes of type ht checked and indexed
// for pack (pack.SortDesired): once per blocklist and type, shared by its OS
// groups (read only).
func (in *planInput) checkedDesired(ht provider.HashType) (*pack.Desired, error) {
	if d, ok := in.checked[ht]; ok {
		return d, nil
	}
	// Sorted in place: nothing reads in.desired's order, and nothing adds
	// to it once packing starts.
	d, err := pack.SortDesired(ht, in.desired[ht])
	if err != nil {
		return nil, err
	}
	if in.checked == nil {
		in.checked = map[provider.HashType]*pack.Desired{}
	}
	in.checked[ht] = d
	return d, nil
}

// setDiff returns values in b not in a (added) and in a not in b (removed),
// each sorted and de-duplicated.
func setDiff(a, b []string) (added, removed []string) {
	if slices.Equal(a, b) {
		return nil, nil // the everyday case: the item is as last applied
	}
	as, bs := map[string]bool{}, map[string]bool{}
	for _, v := range a {
		as[v] = true
	}
	for _, v := range b {
		bs[v] = true
	}
	for v := range bs {
		if !as[v] {
			added = append(added, v)
		}
	}
	for v := range as {
		if !bs[v] {
			removed = append(removed, v)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

func osOrder(os string) int {
	for i, o := range provider.OSTypes {
		if o == os {
			return i
		}
	}
	return len(provider.OSTypes)
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// checkGuards applies the blocklist's safety guards to its plan. Each trip
// points at what caused it: the prevent_destroy attribute, the empty source
// in the sources list, the guard block (the blocklist when it has none).
func checkGuards(opts Options, bl *config.Blocklist, bp *BlocklistPlan, empty []string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	trip := func(rng hcl.Range, guard, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng, Extra: GuardTrip{Guard: guard, Blocklist: bl.Name}})
	}
	deletes := 0
	for _, c := range bp.Changes {
		if c.Action == provider.Delete {
			deletes++
		}
	}
	if bl.PreventDestroy && deletes > 0 {
		trip(bl.PreventDestroyRange, "prevent_destroy", "Plan would delete items of a protected blocklist",
			fmt.Sprintf("blocklist %q has prevent_destroy = true, and this plan deletes %d of its items. Nothing was changed. Set prevent_destroy = false first if the deletion is intended (there is no command-line override).", bl.Name, deletes))
	}
	if opts.Mode == ModeDestroy {
		return diags
	}
	if !bl.Guard.AllowEmptySources {
		for _, name := range empty {
			rng := bl.DeclRange
			for i, f := range bl.Sources {
				if f.Name == name && i < len(bl.SourceRanges) {
					rng = bl.SourceRanges[i]
				}
			}
			trip(rng, "empty_source", "Source yielded no hashes",
				fmt.Sprintf("ioc_filter %q, a source of blocklist %q, produced zero hashes. Treating that as \"unblock everything it contributed\" is refused. Nothing was changed. If an empty source is expected, set guard { allow_empty_sources = true } on the blocklist.", name, bl.Name))
		}
	}
	if !opts.AllowMassDelete {
		rng := bl.GuardRange
		diags = append(diags, massDeleteGuard(bp, bl.Guard.MaxDeleteFraction, bl.Guard.MaxDeletes, &rng,
			fmt.Sprintf("blocklist %q", bl.Name), "guard { max_delete_fraction, max_deletes }")...)
	}
	return diags
}

// checkOrphanGuard applies the default mass-delete guard to the deletion of
// a blocklist that is no longer configured.
func checkOrphanGuard(opts Options, cfg *config.Config, kibana string, bp *BlocklistPlan) hcl.Diagnostics {
	if opts.AllowMassDelete || opts.Mode == ModeDestroy {
		return nil
	}
	rng := cfg.Kibanas[kibana].DeclRange
	return massDeleteGuard(bp, config.DefaultMaxDeleteFraction, config.DefaultMaxDeletes, &rng,
		fmt.Sprintf("blocklist %q (no longer in the configuration)", bp.Name), "the default guard")
}

func massDeleteGuard(bp *BlocklistPlan, fraction float64, maxDeletes int, rng *hcl.Range, what, setting string) hcl.Diagnostics {
	removed, before := bp.HashesRemoved, bp.HashesBefore
	var reason string
	switch {
	case removed > maxDeletes:
		reason = fmt.Sprintf("it removes %d hashes, more than max_deletes = %d", removed, maxDeletes)
	case before > 0 && float64(removed)/float64(before) > fraction:
		reason = fmt.Sprintf("it removes %d of %d hashes (%.1f%%), more than max_delete_fraction = %g", removed, before, 100*float64(removed)/float64(before), fraction)
	default:
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Mass deletion refused",
		Detail: fmt.Sprintf("The plan for %s trips the mass-delete guard (%s): %s. Nothing was changed. Review the plan; if the removal is intended, run again with --allow-mass-delete.",
			what, setting, reason),
		Subject: rng,
		Extra:   GuardTrip{Guard: "mass_delete", Blocklist: bp.Name},
	}}
}
