package plan

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
)

// benchBlocklist is one blocklist over the "mal" filter on every OS, as
// the default os_types give.
const benchBlocklist = `
blocklist "lumu" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal]
  os_types            = ["windows", "macos", "linux"]
  max_values_per_item = 1000
}
`

// benchEnv is an initial sync of n sha256 hashes (no incidents attached:
// provenance is measured end to end by cmd/lumuctl-bench).
func benchEnv(b *testing.B, n int) Options {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(baseConfig+benchBlocklist), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		b.Fatalf("config: %s", diags.Error())
	}
	src := providertest.NewSource()
	src.Set("mal", provider.SHA256, hashes("bench", n)...)
	return Options{Config: cfg, Source: src, Kibanas: map[string]provider.Target{"prod": providertest.NewTarget()}, Now: testNow, ToolVersion: "bench"}
}

func countWrites(p *Plan) int {
	n := 0
	for _, bp := range p.Blocklists {
		n += len(bp.Changes)
	}
	return n
}

// BenchmarkMakeInitial200k plans an initial sync of 200,000 hashes on three
// OSes (600 item creates).
func BenchmarkMakeInitial200k(b *testing.B) {
	opts := benchEnv(b, 200_000)
	var p *Plan
	b.ReportAllocs()
	for b.Loop() {
		var diags hcl.Diagnostics
		if p, diags = Make(context.Background(), opts); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
	if w := countWrites(p); w != 600 {
		b.Fatalf("planned %d writes, want 600", w)
	}
	b.ReportMetric(float64(countWrites(p)), "writes")
}

// BenchmarkEncode200k encodes the plan of BenchmarkMakeInitial200k into a
// plan file and reports its size.
func BenchmarkEncode200k(b *testing.B) {
	opts := benchEnv(b, 200_000)
	p, diags := Make(context.Background(), opts)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "planfile_bytes")
}

// BenchmarkMakeWarm200k plans again after the initial sync of
// BenchmarkMakeInitial200k was applied (the state records the items): the
// everyday no-change plan, on three OSes.
func BenchmarkMakeWarm200k(b *testing.B) {
	opts := benchEnv(b, 200_000)
	p, diags := Make(context.Background(), opts)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	target := opts.Kibanas["prod"].(*providertest.Target)
	items := map[string]provider.Item{}
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			it, err := target.Create(context.Background(), *c.After)
			if err != nil {
				b.Fatal(err)
			}
			items[it.ItemID] = it
		}
	}
	opts.Prior = Prior{Lineage: "bench", Serial: 1, Items: items}
	b.ReportAllocs()
	for b.Loop() {
		if p, diags = Make(context.Background(), opts); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
	if w := countWrites(p); w != 0 {
		b.Fatalf("planned %d writes, want 0", w)
	}
}

// BenchmarkMakeWarmGrowth is BenchmarkMakeWarm200k at 25k to 400k hashes:
// ns/op, B/op and allocs/op divided by n should stay flat (linear growth).
func BenchmarkMakeWarmGrowth(b *testing.B) {
	for _, n := range []int{25_000, 100_000, 400_000} {
		b.Run(fmt.Sprintf("hashes=%d", n), func(b *testing.B) {
			opts := benchEnv(b, n)
			p, diags := Make(context.Background(), opts)
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			target := opts.Kibanas["prod"].(*providertest.Target)
			items := map[string]provider.Item{}
			for _, bp := range p.Blocklists {
				for _, c := range bp.Changes {
					it, err := target.Create(context.Background(), *c.After)
					if err != nil {
						b.Fatal(err)
					}
					items[it.ItemID] = it
				}
			}
			opts.Prior = Prior{Lineage: "bench", Serial: 1, Items: items}
			b.ReportAllocs()
			for b.Loop() {
				if p, diags = Make(context.Background(), opts); diags.HasErrors() {
					b.Fatal(diags)
				}
			}
			if w := countWrites(p); w != 0 {
				b.Fatalf("planned %d writes, want 0", w)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/hash")
		})
	}
}
