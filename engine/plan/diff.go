package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// An update rewrites an item of up to max_values_per_item values to drop or
// add a few; a random 1% churn rewrites dozens of items. The plan file
// therefore carries an update's values as a change of the live item it was
// planned from (ItemChange.ID at ExpectVersion), not the whole body:
// apply rebuilds the body from the item it reads and refuses the plan when
// that item is not the one the plan was made from (Resolve). The sha256 of
// the full body is in the file, so the plan digest, and its signature,
// still bind every value apply sends.

// ValueDiff is an update's change of its item's values. The values after
// are the distinct values the live item holds, minus Drop, plus Add,
// sorted: the form Make writes (pack sorts an item's values).
type ValueDiff struct {
	// Drop are the distinct values of the live item (as read: spelling
	// and all) that the update takes out, sorted: removed hashes, hashes
	// moving to another item, respelled or repeated values, values added
	// outside lumuctl.
	Drop []string
	// Add are the values the update puts in that the live item does not
	// hold, sorted (added and moved-in hashes, lowercase respellings).
	Add []string
	// Count is the number of values after the update.
	Count int
	// Sum is the sha256 (hex) of the JSON of the full item body apply sends
	// (ItemSum). A plan read from a file carries it; in a plan made by Make
	// it is "" and Encode computes it from After.
	Sum string
}

// newValueDiff returns the change from the live values base to after, or
// nil when after is not in the form a ValueDiff rebuilds (distinct values,
// sorted): such an update is saved with its whole body.
func newValueDiff(base, after []string) *ValueDiff {
	if len(after) == 0 || !strictlyAscending(after) {
		return nil
	}
	d := &ValueDiff{Count: len(after)}
	b := distinctSorted(base)
	i, j := 0, 0
	for i < len(b) || j < len(after) {
		switch {
		case j == len(after) || (i < len(b) && b[i] < after[j]):
			d.Drop = append(d.Drop, b[i])
			i++
		case i == len(b) || after[j] < b[i]:
			d.Add = append(d.Add, after[j])
			j++
		default:
			i++
			j++
		}
	}
	return d
}

func strictlyAscending(vs []string) bool {
	for i := 1; i < len(vs); i++ {
		if vs[i-1] >= vs[i] {
			return false
		}
	}
	return true
}

// distinctSorted returns vs sorted without repeats (vs itself when it
// already is).
func distinctSorted(vs []string) []string {
	if strictlyAscending(vs) {
		return vs
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	return slices.Compact(s)
}

// apply rebuilds the values after the update from the live item's values.
// It refuses a diff that does not fit them: a dropped value the item does
// not hold, an added one it already holds, a count that differs.
func (d *ValueDiff) apply(live []string) ([]string, error) {
	b := distinctSorted(live)
	kept := make([]string, 0, len(b))
	k := 0
	for _, v := range b {
		for k < len(d.Drop) && d.Drop[k] < v {
			return nil, fmt.Errorf("the plan removes value %s, which the item does not hold", quoteTrunc(d.Drop[k]))
		}
		if k < len(d.Drop) && d.Drop[k] == v {
			k++
			continue
		}
		kept = append(kept, v)
	}
	if k < len(d.Drop) {
		return nil, fmt.Errorf("the plan removes value %s, which the item does not hold", quoteTrunc(d.Drop[k]))
	}
	out := make([]string, 0, len(kept)+len(d.Add))
	i, j := 0, 0
	for i < len(kept) || j < len(d.Add) {
		switch {
		case j == len(d.Add) || (i < len(kept) && kept[i] < d.Add[j]):
			out = append(out, kept[i])
			i++
		case i == len(kept) || d.Add[j] < kept[i]:
			out = append(out, d.Add[j])
			j++
		default:
			return nil, fmt.Errorf("the plan adds value %s, which the item already holds", quoteTrunc(d.Add[j]))
		}
	}
	if len(out) != d.Count {
		return nil, fmt.Errorf("the item would hold %d values, the plan says %d", len(out), d.Count)
	}
	return out, nil
}

// check verifies what can be checked without the live item: Drop and Add
// sorted without repeats and disjoint, Add only lowercase hashes of ht,
// Count and Sum well formed.
func (d *ValueDiff) check(ht provider.HashType) error {
	for _, l := range []struct {
		what string
		vs   []string
	}{{"removes", d.Drop}, {"adds", d.Add}} {
		if strictlyAscending(l.vs) {
			continue
		}
		s := slices.Clone(l.vs)
		slices.Sort(s)
		for i := 1; i < len(s); i++ {
			if s[i-1] == s[i] {
				return fmt.Errorf("the value change %s %s twice", l.what, quoteTrunc(s[i]))
			}
		}
		return fmt.Errorf("the values the change %s are not sorted", l.what)
	}
	for _, v := range d.Add {
		if !ht.Valid(v) {
			return fmt.Errorf("the value change adds %s, not a lowercase %s", quoteTrunc(v), ht)
		}
		if _, found := slices.BinarySearch(d.Drop, v); found {
			return fmt.Errorf("the value change both removes and adds %s", quoteTrunc(v))
		}
	}
	if d.Count < 1 || d.Count < len(d.Add) || d.Count > provider.MaxValuesPerItem {
		return fmt.Errorf("the value change leaves %d values", d.Count)
	}
	if len(d.Sum) != 64 || strings.Trim(d.Sum, "0123456789abcdef") != "" {
		return fmt.Errorf("the value change's body sha256 %s is malformed", quoteTrunc(d.Sum))
	}
	return nil
}

// ItemSum is the sha256 (hex) of the JSON of an item body: what a saved
// update's ValueDiff.Sum binds.
func ItemSum(it *provider.Item) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(it) // an Item always encodes
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:])
}

// Unresolved reports whether c is an update read from a plan file whose
// values are still a change of the live item (After's entry holds no
// values until Resolve rebuilds them).
func (c *ItemChange) Unresolved() bool {
	return c.Action == provider.Update && c.Diff != nil && c.After != nil &&
		len(c.After.Entries) == 1 && len(c.After.Entries[0].Value) == 0
}

// SavedAsDiff reports whether the plan file carries c's values as its
// Diff (a change of the live item's values), not in After.
func (c *ItemChange) SavedAsDiff() bool {
	return c.Action == provider.Update && c.Diff != nil && c.After != nil && len(c.After.Entries) == 1
}

// BodySum is the sha256 (hex) of the body an update saved as a change of
// its item's values sends (ItemSum of After once rebuilt), or "".
func (c *ItemChange) BodySum() string {
	switch {
	case !c.SavedAsDiff():
		return ""
	case c.Unresolved():
		return c.Diff.Sum
	}
	return ItemSum(c.After)
}

// ValuesAfter is the number of values the item holds after the change.
func (c *ItemChange) ValuesAfter() int {
	if c.Unresolved() {
		return c.Diff.Count
	}
	if c.After == nil {
		return 0
	}
	n := 0
	for _, e := range c.After.Entries {
		n += len(e.Value)
	}
	return n
}

// Resolve rebuilds the full body of every update of p saved as a change of
// its live item, from the items read now (LiveSet.Bodies, ReadLive), and
// checks that each is the item the plan was made from: same id and
// _version, every dropped value held, no added value already held, and
// the rebuilt body's sha256 the one the plan binds. It returns one reason
// per update that does not fit (at most 20, then a count) and sets After
// only when there is none; p is then what Make made, ready for apply.
func Resolve(p *Plan, live map[string]LiveSet) []string {
	var rs Reasons
	add := rs.Add
	type fix struct {
		b, c  int
		after *provider.Item
	}
	var fixes []fix
	for bi, bp := range p.Blocklists {
		for ci := range bp.Changes {
			c := &bp.Changes[ci]
			if !c.Unresolved() {
				continue
			}
			it, ok := live[bp.Kibana].Bodies[c.ItemID]
			switch {
			case !ok:
				add("update %s: the item was not found in kibana %q", c.ItemID, bp.Kibana)
				continue
			case it.ID != c.ID || it.Version != c.ExpectVersion:
				add("update %s: the plan was made from id %q at _version %q, kibana %q has id %q at _version %q", c.ItemID, c.ID, c.ExpectVersion, bp.Kibana, it.ID, it.Version)
				continue
			}
			values, err := c.Diff.apply(ItemValues(it))
			if err != nil {
				add("update %s: %v: the item is not the one the plan was made from", c.ItemID, err)
				continue
			}
			after := *c.After
			after.Entries = slices.Clone(c.After.Entries)
			after.Entries[0].Value = values
			if sum := ItemSum(&after); sum != c.Diff.Sum {
				add("update %s: the body rebuilt from the item read now has sha256 %s, the plan's is %s: the item is not the one the plan was made from", c.ItemID, sum[:12], quoteTrunc(c.Diff.Sum))
				continue
			}
			fixes = append(fixes, fix{bi, ci, &after})
		}
	}
	reasons := rs.List("update(s) that do not fit the items read now")
	if len(reasons) > 0 {
		return reasons
	}
	for _, f := range fixes {
		p.Blocklists[f.b].Changes[f.c].After = f.after
	}
	return nil
}
