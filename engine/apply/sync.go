package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// SyncInput are the inputs of SyncOwned.
type SyncInput struct {
	// Plan is the plan the run applied completely (or that had no
	// changes).
	Plan *plan.Plan
	// Live is the owned items read from each Kibana of the plan before the
	// run's writes (what Verify or the planner read).
	Live map[string]plan.LiveSet
	// State is a snapshot taken after the run.
	State *state.State
	// Kibanas are the plan's Kibana clients, used only to read the items
	// to adopt.
	Kibanas map[string]provider.Target
	// Namespace is settings.namespace.
	Namespace string
}

// SyncResult names the state records SyncOwned changed.
type SyncResult struct {
	// Adopted are owned items that Kibana holds and the state did not
	// know (after a lost state), now recorded.
	Adopted []string
	// Forgotten are state records of items that Kibana no longer holds
	// (deleted outside lumuctl and not needed again), now removed.
	Forgotten []string
}

// SyncOwned brings the state's owned items in line with Kibana after a
// complete run, for the blocklists of the plan only: records it holds of
// items that Kibana no longer has (deleted outside lumuctl, and not
// re-created because their hashes are no longer wanted) are forgotten,
// and owned items that Kibana has but the state does not record (a lost or
// new state, with nothing to write) are adopted. Before, the first made
// `show` list items that did not exist and `why` name them; the second left
// the adopted items out of the state until something rewrote them.
//
// Nothing is written to Kibana. Adoption reads the owned items once more,
// only when there is something to adopt.
func SyncOwned(ctx context.Context, w state.Writer, in SyncInput) (SyncResult, error) {
	var res SyncResult
	p := in.Plan
	prefix := pack.OwnedPrefix(in.Namespace)
	kibanaOf := map[string]string{} // blocklist -> kibana, for the plan's blocklists
	created, deleted := map[string]bool{}, map[string]bool{}
	for _, bp := range p.Blocklists {
		kibanaOf[bp.Name] = bp.Kibana
		for _, c := range bp.Changes {
			switch c.Action {
			case provider.Create:
				created[c.ItemID] = true
			case provider.Delete:
				deleted[c.ItemID] = true
			}
		}
	}
	liveIDs := map[string]map[string]bool{}
	for k, ls := range in.Live {
		ids := map[string]bool{}
		for _, it := range ls.Items {
			ids[it.ItemID] = true
		}
		liveIDs[k] = ids
	}
	// Forget: in the state, of a planned blocklist whose Kibana was read,
	// not live, not created by this run.
	for id, it := range in.State.Items {
		k, ok := kibanaOf[it.Blocklist]
		if !ok || !strings.HasPrefix(id, prefix) {
			continue
		}
		ids, read := liveIDs[k]
		if !read || ids[id] || created[id] {
			continue
		}
		res.Forgotten = append(res.Forgotten, id)
	}
	// Adopt: live, of a planned blocklist, unknown to the state, not
	// deleted by this run.
	want := map[string][]string{} // kibana -> item_ids
	for k, ids := range liveIDs {
		for id := range ids {
			if _, known := in.State.Items[id]; known || deleted[id] || !strings.HasPrefix(id, prefix) {
				continue
			}
			if bl, _ := ownedBlocklist(in.Namespace, id); kibanaOf[bl] == k {
				want[k] = append(want[k], id)
			}
		}
	}
	var put []state.Item
	for k, ids := range want {
		t := in.Kibanas[k]
		if t == nil {
			continue
		}
		resp, err := t.List(ctx, provider.ListRequest{Prefix: prefix})
		if err != nil {
			return res, fmt.Errorf("kibana %q: read the owned items to record them in the state: %w", k, err)
		}
		wanted := map[string]bool{}
		for _, id := range ids {
			wanted[id] = true
		}
		for _, it := range resp.Owned {
			if !wanted[it.ItemID] || !strings.HasPrefix(it.ItemID, prefix) {
				continue
			}
			bl, _ := ownedBlocklist(in.Namespace, it.ItemID)
			os, ht, _, ok := pack.ParseItemID(pack.BlocklistPrefix(in.Namespace, bl), it.ItemID)
			if !ok {
				continue // not lumuctl's layout: the next plan deletes it
			}
			put = append(put, state.Item{Blocklist: bl, OS: os, HashType: ht, Item: it})
			res.Adopted = append(res.Adopted, it.ItemID)
		}
	}
	sort.Strings(res.Adopted)
	sort.Strings(res.Forgotten)
	if len(put) == 0 && len(res.Forgotten) == 0 {
		return res, nil
	}
	if _, err := w.Commit(state.Commit{Put: put, Remove: res.Forgotten, Namespace: in.Namespace}); err != nil {
		return SyncResult{}, fmt.Errorf("record the owned items in the state: %w", err)
	}
	return res, nil
}

// ownedBlocklist returns the blocklist label of an owned item_id.
func ownedBlocklist(ns, itemID string) (string, bool) {
	rest, ok := strings.CutPrefix(itemID, pack.OwnedPrefix(ns))
	if !ok {
		return "", false
	}
	bl, _, _ := strings.Cut(rest, "-")
	return bl, bl != ""
}
