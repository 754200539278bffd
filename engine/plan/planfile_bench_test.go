package plan

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
)

// Plan-file sizes (issue 15): the reference world's initial sync (200,000
// sha256 hashes, 20 per incident, 3 OSes) and a 1% churn of 100,000
// hashes (10 per incident, one OS: 1% of the incidents close, as many
// arrive). Each reports planfile_bytes, the size Encode writes.

// worldIncident is incident i of a synthetic world, with every field a
// Lumu incident carries.
func worldIncident(i int) provider.IncidentRef {
	return provider.IncidentRef{
		ID: fmt.Sprintf("%08x-e897-11f1-8020-9928a1e789ea", i), Company: "acme", Filter: "mal",
		AdversaryID: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), AdversaryTypes: []string{"Malware"},
		Description: fmt.Sprintf("Malware family F%d", i%97), Status: "open",
		LastContact: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
	}
}

// setWorld makes filter "mal" yield incidents [first, first+n), per hashes
// each (hash j of incident i is hashes("w<i>", per)[j]).
func setWorld(src *providertest.Source, first, n, per int) {
	ids := make([]int, n)
	for k := range ids {
		ids[k] = first + k
	}
	setWorldOf(src, ids, per)
}

// setWorldOf makes filter "mal" yield the incidents ids, per hashes each.
func setWorldOf(src *providertest.Source, ids []int, per int) {
	m := map[string]*provider.Indicator{}
	for _, i := range ids {
		ref := worldIncident(i)
		for _, h := range providertest.Hashes(fmt.Sprintf("w%d", i), per) {
			m[h] = &provider.Indicator{Hash: h, Type: provider.SHA256, Incidents: []provider.IncidentRef{ref}}
		}
	}
	src.Indicators["mal"] = m
}

func worldEnv(b *testing.B, osTypes string) *env {
	b.Helper()
	dir := b.TempDir()
	blocks := fmt.Sprintf(`
blocklist "lumu" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal]
  os_types            = %s
  max_values_per_item = 1000
  guard {
    max_delete_fraction = 1
    max_deletes         = 1000000
  }
}
`, osTypes)
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(baseConfig+blocks), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		b.Fatalf("config: %s", diags.Error())
	}
	return &env{cfg: cfg, src: providertest.NewSource(), target: providertest.NewTarget()}
}

func encodedSize(b *testing.B, p *Plan) int {
	b.Helper()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, p); err != nil {
			b.Fatal(err)
		}
	}
	return buf.Len()
}

// BenchmarkPlanFileReferenceInitial encodes the reference world's initial
// sync plan (600 creates).
func BenchmarkPlanFileReferenceInitial(b *testing.B) {
	e := worldEnv(b, `["windows", "macos", "linux"]`)
	setWorld(e.src, 0, 10_000, 20)
	p := e.planTB(b)
	b.ReportAllocs()
	b.ReportMetric(float64(encodedSize(b, p)), "planfile_bytes")
	b.ReportMetric(float64(countWrites(p)), "writes")
}

// BenchmarkPlanFileChurn1pct100k encodes the plan of a 1% churn of a
// 100,000-hash world already applied (the state knows its provenance).
func BenchmarkPlanFileChurn1pct100k(b *testing.B) {
	e := worldEnv(b, `["windows"]`)
	setWorld(e.src, 0, 10_000, 10)
	initial := e.planTB(b)
	e.applyTB(b, initial)
	recorded := initial.Blocklists[0].Provenance
	e.prior.Incidents = func(bl, h string) []provider.IncidentRef { return recorded.Lookup(h) }
	setWorld(e.src, 100, 10_000, 10) // incidents 0-99 closed, 10000-10099 new
	p := e.planTB(b)
	if p.Summary.HashesAdded != 1000 || p.Summary.HashesRemoved != 1000 {
		b.Fatalf("churn plan: %+v", p.Summary)
	}
	b.ReportAllocs()
	b.ReportMetric(float64(encodedSize(b, p)), "planfile_bytes")
	b.ReportMetric(float64(countWrites(p)), "writes")
}

// randomChurn returns incidents [0, n) with 1% of them, chosen at random
// (seeded), closed and as many new ones arriving: make bench's churn
// (cmd/lumuctl-bench), whose removals fall in many items.
func randomChurn(n int) []int {
	rng := rand.New(rand.NewPCG(15, 3))
	closed := map[int]bool{}
	for _, i := range rng.Perm(n)[:n/100] {
		closed[i] = true
	}
	var ids []int
	for i := range n + n/100 {
		if !closed[i] {
			ids = append(ids, i)
		}
	}
	return ids
}

// benchChurn plans a random 1% churn of a world of incidents incidents
// with per hashes each, already applied, on osTypes, and reports its plan
// file's size.
func benchChurn(b *testing.B, osTypes string, incidents, per int) {
	e := worldEnv(b, osTypes)
	setWorld(e.src, 0, incidents, per)
	initial := e.planTB(b)
	e.applyTB(b, initial)
	recorded := initial.Blocklists[0].Provenance
	e.prior.Incidents = func(bl, h string) []provider.IncidentRef { return recorded.Lookup(h) }
	setWorldOf(e.src, randomChurn(incidents), per)
	p := e.planTB(b)
	oses := countWrites(initial) / ((incidents*per + 999) / 1000)
	if want := incidents / 100 * per * oses; p.Summary.HashesAdded != want || p.Summary.HashesRemoved != want {
		b.Fatalf("churn plan: %+v, want %d added and removed", p.Summary, want)
	}
	b.ReportAllocs()
	b.ReportMetric(float64(encodedSize(b, p)), "planfile_bytes")
	b.ReportMetric(float64(countWrites(p)), "writes")
}

// BenchmarkPlanFileRandomChurn1pct100k is a 1% churn of 100,000 hashes
// (10 per incident, one OS) with the closed incidents chosen at random:
// 1,000 hashes removed from many items, 1,000 added (SPEC 8: <= 1 MB).
func BenchmarkPlanFileRandomChurn1pct100k(b *testing.B) {
	benchChurn(b, `["windows"]`, 10_000, 10)
}

// BenchmarkPlanFileRandomChurn1pctReference is the same on the reference
// world: 200,000 hashes (20 per incident) on three OSes.
func BenchmarkPlanFileRandomChurn1pctReference(b *testing.B) {
	benchChurn(b, `["windows", "macos", "linux"]`, 10_000, 20)
}
