package pack

import "fmt"

// PackGroup packs one group: it validates g, derives each existing item's
// Seq from its ID (which must be an id of g; a non-zero Seq given by the
// caller must agree with it), builds new ids with g.ID, and calls Pack with
// rank ordering the additions (may be nil).
//
// taken are sequence numbers whose item_id is held outside the group (by an
// item of another list: Kibana item_ids are unique across agnostic lists);
// new items skip them.
func PackGroup(g Group, maxValues int, existing []Existing, desired []string, rank func(hash string) int64, taken ...int) (*Result, error) {
	return packGroup(g, maxValues, existing, desired, nil, rank, taken)
}

// PackGroupChecked is PackGroup with a desired set checked beforehand
// (NewDesired): the planner checks and indexes a blocklist's desired hashes
// of a type once, not once per OS group.
func PackGroupChecked(g Group, maxValues int, existing []Existing, desired *Desired, rank func(hash string) int64, taken ...int) (*Result, error) {
	if desired == nil || desired.t != g.Type {
		return nil, fmt.Errorf("pack: group %s: desired set is not of type %s", g, g.Type)
	}
	return packGroup(g, maxValues, existing, desired.hashes, desired, rank, taken)
}

func packGroup(g Group, maxValues int, existing []Existing, desired []string, checked *Desired, rank func(hash string) int64, taken []int) (*Result, error) {
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
	res, err := pack(Input{Type: g.Type, Max: maxValues, Existing: items, Desired: desired, Checked: checked, NewID: g.ID, Rank: rank, Taken: taken})
	if err != nil {
		return nil, fmt.Errorf("pack: group %s: %w", g, err)
	}
	return res, nil
}
