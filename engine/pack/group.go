package pack

import (
	"fmt"
	"slices"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// PackGroup packs one group: it validates g, derives each existing item's
// Seq from its ID (which must be an id of g; a non-zero Seq given by the
// caller must agree with it), builds new ids with g.ID, and calls Pack with
// rank ordering the additions (may be nil).
//
// taken are sequence numbers whose item_id is held outside the group (by an
// item of another list: Kibana item_ids are unique across agnostic lists);
// new items skip them.
func PackGroup(g Group, maxValues int, existing []Existing, desired []string, rank func(hash string) int64, taken ...int) (*Result, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("pack: group %s: %w", g, err)
	}
	prefix := g.Prefix()
	items := make([]Existing, len(existing))
	for i, ex := range existing {
		os, ht, seq, ok := ParseItemID(prefix, ex.ID)
		switch {
		case !ok:
			return nil, fmt.Errorf("pack: group %s: item_id %q is not an item id under %q", g, ex.ID, prefix)
		case os != g.OS || ht != g.Type:
			return nil, fmt.Errorf("pack: group %s: item %s belongs to group %s/%s/%s", g, ex.ID, g.Blocklist, os, ht)
		case ex.Seq != 0 && ex.Seq != seq:
			return nil, fmt.Errorf("pack: group %s: item %s given seq %d, its id says %d", g, ex.ID, ex.Seq, seq)
		}
		ex.Seq = seq
		items[i] = ex
	}
	res, err := pack(Input{Type: g.Type, Max: maxValues, Existing: items, Desired: desired, NewID: g.ID, Rank: rank, Taken: taken})
	if err != nil {
		return nil, fmt.Errorf("pack: group %s: %w", g, err)
	}
	return res, nil
}

// SplitByType splits a desired set whose hashes carry their type (as the
// Lumu provider reports them: the type cannot be inferred from the length
// alone in general) into one sorted slice per type, ready for Pack. Every
// hash must be a lowercase hex digest of its type's length. Types with no
// hash are absent from the map.
func SplitByType(hashes map[string]provider.HashType) (map[provider.HashType][]string, error) {
	out := make(map[provider.HashType][]string)
	for h, t := range hashes {
		if t.HexLen() == 0 {
			return nil, fmt.Errorf("pack: hash %q has invalid type %q", h, t)
		}
		if err := checkHash(t, h); err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		out[t] = append(out[t], h)
	}
	for _, hs := range out {
		slices.Sort(hs)
	}
	return out, nil
}
