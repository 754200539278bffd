package statetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// Backend is a state.Store implementation under test.
type Backend struct {
	// New returns a store holding no state yet (not initialised), distinct
	// from every other store New returned.
	New func(t testing.TB) state.Store
	// Reopen returns a second, independent handle on the same state, as
	// another process would open it.
	Reopen func(t testing.TB, s state.Store) state.Store
}

// Run is the behaviour every state backend shares (SPEC sections 6 and 10):
// lineage and serial, items, provenance, history, applied digests, the
// journal, the write lock, and export/replace. boltstore and pgstore run it.
func Run(t *testing.T, b Backend) {
	open := func(t testing.TB) state.Store {
		s := b.New(t)
		if _, err := s.Init(); err != nil {
			t.Fatalf("Init: %v", err)
		}
		return s
	}
	t.Run("MissingStateReadsEmpty", func(t *testing.T) { testMissing(t, b) })
	t.Run("LineageAndSerial", func(t *testing.T) { testLineageAndSerial(t, open) })
	t.Run("CreatedByFirstWrite", func(t *testing.T) { testCreatedByFirstWrite(t, b) })
	t.Run("ItemsRoundTrip", func(t *testing.T) { testItems(t, open) })
	t.Run("CommitRejectsBadInput", func(t *testing.T) { testBadCommit(t, open) })
	t.Run("Provenance", func(t *testing.T) { testProvenance(t, open) })
	t.Run("ProvenancePatch", func(t *testing.T) { testProvenancePatch(t, open) })
	t.Run("JournalCrashAndReconcile", func(t *testing.T) { testJournal(t, b, open) })
	t.Run("JournalBeginRejectsBadEntries", func(t *testing.T) { testBadJournal(t, open) })
	t.Run("History", func(t *testing.T) { testHistory(t, open) })
	t.Run("AppliedDigests", func(t *testing.T) { testApplied(t, open) })
	t.Run("LockContention", func(t *testing.T) { testLock(t, b, open) })
	t.Run("ConcurrentJournal", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("ExportReplace", func(t *testing.T) { testExportReplace(t, b, open) })
}

// MustLock takes the write lock (command "apply") and unlocks at cleanup.
func MustLock(t testing.TB, s state.Locker) state.Writer {
	t.Helper()
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	t.Cleanup(func() { _ = w.Unlock() })
	return w
}

// MustSnapshot reads a snapshot or fails the test.
func MustSnapshot(t testing.TB, s state.Reader) *state.State {
	t.Helper()
	st, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return st
}

// SampleItem is a realistic owned item for blocklist bl, OS os, number n.
func SampleItem(bl, os string, n int) state.Item {
	id := fmt.Sprintf("lumuctl-prod-%s-%s-sha256-%04d", bl, os, n)
	return state.Item{Blocklist: bl, OS: os, HashType: provider.SHA256, Item: provider.Item{
		ID: "so-" + id, ItemID: id, Version: "WzEsMV0=", Name: "lumuctl " + id,
		Description: "managed by lumuctl", OSTypes: []string{os}, Tags: []string{"policy:all", "ownerSpaceId:default"},
		Entries: []provider.Entry{{Field: "file.hash.sha256", Type: "match_any", Operator: "included",
			Value: []string{HashN(n, 64), HashN(n+1, 64)}}},
		Type: "simple", UpdatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), UpdatedBy: "elastic",
	}}
}

// HashN returns a distinct lowercase hex digest of length n for i.
func HashN(i, n int) string {
	s := fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)
	return (strings.Repeat(s, 4))[:n]
}

func testMissing(t *testing.T, b Backend) {
	s := b.New(t)
	st := MustSnapshot(t, s)
	if st.Lineage != "" || st.Serial != 0 || len(st.Items) != 0 || len(st.Journal) != 0 {
		t.Errorf("missing state reads as %+v, want empty", st)
	}
	if h, err := s.History(); err != nil || len(h) != 0 {
		t.Errorf("History = %v, %v", h, err)
	}
	if p, err := s.Provenance("main", HashN(1, 32)); err != nil || p != nil {
		t.Errorf("Provenance = %v, %v", p, err)
	}
	// Reading did not create anything.
	if st := MustSnapshot(t, b.Reopen(t, s)); st.Lineage != "" {
		t.Errorf("a read created the state: lineage %q", st.Lineage)
	}
}

func testLineageAndSerial(t *testing.T, open func(testing.TB) state.Store) {
	s := open(t)
	st0 := MustSnapshot(t, s)
	if len(st0.Lineage) != 36 || st0.Serial != 0 || st0.FormatVersion < 1 {
		t.Fatalf("new state: lineage %q serial %d version %d; want a UUID, 0, ≥1", st0.Lineage, st0.Serial, st0.FormatVersion)
	}
	if created, err := s.Init(); err != nil || created {
		t.Fatalf("second Init = %v, %v; want false, nil", created, err)
	}
	w := MustLock(t, s)
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
			_, err := w.Commit(state.Commit{Put: []state.Item{SampleItem("main", "windows", 1)}})
			return err
		}},
		{"empty commit", func() error { _, err := w.Commit(state.Commit{}); return err }},
	}
	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if err := step.op(); err != nil {
				t.Fatal(err)
			}
			st := MustSnapshot(t, s)
			if st.Lineage != st0.Lineage {
				t.Errorf("lineage changed from %q to %q", st0.Lineage, st.Lineage)
			}
			if want := uint64(i + 1); st.Serial != want {
				t.Errorf("serial = %d, want %d", st.Serial, want)
			}
		})
	}
	if other := MustSnapshot(t, open(t)); other.Lineage == st0.Lineage {
		t.Errorf("two states share lineage %q", other.Lineage)
	}
}

func testCreatedByFirstWrite(t *testing.T, b Backend) {
	s := b.New(t)
	w := MustLock(t, s)
	if err := w.Backup(); err != nil {
		t.Fatalf("Backup without a state: %v", err)
	}
	serial, err := w.Commit(state.Commit{})
	if err != nil {
		t.Fatal(err)
	}
	st := MustSnapshot(t, s)
	if serial != 1 || st.Serial != 1 || st.Lineage == "" {
		t.Errorf("after first write: serial %d/%d lineage %q; want 1/1 and a lineage", serial, st.Serial, st.Lineage)
	}
}

func testItems(t *testing.T, open func(testing.TB) state.Store) {
	s := open(t)
	w := MustLock(t, s)
	a, b, c := SampleItem("main", "windows", 1), SampleItem("main", "linux", 2), SampleItem("edr", "macos", 3)
	a2 := a
	a2.Item.Version = "WzIsMV0="
	tests := []struct {
		name   string
		commit state.Commit
		want   []state.Item
	}{
		{"put three", state.Commit{Put: []state.Item{a, b, c}}, []state.Item{a, b, c}},
		{"remove one, unknown ignored", state.Commit{Remove: []string{b.Item.ItemID, "lumuctl-prod-nope"}}, []state.Item{a, c}},
		{"replace", state.Commit{Put: []state.Item{a2}}, []state.Item{a2, c}},
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
			if diff := cmp.Diff(want, MustSnapshot(t, s).Items); diff != "" {
				t.Errorf("items mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testBadCommit(t *testing.T, open func(testing.TB) state.Store) {
	s := open(t)
	w := MustLock(t, s)
	ref := []provider.IncidentRef{{ID: "i1"}}
	tests := []struct {
		name   string
		commit state.Commit
		want   string
	}{
		{"item without id", state.Commit{Put: []state.Item{{Blocklist: "main"}}}, "no item_id"},
		{"bad hash type", state.Commit{Put: []state.Item{{HashType: "crc32", Item: provider.Item{ItemID: "x"}}}}, "unknown hash type"},
		{"uppercase hash", state.Commit{Provenance: map[string]state.HashIncidents{"main": {strings.ToUpper(HashN(1, 32)): ref}}}, "not lowercase"},
		{"short hash", state.Commit{Provenance: map[string]state.HashIncidents{"main": {"abc": ref}}}, "want 32, 40 or 64"},
		{"non-hex hash", state.Commit{Provenance: map[string]state.HashIncidents{"main": {strings.Repeat("z", 40): ref}}}, "not hex"},
		{"no incidents", state.Commit{Provenance: map[string]state.HashIncidents{"main": {HashN(1, 32): nil}}}, "no incidents"},
		{"incident without id", state.Commit{Provenance: map[string]state.HashIncidents{"main": {HashN(1, 32): {{Filter: "f"}}}}}, "without id"},
		{"empty blocklist", state.Commit{Provenance: map[string]state.HashIncidents{"": {}}}, "empty blocklist"},
		{"bad outcome", state.Commit{History: &state.HistoryEntry{Outcome: "meh"}}, "unknown outcome"},
	}
	before := MustSnapshot(t, s).Serial
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.Commit(tt.commit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Commit error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if after := MustSnapshot(t, s).Serial; after != before {
		t.Errorf("rejected commits changed serial %d → %d", before, after)
	}
}

func testProvenance(t *testing.T, open func(testing.TB) state.Store) {
	s := open(t)
	w := MustLock(t, s)
	i1 := provider.IncidentRef{ID: "7c40be00", Company: "acme", Filter: "malware", AdversaryTypes: []string{"Malware"},
		Description: "QakBot", LastContact: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), Status: "open"}
	i2 := provider.IncidentRef{ID: "8d51cf11", Company: "acme", Filter: "malware"}
	i2b := i2
	i2b.Filter = "all" // the same incident through another filter is a distinct ref
	md5, sha1, sha256 := HashN(1, 32), HashN(2, 40), HashN(3, 64)
	if _, err := w.Commit(state.Commit{Provenance: map[string]state.HashIncidents{
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
	of, err := s.ProvenanceOf("main", []string{md5, sha256, HashN(9, 64), sha1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(state.HashIncidents{md5: {i1, i2}, sha1: {i2}, sha256: {i1}}, of); diff != "" {
		t.Errorf("ProvenanceOf mismatch (-want +got):\n%s", diff)
	}
	if of, err := s.ProvenanceOf("nosuch", []string{md5}); err != nil || len(of) != 0 {
		t.Errorf("ProvenanceOf(nosuch) = %v, %v; want empty", of, err)
	}
	if _, err := s.ProvenanceOf("main", []string{md5, "ZZ"}); err == nil {
		t.Error("ProvenanceOf with an invalid hash: no error")
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
	if _, err := w.Commit(state.Commit{Provenance: map[string]state.HashIncidents{"main": {sha1: {i1}}, "edr": nil}}); err != nil {
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

// testProvenancePatch: a patch drops and sets some hashes of one blocklist
// and keeps every other hash and blocklist as recorded; a patch that leaves
// nothing forgets the blocklist; bad patches are refused whole.
func testProvenancePatch(t *testing.T, open func(testing.TB) state.Store) {
	s := open(t)
	w := MustLock(t, s)
	i1 := provider.IncidentRef{ID: "7c40be00", Company: "acme", Filter: "malware", Description: "QakBot"}
	i2 := provider.IncidentRef{ID: "8d51cf11", Company: "acme", Filter: "malware"}
	i3 := provider.IncidentRef{ID: "9e62d022", Company: "acme", Filter: "malware"}
	h1, h2, h3, h4 := HashN(1, 64), HashN(2, 64), HashN(3, 32), HashN(4, 64)
	if _, err := w.Commit(state.Commit{Provenance: map[string]state.HashIncidents{
		"main": {h1: {i1}, h2: {i1, i2}, h3: {i2}},
		"edr":  {h1: {i2}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(state.Commit{PatchProvenance: map[string]state.ProvenancePatch{
		"main":  {Drop: []string{h3, h4}, Set: state.HashIncidents{h2: {i3}, h4: {i1, i3}}},
		"fresh": {Set: state.HashIncidents{h3: {i3}}},
	}}); err != nil {
		t.Fatal(err)
	}
	d, err := s.(state.Exporter).Export()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]state.HashIncidents{
		"main":  {h1: {i1}, h2: {i3}, h4: {i1, i3}},
		"edr":   {h1: {i2}},
		"fresh": {h3: {i3}},
	}
	if diff := cmp.Diff(want, d.Provenance); diff != "" {
		t.Errorf("after patch (-want +got):\n%s", diff)
	}
	if _, err := w.Commit(state.Commit{PatchProvenance: map[string]state.ProvenancePatch{"fresh": {Drop: []string{h3}}}}); err != nil {
		t.Fatal(err)
	}
	if all, err := s.ProvenanceAll(h3); err != nil || len(all) != 0 {
		t.Errorf("after dropping the last hash, ProvenanceAll = %v, %v; want empty", all, err)
	}
	for name, c := range map[string]state.Commit{
		"bad drop":   {PatchProvenance: map[string]state.ProvenancePatch{"main": {Drop: []string{"ZZ"}}}},
		"no refs":    {PatchProvenance: map[string]state.ProvenancePatch{"main": {Set: state.HashIncidents{h1: nil}}}},
		"empty name": {PatchProvenance: map[string]state.ProvenancePatch{"": {}}},
		"both":       {Provenance: map[string]state.HashIncidents{"main": nil}, PatchProvenance: map[string]state.ProvenancePatch{"main": {}}},
	} {
		if _, err := w.Commit(c); err == nil {
			t.Errorf("%s: commit accepted", name)
		}
	}
	if got, err := s.Provenance("main", h2); err != nil || !cmp.Equal(got, []provider.IncidentRef{i3}) {
		t.Errorf("after refused patches, main %s = %v, %v", h2[:8], got, err)
	}
}

func testJournal(t *testing.T, b Backend, open func(testing.TB) state.Store) {
	s := open(t)
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	a, bi := SampleItem("main", "windows", 1), SampleItem("main", "windows", 2)
	if _, err := w.Commit(state.Commit{Put: []state.Item{bi}}); err != nil {
		t.Fatal(err)
	}
	body := a
	body.Item.ID, body.Item.Version = "", ""
	now := time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)
	entries := []state.JournalEntry{
		{Op: provider.Create, ItemID: a.Item.ItemID, Item: &body, PlanDigest: "p1", Time: now},
		{Op: provider.Update, ItemID: bi.Item.ItemID, ID: bi.Item.ID, ExpectVersion: bi.Item.Version, Item: &bi, PlanDigest: "p1", Time: now},
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
		// Write-ahead: committed before JournalBegin returns, visible to
		// any other process.
		pending, err := b.Reopen(t, s).PendingJournal()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(entries[:i+1], pending); diff != "" {
			t.Errorf("pending after begin %d (-want +got):\n%s", i, diff)
		}
	}
	if err := w.Unlock(); err != nil {
		t.Fatal(err)
	}
	s2 := b.Reopen(t, s)
	st := MustSnapshot(t, s2)
	if diff := cmp.Diff(entries, st.Pending()); diff != "" {
		t.Fatalf("pending after reopen (-want +got):\n%s", diff)
	}
	w2 := MustLock(t, s2)
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
	st = MustSnapshot(t, s2)
	if len(st.Pending()) != 0 || len(st.Journal) != 2 {
		t.Errorf("journal after reconcile: %d entries, %d pending; want 2 done, 0 pending", len(st.Journal), len(st.Pending()))
	}
	if got := st.Journal[0]; got.ResultID != a.Item.ID || got.ResultVersion != a.Item.Version || got.DoneTime.IsZero() {
		t.Errorf("done entry = %+v; want result %s/%s", got, a.Item.ID, a.Item.Version)
	}
	wantItems := map[string]state.Item{a.Item.ItemID: landed, bi.Item.ItemID: bi}
	if diff := cmp.Diff(wantItems, st.Items); diff != "" {
		t.Errorf("items after reconcile (-want +got):\n%s", diff)
	}
	if _, err := w2.Commit(state.Commit{ClearDone: true}); err != nil {
		t.Fatal(err)
	}
	if st := MustSnapshot(t, s2); len(st.Journal) != 0 {
		t.Errorf("journal after ClearDone: %+v", st.Journal)
	}
}

func testBadJournal(t *testing.T, open func(testing.TB) state.Store) {
	s := open(t)
	w := MustLock(t, s)
	it := SampleItem("main", "windows", 1)
	tests := []struct {
		name  string
		entry state.JournalEntry
		want  string
	}{
		{"unknown op", state.JournalEntry{Op: provider.Action('?'), ItemID: "x"}, "unknown op"},
		{"no-op is not a write", state.JournalEntry{Op: provider.NoOp, ItemID: "x"}, "unknown op no-op"},
		{"no item id", state.JournalEntry{Op: provider.Delete, ID: "so"}, "no item_id"},
		{"create without body", state.JournalEntry{Op: provider.Create, ItemID: "x"}, "no item body"},
		{"body for another item", state.JournalEntry{Op: provider.Create, ItemID: "x", Item: &it}, "body has item_id"},
		{"update without id", state.JournalEntry{Op: provider.Update, ItemID: it.Item.ItemID, Item: &it}, "no saved-object id"},
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

func testHistory(t *testing.T, open func(testing.TB) state.Store) {
	s := open(t)
	w := MustLock(t, s)
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

func testApplied(t *testing.T, open func(testing.TB) state.Store) {
	s := open(t)
	w := MustLock(t, s)
	for _, d := range []string{"sha256:aaa", "sha256:bbb"} {
		if _, err := w.Commit(state.Commit{AppliedDigest: d}); err != nil {
			t.Fatal(err)
		}
	}
	st := MustSnapshot(t, s)
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

func testLock(t *testing.T, b Backend, open func(testing.TB) state.Store) {
	s := open(t)
	other := b.Reopen(t, s)
	started := time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC)
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "state rm", PID: 4242, Who: "alice@laptop", Now: func() time.Time { return started }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(state.Commit{Put: []state.Item{SampleItem("main", "windows", 7)}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		timeout time.Duration
	}{{"try once", 0}, {"wait", 120 * time.Millisecond}} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := other.Lock(context.Background(), state.LockOptions{Command: "apply", Timeout: tt.timeout})
			var le *state.LockError
			if !errors.As(err, &le) {
				t.Fatalf("Lock = %v, want *state.LockError", err)
			}
			want := state.LockInfo{PID: 4242, Who: "alice@laptop", Command: "state rm", Started: started}
			if diff := cmp.Diff(want, le.Holder); diff != "" {
				t.Errorf("holder mismatch (-want +got):\n%s", diff)
			}
			if le.Waited < tt.timeout {
				t.Errorf("waited %s, less than the timeout %s", le.Waited, tt.timeout)
			}
			for _, part := range []string{"pid 4242", "alice@laptop", `"state rm"`, "2025-03-01T08:30:00Z"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not mention %q", err, part)
				}
			}
		})
	}
	t.Run("readers do not wait", func(t *testing.T) {
		st := MustSnapshot(t, other)
		if _, ok := st.Items[SampleItem("main", "windows", 7).Item.ItemID]; !ok || st.Serial != 1 {
			t.Errorf("reader during lock: serial %d items %d; want the holder's commit", st.Serial, len(st.Items))
		}
		if _, err := other.History(); err != nil {
			t.Errorf("History during lock: %v", err)
		}
		if _, err := other.Provenance("main", HashN(1, 64)); err != nil {
			t.Errorf("Provenance during lock: %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := other.Lock(ctx, state.LockOptions{Command: "apply", Timeout: time.Hour})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Lock with cancelled ctx = %v, want context.Canceled", err)
		}
	})
	t.Run("acquired once released", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			w2, err := other.Lock(context.Background(), state.LockOptions{Command: "apply", Timeout: time.Minute})
			if err == nil {
				err = w2.Unlock()
			}
			done <- err
		}()
		time.Sleep(100 * time.Millisecond)
		if err := w.Unlock(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("waiting Lock: %v", err)
		}
	})
	t.Run("writer unusable after unlock", func(t *testing.T) {
		if _, err := w.Commit(state.Commit{}); !errors.Is(err, state.ErrUnlocked) {
			t.Errorf("Commit after Unlock = %v, want ErrUnlocked", err)
		}
		if err := w.Unlock(); !errors.Is(err, state.ErrUnlocked) {
			t.Errorf("second Unlock = %v, want ErrUnlocked", err)
		}
	})
}

func testConcurrent(t *testing.T, open func(testing.TB) state.Store) {
	s := open(t)
	w := MustLock(t, s)
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			it := SampleItem("main", "linux", i)
			seq, err := w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: it.Item.ItemID, Item: &it})
			if err == nil {
				err = w.JournalDone(seq, it.Item)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	st := MustSnapshot(t, s)
	if len(st.Items) != n || len(st.Pending()) != 0 || st.Serial != 2*n {
		t.Errorf("after %d concurrent writes: %d items, %d pending, serial %d", n, len(st.Items), len(st.Pending()), st.Serial)
	}
}

// FillSample writes one of everything into s and returns its export.
func FillSample(t testing.TB, s state.Store) *state.Dump {
	t.Helper()
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unlock()
	i1 := provider.IncidentRef{ID: "7c40be00", Company: "acme", Filter: "malware", AdversaryTypes: []string{"Malware"},
		Description: "QakBot", LastContact: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), Status: "open"}
	i2 := provider.IncidentRef{ID: "8d51cf11", Company: "acme", Filter: "malware"}
	a := SampleItem("main", "windows", 1)
	if _, err := w.Commit(state.Commit{
		Put:           []state.Item{a, SampleItem("edr", "linux", 2)},
		Provenance:    map[string]state.HashIncidents{"main": {HashN(1, 64): {i1, i2}, HashN(2, 64): {i2}}, "edr": {HashN(2, 32): {i1}}},
		AppliedDigest: "sha256:abc",
		History:       &state.HistoryEntry{Time: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), Who: "a@b", Command: "apply", Outcome: state.OutcomeSuccess},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.JournalBegin(state.JournalEntry{Op: provider.Update, ItemID: a.Item.ItemID, ID: a.Item.ID, ExpectVersion: a.Item.Version,
		Item: &a, Time: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	d, err := s.(state.Exporter).Export()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// CompareDumps fails the test when two dumps differ (applied times are
// compared to the microsecond: PostgreSQL keeps no more).
func CompareDumps(t testing.TB, want, got *state.Dump) {
	t.Helper()
	opt := cmp.Comparer(func(a, b time.Time) bool { return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond)) })
	if diff := cmp.Diff(want, got, opt, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("dump mismatch (-want +got):\n%s", diff)
	}
}

func testExportReplace(t *testing.T, b Backend, open func(testing.TB) state.Store) {
	src := open(t)
	d := FillSample(t, src)
	if d.Lineage == "" || d.Serial != 2 || len(d.Items) != 2 || len(d.Provenance) != 2 || len(d.History) != 1 || len(d.Journal) != 1 || len(d.Applied) != 1 {
		t.Fatalf("export: %+v", d)
	}
	// Into an empty store: the same state, lineage and serial included.
	dst := b.New(t)
	w := MustLock(t, dst)
	if err := w.(state.Replacer).Replace(d); err != nil {
		t.Fatal(err)
	}
	got, err := dst.(state.Exporter).Export()
	if err != nil {
		t.Fatal(err)
	}
	CompareDumps(t, d, got)
	// The journal and history sequences continue after the replaced ones.
	it := SampleItem("x", "linux", 9)
	seq, err := w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: it.Item.ItemID, Item: &it})
	if err != nil || seq <= d.Journal[0].Seq {
		t.Errorf("JournalBegin after Replace = %d, %v; want > %d", seq, err, d.Journal[0].Seq)
	}
	// Over an existing state, the serial never goes back.
	serial := MustSnapshot(t, dst).Serial
	if err := w.(state.Replacer).Replace(d); err != nil {
		t.Fatal(err)
	}
	if st := MustSnapshot(t, dst); st.Serial <= serial || st.Lineage != d.Lineage || len(st.Journal) != 1 {
		t.Errorf("replace over a state: serial %d (was %d), lineage %s, %d journal entries", st.Serial, serial, st.Lineage, len(st.Journal))
	}
}
