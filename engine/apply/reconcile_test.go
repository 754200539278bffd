package apply

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// reconcileOne journals e as a killed run would have (begun, never done),
// runs Reconcile on it and returns its outcome.
func reconcileOne(t *testing.T, h *harness, e state.JournalEntry) (Reconciled, error) {
	t.Helper()
	ctx := context.Background()
	w, err := h.store.Lock(ctx, state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unlock()
	e.Time = now
	if _, err := w.JournalBegin(e); err != nil {
		t.Fatal(err)
	}
	pending, err := h.store.PendingJournal()
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending = %v, %v", pending, err)
	}
	got, err := Reconcile(ctx, w, pending, func(string) provider.Target { return h.target }, ReconcileOptions{Now: func() time.Time { return now }})
	if len(got) > 1 {
		t.Fatalf("Reconcile settled %d entries, want 1", len(got))
	}
	if len(got) == 0 {
		return Reconciled{}, err
	}
	return got[0], err
}

// applied is a harness whose blocklist is applied: 150 hashes, 2 items per
// OS.
func applied(t *testing.T) *harness {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 150)...)
	h.apply(t, context.Background(), h.plan(t, false))
	if n := len(h.target.All()); n != 4 {
		t.Fatalf("%d items, want 4", n)
	}
	return h
}

func entryOf(op provider.Action, it provider.Item, body provider.Item) state.JournalEntry {
	e := state.JournalEntry{Op: op, ItemID: it.ItemID, ID: it.ID, ExpectVersion: it.Version,
		Item: &state.Item{Blocklist: "lumu", OS: "linux", HashType: provider.SHA256, Item: body}}
	if op == provider.Create {
		e.ID, e.ExpectVersion = "", ""
	}
	return e
}

func withValues(it provider.Item, values ...string) provider.Item {
	it.Entries = slices.Clone(it.Entries)
	it.Entries[0].Value = append(slices.Clone(it.Entries[0].Value), values...)
	return it
}

// TestReconcileSendsAgain: a write of a killed run that has not landed is
// sent again, exactly as journaled, and recorded; its earlier copy, should
// it arrive now, is refused by Kibana's own guards (item_id taken,
// _version moved on, item gone), so no later plan can be overtaken by it.
func TestReconcileSendsAgain(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		h := applied(t)
		body := withValues(h.target.All()[0], hashes("new", 3)...)
		body.ID, body.Version, body.ItemID = "", "", "lumuctl-default-lumu-linux-sha256-0009"
		r, err := reconcileOne(t, h, entryOf(provider.Create, body, body))
		if err != nil || !r.Landed || !r.Resent {
			t.Fatalf("Reconcile = %+v, %v", r, err)
		}
		live, err := h.target.GetByItemID(context.Background(), body.ItemID)
		if err != nil || !slices.Equal(live.Entries[0].Value, body.Entries[0].Value) {
			t.Fatalf("Kibana holds %+v, %v; want the journaled body", live, err)
		}
		if _, err := h.target.Create(context.Background(), body); !errors.Is(err, provider.ErrConflict) {
			t.Errorf("the earlier copy, landing now: %v, want a conflict", err)
		}
		_, st := h.prior(t)
		if st.Items[body.ItemID].Item.ID != live.ID || len(st.Pending()) != 0 {
			t.Errorf("the state does not record the item sent again (pending %d)", len(st.Pending()))
		}
	})
	t.Run("update", func(t *testing.T) {
		h := applied(t)
		old := h.target.All()[0]
		body := withValues(old, hashes("new", 3)...)
		r, err := reconcileOne(t, h, entryOf(provider.Update, old, body))
		if err != nil || !r.Landed || !r.Resent {
			t.Fatalf("Reconcile = %+v, %v", r, err)
		}
		live, _ := h.target.Get(context.Background(), old.ID)
		if live.Version == old.Version || !slices.Equal(live.Entries[0].Value, body.Entries[0].Value) {
			t.Fatalf("Kibana holds %+v; want the journaled body under a new _version", live)
		}
		if _, err := h.target.Update(context.Background(), body); !errors.Is(err, provider.ErrConflict) {
			t.Errorf("the earlier copy (_version %s), landing now: %v, want a conflict", body.Version, err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		h := applied(t)
		old := h.target.All()[0]
		r, err := reconcileOne(t, h, entryOf(provider.Delete, old, provider.Item{ID: old.ID, ItemID: old.ItemID, Version: old.Version}))
		if err != nil || !r.Landed || !r.Resent {
			t.Fatalf("Reconcile = %+v, %v", r, err)
		}
		if _, err := h.target.Get(context.Background(), old.ID); !errors.Is(err, provider.ErrNotFound) {
			t.Fatalf("the item is still in Kibana: %v", err)
		}
		if err := h.target.Delete(context.Background(), old.ID, old.Version); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("the earlier copy, landing now: %v, want not found", err)
		}
		_, st := h.prior(t)
		if _, ok := st.Items[old.ItemID]; ok {
			t.Error("the state still records the deleted item")
		}
	})
}

// TestReconcileLandedOrRefused: a write that landed is recorded without
// being sent again; one Kibana refuses for good is dropped with a note and
// writes nothing (never another's item, never over someone's edit); one
// that cannot be sent stays in the journal and fails the reconciliation.
func TestReconcileLandedOrRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("update landed", func(t *testing.T) {
		h := applied(t)
		old := h.target.All()[0]
		body := withValues(old, hashes("new", 1)...)
		h.target.Put(body)
		writes := h.target.TotalWrites()
		r, err := reconcileOne(t, h, entryOf(provider.Update, old, body))
		if err != nil || !r.Landed || r.Resent || h.target.TotalWrites() != writes {
			t.Fatalf("Reconcile = %+v, %v (writes %d → %d)", r, err, writes, h.target.TotalWrites())
		}
	})
	t.Run("delete landed", func(t *testing.T) {
		h := applied(t)
		old := h.target.All()[0]
		if err := h.target.Delete(ctx, old.ID, old.Version); err != nil {
			t.Fatal(err)
		}
		writes := h.target.TotalWrites()
		r, err := reconcileOne(t, h, entryOf(provider.Delete, old, old))
		if err != nil || !r.Landed || r.Resent || h.target.TotalWrites() != writes {
			t.Fatalf("Reconcile = %+v, %v", r, err)
		}
	})
	refused := []struct {
		name  string
		entry func(h *harness) state.JournalEntry
		note  string
	}{
		{"create of an item_id held by another list", func(h *harness) state.JournalEntry {
			body := h.target.All()[0]
			body.ID, body.Version, body.ItemID = "", "", "lumuctl-default-lumu-linux-sha256-0009"
			h.target.Elsewhere = map[string]string{body.ItemID: "endpoint_trusted_apps"}
			return entryOf(provider.Create, body, body)
		}, "Kibana refused it"},
		{"delete of an item someone edited since", func(h *harness) state.JournalEntry {
			old := h.target.All()[0]
			edited := old
			edited.Name = "edited by hand"
			h.target.Put(edited)
			return entryOf(provider.Delete, old, old)
		}, "it is not deleted"},
		{"update of an item someone deleted", func(h *harness) state.JournalEntry {
			old := h.target.All()[0]
			if err := h.target.Delete(ctx, old.ID, old.Version); err != nil {
				panic(err)
			}
			return entryOf(provider.Update, old, withValues(old, hashes("new", 1)...))
		}, "the item is gone"},
		{"update whose id names another item_id", func(h *harness) state.JournalEntry {
			all := h.target.All()
			e := entryOf(provider.Update, all[0], withValues(all[0], hashes("new", 1)...))
			e.ID = all[1].ID
			return e
		}, "it is not written"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			h := applied(t)
			e := tc.entry(h)
			before := h.target.All()
			writes := h.target.TotalWrites()
			r, err := reconcileOne(t, h, e)
			if err != nil || r.Landed || r.Resent || !strings.Contains(r.Note, tc.note) {
				t.Fatalf("Reconcile = %+v, %v; want dropped with a note %q", r, err, tc.note)
			}
			if h.target.TotalWrites() != writes || !slices.EqualFunc(before, h.target.All(), func(a, b provider.Item) bool { return a.ID == b.ID && a.Version == b.Version }) {
				t.Error("Kibana was changed")
			}
			if pending, _ := h.store.PendingJournal(); len(pending) != 0 {
				t.Errorf("%d entries pending, want the entry dropped", len(pending))
			}
		})
	}
	t.Run("Kibana unreachable", func(t *testing.T) {
		h := applied(t)
		old := h.target.All()[0]
		h.target.BeforeWrite = func(string, string) error { return errors.New("connection refused") }
		_, err := reconcileOne(t, h, entryOf(provider.Update, old, withValues(old, hashes("new", 1)...)))
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("Reconcile error = %v, want the failed send", err)
		}
		if pending, _ := h.store.PendingJournal(); len(pending) != 1 {
			t.Errorf("%d entries pending, want the entry kept for the next run", len(pending))
		}
	})
}
