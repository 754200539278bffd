package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"
)

// windowRow is one simulated day of the sliding window (measurement 5).
type windowRow struct {
	Day      int `json:"day"`
	Removed  int `json:"hashes_removed"`
	Added    int `json:"hashes_added"`
	Measured int `json:"measured_writes"`
	// Bound is SPEC section 8's ⌈removed/max⌉ + ⌈added/max⌉ + 2.
	Bound int `json:"bound"`
	// Sorted is how many items a layout where every item holds a slice of
	// the sorted hash space would rewrite at least: those holding a removed
	// hash (computed on the day's desired sets, not applied).
	Sorted  int `json:"sorted_layout_writes"`
	PerHash int `json:"one_item_per_hash_writes"`
	Items   int `json:"owned_items_after"`
}

// windowRun is one sliding-window variant of measurement 5.
type windowRun struct {
	Case       string      `json:"case"`
	EarlyClose float64     `json:"early_close_fraction"`
	Target     string      `json:"target"`
	Days       []windowRow `json:"days"`
	Worst      int         `json:"worst_day_writes"`
	WithinAll  bool        `json:"every_day_within_target"`
}

// windowWorld is a churnWorld whose incidents are grouped by the simulated
// day they arrived on. One day passing closes the incidents of the day that
// leaves the days-long window (ageing out: the configuration lists open
// incidents only, so a closed incident leaves exactly as an aged-out one
// does) and adds a new day's.
type windowWorld struct {
	*churnWorld
	byDay [][]string // incident ids per day
	early map[string]bool
	frac  float64
	rng   *rand.Rand
}

// newWindowWorld fills days days of perDay hashes each.
func newWindowWorld(ctx context.Context, seed int64, days, perDay, perIncident int, earlyClose float64) (*windowWorld, error) {
	cw, err := newChurnWorld(ctx, seed, 0, perIncident)
	if err != nil {
		return nil, err
	}
	w := &windowWorld{churnWorld: cw, early: map[string]bool{}, frac: earlyClose,
		rng: rand.New(rand.NewPCG(uint64(seed), 0x77696e646f77))} // "window"
	for range days {
		if len(w.byDay) > 0 {
			if _, err := w.closeEarly(); err != nil {
				cw.sb.Close()
				return nil, err
			}
		}
		if _, err := w.addDay(perDay); err != nil {
			cw.sb.Close()
			return nil, err
		}
	}
	return w, nil
}

// addDay adds one day of incidents; a fraction frac of them is marked to
// close the next day.
func (w *windowWorld) addDay(perDay int) (int, error) {
	before := make(map[string]bool, len(w.open))
	for id := range w.open {
		before[id] = true
	}
	if err := w.add(perDay / w.perIncident); err != nil {
		return 0, err
	}
	var ids []string
	for id := range w.open {
		if !before[id] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		if w.rng.Float64() < w.frac {
			w.early[id] = true
		}
	}
	w.byDay = append(w.byDay, ids)
	// Incidents of one day share a lastContact millisecond at most with
	// their own day: lumuctl orders arrivals by lastContact, and real days
	// are hours apart.
	time.Sleep(2 * time.Millisecond)
	return len(ids) * w.perIncident, nil
}

// closeIDs closes the still open incidents among ids and returns the
// hashes they held.
func (w *windowWorld) closeIDs(ids []string) (removed int, err error) {
	for _, id := range ids {
		if _, open := w.open[id]; !open {
			continue
		}
		if err := w.sb.Lumu.CloseIncident(id, "lumuctl-bench sliding window"); err != nil {
			return removed, err
		}
		removed += len(w.open[id])
		delete(w.open, id)
	}
	return removed, nil
}

// closeEarly closes the newest day's incidents marked to close early.
func (w *windowWorld) closeEarly() (int, error) {
	var early []string
	for _, id := range w.byDay[len(w.byDay)-1] {
		if w.early[id] {
			early = append(early, id)
		}
	}
	return w.closeIDs(early)
}

// pass makes one day pass: the oldest day's incidents close, yesterday's
// early closers close, and a new day arrives. It returns the hashes removed
// and added.
func (w *windowWorld) pass(perDay int) (removed, added int, err error) {
	aged, err := w.closeIDs(w.byDay[0])
	if err != nil {
		return 0, 0, err
	}
	w.byDay = w.byDay[1:]
	early, err := w.closeEarly()
	if err != nil {
		return 0, 0, err
	}
	added, err = w.addDay(perDay)
	return aged + early, added, err
}

// sortedLayoutWrites is the number of items of the sorted layout of before
// (max values each, in hash order) that hold a hash not in after.
func sortedLayoutWrites(before, after []string, maxVals int) int {
	in := make(map[string]bool, len(after))
	for _, h := range after {
		in[h] = true
	}
	sorted := slices.Clone(before)
	slices.Sort(sorted)
	n := 0
	for i := 0; i < len(sorted); i += maxVals {
		for _, h := range sorted[i:min(i+maxVals, len(sorted))] {
			if !in[h] {
				n++
				break
			}
		}
	}
	return n
}

// benchWindow is measurement 5: SPEC section 8's sliding window. A world of
// hashes/30 hashes a day over 30 days is applied once; then o.windowDays
// days pass, each applied with `apply --auto-approve`, counting item writes
// at the Kibana stand-in. It runs twice: ageing only, and with 20% of each
// day's arrivals closing the next day.
func benchWindow(ctx context.Context, o options, bin, tmp string, r *results) error {
	const days = 30
	perDay := o.hashes / days / o.perIncident * o.perIncident
	g := churnGroup(o)
	for _, v := range []struct {
		name  string
		early float64
		slack int
	}{
		{"ageing only", 0, 2},
		{"20% close the next day", 0.2, 4},
	} {
		logf("window: %s: building %d days of %d hashes", v.name, days, perDay)
		w, err := newWindowWorld(ctx, o.seed, days, perDay, o.perIncident, v.early)
		if err != nil {
			return err
		}
		err = func() error {
			defer w.sb.Close()
			ws, err := newWorkspace(ctx, bin, tmp, "window-"+strings.ReplaceAll(strings.Fields(v.name)[0], "%", "pct"), w.sb.Info(), churnConfig(o))
			if err != nil {
				return err
			}
			if _, err := ws.run(ctx, "apply-initial", "apply", "--auto-approve"); err != nil {
				return err
			}
			run := windowRun{Case: v.name, EarlyClose: v.early, WithinAll: true,
				Target: fmt.Sprintf("⌈removed/max⌉ + ⌈added/max⌉ + %d", v.slack)}
			for day := 1; day <= o.windowDays; day++ {
				before := w.desired()
				removed, added, err := w.pass(perDay)
				if err != nil {
					return err
				}
				w.sb.Kibana.ResetCounters()
				if _, err := ws.run(ctx, fmt.Sprintf("apply-day-%d", day), "apply", "--auto-approve"); err != nil {
					return err
				}
				after := w.desired()
				values, items, err := groupValues(g, w.sb.Kibana.Items())
				if err != nil {
					return err
				}
				if values != len(after) {
					r.Failed = append(r.Failed, fmt.Sprintf("window %s day %d: %d values in Kibana, want %d", v.name, day, values, len(after)))
				}
				row := windowRow{
					Day: day, Removed: removed, Added: added, Measured: w.sb.Kibana.Counters().Writes(),
					Bound:   ceilDiv(removed, g.Max) + ceilDiv(added, g.Max) + v.slack,
					Sorted:  sortedLayoutWrites(before, after, g.Max),
					PerHash: perHashWrites(removed, added), Items: items,
				}
				if row.Measured > row.Bound {
					run.WithinAll = false
					r.Failed = append(r.Failed, fmt.Sprintf("window %s day %d: %d writes > %d", v.name, day, row.Measured, row.Bound))
				}
				run.Worst = max(run.Worst, row.Measured)
				run.Days = append(run.Days, row)
				logf("window: %s: day %d: -%d +%d hashes, %d writes (bound %d)", v.name, day, removed, added, row.Measured, row.Bound)
			}
			r.Window = append(r.Window, run)
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
