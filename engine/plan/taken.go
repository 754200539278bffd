package plan

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// maxTakenRounds bounds how often one blocklist is re-planned around
// item_ids held elsewhere (each round reserves at least one more seq).
const maxTakenRounds = 50

// avoidTaken makes sure no create of bp uses an item_id that an item of
// another list holds (Kibana item_ids are unique across agnostic lists: an
// endpoint_trusted_apps item named like one of ours made every create of
// that id fail with 409, run after run). When t can tell
// (provider.ItemIDChecker), it asks about the item_ids of bp's creates,
// reserves the seqs of the taken ones and plans the blocklist again, until
// every create is free. It returns one note per taken item_id.
func avoidTaken(ctx context.Context, t provider.Target, in planInput, bp BlocklistPlan) (BlocklistPlan, []Note, error) {
	checker, ok := t.(provider.ItemIDChecker)
	if !ok {
		return bp, nil, nil
	}
	var notes []Note
	free := map[string]bool{}
	prefix := pack.BlocklistPrefix(in.ns, in.name)
	for round := 0; ; round++ {
		var ask []string
		for _, c := range bp.Changes {
			if c.Action == provider.Create && !free[c.ItemID] {
				ask = append(ask, c.ItemID)
			}
		}
		if len(ask) == 0 {
			return bp, notes, nil
		}
		if round == maxTakenRounds {
			return bp, notes, fmt.Errorf("after %d rounds, new items still get item_ids that items of other lists hold (such as %s); remove those items or change settings.namespace", round, ask[0])
		}
		taken, err := checker.TakenElsewhere(ctx, ask)
		if err != nil {
			return bp, notes, fmt.Errorf("check whether new item_ids are free: %w", err)
		}
		if len(taken) == 0 {
			return bp, notes, nil
		}
		for _, id := range ask {
			if _, ok := taken[id]; !ok {
				free[id] = true
			}
		}
		if in.taken == nil {
			in.taken = map[groupKey][]int{}
		}
		for _, id := range slices.Sorted(maps.Keys(taken)) {
			os, ht, seq, parsed := pack.ParseItemID(prefix, id)
			if !parsed {
				return bp, notes, fmt.Errorf("internal error: planned item_id %s does not parse", id)
			}
			k := groupKey{os, ht}
			in.taken[k] = append(in.taken[k], seq)
			notes = append(notes, Note{
				Summary: "item_id held by another list",
				Detail: fmt.Sprintf("Kibana item_ids are unique across agnostic exception lists, and %s is held by an item of list %q; the new item of blocklist %q takes the next free number instead.",
					id, strings.ToValidUTF8(taken[id], "?"), in.name),
			})
		}
		bp, err = planBlocklist(in)
		if err != nil {
			return bp, notes, err
		}
	}
}
