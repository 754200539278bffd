package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

func mustLock(t testing.TB, s state.Locker) state.Writer {
	t.Helper()
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	t.Cleanup(func() { _ = w.Unlock() })
	return w
}

func mustSnapshot(t testing.TB, s state.Reader) *state.State {
	t.Helper()
	st, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return st
}

func sampleItem(bl, os string, n int) state.Item {
	id := fmt.Sprintf("lumuctl-prod-%s-%s-sha256-%04d", bl, os, n)
	return state.Item{Blocklist: bl, OS: os, HashType: provider.SHA256, Item: provider.Item{
		ID: "so-" + id, ItemID: id, Version: "WzEsMV0=", Name: "lumuctl " + id,
		Description: "managed by lumuctl", OSTypes: []string{os}, Tags: []string{"policy:all", "ownerSpaceId:default"},
		Entries: []provider.Entry{{Field: "file.hash.sha256", Type: "match_any", Operator: "included",
			Value: []string{hashN(n, 64), hashN(n+1, 64)}}},
		Type: "simple", UpdatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), UpdatedBy: "elastic",
	}}
}

// hashN returns a distinct lowercase hex digest of length n for i.
func hashN(i, n int) string {
	s := fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)
	return (strings.Repeat(s, 4))[:n]
}

func TestLineageAndSerial(t *testing.T) {
	s := statetest.MustOpen(t)
	st0 := mustSnapshot(t, s)
	if len(st0.Lineage) != 36 || st0.Serial != 0 || st0.FormatVersion != 1 {
		t.Fatalf("new state: lineage %q serial %d version %d; want a UUID, 0, 1", st0.Lineage, st0.Serial, st0.FormatVersion)
	}
	if created, err := s.Init(); err != nil || created {
		t.Fatalf("second Init = %v, %v; want false, nil", created, err)
	}
	w := mustLock(t, s)
	steps := []struct {
		name string
		op   func() error
	}{
		{"journal begin", func() error {
			_, err := w.JournalBegin(state.JournalEntry{Op: provider.Delete, ItemID: "a", ID: "so-a"})
			return err
		}},
		{"journal done", func() error { return w.JournalDone(1, provider.Item{}) }},
		{"journal clear", func() error { return w.JournalClear(1) }},
		{"commit", func() error {
			_, err := w.Commit(state.Commit{Put: []state.Item{sampleItem("main", "windows", 1)}})
			return err
		}},
		{"empty commit", func() error { _, err := w.Commit(state.Commit{}); return err }},
	}
	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if err := step.op(); err != nil {
				t.Fatal(err)
			}
			st := mustSnapshot(t, s)
			if st.Lineage != st0.Lineage {
				t.Errorf("lineage changed from %q to %q", st0.Lineage, st.Lineage)
			}
			if want := uint64(i + 1); st.Serial != want {
				t.Errorf("serial = %d, want %d", st.Serial, want)
			}
		})
	}
	// A second store gets a different lineage.
	if other := mustSnapshot(t, statetest.MustOpen(t)); other.Lineage == st0.Lineage {
		t.Errorf("two state files share lineage %q", other.Lineage)
	}
}

func TestCreatedByFirstWrite(t *testing.T) {
	s := statetest.MustNew(t)
	w := mustLock(t, s)
	if err := w.Backup(); err != nil {
		t.Fatalf("Backup without a state file: %v", err)
	}
	if _, err := os.Stat(s.BackupPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup made without a state file: %v", err)
	}
	serial, err := w.Commit(state.Commit{})
	if err != nil {
		t.Fatal(err)
	}
	st := mustSnapshot(t, s)
	if serial != 1 || st.Serial != 1 || st.Lineage == "" {
		t.Errorf("after first write: serial %d/%d lineage %q; want 1/1 and a lineage", serial, st.Serial, st.Lineage)
	}
	for path, want := range map[string]os.FileMode{s.Path(): 0o600, s.LockPath(): 0o600, filepath.Dir(s.Path()): 0o700 | os.ModeDir} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
}

func TestJournalCrashAndReconcile(t *testing.T) {
	s := statetest.MustOpen(t)
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := sampleItem("main", "windows", 1), sampleItem("main", "windows", 2)
	if _, err := w.Commit(state.Commit{Put: []state.Item{b}}); err != nil {
		t.Fatal(err)
	}
	body := a
	body.Item.ID, body.Item.Version = "", ""
	now := time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)
	entries := []state.JournalEntry{
		{Op: provider.Create, ItemID: a.Item.ItemID, Item: &body, PlanDigest: "p1", Time: now},
		{Op: provider.Update, ItemID: b.Item.ItemID, ID: b.Item.ID, ExpectVersion: b.Item.Version, Item: &b, PlanDigest: "p1", Time: now},
		{Op: provider.Delete, ItemID: "lumuctl-prod-main-windows-sha256-0009", ID: "so-9", ExpectVersion: "WzUsMV0=", PlanDigest: "p1", Time: now},
	}
	for i := range entries {
		seq, err := w.JournalBegin(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		entries[i].Seq = seq
		if i > 0 && seq <= entries[i-1].Seq {
			t.Errorf("seq %d after %d: not increasing", seq, entries[i-1].Seq)
		}
		// Write-ahead: the entry is committed before JournalBegin returns,
		// visible to any other process.
		pending, err := boltstore.New(s.Path(), boltstore.Options{}).PendingJournal()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(entries[:i+1], pending); diff != "" {
			t.Errorf("pending after begin %d (-want +got):\n%s", i, diff)
		}
	}
	// Crash: no JournalDone, the lock goes away with the process.
	if err := w.Unlock(); err != nil {
		t.Fatal(err)
	}

	s2 := boltstore.New(s.Path(), boltstore.Options{})
	st := mustSnapshot(t, s2)
	if diff := cmp.Diff(entries, st.Pending()); diff != "" {
		t.Fatalf("pending after reopen (-want +got):\n%s", diff)
	}
	// Reconcile: the create landed, the update did not, the delete landed.
	w2 := mustLock(t, s2)
	landed := a
	landed.Item.Tags = append(landed.Item.Tags, "ownerSpaceId:other")
	if err := w2.JournalDone(entries[0].Seq, landed.Item); err != nil {
		t.Fatal(err)
	}
	if err := w2.JournalClear(entries[1].Seq); err != nil {
		t.Fatal(err)
	}
	if err := w2.JournalDone(entries[2].Seq, provider.Item{}); err != nil {
		t.Fatal(err)
	}
	if err := w2.JournalDone(999, provider.Item{}); !errors.Is(err, state.ErrNoJournalEntry) {
		t.Errorf("JournalDone(999) = %v, want ErrNoJournalEntry", err)
	}
	st = mustSnapshot(t, s2)
	if len(st.Pending()) != 0 || len(st.Journal) != 2 {
		t.Errorf("journal after reconcile: %d entries, %d pending; want 2 done, 0 pending", len(st.Journal), len(st.Pending()))
	}
	if got := st.Journal[0]; got.ResultID != a.Item.ID || got.ResultVersion != a.Item.Version || got.DoneTime.IsZero() {
		t.Errorf("done entry = %+v; want result %s/%s", got, a.Item.ID, a.Item.Version)
	}
	wantItems := map[string]state.Item{a.Item.ItemID: landed, b.Item.ItemID: b}
	if diff := cmp.Diff(wantItems, st.Items); diff != "" {
		t.Errorf("items after reconcile (-want +got):\n%s", diff)
	}
	if _, err := w2.Commit(state.Commit{ClearDone: true}); err != nil {
		t.Fatal(err)
	}
	if st := mustSnapshot(t, s2); len(st.Journal) != 0 {
		t.Errorf("journal after ClearDone: %+v", st.Journal)
	}
}

func TestNamespaceRecorded(t *testing.T) {
	s := statetest.MustNew(t)
	if st := mustSnapshot(t, s); st.Namespace != "" {
		t.Fatalf("new state namespace = %q", st.Namespace)
	}
	w := mustLock(t, s)
	defer w.Unlock()
	if _, err := w.Commit(state.Commit{}); err != nil {
		t.Fatal(err)
	}
	if st := mustSnapshot(t, s); st.Namespace != "" {
		t.Fatalf("a commit without namespace recorded %q", st.Namespace)
	}
	if _, err := w.Commit(state.Commit{Namespace: "prod"}); err != nil {
		t.Fatal(err)
	}
	st := mustSnapshot(t, s)
	if st.Namespace != "prod" {
		t.Fatalf("namespace = %q, want prod", st.Namespace)
	}
	serial := st.Serial
	_, err := w.Commit(state.Commit{Namespace: "dev", Remove: []string{"x"}})
	var ne *state.NamespaceError
	if !errors.As(err, &ne) || ne.Recorded != "prod" || ne.Configured != "dev" || !strings.Contains(err.Error(), "must not share one state file") {
		t.Fatalf("commit for another namespace: %v", err)
	}
	if st := mustSnapshot(t, s); st.Serial != serial || st.Namespace != "prod" {
		t.Fatalf("refused commit changed the state: %+v", st)
	}
	if err := state.CheckNamespace(st, s.Path(), "dev"); !errors.As(err, &ne) {
		t.Fatalf("CheckNamespace = %v", err)
	}
	if err := state.CheckNamespace(st, s.Path(), "prod"); err != nil {
		t.Fatal(err)
	}
}
