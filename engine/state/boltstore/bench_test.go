package boltstore_test

import (
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

// BenchmarkJournalBegin measures one write-ahead record: open the file
// read-write, one fsynced transaction, close. This is the cost added before
// every Kibana write.
func BenchmarkJournalBegin(b *testing.B) {
	s := statetest.MustOpen(b)
	w := mustLock(b, s)
	it := sampleItem("main", "windows", 1)
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.JournalBegin(state.JournalEntry{Op: provider.Update, ItemID: it.Item.ItemID, ID: it.Item.ID, Item: &it}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchProvenance is 200,000 sha256 hashes from 10,000 incidents, two
// incidents per hash.
func benchProvenance() state.HashIncidents {
	incidents := make([]provider.IncidentRef, 10000)
	for i := range incidents {
		incidents[i] = provider.IncidentRef{ID: hashN(i, 24), Company: "acme", Filter: "malware",
			AdversaryTypes: []string{"Malware"}, Description: "QakBot", Status: "open"}
	}
	p := make(state.HashIncidents, 200000)
	for i := range 200000 {
		p[hashN(i, 64)] = []provider.IncidentRef{incidents[i%10000], incidents[(i*7)%10000]}
	}
	return p
}

func BenchmarkProvenanceWrite200k(b *testing.B) {
	s := statetest.MustOpen(b)
	w := mustLock(b, s)
	p := benchProvenance()
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.Commit(state.Commit{Provenance: map[string]state.HashIncidents{"main": p}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProvenanceLookup is one why HASH lookup in a 200,000-hash
// blocklist, including the read-only open and close of the file.
func BenchmarkProvenanceLookup(b *testing.B) {
	s := statetest.MustOpen(b)
	w := mustLock(b, s)
	if _, err := w.Commit(state.Commit{Provenance: map[string]state.HashIncidents{"main": benchProvenance()}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		refs, err := s.Provenance("main", hashN(i%200000, 64))
		if err != nil || len(refs) != 2 {
			b.Fatalf("lookup %d: %v, %v", i, refs, err)
		}
		i += 7919
	}
}
