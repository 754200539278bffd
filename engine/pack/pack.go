package pack

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// MaxValuesLimit is the largest max_values_per_item (provider.MaxValuesPerItem).
const MaxValuesLimit = provider.MaxValuesPerItem

// Cause is a set of reasons why an existing item must be rewritten whatever
// the additions: an item with a non-zero Cause is in the set T of the lower
// bound.
type Cause uint8

// Causes. An item may have several.
const (
	// CauseForced: the caller asked for a rewrite (Existing.ForceRewrite:
	// name, tags, OS, description or meta drifted).
	CauseForced Cause = 1 << iota
	// CauseRemoved: the item holds values that are not in the desired set
	// (hashes to unblock, or foreign values someone added).
	CauseRemoved
	// CauseDisplaced: the item holds desired hashes that must leave it:
	// already held by an earlier item (see Order), or beyond max.
	CauseDisplaced
	// CauseDuplicate: the item holds the same value more than once.
	CauseDuplicate
	// CauseNonCanonical: a value is not in canonical form (upper case or
	// surrounding space); it is rewritten lowercase.
	CauseNonCanonical
	// CauseOverMax: the item holds more than max values.
	CauseOverMax
	// CauseEmpty: the item holds no value at all.
	CauseEmpty
)

var causeNames = []string{"forced", "removed", "displaced", "duplicate", "non_canonical", "over_max", "empty"}

// String lists the causes, comma-separated ("" for none).
func (c Cause) String() string {
	var names []string
	for i, n := range causeNames {
		if c&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// Existing is one owned item of the group as read from Kibana.
type Existing struct {
	// ID is the item_id. It is carried through to the result, never parsed
	// by Pack (PackGroup parses it).
	ID string
	// Seq is the item's sequence number (1..MaxSeq), unique in the group;
	// it orders the items and reserves the number for new items.
	Seq int
	// Values are the item's hash values as read, in any order: they may
	// hold duplicates, upper case, foreign values, or more than max.
	Values []string
	// ForceRewrite says the item must be written even if its values are
	// fine (its name, tags, OS, description or meta drifted).
	ForceRewrite bool
}

// Input is one group to pack.
type Input struct {
	// Type is the group's hash type; every desired value must be a
	// lowercase hex digest of this type.
	Type provider.HashType
	// Max is max_values_per_item, 1..MaxValuesLimit.
	Max int
	// Existing are the group's owned items, in any order.
	Existing []Existing
	// Desired is the desired set D, in any order, without duplicates.
	Desired []string
	// Checked, when set, is Desired checked beforehand (NewDesired, with
	// Desired its hashes): pack then neither checks nor indexes it again.
	Checked *Desired
	// NewID returns the item_id for a new item with the given seq. Only
	// called when an item is created; may be nil otherwise.
	NewID func(seq int) (string, error)
	// Rank orders the additions: smaller first (earlier items), ties by
	// value. The planner passes when the hash's incidents were last seen,
	// so that hashes which will age out together sit together. May be nil
	// (all ranks equal).
	Rank func(hash string) int64
	// Taken are seqs new items must not use: their item_id is held by an
	// item outside the group.
	Taken []int
}

// Item is the outcome for one item of the group.
type Item struct {
	ID     string
	Seq    int
	Action provider.Action
	// Causes says why an existing item must be rewritten (zero for new
	// items, and for items updated only to receive additions).
	Causes Cause
	// Values are the item's final values, sorted; empty for Delete. For
	// NoOp they are the normalised values already in place.
	Values []string
	// Added are the hashes this item gains, sorted (not present in the
	// item as read, even in another spelling).
	Added []string
	// Removed are the values as read (original spelling, one copy each,
	// sorted) that leave the item because they are not in the desired set.
	Removed []string
	// Displaced are the values as read (original spelling, sorted) that
	// leave the item although desired: held by an earlier item (see
	// Order), or beyond max. They stay blocked elsewhere in the group.
	Displaced []string
	// Moved are desired values (normalised, sorted) that leave the item for
	// another touched item of the group, to merge shrinking items (see
	// Pack). They stay blocked throughout.
	Moved []string
	// Normalized are the values as read (original spelling, sorted) that
	// stay in the item but are rewritten lowercase and trimmed.
	Normalized []string
	// Duplicates counts the extra copies of values inside the item as read.
	Duplicates int
}

// Result is the packing of one group.
type Result struct {
	// Items are every existing and new item, ordered by Seq.
	Items []Item
	// LowerBound is the fewest writes any layout could make (see Pack).
	LowerBound int
	// Blocked are the desired hashes not present in any item as read
	// (normalised), sorted: what the change starts blocking.
	Blocked []string
	// Unblocked are the normalised values present in some item as read
	// that are not desired, sorted: what the change stops blocking
	// (including foreign values). Use it for the mass-delete guard.
	Unblocked []string
}

// Writes counts the creates, updates and deletes of r.
func Writes(r *Result) int {
	if r == nil {
		return 0
	}
	n := 0
	for _, it := range r.Items {
		if it.Action != provider.NoOp {
			n++
		}
	}
	return n
}

// work is the per-item scratch state of Pack.
type work struct {
	ex         Existing
	kept       []string // sorted
	added      []string // sorted
	causes     Cause
	removed    []string
	displaced  []string
	moved      []string
	normalized []string
	dups       int
}

func (w *work) free(maxVals int) int { return maxVals - len(w.kept) }

// classified is the outcome of the removal step.
type classified struct {
	items     []*work // in order (see Order)
	tail      int     // index of the first item of the tail run; len(items) when the newest is untouched
	adds      []string
	blocked   []string
	unblocked []string
	bound     int
}

// Pack maps in.Desired onto in.Existing with few item writes, in arrival
// order: items are ordered by Seq (see Order for the wrap-around), older
// hashes live in earlier items, and new hashes are appended at the end. Most
// hashes leave because their incident ages out of the window, so a day of
// ageing touches the few oldest items and a day of arrivals the newest ones.
//
// Removal. Items are visited in order. Each value is normalised (trimmed,
// lowercased); an item keeps, in sorted order, the normalised values that are
// desired and not already kept by an earlier item, at most in.Max of them
// (the smallest ones; the rest are displaced and placed again as additions).
// An item is touched, i.e. in the set T, when it must be rewritten whatever
// happens: it has ForceRewrite, or loses a value, or holds a duplicate or
// non-canonical value, or holds more than Max values, or holds none (see
// Cause).
//
// Compaction. Touched items are written anyway, so values may move between
// them at no cost, within a run of touched items that are neighbours in the
// order (moving across an untouched item would break the order). In each run
// that does not end the order, a touched item's values move into the previous
// item of the run that still holds values when they fit, and items left
// empty are deleted: shrinking old items merge.
//
// Additions. A = D minus every kept value, ordered by in.Rank (then by
// value): for arrivals, when lumuctl would first block them. When the newest
// item is touched, the run of touched items ending with it (the tail run)
// takes its kept values, in order, followed by the additions, Max per item;
// otherwise the newest item takes as many additions as it has room for.
// What remains is cut into new items of Max values (the last one possibly
// shorter), whose seqs follow the newest item's.
//
// A touched item ending empty is deleted, otherwise updated; an untouched
// item is kept unless it is the newest and receives additions. A value in an
// untouched item is never moved, so packing the result again with the same D
// writes nothing.
//
// Lower bound. With free_i = Max − |kept values of i|, and F the sum of
// free_i over the tail run (0 when the newest item is untouched),
//
//	writes ≥ |T| + ⌈max(0, |A| − F) / Max⌉
//
// for any layout that keeps arrival order (additions only after the values
// already in place): every item of T needs a write, and the hashes of A that
// do not fit into the tail run must go into items that are written too (the
// newest item or new ones), each of which holds at most Max hashes. Pack
// meets this bound exactly, except that filling an untouched newest item may
// cost one write more (SPEC section 8 allows the bound plus one). T is
// defined by the first-occurrence rule above: when a hash is held by two
// items, the later one in the order is the one that must change.
func Pack(in Input) (*Result, error) {
	res, err := pack(in)
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	return res, nil
}

func pack(in Input) (*Result, error) {
	c, err := classify(in)
	if err != nil {
		return nil, err
	}
	maxVals := in.Max
	items := c.items
	for i := 0; i < c.tail; {
		if items[i].causes == 0 {
			i++
			continue
		}
		j := i
		for j < c.tail && items[j].causes != 0 {
			j++
		}
		mergeRun(items[i:j], maxVals)
		i = j
	}
	rest := c.adds
	switch {
	case c.tail < len(items) && len(rest) > 0:
		rest = refill(items[c.tail:], rest, maxVals)
	case c.tail < len(items):
		mergeRun(items[c.tail:], maxVals)
	case len(items) > 0 && len(rest) > 0:
		newest := items[len(items)-1]
		n := min(newest.free(maxVals), len(rest))
		newest.added, rest = rest[:n:n], rest[n:]
	}

	var chunks [][]string
	for len(rest) > 0 {
		n := min(maxVals, len(rest))
		chunks = append(chunks, rest[:n:n])
		rest = rest[n:]
	}

	res := &Result{LowerBound: c.bound, Blocked: c.blocked, Unblocked: c.unblocked}
	for _, w := range items {
		res.Items = append(res.Items, w.item())
	}
	if len(chunks) > 0 {
		if in.NewID == nil {
			return nil, errors.New("new items are needed but Input.NewID is nil")
		}
		used := make(map[int]bool, len(items)+len(in.Taken))
		for _, w := range items {
			used[w.ex.Seq] = true
		}
		for _, t := range in.Taken {
			used[t] = true
		}
		if len(used)+len(chunks) > MaxSeq {
			return nil, fmt.Errorf("the group needs more than %d items", MaxSeq)
		}
		seq := 0 // the newest seq so far
		if len(items) > 0 {
			seq = items[len(items)-1].ex.Seq
		}
		for _, vals := range chunks {
			seq = nextSeq(seq)
			for used[seq] {
				seq = nextSeq(seq)
			}
			id, err := in.NewID(seq)
			if err != nil {
				return nil, fmt.Errorf("new item %d: %w", seq, err)
			}
			res.Items = append(res.Items, Item{ID: id, Seq: seq, Action: provider.Create, Values: sortedClone(vals), Added: sortedClone(vals)})
			used[seq] = true
		}
	}
	slices.SortFunc(res.Items, func(a, b Item) int { return cmp.Compare(a.Seq, b.Seq) })
	return res, nil
}

// nextSeq is the seq after s, wrapping from MaxSeq to 1.
func nextSeq(s int) int {
	if s >= MaxSeq {
		return 1
	}
	return s + 1
}

// mergeRun moves the values of each item of run into the previous item of
// run that still holds values, when they fit; the moved-from item ends empty.
func mergeRun(run []*work, maxVals int) {
	var open *work
	for _, w := range run {
		if len(w.kept) == 0 {
			continue
		}
		if open != nil && len(open.kept)+len(open.added)+len(w.kept) <= maxVals {
			open.added = append(open.added, w.kept...)
			w.moved = w.kept
			w.kept = nil
			continue
		}
		open = w
	}
}

// refill lays the kept values of the tail run, in order, followed by adds,
// into the run's items, Max each, and returns the adds that do not fit.
func refill(run []*work, adds []string, maxVals int) []string {
	type val struct {
		v   string
		src int // index into run; -1 for an addition
	}
	var all []val
	for i, w := range run {
		for _, v := range w.kept {
			all = append(all, val{v, i})
		}
	}
	for _, v := range adds {
		all = append(all, val{v, -1})
	}
	kept := make([][]string, len(run))
	for i, w := range run {
		n := min(maxVals, len(all))
		for _, x := range all[:n] {
			switch x.src {
			case i:
				kept[i] = append(kept[i], x.v)
			case -1:
				w.added = append(w.added, x.v)
			default:
				w.added = append(w.added, x.v)
				run[x.src].moved = append(run[x.src].moved, x.v)
			}
		}
		all = all[n:]
	}
	for i, w := range run {
		w.kept = kept[i]
	}
	rest := make([]string, 0, len(all))
	for _, x := range all {
		rest = append(rest, x.v) // only additions can be left over
	}
	return rest
}

func sortedClone(vs []string) []string {
	out := slices.Clone(vs)
	slices.Sort(out)
	return out
}

func (w *work) item() Item {
	if len(w.added) == 0 {
		w.added = nil
	} else {
		slices.Sort(w.added)
	}
	slices.Sort(w.moved)
	it := Item{
		ID:         w.ex.ID,
		Seq:        w.ex.Seq,
		Causes:     w.causes,
		Added:      w.added,
		Removed:    w.removed,
		Displaced:  w.displaced,
		Moved:      w.moved,
		Normalized: w.normalized,
		Duplicates: w.dups,
	}
	switch {
	case w.causes != 0 && len(w.kept)+len(w.added) == 0:
		it.Action = provider.Delete
	case w.causes != 0 || len(w.added) > 0:
		it.Action = provider.Update
		it.Values = mergeSorted(w.kept, w.added)
	default:
		it.Action = provider.NoOp
		it.Values = w.kept
	}
	return it
}

// LowerBound returns the fewest item writes any layout of in.Desired could
// make given in.Existing (see Pack for the formula and why it holds).
func LowerBound(in Input) (int, error) {
	c, err := classify(in)
	if err != nil {
		return 0, fmt.Errorf("pack: %w", err)
	}
	return c.bound, nil
}

// classify validates in and runs the removal step.
func classify(in Input) (*classified, error) {
	if in.Type.HexLen() == 0 {
		return nil, fmt.Errorf("invalid hash type %q", in.Type)
	}
	if in.Max < 1 || in.Max > MaxValuesLimit {
		return nil, fmt.Errorf("max values per item %d out of range 1..%d", in.Max, MaxValuesLimit)
	}
	// What is known of each value: desired ones by their index in
	// in.Desired (one map lookup per value read, none per flag change),
	// the others (present in some item, not desired) in foreign.
	// The planner passes Desired sorted: values are then found through a
	// prefix table (sortedIndex; no map of every desired hash, built again
	// for each OS).
	flags := make([]uint8, len(in.Desired)) // isClaimed, isPresent
	foreign := map[string]struct{}{}
	var index map[string]int32
	var idx sortedIndex
	sorted := true
	if in.Checked != nil {
		if in.Checked.t != in.Type || !sameSlice(in.Checked.hashes, in.Desired) {
			return nil, fmt.Errorf("the checked desired set is not Desired of type %s", in.Type)
		}
		idx = in.Checked.idx
	} else {
		sorted = slices.IsSorted(in.Desired)
		if !sorted {
			index = make(map[string]int32, len(in.Desired))
		}
		if err := checkDesired(in.Type, in.Desired, sorted, index); err != nil {
			return nil, err
		}
		if sorted {
			idx = newSortedIndex(in.Desired)
		}
	}
	// see marks n present and returns its index in in.Desired, or -1
	// when it is not desired.
	see := func(n string) int32 {
		var i int32
		var ok bool
		if sorted {
			var k int
			k, ok = idx.find(n)
			i = int32(k)
		} else {
			i, ok = index[n]
		}
		if !ok {
			foreign[n] = struct{}{}
			return -1
		}
		return i
	}

	items := make([]*work, len(in.Existing))
	ids := make(map[string]bool, len(in.Existing))
	seqs := make(map[int]string, len(in.Existing))
	for i, ex := range in.Existing {
		switch {
		case ex.ID == "":
			return nil, fmt.Errorf("existing item with seq %d has no id", ex.Seq)
		case ids[ex.ID]:
			return nil, fmt.Errorf("existing item %s listed twice", ex.ID)
		case ex.Seq < 1 || ex.Seq > MaxSeq:
			return nil, fmt.Errorf("existing item %s: seq %d out of range 1..%d", ex.ID, ex.Seq, MaxSeq)
		case seqs[ex.Seq] != "":
			return nil, fmt.Errorf("existing items %s and %s share seq %d", seqs[ex.Seq], ex.ID, ex.Seq)
		}
		ids[ex.ID] = true
		seqs[ex.Seq] = ex.ID
		items[i] = &work{ex: ex}
	}
	slices.SortFunc(items, func(a, b *work) int { return cmp.Compare(a.ex.Seq, b.ex.Seq) })
	if k := rotation(items); k > 0 {
		items = append(items[k:], items[:k]...)
	}

	c := &classified{items: items}
	maxVals := in.Max
	for _, w := range items {
		if canonicalSorted(w.ex.Values) {
			// The everyday item, as Pack wrote it: distinct canonical
			// values in order, each its own run of one spelling.
			w.kept = make([]string, 0, min(len(w.ex.Values), maxVals))
			for _, v := range w.ex.Values {
				i := see(v)
				switch {
				case i < 0:
					w.removed = append(w.removed, v)
				case flags[i]&isClaimed != 0 || len(w.kept) == maxVals:
					w.displaced = append(w.displaced, v)
				default:
					w.kept = append(w.kept, v)
					flags[i] |= isClaimed
				}
				if i >= 0 {
					flags[i] |= isPresent
				}
			}
			w.setCauses(maxVals)
			continue
		}
		// Group the distinct spellings as read by normalised value: sort
		// them by (normalised, spelling) and walk runs of equal n.
		vals := slices.Clone(w.ex.Values)
		slices.Sort(vals)
		spells := make([]spelling, 0, len(vals))
		for i, v := range vals {
			if i > 0 && v == vals[i-1] {
				w.dups++
				continue
			}
			spells = append(spells, spelling{n: normalize(v), v: v})
		}
		slices.SortFunc(spells, func(a, b spelling) int {
			return cmp.Or(strings.Compare(a.n, b.n), strings.Compare(a.v, b.v))
		})

		cands := make([][]spelling, 0, len(spells)) // runs of spellings of one kept hash
		var candIdx []int32                         // their indexes in in.Desired
		for i := 0; i < len(spells); {
			j := i + 1
			for j < len(spells) && spells[j].n == spells[i].n {
				j++
			}
			run, n := spells[i:j], spells[i].n
			i = j
			d := see(n)
			switch {
			case d < 0:
				w.removed = appendSpellings(w.removed, run)
			case flags[d]&isClaimed != 0:
				w.displaced = appendSpellings(w.displaced, run)
			default:
				cands = append(cands, run)
				candIdx = append(candIdx, d)
			}
			if d >= 0 {
				flags[d] |= isPresent
			}
		}
		if len(cands) > maxVals {
			for _, run := range cands[maxVals:] {
				w.displaced = appendSpellings(w.displaced, run)
			}
			cands = cands[:maxVals:maxVals]
		}
		w.kept = make([]string, len(cands))
		for k, run := range cands {
			n := run[0].n
			flags[candIdx[k]] |= isClaimed
			w.kept[k] = n
			for _, sp := range run {
				if sp.v != n {
					w.normalized = append(w.normalized, sp.v)
				}
			}
		}
		slices.Sort(w.removed)
		slices.Sort(w.displaced)
		slices.Sort(w.normalized)
		w.setCauses(maxVals)
	}

	// Desired hashes in sorted order: the planner passes them sorted, so
	// order is only built for other callers.
	var order []int32
	if !sorted {
		order = make([]int32, len(in.Desired))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(a, b int32) int { return strings.Compare(in.Desired[a], in.Desired[b]) })
	}
	for k := range in.Desired {
		i := int32(k)
		if order != nil {
			i = order[k]
		}
		h := in.Desired[i]
		if flags[i]&isClaimed == 0 {
			c.adds = append(c.adds, h)
		}
		if flags[i]&isPresent == 0 {
			c.blocked = append(c.blocked, h)
		}
	}
	if in.Rank != nil && len(c.adds) > 1 {
		// Each rank once, sorted with its hash and position (ties keep
		// value order, as a stable sort would), not looked up in a map at
		// every comparison of a stable sort.
		ranked := make([]rankedHash, len(c.adds))
		for i, h := range c.adds {
			ranked[i] = rankedHash{h, in.Rank(h), i}
		}
		slices.SortFunc(ranked, func(a, b rankedHash) int { return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.pos, b.pos)) })
		for i, r := range ranked {
			c.adds[i] = r.h
		}
	}
	for n := range foreign {
		c.unblocked = append(c.unblocked, n)
	}
	slices.Sort(c.unblocked)

	t := 0
	for _, w := range items {
		if w.causes != 0 {
			t++
		}
	}
	c.tail = len(items)
	for c.tail > 0 && items[c.tail-1].causes != 0 {
		c.tail--
	}
	freeTail := 0
	for _, w := range items[c.tail:] {
		freeTail += w.free(maxVals)
	}
	c.bound = t + ceilDiv(max(len(c.adds)-freeTail, 0), maxVals)
	return c, nil
}

// Flags of a desired value in classify.
const (
	isClaimed uint8 = 1 << iota // kept by some item
	isPresent                   // in some item as read
)

// setCauses sets w.causes from the removal step's outcome.
func (w *work) setCauses(maxVals int) {
	if w.ex.ForceRewrite {
		w.causes |= CauseForced
	}
	if len(w.removed) > 0 {
		w.causes |= CauseRemoved
	}
	if len(w.displaced) > 0 {
		w.causes |= CauseDisplaced
	}
	if w.dups > 0 {
		w.causes |= CauseDuplicate
	}
	if len(w.normalized) > 0 {
		w.causes |= CauseNonCanonical
	}
	if len(w.ex.Values) > maxVals {
		w.causes |= CauseOverMax
	}
	if len(w.ex.Values) == 0 {
		w.causes |= CauseEmpty
	}
}

// canonicalSorted reports whether vs are strictly increasing canonical
// values (trimmed, lowercase): no duplicate, nothing to normalise.
func canonicalSorted(vs []string) bool {
	for i, v := range vs {
		if i > 0 && !ascending(vs[i-1], v) {
			return false
		}
		if !plainLower(v) && provider.NormalizeHash(v) != v {
			return false
		}
	}
	return true
}

// ascending reports a < b. Hashes almost always differ in their first
// eight characters, compared here as one word.
func ascending(a, b string) bool {
	if len(a) >= 8 && len(b) >= 8 {
		if x, y := word8(a), word8(b); x != y {
			return x < y
		}
	}
	return a < b
}

// word8 is s's first eight bytes, big-endian: ordered as s is.
func word8(s string) uint64 {
	_ = s[7]
	return uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
		uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7])
}

// plainLower reports, without a call, that NormalizeHash(v) == v for the
// usual value: ASCII without upper case, not starting or ending in space.
func plainLower(v string) bool {
	if v == "" || asciiSpace(v[0]) || asciiSpace(v[len(v)-1]) {
		return false
	}
	i := 0
	for ; i+8 <= len(v); i += 8 {
		if hasUpperOrHigh(word8(v[i:])) {
			return false
		}
	}
	for ; i < len(v); i++ {
		if c := v[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return false
		}
	}
	return true
}

// hasUpperOrHigh reports whether one of x's eight bytes is 'A'..'Z' or
// 0x80 or above. With every byte below 0x80, adding 0x3f (0x25) to each sets
// its top bit exactly when it is at least 'A' (at least 'Z'+1), with no
// carry into the next byte.
func hasUpperOrHigh(x uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	if x&high != 0 {
		return true
	}
	return (x+0x3f*ones)&^(x+0x25*ones)&high != 0
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// rotation returns the index, in items sorted by seq, of the oldest item.
// New items take the seqs after the newest one, wrapping from MaxSeq to 1,
// so the items of a group occupy a window of seqs that may wrap around: the
// oldest item is the one after the largest run of unused seqs (counted
// circularly; on a tie the run that wraps past MaxSeq wins, then the
// earliest).
func rotation(items []*work) int {
	n := len(items)
	if n < 2 {
		return 0
	}
	best, bestGap := 0, MaxSeq-items[n-1].ex.Seq+items[0].ex.Seq-1
	for i := 1; i < n; i++ {
		if gap := items[i].ex.Seq - items[i-1].ex.Seq - 1; gap > bestGap {
			best, bestGap = i, gap
		}
	}
	return best
}

// Order returns the seqs of a group's items in arrival order, oldest first
// (the order Pack visits them in).
func Order(seqs []int) []int {
	items := make([]*work, len(seqs))
	for i, s := range seqs {
		items[i] = &work{ex: Existing{Seq: s}}
	}
	slices.SortFunc(items, func(a, b *work) int { return cmp.Compare(a.ex.Seq, b.ex.Seq) })
	k := rotation(items)
	out := make([]int, 0, len(seqs))
	for _, w := range append(items[k:], items[:k]...) {
		out = append(out, w.ex.Seq)
	}
	return out
}

// spelling is one distinct value as read and its normalised form.
type spelling struct{ n, v string }

func appendSpellings(dst []string, run []spelling) []string {
	for _, sp := range run {
		dst = append(dst, sp.v)
	}
	return dst
}

// normalize is the canonical form of a value as read: trimmed, lowercase.
func normalize(v string) string { return provider.NormalizeHash(v) }

// checkHash reports whether h is a lowercase hex digest of type t.
type rankedHash struct {
	h    string
	rank int64
	pos  int
}

// checkDesired checks every desired hash and that none is listed twice:
// with sorted, by comparing neighbours; otherwise by filling index (hash
// to position).
func checkDesired(t provider.HashType, desired []string, sorted bool, index map[string]int32) error {
	for i, h := range desired {
		if err := checkHash(t, h); err != nil {
			return err
		}
		if sorted {
			if i > 0 && desired[i-1] == h {
				return fmt.Errorf("desired hash %s listed twice", h)
			}
			continue
		}
		if index[h] = int32(i); len(index) != i+1 {
			return fmt.Errorf("desired hash %s listed twice", h)
		}
	}
	return nil
}

func checkHash(t provider.HashType, h string) error {
	if len(h) != t.HexLen() {
		return fmt.Errorf("desired %s hash %q has %d characters, want %d", t, h, len(h), t.HexLen())
	}
	if !t.Valid(h) {
		return fmt.Errorf("desired %s hash %q is not lowercase hex", t, h)
	}
	return nil
}

func mergeSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.Sort(out)
	return out
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
