package apply

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

const churnCfg = `
variable "k" {
  type      = string
  sensitive = true
  default   = "secret"
}
company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.k
}
ioc_filter "mal" {
  company = company.acme
}
ioc_filter "other" {
  company = company.acme
}
kibana "prod" {
  url     = "https://kibana.example.com"
  api_key = var.k
}
blocklist "x" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal]
  os_types            = ["windows", "linux"]
  max_values_per_item = 20
}
blocklist "y" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal, ioc_filter.other]
  os_types            = ["windows"]
  max_values_per_item = 20
}
`

// TestProvenanceUnderChurn: rounds of random churn (hashes arriving and
// leaving, incidents changing, two blocklists sharing hashes), some applies
// failing or interrupted half way. After every complete apply that wrote
// something, the state's provenance of each blocklist is exactly the
// incidents of its desired hashes, and nothing for any other hash: a plan
// carries provenance only for what it changes, so what the state keeps for
// unchanged hashes must stay right.
func TestProvenanceUnderChurn(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(churnCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h := &harness{cfg: cfg, src: providertest.NewSource(), target: providertest.NewTarget(), store: statetest.MustOpen(t)}
	universe := providertest.Hashes("u", 120)
	rng := rand.New(rand.NewPCG(12, 15))
	// incidents[filter][hash] = incident ids (absent: not reported)
	incidents := map[string]map[string][]string{"mal": {}, "other": {}}
	set := func() {
		for f, m := range incidents {
			out := map[string]*provider.Indicator{}
			for hh, ids := range m {
				ind := &provider.Indicator{Hash: hh, Type: provider.SHA256}
				for _, id := range ids {
					ind.Incidents = append(ind.Incidents, provider.IncidentRef{ID: id, Filter: f})
				}
				out[hh] = ind
			}
			h.src.Indicators[f] = out
		}
	}
	checked := 0
	for round := range 40 {
		for _, f := range []string{"mal", "other"} {
			m := incidents[f]
			for range 15 {
				hh := universe[rng.IntN(len(universe))]
				switch rng.IntN(3) {
				case 0:
					delete(m, hh)
				case 1:
					m[hh] = []string{fmt.Sprintf("%s-%d", f, rng.IntN(4))}
				default:
					m[hh] = []string{fmt.Sprintf("%s-%d", f, rng.IntN(4)), fmt.Sprintf("%s-%d", f, 4+rng.IntN(2))}
				}
			}
		}
		set()
		p := h.plan(t, true)
		ctx, cancel := context.WithCancel(context.Background())
		fault := rng.IntN(4) // 0: a write fails, 1: interrupt, else: clean
		n := 0
		h.target.BeforeWrite = func(kind, itemID string) error {
			n++
			if n == 2 && fault == 0 {
				return fmt.Errorf("injected: %w", provider.ErrForbidden)
			}
			if n == 2 && fault == 1 {
				cancel()
			}
			return nil
		}
		w, err := h.store.Lock(context.Background(), state.LockOptions{Command: "apply"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(ctx, Options{Plan: p, Kibanas: map[string]provider.Target{"prod": h.target}, Live: LiveFromPlan(p), State: w,
			Parallelism: 1, Who: "t", Now: func() time.Time { return now }})
		w.Unlock()
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: %v", round, err)
		}
		if res == nil || res.Outcome != state.OutcomeSuccess || !p.HasChanges() {
			continue
		}
		checked++
		for _, bl := range []struct {
			name    string
			filters []string
		}{{"x", []string{"mal"}}, {"y", []string{"mal", "other"}}} {
			for _, hh := range universe {
				var want []string
				for _, f := range bl.filters {
					for _, id := range incidents[f][hh] {
						want = append(want, f+"/"+id)
					}
				}
				slices.Sort(want)
				refs, err := h.store.Provenance(bl.name, hh)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range refs {
					got = append(got, r.Filter+"/"+r.ID)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("round %d (%s), blocklist %s, hash %s: provenance %v, want %v", round, []string{"failed write", "interrupt", "clean", "clean"}[fault], bl.name, hh[:8], got, want)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d rounds checked", checked)
	}
}
