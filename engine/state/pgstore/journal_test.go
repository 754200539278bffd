package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/pgstore"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

// bigItem is an owned item of n values, as apply writes them.
func bigItem(i, n int) state.Item {
	it := statetest.SampleItem("main", "windows", i)
	vals := make([]string, n)
	for j := range vals {
		vals[j] = statetest.HashN(i*n+j, 64)
	}
	it.Item.Entries[0].Value = vals
	return it
}

// Each write of an apply costs the state two round trips, whatever the
// item holds: JournalBegin one (one statement), JournalDone one; a
// JournalClear one. A Commit's round trips do not grow with the items it
// stores or the journal entries it clears. (Counts of a session whose
// statements are prepared: the first use of a statement adds its Parse.)
func TestWriteRoundTrips(t *testing.T) {
	s := newStore(t, cluster.FreshSchema(t), "prod")
	rt := pgstore.CountRoundTrips(s)
	w := statetest.MustLock(t, s)
	measure := func(name string, want int, op func() error) {
		t.Helper()
		before := rt.N()
		if err := op(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := rt.N() - before; got != want && want >= 0 {
			t.Errorf("%s: %d round trips, want %d", name, got, want)
		}
	}
	write := func(i int, wantBegin, wantDone int) {
		t.Helper()
		it := bigItem(i, 1000)
		body := it
		body.Item.ID, body.Item.Version = "", ""
		var seq uint64
		measure(fmt.Sprintf("JournalBegin %d", i), wantBegin, func() (err error) {
			seq, err = w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: it.Item.ItemID, Item: &body})
			return err
		})
		measure(fmt.Sprintf("JournalDone %d", i), wantDone, func() error { return w.JournalDone(seq, it.Item) })
	}
	// The writer's first transaction creates the states row; its
	// statements are prepared on first use.
	write(0, -1, -1)
	for i := 1; i <= 20; i++ {
		write(i, 1, 1)
	}
	it := bigItem(99, 10)
	seq, err := w.JournalBegin(state.JournalEntry{Op: provider.Update, ItemID: it.Item.ItemID, ID: it.Item.ID, ExpectVersion: it.Item.Version, Item: &it})
	if err != nil {
		t.Fatal(err)
	}
	measure("JournalClear (first)", -1, func() error { return w.JournalClear(seq) })
	if seq, err = w.JournalBegin(state.JournalEntry{Op: provider.Update, ItemID: it.Item.ItemID, ID: it.Item.ID, ExpectVersion: it.Item.Version, Item: &it}); err != nil {
		t.Fatal(err)
	}
	measure("JournalClear", 1, func() error { return w.JournalClear(seq) })

	// Commit: the same round trips for 21 done entries and 1 item as for
	// 1 done entry and 50 items.
	commit := func(put int) state.Commit {
		c := state.Commit{ClearDone: true, History: &state.HistoryEntry{Command: "apply", Outcome: state.OutcomeSuccess}}
		for i := range put {
			c.Put = append(c.Put, bigItem(200+i, 100))
		}
		return c
	}
	measure("Commit (first)", -1, func() error { _, err := w.Commit(commit(1)); return err })
	write(300, 1, 1)
	before := rt.N()
	if _, err := w.Commit(commit(1)); err != nil {
		t.Fatal(err)
	}
	small := rt.N() - before
	for i := 301; i <= 320; i++ {
		write(i, 1, 1)
	}
	measure("Commit of 20 done entries and 50 items", small, func() error { _, err := w.Commit(commit(50)); return err })

	st := statetest.MustSnapshot(t, s)
	if len(st.Journal) != 0 || len(st.Items) != 21+1+20+50 {
		t.Errorf("after the commits: %d journal entries, %d items", len(st.Journal), len(st.Items))
	}
}

// What JournalBegin and JournalDone of one writer store is what reading it
// back gives: the entry as journaled, then marked done with Kibana's
// result; the item as Kibana returned it; a later change of the caller's
// item does not change what JournalDone records.
func TestJournalDoneRecordsWhatWasJournaled(t *testing.T) {
	s := newStore(t, cluster.FreshSchema(t), "prod")
	w := statetest.MustLock(t, s)
	create, upd := bigItem(1, 5), bigItem(2, 5)
	if _, err := w.Commit(state.Commit{Put: []state.Item{upd}}); err != nil {
		t.Fatal(err)
	}
	body := create
	body.Item.ID, body.Item.Version = "", ""
	now := time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)
	e1 := state.JournalEntry{Op: provider.Create, ItemID: create.Item.ItemID, Item: &body, PlanDigest: "p1", Time: now}
	s1, err := w.JournalBegin(e1)
	if err != nil {
		t.Fatal(err)
	}
	// The caller reuses its item after JournalBegin.
	journaled := body
	journaled.Item.Entries = []provider.Entry{{Field: "file.hash.sha256", Type: "match_any", Operator: "included",
		Value: append([]string(nil), body.Item.Entries[0].Value...)}}
	body.Item.Entries[0].Value[0] = statetest.HashN(999, 64)
	body.Item.Name = "changed"
	upd2 := upd
	upd2.Item.Name = "renamed"
	e2 := state.JournalEntry{Op: provider.Update, ItemID: upd.Item.ItemID, ID: upd.Item.ID, ExpectVersion: upd.Item.Version, Item: &upd2, Time: now}
	s2, err := w.JournalBegin(e2)
	if err != nil {
		t.Fatal(err)
	}
	e3 := state.JournalEntry{Op: provider.Delete, ItemID: "lumuctl-prod-main-windows-sha256-0009", ID: "so-9", ExpectVersion: "WzUsMV0=", Time: now}
	s3, err := w.JournalBegin(e3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(state.Commit{Put: []state.Item{statetest.SampleItem("main", "windows", 9)}}); err != nil {
		t.Fatal(err)
	}
	landed := journaled.Item
	landed.ID, landed.Version = "so-new", "WzksMV0="
	if err := w.JournalDone(s1, landed); err != nil {
		t.Fatal(err)
	}
	// Only the identity came back: the journaled body is kept.
	if err := w.JournalDone(s2, provider.Item{ID: upd.Item.ID, Version: "WzEwLDFd"}); err != nil {
		t.Fatal(err)
	}
	if err := w.JournalDone(s3, provider.Item{}); err != nil {
		t.Fatal(err)
	}
	// Done twice: the second reads the entry back and marks it again, as
	// for an entry of an earlier run.
	if err := w.JournalDone(s1, landed); err != nil {
		t.Errorf("second JournalDone: %v", err)
	}
	st := statetest.MustSnapshot(t, s)
	wantCreate := journaled
	wantCreate.Item = landed
	wantUpd := upd2
	wantUpd.Item.Version = "WzEwLDFd"
	want := map[string]state.Item{create.Item.ItemID: wantCreate, upd.Item.ItemID: wantUpd}
	if diff := cmp.Diff(want, st.Items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if len(st.Journal) != 3 || len(st.Pending()) != 0 {
		t.Fatalf("journal: %+v", st.Journal)
	}
	e1.Seq, e1.Done, e1.Item, e1.ResultID, e1.ResultVersion = s1, true, &journaled, "so-new", "WzksMV0="
	e2.Seq, e2.Done, e2.ResultID, e2.ResultVersion = s2, true, upd.Item.ID, "WzEwLDFd"
	e3.Seq, e3.Done = s3, true
	want3 := []state.JournalEntry{e1, e2, e3}
	for i, got := range st.Journal {
		if got.DoneTime.Before(now) {
			t.Errorf("journal entry %d done at %v", got.Seq, got.DoneTime)
		}
		want3[i].DoneTime = got.DoneTime
	}
	if diff := cmp.Diff(want3, st.Journal); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
}

// JournalDone and ClearDone act on a row without reading it only while it
// is the version the writer wrote. A row changed behind its back (by hand,
// by a restore) is read and checked as before: a same-content rewrite is
// marked done, a damaged one is a CorruptError, a deleted one
// ErrNoJournalEntry, and those two change nothing; an entry set back to
// pending is not cleared.
func TestJournalRowChangedBehindTheWriter(t *testing.T) {
	schema := cluster.FreshSchema(t)
	s := newStore(t, schema, "prod")
	w := statetest.MustLock(t, s)
	begin := func(n int) (uint64, state.Item) {
		t.Helper()
		it := statetest.SampleItem("main", "linux", n)
		seq, err := w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: it.Item.ItemID, Item: &it})
		if err != nil {
			t.Fatal(err)
		}
		return seq, it
	}
	rewrite := func(seq uint64) {
		cluster.Exec(t, fmt.Sprintf(`UPDATE %s.journal SET body = body WHERE seq = $1`, schema), int64(seq))
	}
	s1, it1 := begin(1)
	s2, it2 := begin(2)
	s3, it3 := begin(3)
	rewrite(s1)
	cluster.Exec(t, fmt.Sprintf(`DELETE FROM %s.journal WHERE seq = $1`, schema), int64(s3))
	cluster.Exec(t, fmt.Sprintf(`UPDATE %s.journal SET body = 'not json' WHERE seq = $1`, schema), int64(s2))
	serial := func() string {
		return cluster.QueryText(t, fmt.Sprintf(`SELECT serial::text FROM %s.states`, schema))
	}
	items := func() string {
		return cluster.QueryText(t, fmt.Sprintf(`SELECT string_agg(item_id, ',' ORDER BY item_id) FROM %s.items`, schema))
	}

	before := serial()
	if err := w.JournalDone(s1, it1.Item); err != nil {
		t.Errorf("JournalDone of a rewritten row: %v", err)
	}
	if got := serial(); got == before {
		t.Errorf("serial %s after JournalDone, want it bumped", got)
	}
	before = serial()
	var ce *state.CorruptError
	if err := w.JournalDone(s2, it2.Item); !errors.As(err, &ce) {
		t.Errorf("JournalDone of a damaged row = %v, want a CorruptError", err)
	}
	if err := w.JournalDone(s3, it3.Item); !errors.Is(err, state.ErrNoJournalEntry) {
		t.Errorf("JournalDone of a deleted row = %v, want ErrNoJournalEntry", err)
	}
	if got := serial(); got != before {
		t.Errorf("serial %s after the refused JournalDones, want %s", got, before)
	}
	if got := items(); got != it1.Item.ItemID {
		t.Errorf("items: %s; want only %s", got, it1.Item.ItemID)
	}
	if _, err := w.Commit(state.Commit{ClearDone: true}); !errors.As(err, &ce) {
		t.Errorf("ClearDone with a damaged row = %v, want a CorruptError", err)
	}
	if got := cluster.QueryText(t, fmt.Sprintf(`SELECT count(*)::text FROM %s.journal`, schema)); got != "2" {
		t.Errorf("%s journal rows after the refused ClearDone, want 2", got)
	}
	if err := w.JournalClear(s2); err != nil {
		t.Fatal(err)
	}

	// Done by this writer, then set back to its pending body by hand: not
	// cleared. Done and untouched: cleared.
	s4, it4 := begin(4)
	pending := cluster.QueryText(t, fmt.Sprintf(`SELECT body FROM %s.journal WHERE seq = %d`, schema, s4))
	if err := w.JournalDone(s4, it4.Item); err != nil {
		t.Fatal(err)
	}
	cluster.Exec(t, fmt.Sprintf(`UPDATE %s.journal SET body = $1 WHERE seq = $2`, schema), pending, int64(s4))
	s5, it5 := begin(5)
	if err := w.JournalDone(s5, it5.Item); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(state.Commit{ClearDone: true}); err != nil {
		t.Fatal(err)
	}
	st := statetest.MustSnapshot(t, s)
	if p := st.Pending(); len(st.Journal) != 1 || len(p) != 1 || p[0].Seq != s4 {
		t.Errorf("journal after ClearDone: %+v; want only %d, pending", st.Journal, s4)
	}
}

// The writer's session compresses what it writes with lz4 when the server
// has it (pglz took three times the server's CPU for the same size).
func TestWriterCompressesWithLZ4(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `SET default_toast_compression = 'lz4'`)
	conn.Close(ctx)
	if err != nil {
		t.Skipf("the test server has no lz4: %v", err)
	}
	schema := cluster.FreshSchema(t)
	s := newStore(t, schema, "prod")
	w := statetest.MustLock(t, s)
	it := bigItem(1, 1000)
	seq, err := w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: it.Item.ItemID, Item: &it})
	if err != nil {
		t.Fatal(err)
	}
	if got := cluster.QueryText(t, fmt.Sprintf(`SELECT pg_column_compression(body) FROM %s.journal`, schema)); got != "lz4" {
		t.Errorf("journal entry compressed with %q, want lz4", got)
	}
	if err := w.JournalDone(seq, it.Item); err != nil {
		t.Fatal(err)
	}
	if got := cluster.QueryText(t, fmt.Sprintf(`SELECT pg_column_compression(body) FROM %s.items`, schema)); got != "lz4" {
		t.Errorf("item compressed with %q, want lz4", got)
	}
}
