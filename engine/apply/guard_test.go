package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// TestForgedPlanCannotTouchUnownedItems reproduces issue 10 item 2: take
// plan --destroy --out, point one change at an item lumuctl does not own,
// re-seal (the digest is a plain SHA-256), apply. Verify must refuse the
// plan (exit 4 in the CLI) and Apply itself must refuse it too, with no
// write at all, whatever the forged field.
func TestForgedPlanCannotTouchUnownedItems(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 250)...)
	if res := h.apply(t, context.Background(), h.plan(t, false)); res.Outcome != state.OutcomeSuccess {
		t.Fatalf("first apply: %+v", res)
	}
	// Another team's item, and one of another list with our prefix shape
	// (not listed as owned: the target filters on the prefix).
	victim := h.target.Put(provider.Item{ItemID: "other-team-0001", Name: "keep me", OSTypes: []string{"windows"},
		Entries: []provider.Entry{{Field: "file.hash.sha256", Type: "match_any", Operator: "included", Value: hashes("f", 1)}}})
	owned := h.target.All()

	liveNow := func() map[string]plan.LiveSet {
		resp, err := h.target.List(context.Background(), provider.ListRequest{Prefix: "lumuctl-default-"})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]plan.LiveSet{"prod": plan.NewLiveSet(true, resp.Owned, "default")}
	}
	prior, st := h.prior(t)
	destroy := func() *plan.Plan {
		p, diags := plan.Make(context.Background(), plan.Options{Config: h.cfg, Prior: prior, Source: h.src,
			Kibanas: map[string]provider.Target{"prod": h.target}, Now: now, Mode: plan.ModeDestroy})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		return p
	}
	normal := func() *plan.Plan {
		// 10 hashes leave: updates.
		h.src.Set("mal", provider.SHA256, hashes("a", 250)[10:]...)
		defer h.src.Set("mal", provider.SHA256, hashes("a", 250)...)
		return h.plan(t, false)
	}
	firstOf := func(t *testing.T, p *plan.Plan, a provider.Action) *plan.ItemChange {
		t.Helper()
		for i := range p.Blocklists {
			for j := range p.Blocklists[i].Changes {
				if c := &p.Blocklists[i].Changes[j]; c.Action == a {
					return c
				}
			}
		}
		t.Fatalf("plan has no %s", a)
		return nil
	}
	cases := []struct {
		name  string
		make  func() *plan.Plan
		forge func(t *testing.T, p *plan.Plan)
		want  string
	}{
		{"delete pointed at an unowned item", destroy, func(t *testing.T, p *plan.Plan) {
			c := firstOf(t, p, provider.Delete)
			c.ID, c.ExpectVersion = victim.ID, victim.Version
		}, "is not an owned item in Kibana"},
		{"delete pointed at an unowned item, version kept", destroy, func(t *testing.T, p *plan.Plan) {
			firstOf(t, p, provider.Delete).ID = victim.ID
		}, "is not an owned item in Kibana"},
		{"delete pointed at another owned item", destroy, func(t *testing.T, p *plan.Plan) {
			c := firstOf(t, p, provider.Delete)
			for _, it := range owned {
				if it.ItemID != c.ItemID && strings.HasPrefix(it.ItemID, "lumuctl-default-") {
					c.ItemID = it.ItemID
					break
				}
			}
		}, "is the owned item"},
		{"update body aimed at an unowned id", normal, func(t *testing.T, p *plan.Plan) {
			c := firstOf(t, p, provider.Update)
			c.After.ID, c.After.Version = victim.ID, victim.Version
		}, "the item body does not name the item"},
		{"update aimed at an unowned id", normal, func(t *testing.T, p *plan.Plan) {
			c := firstOf(t, p, provider.Update)
			c.ID, c.ExpectVersion = victim.ID, victim.Version
			c.After.ID, c.After.Version = victim.ID, victim.Version
		}, "is not an owned item in Kibana"},
		{"create over an existing owned item", destroy, func(t *testing.T, p *plan.Plan) {
			c := firstOf(t, p, provider.Delete)
			it := owned[0]
			for _, o := range owned {
				if o.ItemID == c.ItemID {
					it = o
				}
			}
			it.ID, it.Version = "", ""
			*c = plan.ItemChange{Action: provider.Create, ItemID: c.ItemID, OS: c.OS, HashType: c.HashType, After: &it}
		}, "an owned item with this item_id already exists"},
		{"the same item deleted twice", destroy, func(t *testing.T, p *plan.Plan) {
			bp := &p.Blocklists[0]
			bp.Changes = append(bp.Changes, bp.Changes[0])
		}, "more than once"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.make()
			tc.forge(t, p)
			if err := plan.Seal(p); err != nil {
				t.Fatal(err)
			}
			in := VerifyInput{ConfigDigest: h.cfg.Digest(), Namespace: "default", State: st, Live: liveNow(), Now: now, MaxAge: time.Hour}
			var se *StaleError
			if err := Verify(p, in); !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify = %v, want a refusal with %q", err, tc.want)
			}
			before := h.target.TotalWrites()
			w, err := h.store.Lock(context.Background(), state.LockOptions{Command: "apply"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Apply(context.Background(), Options{Plan: p, Kibanas: map[string]provider.Target{"prod": h.target},
				Live: liveNow(), State: w, Now: func() time.Time { return now }})
			w.Unlock()
			var oe *OwnershipError
			if !errors.As(err, &oe) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Apply = %v, want an OwnershipError with %q", err, tc.want)
			}
			if n := h.target.TotalWrites() - before; n != 0 {
				t.Errorf("%d writes made", n)
			}
			if got, err := h.target.Get(context.Background(), victim.ID); err != nil || got.Version != victim.Version {
				t.Errorf("the unowned item was touched: %+v, %v", got, err)
			}
		})
	}

	// Apply without a live read refuses; with one, an untampered destroy
	// plan goes through and leaves the unowned item alone.
	p := destroy()
	w, err := h.store.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unlock()
	if _, err := Apply(context.Background(), Options{Plan: p, Kibanas: map[string]provider.Target{"prod": h.target}, State: w}); err == nil ||
		!strings.Contains(err.Error(), "was not read in this run") {
		t.Fatalf("Apply without Live = %v", err)
	}
	res, err := Apply(context.Background(), Options{Plan: p, Kibanas: map[string]provider.Target{"prod": h.target}, Live: liveNow(), State: w, Command: "destroy"})
	if err != nil || res.Outcome != state.OutcomeSuccess || res.Destroyed != len(owned)-1 {
		t.Fatalf("destroy = %+v, %v", res, err)
	}
	if all := h.target.All(); len(all) != 1 || all[0].ID != victim.ID || all[0].Version != victim.Version {
		t.Fatalf("left %+v, want only the unowned item", all)
	}
}

// TestReconcileWaitIsCapped reproduces issue 10 item 7: a journal entry
// dated two hours ahead (the clock was set back after it was written) made
// apply wait "2h0m4s (the Kibana request timeout)" holding the lock. No wait
// may exceed Settle.
func TestReconcileWaitIsCapped(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 10)...)
	p := h.plan(t, false)
	ctx := context.Background()
	w, err := h.store.Lock(ctx, state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unlock()
	c := p.Blocklists[0].Changes[0]
	if _, err := w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: c.ItemID, Time: now.Add(2 * time.Hour),
		Item: &state.Item{Blocklist: "lumu", OS: c.OS, HashType: c.HashType, Item: *c.After}}); err != nil {
		t.Fatal(err)
	}
	pending, err := h.store.PendingJournal()
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending = %v, %v", pending, err)
	}
	var slept, told []time.Duration
	got, err := Reconcile(ctx, w, pending, func(string) provider.Target { return h.target }, ReconcileOptions{
		Settle:  5 * time.Second,
		Now:     func() time.Time { return now },
		Sleep:   func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
		Waiting: func(d time.Duration) { told = append(told, d) },
	})
	// The create had not landed: it is sent again.
	if err != nil || len(got) != 1 || !got[0].Landed || !got[0].Resent {
		t.Fatalf("Reconcile = %+v, %v", got, err)
	}
	if len(slept) != 1 || slept[0] != 5*time.Second || len(told) != 1 || told[0] != 5*time.Second {
		t.Fatalf("waited %v (announced %v), want [5s]", slept, told)
	}
}

// TestItemIDHeldByAnotherList reproduces issue 10 item 8: Kibana item_ids
// are unique across agnostic lists, so an endpoint_trusted_apps item named
// like the first item lumuctl wants made every apply fail with 409. The
// plan must see the collision, take the next free number and converge.
func TestItemIDHeldByAnotherList(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 150)...) // 2 items per OS
	h.target.Elsewhere = map[string]string{
		"lumuctl-default-lumu-windows-sha256-0001": "endpoint_trusted_apps",
		"lumuctl-default-lumu-windows-sha256-0002": "endpoint_event_filters",
		"lumuctl-default-lumu-linux-sha256-0002":   "endpoint_trusted_apps",
	}
	p := h.plan(t, false)
	var ids []string
	for _, c := range p.Blocklists[0].Changes {
		ids = append(ids, c.ItemID)
	}
	want := []string{"lumuctl-default-lumu-linux-sha256-0001", "lumuctl-default-lumu-linux-sha256-0003",
		"lumuctl-default-lumu-windows-sha256-0003", "lumuctl-default-lumu-windows-sha256-0004"}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("creates %v, want %v", ids, want)
	}
	notes := 0
	for _, n := range p.Warnings {
		if n.Summary == "item_id held by another list" {
			notes++
			if !strings.Contains(n.Detail, "endpoint_") {
				t.Errorf("note does not name the list: %q", n.Detail)
			}
		}
	}
	if notes != 3 {
		t.Errorf("%d notes about held item_ids, want 3: %+v", notes, p.Warnings)
	}
	// Round 1 asks about the 4 creates, round 2 about the 3 renumbered ones.
	if h.target.Checked != 7 {
		t.Errorf("asked about %d item_ids, want 7", h.target.Checked)
	}
	res := h.apply(t, context.Background(), p)
	if res.Outcome != state.OutcomeSuccess || res.Added != 4 {
		t.Fatalf("apply = %+v", res)
	}
	if p2 := h.plan(t, false); p2.HasChanges() {
		t.Fatalf("second plan has changes: %+v", p2.Summary)
	}
}
