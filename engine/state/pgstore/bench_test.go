package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

// The same benchmarks as boltstore's, against the throwaway server (fsync
// off: these measure the protocol and the queries, not the disk).

func BenchmarkJournalBegin(b *testing.B) {
	s := newStore(b, cluster.FreshSchema(b), "prod")
	w := statetest.MustLock(b, s)
	it := statetest.SampleItem("main", "windows", 1)
	for b.Loop() {
		if _, err := w.JournalBegin(state.JournalEntry{Op: provider.Update, ItemID: it.Item.ItemID, ID: it.Item.ID, Item: &it}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchProvenance is n sha256 hashes from n/20 incidents, two incidents
// per hash (as boltstore's benchmark, for n = 200,000).
func benchProvenance(n int) state.HashIncidents {
	incidents := make([]provider.IncidentRef, n/20)
	for i := range incidents {
		incidents[i] = provider.IncidentRef{ID: statetest.HashN(i, 24), Company: "acme", Filter: "malware",
			AdversaryTypes: []string{"Malware"}, Description: "QakBot", Status: "open"}
	}
	p := make(state.HashIncidents, n)
	for i := range n {
		p[statetest.HashN(i, 64)] = []provider.IncidentRef{incidents[i%len(incidents)], incidents[(i*7)%len(incidents)]}
	}
	return p
}

func BenchmarkProvenanceWrite200k(b *testing.B) {
	s := newStore(b, cluster.FreshSchema(b), "prod")
	w := statetest.MustLock(b, s)
	p := benchProvenance(200000)
	for b.Loop() {
		if _, err := w.Commit(state.Commit{Provenance: map[string]state.HashIncidents{"main": p}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProvenanceLookup(b *testing.B) {
	s := newStore(b, cluster.FreshSchema(b), "prod")
	w := statetest.MustLock(b, s)
	if _, err := w.Commit(state.Commit{Provenance: map[string]state.HashIncidents{"main": benchProvenance(200000)}}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		refs, err := s.Provenance("main", statetest.HashN(i%200000, 64))
		if err != nil || len(refs) != 2 {
			b.Fatalf("lookup %d: %v, %v", i, refs, err)
		}
		i += 7919
	}
}

// BenchmarkSize100k stores 100,000 sha256 hashes (100 items of 1,000, and
// their provenance from 5,000 incidents, two per hash) and reports the rows
// and bytes it takes in PostgreSQL (pg_total_relation_size: tables,
// indexes, TOAST) and in a bbolt state file, for docs/state.md.
func BenchmarkSize100k(b *testing.B) {
	const n = 100000
	items := make([]state.Item, 0, n/1000)
	for i := range n / 1000 {
		it := statetest.SampleItem("main", "windows", i)
		vals := make([]string, 1000)
		for j := range vals {
			vals[j] = statetest.HashN(i*1000+j, 64)
		}
		it.Item.Entries[0].Value = vals
		items = append(items, it)
	}
	commit := state.Commit{Put: items, Provenance: map[string]state.HashIncidents{"main": benchProvenance(n)}}
	for b.Loop() {
		schema := cluster.FreshSchema(b)
		s := newStore(b, schema, "prod")
		w := statetest.MustLock(b, s)
		if _, err := w.Commit(commit); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rows, bytes := schemaSize(b, schema)
		b.ReportMetric(float64(rows), "pg-rows")
		b.ReportMetric(float64(bytes), "pg-bytes")
		path := filepath.Join(b.TempDir(), "state.db")
		bs := boltstore.New(path, boltstore.Options{})
		bw, err := bs.Lock(context.Background(), state.LockOptions{Command: "apply"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bw.Commit(commit); err != nil {
			b.Fatal(err)
		}
		_ = bw.Unlock()
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size()), "bolt-bytes")
		b.StartTimer()
	}
}

// schemaSize returns the live rows and the total size of every table of
// schema (after VACUUM ANALYZE, so the statistics are exact).
func schemaSize(b *testing.B, schema string) (rows, bytes int64) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cluster.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, t := range []string{"states", "items", "applied", "history", "journal", "prov_incidents", "provenance", "locks"} {
		q := pgx.Identifier{schema, t}.Sanitize()
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+q); err != nil {
			b.Fatal(err)
		}
		var r, sz int64
		if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT (SELECT count(*) FROM %s), pg_total_relation_size('%s')", q, q)).Scan(&r, &sz); err != nil {
			b.Fatal(err)
		}
		rows += r
		bytes += sz
		b.Logf("%s: %d rows, %d bytes", t, r, sz)
	}
	return rows, bytes
}
