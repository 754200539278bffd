package pack

import (
	"fmt"
	"maps"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// universe is hash number i of the random tests; the offset makes most of
// them carry the letters a-f, so upper-casing changes them.
func universe(i int) string { return hx(0xabc0000 + i) }

// randomDesired picks each of the first n universe hashes with probability p.
func randomDesired(r *rand.Rand, n int, p float64) []string {
	var d []string
	for i := range n {
		if r.Float64() < p {
			d = append(d, universe(i))
		}
	}
	return d
}

// messyLayout builds items as a careless human or a crashed run could leave
// them: duplicates, upper case, padding, foreign values, empty items, items
// over max, hashes shared between items, forced rewrites.
func messyLayout(r *rand.Rand, n, maxVals int) []Existing {
	count := r.Intn(9)
	seqs := r.Perm(20)[:count]
	items := make([]Existing, count)
	for i := range items {
		size := r.Intn(maxVals + 1)
		if r.Intn(8) == 0 {
			size = maxVals + 1 + r.Intn(4)
		}
		var vals []string
		for range size {
			v := universe(r.Intn(n))
			switch k := r.Intn(40); {
			case k == 0:
				v = strings.ToUpper(v)
			case k == 1:
				v = " " + v
			case k == 2:
				v = fmt.Sprintf("foreign-%d", r.Intn(5))
			case k == 3 && len(vals) > 0:
				v = vals[r.Intn(len(vals))]
			}
			vals = append(vals, v)
		}
		items[i] = Existing{ID: testID(seqs[i] + 1), Seq: seqs[i] + 1, Values: vals, ForceRewrite: r.Intn(10) == 0}
	}
	return items
}

// churn removes about frac of d and adds as many hashes that were not in d.
func churn(r *rand.Rand, d []string, frac float64, n int) []string {
	in := make(map[string]bool, len(d))
	var out []string
	for _, h := range d {
		in[h] = true
		if r.Float64() >= frac {
			out = append(out, h)
		}
	}
	want := int(frac*float64(len(d)) + 0.5)
	for i := 0; want > 0 && i < 4*n; i++ {
		h := universe(n + r.Intn(n))
		if !in[h] {
			in[h] = true
			out = append(out, h)
			want--
		}
	}
	return out
}

// oracleOrder sorts items by seq and rotates them so that the oldest comes
// first: the one after the largest circular gap of unused seqs (ties: the
// gap wrapping past MaxSeq, then the earliest).
func oracleOrder(existing []Existing) []Existing {
	items := slices.Clone(existing)
	slices.SortFunc(items, func(a, b Existing) int { return a.Seq - b.Seq })
	if len(items) < 2 {
		return items
	}
	start, gap := 0, MaxSeq-items[len(items)-1].Seq+items[0].Seq-1
	for i := 1; i < len(items); i++ {
		if g := items[i].Seq - items[i-1].Seq - 1; g > gap {
			start, gap = i, g
		}
	}
	return append(items[start:], items[:start]...)
}

// oracleBound recomputes the lower bound of Pack's doc comment from scratch.
func oracleBound(in Input) int {
	items := oracleOrder(in.Existing)
	desired := make(map[string]bool)
	for _, h := range in.Desired {
		desired[h] = true
	}
	claimed := make(map[string]bool)
	t, freeTail := 0, 0
	for _, it := range items {
		must := it.ForceRewrite || len(it.Values) == 0 || len(it.Values) > in.Max
		raw := make(map[string]bool)
		norm := make(map[string]bool)
		for _, v := range it.Values {
			n := strings.ToLower(strings.TrimSpace(v))
			if raw[v] || n != v || !desired[n] || claimed[n] {
				must = true
			}
			raw[v] = true
			norm[n] = true
		}
		var keep []string
		for n := range norm {
			if desired[n] && !claimed[n] {
				keep = append(keep, n)
			}
		}
		slices.Sort(keep)
		if len(keep) > in.Max {
			must = true
			keep = keep[:in.Max]
		}
		for _, n := range keep {
			claimed[n] = true
		}
		if must {
			t++
			freeTail += in.Max - len(keep)
		} else {
			freeTail = 0 // the tail run starts after the last untouched item
		}
	}
	rest := len(desired) - len(claimed) - freeTail
	if rest < 0 {
		rest = 0
	}
	return t + (rest+in.Max-1)/in.Max
}

// checkInvariants returns every broken invariant of res as packed from in.
func checkInvariants(in Input, res *Result) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }

	desired := make(map[string]bool)
	for _, h := range in.Desired {
		desired[h] = true
	}
	existing := make(map[string]Existing)
	before := make(map[string]bool)
	for _, ex := range in.Existing {
		existing[ex.ID] = ex
		for _, v := range ex.Values {
			before[normalize(v)] = true
		}
	}
	held := make(map[string]string)
	seenIDs := make(map[string]bool)
	partialCreates := 0
	for i, it := range res.Items {
		if i > 0 && res.Items[i-1].Seq >= it.Seq {
			fail("items not ordered by unique seq at %d", i)
		}
		if seenIDs[it.ID] {
			fail("id %s twice", it.ID)
		}
		seenIDs[it.ID] = true
		if !slices.IsSorted(it.Values) || len(slices.Compact(slices.Clone(it.Values))) != len(it.Values) {
			fail("%s: values not sorted and unique", it.ID)
		}
		for _, v := range it.Values {
			if !desired[v] {
				fail("%s holds undesired or non-canonical value %q", it.ID, v)
			}
			if other, ok := held[v]; ok {
				fail("hash %s in both %s and %s", v, other, it.ID)
			}
			held[v] = it.ID
		}
		switch it.Action {
		case provider.Delete:
			if len(it.Values) != 0 {
				fail("%s deleted with values", it.ID)
			}
		default:
			if len(it.Values) == 0 || len(it.Values) > in.Max {
				fail("%s holds %d values, want 1..%d", it.ID, len(it.Values), in.Max)
			}
		}
		ex, isOld := existing[it.ID]
		if it.Action == provider.Create {
			if isOld {
				fail("%s created but exists", it.ID)
			}
			if it.ID != testID(it.Seq) || !cmp.Equal(it.Added, it.Values) {
				fail("created item %s: bad id or added", it.ID)
			}
			if len(it.Values) < in.Max {
				partialCreates++
			}
			continue
		}
		if !isOld || ex.Seq != it.Seq {
			fail("%s: not an existing item or seq changed", it.ID)
			continue
		}
		delete(existing, it.ID)
		// Values == normalised(before) − removed − displaced + added.
		want := make(map[string]bool)
		for _, v := range ex.Values {
			want[normalize(v)] = true
		}
		for _, v := range slices.Concat(it.Removed, it.Displaced, it.Moved) {
			delete(want, normalize(v))
		}
		for _, v := range it.Added {
			if want[v] {
				fail("%s: added %s it already held", it.ID, v)
			}
			want[v] = true
		}
		got := make(map[string]bool)
		for _, v := range it.Values {
			got[v] = true
		}
		if !maps.Equal(want, got) {
			fail("%s: values disagree with added/removed/displaced (-want +got):\n%s", it.ID, cmp.Diff(want, got))
		}
		if it.Action == provider.NoOp {
			canonical := slices.Clone(ex.Values)
			slices.Sort(canonical)
			if !cmp.Equal(canonical, it.Values) || it.Causes != 0 || it.Added != nil {
				fail("%s kept but changes", it.ID)
			}
		}
		if it.Action == provider.Update && it.Causes == 0 && len(it.Added) == 0 {
			fail("%s updated for nothing", it.ID)
		}
	}
	if len(existing) > 0 {
		fail("%d existing items missing from the result", len(existing))
	}
	// Arrival order: new items come after every existing one, and every
	// moved value stays in the group.
	if order := oracleOrder(in.Existing); len(order) > 0 {
		newest := order[len(order)-1].Seq
		for _, it := range res.Items {
			if it.Action == provider.Create && it.Seq <= newest && it.Seq > order[0].Seq {
				fail("created item %d sits among the existing items %d..%d", it.Seq, order[0].Seq, newest)
			}
		}
	}
	for _, it := range res.Items {
		for _, v := range it.Moved {
			if _, ok := held[v]; !ok {
				fail("%s: moved value %s is held by no item", it.ID, v)
			}
		}
	}
	if len(held) != len(desired) {
		fail("coverage: %d hashes held, %d desired", len(held), len(desired))
	}
	if partialCreates > 1 {
		fail("%d created items are not full", partialCreates)
	}
	var blocked, unblocked []string
	for h := range desired {
		if !before[h] {
			blocked = append(blocked, h)
		}
	}
	for h := range before {
		if !desired[h] {
			unblocked = append(unblocked, h)
		}
	}
	slices.Sort(blocked)
	slices.Sort(unblocked)
	if !cmp.Equal(blocked, res.Blocked) || !cmp.Equal(unblocked, res.Unblocked) {
		fail("Blocked/Unblocked wrong")
	}
	return bad
}

// shuffled returns in with its items and each item's values reordered.
func shuffled(r *rand.Rand, in Input) Input {
	out := in
	out.Existing = slices.Clone(in.Existing)
	r.Shuffle(len(out.Existing), func(i, j int) { out.Existing[i], out.Existing[j] = out.Existing[j], out.Existing[i] })
	for i := range out.Existing {
		vals := slices.Clone(out.Existing[i].Values)
		r.Shuffle(len(vals), func(a, b int) { vals[a], vals[b] = vals[b], vals[a] })
		out.Existing[i].Values = vals
	}
	out.Desired = slices.Clone(in.Desired)
	r.Shuffle(len(out.Desired), func(i, j int) { out.Desired[i], out.Desired[j] = out.Desired[j], out.Desired[i] })
	return out
}

// packStats accumulates what a property run observed.
type packStats struct {
	cases, writes, maxSlack int
}

// checkPack packs in and checks every invariant, the bound, stability and
// determinism. It reports failures with the case label.
func checkPack(t *testing.T, r *rand.Rand, label string, in Input, st *packStats) *Result {
	t.Helper()
	res, err := Pack(in)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	st.cases++
	for _, msg := range checkInvariants(in, res) {
		t.Errorf("%s: %s", label, msg)
	}
	w, bound := Writes(res), oracleBound(in)
	st.writes += w
	if res.LowerBound != bound {
		t.Errorf("%s: LowerBound = %d, oracle says %d", label, res.LowerBound, bound)
	}
	if w < bound {
		t.Errorf("%s: %d writes beat the lower bound %d: the bound is wrong", label, w, bound)
	}
	if w > bound+1 {
		t.Errorf("%s: %d writes, more than the lower bound %d + 1 SPEC allows", label, w, bound)
	} else if w != bound && !fillsUntouchedNewest(in, res) {
		t.Errorf("%s: %d writes, but Pack documents that it meets the lower bound %d exactly unless it fills an untouched newest item", label, w, bound)
	}
	st.maxSlack = max(st.maxSlack, w-bound)

	// The desired set checked beforehand (NewDesired, as the planner
	// does) packs exactly as the same set checked by Pack.
	sorted := slices.Clone(in.Desired)
	slices.Sort(sorted)
	d, err := NewDesired(in.Type, sorted)
	if err != nil {
		t.Fatalf("%s: NewDesired: %v", label, err)
	}
	plain, err1 := Pack(Input{Type: in.Type, Max: in.Max, Existing: in.Existing, Desired: sorted, NewID: in.NewID, Rank: in.Rank, Taken: in.Taken})
	checked, err2 := Pack(Input{Type: in.Type, Max: in.Max, Existing: in.Existing, Desired: sorted, Checked: d, NewID: in.NewID, Rank: in.Rank, Taken: in.Taken})
	if err1 != nil || err2 != nil || !reflect.DeepEqual(plain, checked) {
		t.Errorf("%s: packing with the checked desired set differs: %v, %v", label, err1, err2)
	}

	again, err := Pack(Input{Type: in.Type, Max: in.Max, Existing: asExisting(res), Desired: in.Desired, NewID: newID})
	if err != nil {
		t.Fatalf("%s: second pass: %v", label, err)
	}
	if w := Writes(again); w != 0 {
		t.Errorf("%s: second pass writes %d items", label, w)
	}
	other, err := Pack(shuffled(r, in))
	if err != nil {
		t.Fatalf("%s: shuffled: %v", label, err)
	}
	if !reflect.DeepEqual(res, other) {
		t.Errorf("%s: shuffled input gives another result (-first +shuffled):\n%s", label, cmp.Diff(res, other))
	}
	return res
}

// fillsUntouchedNewest reports whether the newest existing item is updated
// only to receive additions.
func fillsUntouchedNewest(in Input, res *Result) bool {
	order := oracleOrder(in.Existing)
	if len(order) == 0 {
		return false
	}
	newest := order[len(order)-1].ID
	for _, it := range res.Items {
		if it.ID == newest {
			return it.Action == provider.Update && it.Causes == 0 && len(it.Added) > 0
		}
	}
	return false
}

func TestPackPropertiesMessyLayouts(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var st packStats
	for i := range 3000 {
		maxVals := 1 + r.Intn(8)
		if i%10 == 0 {
			maxVals = 1 + r.Intn(60)
		}
		n := 1 + r.Intn(80)
		in := Input{
			Type:     provider.MD5,
			Max:      maxVals,
			Existing: messyLayout(r, n, maxVals),
			Desired:  randomDesired(r, n, r.Float64()),
			NewID:    newID,
		}
		checkPack(t, r, fmt.Sprintf("case %d (max %d)", i, maxVals), in, &st)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d cases, %d writes, max slack over the lower bound: %d", st.cases, st.writes, st.maxSlack)
}

func TestPackPropertiesChurn(t *testing.T) {
	scenarios := []struct {
		name string
		next func(r *rand.Rand, d []string, n int) []string
	}{
		{"1%", func(r *rand.Rand, d []string, n int) []string { return churn(r, d, 0.01, n) }},
		{"10%", func(r *rand.Rand, d []string, n int) []string { return churn(r, d, 0.10, n) }},
		{"50%", func(r *rand.Rand, d []string, n int) []string { return churn(r, d, 0.50, n) }},
		{"full replacement", func(r *rand.Rand, d []string, n int) []string { return churn(r, d, 1, n) }},
		{"empty", func(*rand.Rand, []string, int) []string { return nil }},
		{"unchanged", func(_ *rand.Rand, d []string, _ int) []string { return d }},
	}
	for si, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(100 + si)))
			var st packStats
			for i := range 150 {
				maxVals := 1 + r.Intn(50)
				n := 1 + r.Intn(400)
				d0 := randomDesired(r, n, r.Float64())
				label := fmt.Sprintf("case %d (max %d, n %d)", i, maxVals, n)
				first := checkPack(t, r, label+" initial", Input{Type: provider.MD5, Max: maxVals, Desired: d0, NewID: newID}, &st)
				if w, want := Writes(first), (len(d0)+maxVals-1)/maxVals; w != want {
					t.Errorf("%s: initial sync of %d hashes writes %d items, want %d", label, len(d0), w, want)
				}
				// Several rounds of churn on the evolving layout.
				layout, d := asExisting(first), d0
				for round := range 3 {
					d = sc.next(r, d, n)
					res := checkPack(t, r, fmt.Sprintf("%s round %d", label, round), Input{Type: provider.MD5, Max: maxVals, Existing: layout, Desired: d, NewID: newID}, &st)
					layout = asExisting(res)
				}
				if t.Failed() {
					return
				}
			}
			t.Logf("%d packs, %d writes, max slack over the lower bound: %d", st.cases, st.writes, st.maxSlack)
		})
	}
}
