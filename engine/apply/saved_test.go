package apply

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// savedChurn applies 250 hashes, then plans a churn (10 removed from the
// first items, 5 added) and returns the plan made in memory and the same
// plan read back from its file, whose updates carry their values as a
// change of the live items.
func savedChurn(t *testing.T, h *harness) (made, saved *plan.Plan) {
	t.Helper()
	h.src.Set("mal", provider.SHA256, hashes("a", 250)...)
	if res := h.apply(t, context.Background(), h.plan(t, false)); res.Outcome != state.OutcomeSuccess {
		t.Fatalf("first apply: %+v", res)
	}
	all := hashes("a", 250)
	h.src.Set("mal", provider.SHA256, append(append([]string{}, all[3:120]...), append(all[125:], hashes("b", 5)...)...)...)
	made = h.plan(t, false)
	if err := plan.Seal(made); err != nil {
		t.Fatal(err)
	}
	return made, reread(t, made)
}

func reread(t *testing.T, p *plan.Plan) *plan.Plan {
	t.Helper()
	var buf bytes.Buffer
	if err := plan.Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	saved, err := plan.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return saved
}

func (h *harness) readLive(t *testing.T) map[string]plan.LiveSet {
	t.Helper()
	ls, err := plan.ReadLive(context.Background(), h.target, "default")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]plan.LiveSet{"prod": ls}
}

func updates(p *plan.Plan) []*plan.ItemChange {
	var out []*plan.ItemChange
	for i := range p.Blocklists {
		for j := range p.Blocklists[i].Changes {
			if c := &p.Blocklists[i].Changes[j]; c.Action == provider.Update {
				out = append(out, c)
			}
		}
	}
	return out
}

// A saved plan's updates are rebuilt from the items apply reads, exactly
// as planned, and applying it converges.
func TestSavedUpdatesRebuiltFromLiveItems(t *testing.T) {
	h := newHarness(t)
	made, saved := savedChurn(t, h)
	ups := updates(saved)
	if len(ups) < 2 {
		t.Fatalf("the churn plan has %d updates, want several", len(ups))
	}
	for _, c := range ups {
		if !c.Unresolved() {
			t.Fatalf("update %s read from the file holds its values: the file carries whole bodies", c.ItemID)
		}
	}
	_, st := h.prior(t)
	live := h.readLive(t)
	in := VerifyInput{ConfigDigest: h.cfg.Digest(), Namespace: "default", State: st, Live: live, Now: now}
	if err := Verify(saved, in); err != nil {
		t.Fatalf("fresh saved plan refused: %v", err)
	}
	for i, c := range updates(made) {
		if !reflect.DeepEqual(c.After, ups[i].After) {
			t.Fatalf("update %s rebuilt as %+v, planned %+v", c.ItemID, ups[i].After, c.After)
		}
	}
	if d, err := plan.ComputeDigest(saved); err != nil || d != made.Digest {
		t.Fatalf("rebuilt plan digest %s (%v), planned %s", d, err, made.Digest)
	}
	w, err := h.store.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), Options{Plan: saved, Kibanas: map[string]provider.Target{"prod": h.target}, Live: live, State: w, Now: func() time.Time { return now }})
	w.Unlock()
	if err != nil || res.Outcome != state.OutcomeSuccess {
		t.Fatalf("apply: %v %+v", err, res)
	}
	// Every OS holds exactly the desired hashes.
	want := h.src.Indicators["mal"]
	perOS := map[string]map[string]bool{}
	for _, it := range h.target.All() {
		os := it.OSTypes[0]
		if perOS[os] == nil {
			perOS[os] = map[string]bool{}
		}
		for _, v := range plan.ItemValues(it) {
			if want[v] == nil || perOS[os][v] {
				t.Fatalf("Kibana holds %s on %s, not desired or twice", v, os)
			}
			perOS[os][v] = true
		}
	}
	for os, got := range perOS {
		if len(got) != len(want) {
			t.Fatalf("%s holds %d values, want %d", os, len(got), len(want))
		}
	}
}

// A crafted or stale saved plan whose value changes do not fit the items
// read now is refused by Verify with a precise reason, nothing written.
func TestSavedUpdateThatDoesNotFitIsRefused(t *testing.T) {
	foreign := hashes("z", 1)[0]
	cases := []struct {
		name string
		// forge edits the saved plan (it is resealed after), or the
		// live read.
		forge func(t *testing.T, h *harness, p *plan.Plan, live map[string]plan.LiveSet)
		want  string
	}{
		{"removes a value the item does not hold", func(t *testing.T, h *harness, p *plan.Plan, _ map[string]plan.LiveSet) {
			d := updates(p)[0].Diff
			d.Drop = append(d.Drop, foreign)
			slices.Sort(d.Drop)
		}, "the plan removes value \"" + foreign + "\", which the item does not hold"},
		{"adds a value the item already holds", func(t *testing.T, h *harness, p *plan.Plan, live map[string]plan.LiveSet) {
			c := updates(p)[0]
			held := live["prod"].Bodies[c.ItemID]
			for _, v := range plan.ItemValues(held) {
				if _, dropped := slices.BinarySearch(c.Diff.Drop, v); !dropped {
					c.Diff.Add = append(c.Diff.Add, v)
					slices.Sort(c.Diff.Add)
					c.Diff.Count++
					return
				}
			}
			t.Fatal("no kept value")
		}, "which the item already holds"},
		{"says another count", func(t *testing.T, h *harness, p *plan.Plan, _ map[string]plan.LiveSet) {
			updates(p)[0].Diff.Count++
		}, "the plan says"},
		{"binds another body", func(t *testing.T, h *harness, p *plan.Plan, _ map[string]plan.LiveSet) {
			updates(p)[0].Diff.Sum = strings.Repeat("0", 64)
		}, "the item is not the one the plan was made from"},
		{"aims at an item that moved", func(t *testing.T, h *harness, p *plan.Plan, live map[string]plan.LiveSet) {
			a, b := updates(p)[0], updates(p)[1]
			a.ID, a.ExpectVersion, a.After.ID, a.After.Version = b.ID, b.ExpectVersion, b.ID, b.ExpectVersion
		}, "is the owned item"},
		{"item changed under the same _version", func(t *testing.T, h *harness, p *plan.Plan, live map[string]plan.LiveSet) {
			c := updates(p)[0]
			it := live["prod"].Bodies[c.ItemID]
			it.Entries = slices.Clone(it.Entries)
			vs := slices.Clone(it.Entries[0].Value)
			for i, v := range vs {
				if _, dropped := slices.BinarySearch(c.Diff.Drop, v); !dropped {
					vs[i] = foreign // as many values, one of them another
					break
				}
			}
			it.Entries[0].Value = vs
			live["prod"].Bodies[c.ItemID] = it
		}, "sha256"},
		{"item not read", func(t *testing.T, h *harness, p *plan.Plan, live map[string]plan.LiveSet) {
			delete(live["prod"].Bodies, updates(p)[0].ItemID)
		}, "the item was not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			_, saved := savedChurn(t, h)
			live := h.readLive(t)
			tc.forge(t, h, saved, live)
			if err := plan.Seal(saved); err != nil {
				t.Fatal(err)
			}
			_, st := h.prior(t)
			in := VerifyInput{ConfigDigest: h.cfg.Digest(), Namespace: "default", State: st, Live: live, Now: now}
			var se *StaleError
			err := Verify(saved, in)
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %v, want a refusal with %q", err, tc.want)
			}
			for _, c := range updates(saved) {
				if !c.Unresolved() {
					t.Fatalf("a refused plan had update %s rebuilt", c.ItemID)
				}
			}
		})
	}
}

// Apply never sends an update whose values were not rebuilt (a caller
// that skipped Verify).
func TestApplyRefusesUnresolvedUpdates(t *testing.T) {
	h := newHarness(t)
	_, saved := savedChurn(t, h)
	before := h.target.TotalWrites()
	w, err := h.store.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unlock()
	_, err = Apply(context.Background(), Options{Plan: saved, Kibanas: map[string]provider.Target{"prod": h.target}, Live: h.readLive(t), State: w, Now: func() time.Time { return now }})
	var oe *OwnershipError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "values were not rebuilt from the item read in this run") {
		t.Fatalf("Apply = %v, want a refusal of the unresolved updates", err)
	}
	if n := h.target.TotalWrites(); n != before {
		t.Fatalf("%d writes sent", n-before)
	}
}
