package pack

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// sha256s returns n distinct random sha256 digests.
func sha256s(r *rand.Rand, n int, avoid map[string]bool) []string {
	out := make([]string, 0, n)
	for len(out) < n {
		h := fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
		if !avoid[h] {
			avoid[h] = true
			out = append(out, h)
		}
	}
	return out
}

const benchHashes, benchMax = 100_000, 1000

func BenchmarkPackInitialSync100k(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	in := Input{Type: provider.SHA256, Max: benchMax, Desired: sha256s(r, benchHashes, map[string]bool{}), NewID: newID}
	var res *Result
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if res, err = Pack(in); err != nil {
			b.Fatal(err)
		}
	}
	if w := Writes(res); w != benchHashes/benchMax {
		b.Fatalf("initial sync writes %d items, want %d", w, benchHashes/benchMax)
	}
	b.ReportMetric(float64(Writes(res)), "writes")
	b.ReportMetric(float64(res.LowerBound), "bound")
}

func BenchmarkPackChurn1pct100k(b *testing.B)  { benchChurn(b, 0.01) }
func BenchmarkPackChurn10pct100k(b *testing.B) { benchChurn(b, 0.10) }

// benchChurn packs 100,000 hashes, then removes frac of them at random and
// adds as many new ones, and measures packing that change.
func benchChurn(b *testing.B, frac float64) {
	r := rand.New(rand.NewSource(2))
	seen := map[string]bool{}
	d0 := sha256s(r, benchHashes, seen)
	first, err := Pack(Input{Type: provider.SHA256, Max: benchMax, Desired: d0, NewID: newID})
	if err != nil {
		b.Fatal(err)
	}
	layout := asExisting(first)
	k := int(frac * benchHashes)
	var d1 []string
	removed := map[string]bool{}
	for _, i := range r.Perm(len(d0))[:k] {
		removed[d0[i]] = true
	}
	for _, h := range d0 {
		if !removed[h] {
			d1 = append(d1, h)
		}
	}
	d1 = append(d1, sha256s(r, k, seen)...)
	holding := 0 // items that hold a removed hash
	for _, ex := range layout {
		for _, v := range ex.Values {
			if removed[v] {
				holding++
				break
			}
		}
	}

	in := Input{Type: provider.SHA256, Max: benchMax, Existing: layout, Desired: d1, NewID: newID}
	var res *Result
	b.ReportAllocs()
	for b.Loop() {
		if res, err = Pack(in); err != nil {
			b.Fatal(err)
		}
	}
	w := Writes(res)
	if w > res.LowerBound+1 {
		b.Fatalf("%d writes, lower bound %d", w, res.LowerBound)
	}
	b.ReportMetric(float64(w), "writes")
	b.ReportMetric(float64(res.LowerBound), "bound")
	b.ReportMetric(float64(holding), "items_holding_removed")
}
