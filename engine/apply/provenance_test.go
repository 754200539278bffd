package apply

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// TestApplyRecordsProvenanceOfWhatChanges: a plan carries provenance only
// for the hashes it changes; after applying it the state still knows the
// incidents of every kept hash, records the new ones and forgets the
// removed ones, and a kept hash whose incident changed is re-recorded.
func TestApplyRecordsProvenanceOfWhatChanges(t *testing.T) {
	h := newHarness(t)
	a := hashes("a", 20)
	h.src.Set("mal", provider.SHA256, a...)
	h.apply(t, context.Background(), h.plan(t, false))

	// a[0] leaves, b arrives, a[1] is now reported by another incident.
	b := hashes("b", 1)[0]
	h.src.Set("mal", provider.SHA256, append(append([]string{}, a[1:]...), b)...)
	h.src.Indicators["mal"][a[1]].Incidents = []provider.IncidentRef{{ID: "inc-new", Filter: "mal"}}
	p := h.plan(t, false)
	bp := p.Blocklists[0]
	if n := len(bp.Provenance.Hashes); n != 2 {
		t.Fatalf("plan carries provenance of %d hashes, want 2 (the added one and the one whose incident changed)", n)
	}
	if res := h.apply(t, context.Background(), p); res.Outcome != state.OutcomeSuccess {
		t.Fatalf("apply: %+v", res)
	}
	for _, tc := range []struct {
		hash, want string
	}{
		{a[0], ""},
		{a[1], "inc-new"},
		{a[2], "inc-mal"}, // kept, not in the plan: recorded before
		{b, "inc-mal"},
	} {
		refs, err := h.store.Provenance("lumu", tc.hash)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(refs) > 0 {
			got = refs[0].ID
		}
		if len(refs) > 1 || got != tc.want {
			t.Errorf("provenance of %s = %v, want %q", tc.hash[:8], refs, tc.want)
		}
	}
}

// TestInterruptedRemovalsLeaveNoProvenance: hashes an interrupted (or
// partly failed) apply removed from Kibana are no longer blocked, so the
// next complete apply, which finds them gone and plans nothing for them,
// must still forget their provenance: `lumuctl why` would otherwise keep
// explaining them as blocked, and the state would grow with every churn.
// (A plan used to carry the whole provenance of each blocklist, so the
// next complete apply replaced it; now it carries only what it changes.)
func TestInterruptedRemovalsLeaveNoProvenance(t *testing.T) {
	h := newHarness(t)
	a := hashes("a", 1000) // 10 items per OS
	h.src.Set("mal", provider.SHA256, a...)
	h.apply(t, context.Background(), h.plan(t, false))

	// Every hash leaves: 20 deletes. Ctrl-C while the third is in flight.
	h.src.Set("mal", provider.SHA256, hashes("b", 1)...)
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	h.target.BeforeWrite = func(kind, itemID string) error {
		if n.Add(1) == 3 {
			cancel()
		}
		return nil
	}
	res := h.apply(t, ctx, h.plan(t, true))
	if !res.Interrupted || res.Writes < 3 || res.Writes >= 22 {
		t.Fatalf("interrupted run: %+v", res)
	}
	h.target.BeforeWrite = nil
	if res := h.apply(t, context.Background(), h.plan(t, true)); res.Outcome != state.OutcomeSuccess {
		t.Fatalf("second run: %+v", res)
	}
	if left := len(h.target.All()); left != 2 {
		t.Fatalf("%d items left, want 2 (the one b hash per OS)", left)
	}
	stale := 0
	for _, x := range a {
		refs, err := h.store.Provenance("lumu", x)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) > 0 {
			stale++
		}
	}
	if stale > 0 {
		t.Errorf("%d of %d unblocked hashes still have provenance in the state", stale, len(a))
	}
}

// TestInterruptedDestroyForgetsWhatItRemoved: a destroy interrupted after
// some deletes, followed by a normal apply of other hashes (the blocklist is
// kept after all): the hashes the landed deletes unblocked have no
// provenance left.
func TestInterruptedDestroyForgetsWhatItRemoved(t *testing.T) {
	h := newHarness(t)
	a := hashes("a", 1000)
	h.src.Set("mal", provider.SHA256, a...)
	h.apply(t, context.Background(), h.plan(t, false))

	prior, _ := h.prior(t)
	p, diags := plan.Make(context.Background(), plan.Options{Config: h.cfg, Prior: prior, Source: h.src,
		Kibanas: map[string]provider.Target{"prod": h.target}, Now: now, Mode: plan.ModeDestroy})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	h.target.BeforeWrite = func(kind, itemID string) error {
		if n.Add(1) == 18 { // of 20 deletes: most hashes leave both OSes
			cancel()
		}
		return nil
	}
	if res := h.apply(t, ctx, p); !res.Interrupted || res.Writes < 18 {
		t.Fatalf("interrupted destroy: %+v", res)
	}
	h.target.BeforeWrite = nil
	h.src.Set("mal", provider.SHA256, hashes("b", 1)...)
	if res := h.apply(t, context.Background(), h.plan(t, true)); res.Outcome != state.OutcomeSuccess {
		t.Fatalf("apply: %+v", res)
	}
	stale := 0
	for _, x := range a {
		if refs, err := h.store.Provenance("lumu", x); err != nil {
			t.Fatal(err)
		} else if len(refs) > 0 {
			stale++
		}
	}
	if stale > 0 {
		t.Errorf("%d of %d unblocked hashes still have provenance in the state", stale, len(a))
	}
}

// TestDriftKeepsProvenanceOfHashesStillBlocked: someone retypes a blocked
// hash in uppercase in Kibana. The plan sees drift (the lowercase value
// removed, the uppercase one added) and rewrites it lowercase; the hash is
// blocked throughout, so its recorded incidents must stay (they are what
// keeps it blocked while its incident goes unread).
func TestDriftKeepsProvenanceOfHashesStillBlocked(t *testing.T) {
	h := newHarness(t)
	a := hashes("a", 20)
	h.src.Set("mal", provider.SHA256, a...)
	h.apply(t, context.Background(), h.plan(t, false))

	var it provider.Item
	for _, x := range h.target.All() {
		if slices.Contains(x.Entries[0].Value, a[0]) {
			it = x
			break
		}
	}
	i := slices.Index(it.Entries[0].Value, a[0])
	it.Entries[0].Value[i] = strings.ToUpper(a[0])
	h.target.Put(it)

	p := h.plan(t, false)
	if !p.HasChanges() || len(p.Blocklists[0].Drift) == 0 {
		t.Fatalf("plan: changes %v, drift %v", p.HasChanges(), p.Blocklists[0].Drift)
	}
	if res := h.apply(t, context.Background(), p); res.Outcome != state.OutcomeSuccess {
		t.Fatalf("apply: %+v", res)
	}
	refs, err := h.store.Provenance("lumu", a[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].ID != "inc-mal" {
		t.Errorf("provenance of the retyped hash = %v, want inc-mal", refs)
	}
}
