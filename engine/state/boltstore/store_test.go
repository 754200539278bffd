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
	"github.com/google/go-cmp/cmp/cmpopts"

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
			_, err := w.JournalBegin(state.JournalEntry{Op: state.OpDelete, ItemID: "a", ID: "so-a"})
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

func TestItemsRoundTrip(t *testing.T) {
	s := statetest.MustOpen(t)
	w := mustLock(t, s)
	a, b, c := sampleItem("main", "windows", 1), sampleItem("main", "linux", 2), sampleItem("edr", "macos", 3)
	tests := []struct {
		name   string
		commit state.Commit
		want   []state.Item
	}{
		{"put three", state.Commit{Put: []state.Item{a, b, c}}, []state.Item{a, b, c}},
		{"remove one, unknown ignored", state.Commit{Remove: []string{b.Item.ItemID, "lumuctl-prod-nope"}}, []state.Item{a, c}},
		{"replace", state.Commit{Put: []state.Item{func() state.Item { x := a; x.Item.Version = "WzIsMV0="; return x }()}},
			[]state.Item{func() state.Item { x := a; x.Item.Version = "WzIsMV0="; return x }(), c}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := w.Commit(tt.commit); err != nil {
				t.Fatal(err)
			}
			want := map[string]state.Item{}
			for _, it := range tt.want {
				want[it.Item.ItemID] = it
			}
			if diff := cmp.Diff(want, mustSnapshot(t, s).Items); diff != "" {
				t.Errorf("items mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommitRejectsBadInput(t *testing.T) {
	s := statetest.MustOpen(t)
	w := mustLock(t, s)
	ref := []provider.IncidentRef{{ID: "i1"}}
	tests := []struct {
		name   string
		commit state.Commit
		want   string
	}{
		{"item without id", state.Commit{Put: []state.Item{{Blocklist: "main"}}}, "no item_id"},
		{"bad hash type", state.Commit{Put: []state.Item{{HashType: "crc32", Item: provider.Item{ItemID: "x"}}}}, "unknown hash type"},
		{"uppercase hash", state.Commit{Provenance: map[string]state.Provenance{"main": {strings.ToUpper(hashN(1, 32)): ref}}}, "not lowercase"},
		{"short hash", state.Commit{Provenance: map[string]state.Provenance{"main": {"abc": ref}}}, "want 32, 40 or 64"},
		{"non-hex hash", state.Commit{Provenance: map[string]state.Provenance{"main": {strings.Repeat("z", 40): ref}}}, "not hex"},
		{"no incidents", state.Commit{Provenance: map[string]state.Provenance{"main": {hashN(1, 32): nil}}}, "no incidents"},
		{"incident without id", state.Commit{Provenance: map[string]state.Provenance{"main": {hashN(1, 32): {{Filter: "f"}}}}}, "without id"},
		{"empty blocklist", state.Commit{Provenance: map[string]state.Provenance{"": {}}}, "empty blocklist"},
		{"bad outcome", state.Commit{History: &state.HistoryEntry{Outcome: "meh"}}, "unknown outcome"},
	}
	before := mustSnapshot(t, s).Serial
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.Commit(tt.commit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Commit error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if after := mustSnapshot(t, s).Serial; after != before {
		t.Errorf("rejected commits changed serial %d → %d", before, after)
	}
}

func TestProvenance(t *testing.T) {
	s := statetest.MustOpen(t)
	w := mustLock(t, s)
	i1 := provider.IncidentRef{ID: "7c40be00", Company: "acme", Filter: "malware", AdversaryTypes: []string{"Malware"},
		Description: "QakBot", LastContact: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), Status: "open"}
	i2 := provider.IncidentRef{ID: "8d51cf11", Company: "acme", Filter: "malware"}
	i2b := i2
	i2b.Filter = "all" // the same incident through another filter is a distinct ref
	md5, sha1, sha256 := hashN(1, 32), hashN(2, 40), hashN(3, 64)
	if _, err := w.Commit(state.Commit{Provenance: map[string]state.Provenance{
		"main": {md5: {i1, i2}, sha1: {i2}, sha256: {i1}},
		"edr":  {md5: {i2b}},
	}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		blocklist, hash string
		want            []provider.IncidentRef
	}{
		{"main", md5, []provider.IncidentRef{i1, i2}},
		{"main", sha1, []provider.IncidentRef{i2}},
		{"main", sha256, []provider.IncidentRef{i1}},
		{"edr", md5, []provider.IncidentRef{i2b}},
		{"edr", sha1, nil},
		{"nosuch", md5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.blocklist+"/"+tt.hash[:8], func(t *testing.T) {
			got, err := s.Provenance(tt.blocklist, tt.hash)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("provenance mismatch (-want +got):\n%s", diff)
			}
		})
	}
	all, err := s.ProvenanceAll(md5)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]provider.IncidentRef{"main": {i1, i2}, "edr": {i2b}}, all); diff != "" {
		t.Errorf("ProvenanceAll mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.Provenance("main", "ZZ"); err == nil {
		t.Error("Provenance of an invalid hash: no error")
	}

	// Replacing a blocklist's provenance drops its old hashes; nil deletes it.
	if _, err := w.Commit(state.Commit{Provenance: map[string]state.Provenance{"main": {sha1: {i1}}, "edr": nil}}); err != nil {
		t.Fatal(err)
	}
	all, err = s.ProvenanceAll(md5)
	if err != nil || len(all) != 0 {
		t.Errorf("after replace, ProvenanceAll(md5) = %v, %v; want empty", all, err)
	}
	got, err := s.Provenance("main", sha1)
	if diff := cmp.Diff([]provider.IncidentRef{i1}, got); err != nil || diff != "" {
		t.Errorf("after replace (err %v) (-want +got):\n%s", err, diff)
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
		{Op: state.OpCreate, ItemID: a.Item.ItemID, Item: &body, PlanDigest: "p1", Time: now},
		{Op: state.OpUpdate, ItemID: b.Item.ItemID, ID: b.Item.ID, ExpectVersion: b.Item.Version, Item: &b, PlanDigest: "p1", Time: now},
		{Op: state.OpDelete, ItemID: "lumuctl-prod-main-windows-sha256-0009", ID: "so-9", ExpectVersion: "WzUsMV0=", PlanDigest: "p1", Time: now},
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

func TestJournalBeginRejectsBadEntries(t *testing.T) {
	s := statetest.MustOpen(t)
	w := mustLock(t, s)
	it := sampleItem("main", "windows", 1)
	tests := []struct {
		name  string
		entry state.JournalEntry
		want  string
	}{
		{"unknown op", state.JournalEntry{Op: "upsert", ItemID: "x"}, "unknown op"},
		{"no item id", state.JournalEntry{Op: state.OpDelete, ID: "so"}, "no item_id"},
		{"create without body", state.JournalEntry{Op: state.OpCreate, ItemID: "x"}, "no item body"},
		{"body for another item", state.JournalEntry{Op: state.OpCreate, ItemID: "x", Item: &it}, "body has item_id"},
		{"update without id", state.JournalEntry{Op: state.OpUpdate, ItemID: it.Item.ItemID, Item: &it}, "no saved-object id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := w.JournalBegin(tt.entry); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("JournalBegin error = %v, want %q", err, tt.want)
			}
		})
	}
	if p, err := s.PendingJournal(); err != nil || len(p) != 0 {
		t.Errorf("PendingJournal = %v, %v; want none", p, err)
	}
}

func TestHistory(t *testing.T) {
	s := statetest.MustOpen(t)
	w := mustLock(t, s)
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	in := []state.HistoryEntry{
		{Time: t0, Who: "alice@laptop", Command: "apply", PlanDigest: "abc", Counts: state.Counts{ItemsAdded: 3, HashesAdded: 5000}, Outcome: state.OutcomeSuccess},
		{Time: t0.Add(time.Hour), Who: "ci@runner", Command: "apply", PlanDigest: "def", Counts: state.Counts{ItemsChanged: 1, HashesRemoved: 2}, Outcome: state.OutcomePartial, Message: "409 on item x"},
		{Time: t0.Add(2 * time.Hour), Who: "bob@host", Command: "state rm", Outcome: state.OutcomeSuccess},
	}
	for i := range in {
		if _, err := w.Commit(state.Commit{History: &in[i]}); err != nil {
			t.Fatal(err)
		}
		in[i].Seq = uint64(i + 1)
	}
	got, err := s.History()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("history mismatch (-want +got):\n%s", diff)
	}
}

func TestAppliedDigests(t *testing.T) {
	s := statetest.MustOpen(t)
	w := mustLock(t, s)
	for _, d := range []string{"sha256:aaa", "sha256:bbb"} {
		if _, err := w.Commit(state.Commit{AppliedDigest: d}); err != nil {
			t.Fatal(err)
		}
	}
	st := mustSnapshot(t, s)
	var got []string
	for d, at := range st.Applied {
		if at.IsZero() {
			t.Errorf("digest %s recorded without a time", d)
		}
		got = append(got, d)
	}
	if diff := cmp.Diff([]string{"sha256:aaa", "sha256:bbb"}, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("applied digests (-want +got):\n%s", diff)
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
