package apply

import (
	"context"
	"testing"

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
