package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// SPEC section 8 targets for the reference world (10,000 incidents × 20
// sha256 on three OSes, warm cache, already applied, no change) and for
// plan files. MB is 10^6 bytes.
const (
	refWallTargetS     = 1.0
	refRSSTargetMB     = 150.0
	initialPlanTarget  = 12e6 // bytes, initial sync of the reference world
	churnPlanTarget    = 1e6  // bytes, a 1% change
	refPerIncident     = 20
	linearExponentSlop = 0.10 // "linear or better": fitted exponent ≤ 1 + this
)

// worldRow is one world of the reference shape: n sha256 hashes, 20 per
// incident, on windows, macos and linux, max_values_per_item 1000.
type worldRow struct {
	Hashes       int     `json:"hashes"`
	Incidents    int     `json:"incidents"`
	OSTypes      int     `json:"os_types"`
	Values       int     `json:"values_after_apply"`
	Items        int     `json:"items_after_apply"`
	ColdPlan     seconds `json:"cold_plan_s"`
	InitialPlan  int64   `json:"initial_plan_bytes"`
	InitialApply seconds `json:"initial_apply_s"`
	Runs         int     `json:"warm_plan_runs"`
	// Wall, CPU and RSS are the medians of the warm no-change plans.
	Wall     seconds   `json:"warm_plan_wall_s"`
	CPU      seconds   `json:"warm_plan_cpu_s"`
	RSS      float64   `json:"warm_plan_rss_mb"`
	Walls    []seconds `json:"warm_plan_walls_s"`
	RSSAll   []float64 `json:"warm_plan_rss_all_mb"`
	NoChange bool      `json:"warm_plan_no_change"`
	Summary  string    `json:"warm_plan_summary"`
	// ChurnPlan is the plan file of a 1% change (1% of the incidents
	// closed, as many new ones), measured on the reference world only.
	ChurnPlan    int64 `json:"churn_1pct_plan_bytes,omitempty"`
	ChurnRemoved int   `json:"churn_1pct_hashes_removed,omitempty"`
	ChurnAdded   int   `json:"churn_1pct_hashes_added,omitempty"`
}

// growthFit is the fitted exponent b of y = a·n^b over the growth worlds.
type growthFit struct {
	Metric   string  `json:"metric"`
	Exponent float64 `json:"exponent"`
	Ratio    float64 `json:"ratio_last_to_first"` // y(largest) / y(smallest)
	Linear   bool    `json:"linear_or_better"`
}

type growthResult struct {
	Worlds []worldRow  `json:"worlds"`
	Fits   []growthFit `json:"fits,omitempty"`
}

func refConfig() configParams {
	return configParams{
		HashTypes: []string{"sha256"}, AdversaryTypes: []string{"Malware"}, Statuses: []string{"open"},
		Days: 30, OnlyActive: true, OSTypes: []string{"windows", "macos", "linux"}, MaxValues: 1000,
	}
}

// warmRuns is how many no-change plans each world gets (their median is
// reported). At 400,000 hashes a warm plan takes about 2 s, against 30 s
// to build and apply the world, so every size gets three.
const warmRuns = 3

// refWorld is a reference-shaped world of n hashes, built and applied,
// ready for its warm no-change plans.
type refWorld struct {
	n    int
	w    *churnWorld
	ws   *workspace
	row  worldRow
	cpus []float64
}

// setupWorld builds a world of n hashes in the reference shape, saves and
// measures the initial plan and applies it. The caller closes w.sb.
func setupWorld(ctx context.Context, o options, bin, tmp string, n int) (*refWorld, error) {
	rw := &refWorld{n: n, row: worldRow{Hashes: n, Incidents: n / refPerIncident, NoChange: true}}
	row := &rw.row
	logf("world %d: building %d incidents of %d hashes", n, n/refPerIncident, refPerIncident)
	w, err := newChurnWorld(ctx, o.seed, n, refPerIncident)
	if err != nil {
		return nil, err
	}
	rw.w = w
	cfg := refConfig()
	row.OSTypes = len(cfg.OSTypes)
	if rw.ws, err = newWorkspace(ctx, bin, tmp, fmt.Sprintf("world-%d", n), w.sb.Info(), cfg); err != nil {
		return rw, err
	}
	initPlan := filepath.Join(rw.ws.dir, "initial.plan")
	logf("world %d: cold plan --out", n)
	res, err := rw.ws.run(ctx, "plan-initial", "plan", "--out", initPlan)
	if err != nil {
		return rw, err
	}
	row.ColdPlan = seconds(res.Wall)
	if row.InitialPlan, err = fileSize(initPlan); err != nil {
		return rw, err
	}
	logf("world %d: apply the initial plan (%.1f MB)", n, float64(row.InitialPlan)/1e6)
	if res, err = rw.ws.run(ctx, "apply-initial", "apply", initPlan); err != nil {
		return rw, err
	}
	row.InitialApply = seconds(res.Wall)
	for _, osName := range cfg.OSTypes {
		g := group{Namespace: benchNamespace, Blocklist: benchBlocklist, OS: osName, Type: provider.SHA256, Max: cfg.MaxValues}
		v, it, err := groupValues(g, w.sb.Kibana.Items())
		if err != nil {
			return rw, err
		}
		row.Values += v
		row.Items += it
	}
	if want := n * len(cfg.OSTypes); row.Values != want {
		return rw, fmt.Errorf("world %d: %d values in Kibana after the initial apply, want %d", n, row.Values, want)
	}
	return rw, nil
}

// warm runs one warm no-change plan (the i-th of runs) and records it.
func (rw *refWorld) warm(ctx context.Context, i, runs int) error {
	row := &rw.row
	logf("world %d: warm plan %d/%d", rw.n, i+1, runs)
	res, err := rw.ws.run(ctx, fmt.Sprintf("plan-warm-%d", i+1), "plan")
	if err != nil {
		return err
	}
	row.Runs++
	row.Walls = append(row.Walls, seconds(res.Wall))
	row.RSSAll = append(row.RSSAll, kibToMB(res.MaxRSSKiB))
	rw.cpus = append(rw.cpus, res.CPU.Seconds())
	row.Summary = planSummary(res.Stdout)
	if !strings.HasPrefix(row.Summary, "No changes") {
		row.NoChange = false
	}
	return nil
}

// finish takes the medians of the warm plans and, with churn, saves and
// measures the plan of a 1% change.
func (rw *refWorld) finish(ctx context.Context, churn bool) (worldRow, error) {
	row := rw.row
	walls := make([]float64, len(row.Walls))
	for i, s := range row.Walls {
		walls[i] = time.Duration(s).Seconds()
	}
	row.Wall = seconds(time.Duration(median(walls) * float64(time.Second)))
	row.CPU = seconds(time.Duration(median(rw.cpus) * float64(time.Second)))
	row.RSS = median(row.RSSAll)
	if churn {
		removed, added, err := rw.w.churn(0.01)
		if err != nil {
			return row, err
		}
		row.ChurnRemoved, row.ChurnAdded = removed, added
		churnPlan := filepath.Join(rw.ws.dir, "churn.plan")
		logf("world %d: plan --out after 1%% churn", rw.n)
		if _, err := rw.ws.run(ctx, "plan-churn", "plan", "--out", churnPlan); err != nil {
			return row, err
		}
		if row.ChurnPlan, err = fileSize(churnPlan); err != nil {
			return row, err
		}
	}
	return row, nil
}

// benchGrowth measures the reference world (o.refHashes, with its plan
// files) and, unless skipped, the other sizes of o.growth. Every world is
// built and applied first; then the warm plans run in rounds, one per size
// a round, smallest first, then largest first: a machine that slows down
// or speeds up during the run (a shared one does) weighs on every size
// alike instead of bending the growth fit.
func benchGrowth(ctx context.Context, o options, bin, tmp string, r *results) error {
	sizes := []int{o.refHashes}
	if !o.skip["growth"] {
		sizes = slices.Clone(o.growth)
		if !slices.Contains(sizes, o.refHashes) {
			sizes = append(sizes, o.refHashes)
		}
		slices.Sort(sizes)
	}
	g := &growthResult{}
	r.Growth = g
	var worlds []*refWorld
	defer func() {
		for _, rw := range worlds {
			rw.w.sb.Close()
		}
	}()
	for _, n := range sizes {
		rw, err := setupWorld(ctx, o, bin, tmp, n)
		if rw != nil {
			worlds = append(worlds, rw)
		}
		if err != nil {
			return err
		}
	}
	for i := range warmRuns {
		order := slices.Clone(worlds)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, rw := range order {
			if err := rw.warm(ctx, i, warmRuns); err != nil {
				return err
			}
		}
	}
	for _, rw := range worlds {
		row, err := rw.finish(ctx, rw.n == o.refHashes)
		if err != nil {
			return err
		}
		if !row.NoChange {
			r.Failed = append(r.Failed, fmt.Sprintf("world %d: the warm plan found changes (%s)", rw.n, row.Summary))
		}
		g.Worlds = append(g.Worlds, row)
	}
	if len(g.Worlds) >= 2 {
		g.Fits = fitGrowth(g.Worlds)
	}
	return nil
}

// fitGrowth fits y = a·n^b (least squares on logarithms) for the warm
// plan's wall time, CPU time and peak RSS.
func fitGrowth(rows []worldRow) []growthFit {
	var out []growthFit
	for _, m := range []struct {
		name string
		get  func(worldRow) float64
	}{
		{"wall", func(w worldRow) float64 { return time.Duration(w.Wall).Seconds() }},
		{"CPU", func(w worldRow) float64 { return time.Duration(w.CPU).Seconds() }},
		{"RSS", func(w worldRow) float64 { return w.RSS }},
	} {
		xs, ys := make([]float64, len(rows)), make([]float64, len(rows))
		for i, w := range rows {
			xs[i], ys[i] = float64(w.Hashes), m.get(w)
		}
		b := logSlope(xs, ys)
		if math.IsNaN(b) {
			continue // undefined (a zero figure): no fit, and JSON has no NaN
		}
		f := growthFit{Metric: m.name, Exponent: b, Linear: b <= 1+linearExponentSlop}
		if ys[0] > 0 {
			f.Ratio = ys[len(ys)-1] / ys[0]
		}
		out = append(out, f)
	}
	return out
}

// logSlope is the least-squares slope of log(y) against log(x); NaN when
// it is undefined (fewer than two distinct x, or a y ≤ 0).
func logSlope(xs, ys []float64) float64 {
	var sx, sy, sxx, sxy float64
	n := float64(len(xs))
	for i := range xs {
		if xs[i] <= 0 || ys[i] <= 0 {
			return math.NaN()
		}
		lx, ly := math.Log(xs[i]), math.Log(ys[i])
		sx += lx
		sy += ly
		sxx += lx * lx
		sxy += lx * ly
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return math.NaN()
	}
	return (n*sxy - sx*sy) / d
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func kibToMB(kib int64) float64 { return float64(kib) * 1024 / 1e6 }

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
