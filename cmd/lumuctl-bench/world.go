package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
)

// churnWorld is a sandbox whose open Lumu incidents hold exactly a known
// set of sha256 hashes: the small scenario's own incidents are closed and
// replaced by incidents of perIncident fresh random hashes each, all open,
// active and of type Malware. Churn closes some of them and adds as many
// new ones, so it removes and adds hashes in whole incidents.
type churnWorld struct {
	sb          *sandbox.Sandbox
	rng         *rand.Rand
	perIncident int
	open        map[string][]string // incident id → its hashes
	seen        map[string]bool     // every hash ever generated
}

// newChurnWorld starts a sandbox holding hashes hashes in hashes/perIncident
// open incidents.
func newChurnWorld(ctx context.Context, seed int64, hashes, perIncident int) (*churnWorld, error) {
	if perIncident < 1 || hashes%perIncident != 0 {
		return nil, fmt.Errorf("hashes (%d) must be a multiple of hashes per incident (%d)", hashes, perIncident)
	}
	sb, err := sandbox.Start(ctx, sandbox.Options{Scenario: lumusim.ScenarioSmall, Seed: seed})
	if err != nil {
		return nil, err
	}
	w := &churnWorld{
		sb:          sb,
		rng:         rand.New(rand.NewPCG(uint64(seed), 0x62656e6368)), // "bench"
		perIncident: perIncident,
		open:        map[string][]string{},
		seen:        map[string]bool{},
	}
	for _, inc := range sb.Lumu.Incidents("") {
		if err := sb.Lumu.CloseIncident(inc.ID, "lumuctl-bench: not part of the benchmark world"); err != nil {
			sb.Close()
			return nil, err
		}
	}
	if err := w.add(hashes / perIncident); err != nil {
		sb.Close()
		return nil, err
	}
	return w, nil
}

// add adds n open incidents of perIncident new hashes each.
func (w *churnWorld) add(n int) error {
	for range n {
		hs := make([]string, 0, w.perIncident)
		for len(hs) < w.perIncident {
			var b [32]byte
			for i := 0; i < 32; i += 8 {
				v := w.rng.Uint64()
				for j := range 8 {
					b[i+j] = byte(v >> (8 * j))
				}
			}
			h := hex.EncodeToString(b[:])
			if !w.seen[h] {
				w.seen[h] = true
				hs = append(hs, h)
			}
		}
		inc, err := w.sb.Lumu.AddIncident(lumusim.NewIncident{
			AdversaryTypes: []string{"Malware"},
			Hashes:         map[lumusim.HashType][]string{lumusim.SHA256: hs},
		})
		if err != nil {
			return fmt.Errorf("add incident: %w", err)
		}
		w.open[inc.ID] = hs
	}
	return nil
}

// churn closes frac of the open incidents (chosen at random) and adds as
// many new ones. It returns the numbers of hashes removed and added.
func (w *churnWorld) churn(frac float64) (removed, added int, err error) {
	ids := make([]string, 0, len(w.open))
	for id := range w.open {
		ids = append(ids, id)
	}
	slices.Sort(ids) // map order is random; the seeded choice must not be
	k := int(frac*float64(len(ids)) + 0.5)
	for _, i := range w.rng.Perm(len(ids))[:k] {
		id := ids[i]
		if err := w.sb.Lumu.CloseIncident(id, "lumuctl-bench churn"); err != nil {
			return 0, 0, err
		}
		removed += len(w.open[id])
		delete(w.open, id)
	}
	if err := w.add(k); err != nil {
		return 0, 0, err
	}
	return removed, k * w.perIncident, nil
}

// desired returns the hashes of the open incidents, sorted.
func (w *churnWorld) desired() []string {
	var out []string
	for _, hs := range w.open {
		out = append(out, hs...)
	}
	slices.Sort(out)
	return out
}
