package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// SPEC section 8 targets for planning the large scenario.
const (
	wallTargetS = 5.0
	rssTargetMB = 300.0
)

type options struct {
	out         string
	seed        int64
	hashes      int
	perIncident int
	maxValues   int
	k           int
	windowDays  int
	latency     time.Duration
	parallelism []int
	skip        map[string]bool
	keep        bool
	refHashes   int
	growth      []int
	quotaEvery  []time.Duration
	quotaPerDay int
	quotaPerMin int
}

// measurements are the names -skip takes, in the order they run.
var measurements = []string{"writes", "reference", "growth", "crash", "quota", "large", "apply", "window", "backend"}

func main() {
	if report := os.Getenv(launchEnv); report != "" {
		os.Exit(launch(report, os.Args[1:]))
	}
	var o options
	var par, skip, growth, quotaEvery string
	flag.StringVar(&o.out, "out", "docs/bench/results.json", "write every figure to `FILE` as JSON (empty: don't)")
	flag.Int64Var(&o.seed, "seed", 1, "seed of the sandbox scenarios and of the generated hashes")
	flag.IntVar(&o.hashes, "hashes", 100_000, "hashes of the initial sync (measurements 1 and 4)")
	flag.IntVar(&o.perIncident, "per-incident", 10, "hashes per incident in the churn world (churn closes and adds whole incidents)")
	flag.IntVar(&o.maxValues, "max-values", 1000, "max_values_per_item of the churn blocklist")
	flag.IntVar(&o.windowDays, "window-days", 40, "simulated days of the sliding window (measurement 5)")
	flag.IntVar(&o.k, "k", 10, "incidents touched (new contact) before the K-changed plan")
	flag.DurationVar(&o.latency, "latency", time.Second, "Kibana stand-in latency per POST items for measurement 4")
	flag.StringVar(&par, "parallelism", "1,4,8", "comma-separated --parallelism values for measurement 4")
	flag.StringVar(&skip, "skip", "", "comma-separated measurements to skip: "+strings.Join(measurements, ", ")+" (growth: the sizes other than -ref-hashes)")
	flag.IntVar(&o.refHashes, "ref-hashes", 200_000, "hashes of the reference world (20 per incident, three OSes), a multiple of 20")
	flag.StringVar(&growth, "growth", "25000,50000,100000,200000,400000", "comma-separated world sizes (hashes, multiples of 20) of the growth table")
	flag.StringVar(&quotaEvery, "quota-every", "24h,30m", "comma-separated simulated intervals between the runs of the quota cold start, one cold start each")
	flag.IntVar(&o.quotaPerDay, "quota-per-day", 10_000, "requests_per_day of the quota cold start")
	flag.IntVar(&o.quotaPerMin, "quota-per-minute", 50, "requests_per_minute of the quota cold start (lumuctl's budget and the Lumu stand-in's limit)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (workspaces, state, cache, plan outputs) and print its path")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./cmd/lumuctl-bench [flags]   (from the module root)\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	for _, f := range strings.Split(par, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "lumuctl-bench: -parallelism: %q is not a whole number >= 1\n", f)
			os.Exit(2)
		}
		o.parallelism = append(o.parallelism, n)
	}
	for _, f := range strings.Split(growth, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < refPerIncident || n%refPerIncident != 0 {
			fmt.Fprintf(os.Stderr, "lumuctl-bench: -growth: %q is not a positive multiple of %d\n", f, refPerIncident)
			os.Exit(2)
		}
		o.growth = append(o.growth, n)
	}
	for _, f := range strings.Split(quotaEvery, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			fmt.Fprintf(os.Stderr, "lumuctl-bench: -quota-every: %q is not a positive duration\n", f)
			os.Exit(2)
		}
		o.quotaEvery = append(o.quotaEvery, d)
	}
	o.skip = map[string]bool{}
	for _, s := range strings.Split(skip, ",") {
		switch s = strings.TrimSpace(s); {
		case s == "":
		case slices.Contains(measurements, s):
			o.skip[s] = true
		default:
			fmt.Fprintf(os.Stderr, "lumuctl-bench: -skip: unknown measurement %q (want %s)\n", s, strings.Join(measurements, ", "))
			os.Exit(2)
		}
	}
	if o.refHashes < refPerIncident || o.refHashes%refPerIncident != 0 || o.quotaPerDay < 20 || o.quotaPerMin < 1 {
		fmt.Fprintf(os.Stderr, "lumuctl-bench: need -ref-hashes a positive multiple of %d, -quota-per-day >= 20, -quota-per-minute >= 1\n", refPerIncident)
		os.Exit(2)
	}
	if o.hashes < 1 || o.perIncident < 1 || o.hashes%o.perIncident != 0 || o.maxValues < 1 || o.maxValues > 2000 || o.k < 0 || o.latency < 0 || o.windowDays < 1 || o.hashes/30 < o.perIncident {
		fmt.Fprintln(os.Stderr, "lumuctl-bench: need -hashes a positive multiple of -per-incident, -max-values 1..2000, -k >= 0, -latency >= 0, -window-days >= 1, -hashes >= 30 × -per-incident")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := run(ctx, o)
	if r != nil {
		printTable(os.Stdout, r)
		if o.out != "" {
			if werr := writeJSON(o.out, r); werr != nil {
				err = errors.Join(err, werr)
			} else {
				fmt.Printf("wrote %s\n", o.out)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lumuctl-bench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (*results, error) {
	start := time.Now()
	r := &results{Machine: newMachine(), Params: params{
		Seed: o.seed, Hashes: o.hashes, HashesPerIncident: o.perIncident, MaxValuesPerItem: o.maxValues,
		Churn: []int{1, 10}, K: o.k, LatencyMS: o.latency.Milliseconds(), Parallelism: o.parallelism,
		LargeConfig: "hash_types sha256, sha1, md5; all 9 adversary types; statuses open, closed; days 30; only_active true; os_types windows, macos, linux; max_values_per_item 1000",
		WallTargetS: wallTargetS, RSSTargetMB: rssTargetMB,
	}}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		r.Machine.Commit = strings.TrimSpace(string(out))
	}
	tmp, err := os.MkdirTemp("", "lumuctl-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	logf("building lumuctl")
	bin, err := buildLumuctl(ctx, tmp)
	if err != nil {
		return nil, err
	}
	finish := func(err error) (*results, error) {
		r.Machine.LoadEnd = loadAvg()
		r.Elapsed = seconds(time.Since(start))
		r.Summary = buildSummary(r)
		return r, err
	}
	// A measurement that fails is reported and the others still run: one
	// broken measurement must not cost the figures of the rest.
	var errs []error
	for _, m := range []struct {
		name, what string
		run        func() error
	}{
		{"writes", "kibana writes", func() error { return benchWrites(ctx, o, bin, tmp, r) }},
		{"reference", "reference world and growth", func() error { return benchGrowth(ctx, o, bin, tmp, r) }},
		{"crash", "crash recovery", func() error { return benchCrash(ctx, o, bin, tmp, r) }},
		{"quota", "quota cold start", func() error { return benchQuota(ctx, o, tmp, r) }},
		{"large", "large plan", func() error { return benchLarge(ctx, o, bin, tmp, r) }},
		{"apply", "apply with latency", func() error { return benchApply(ctx, o, bin, tmp, r) }},
		{"window", "sliding window", func() error { return benchWindow(ctx, o, bin, tmp, r) }},
		{"backend", "state backends", func() error { return benchBackend(ctx, o, bin, tmp, r) }},
	} {
		if o.skip[m.name] {
			continue
		}
		if err := m.run(); err != nil {
			logf("%s failed: %v", m.what, err)
			errs = append(errs, fmt.Errorf("%s: %w", m.what, err))
			r.Failed = append(r.Failed, fmt.Sprintf("%s did not complete: %v", m.what, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return finish(errors.Join(errs...))
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s lumuctl-bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func churnConfig(o options) configParams {
	return configParams{
		HashTypes: []string{"sha256"}, AdversaryTypes: []string{"Malware"}, Statuses: []string{"open"},
		Days: 30, OnlyActive: true, OSTypes: []string{"windows"}, MaxValues: o.maxValues,
	}
}

func churnGroup(o options) group {
	return group{Namespace: benchNamespace, Blocklist: benchBlocklist, OS: "windows", Type: provider.SHA256, Max: o.maxValues}
}

// benchWrites is measurement 1: initial sync, then 1% and 10% churn, each
// applied with `apply --auto-approve`.
func benchWrites(ctx context.Context, o options, bin, tmp string, r *results) error {
	logf("writes: building a world of %d hashes", o.hashes)
	w, err := newChurnWorld(ctx, o.seed, o.hashes, o.perIncident)
	if err != nil {
		return err
	}
	defer w.sb.Close()
	ws, err := newWorkspace(ctx, bin, tmp, "writes", w.sb.Info(), churnConfig(o))
	if err != nil {
		return err
	}
	g := churnGroup(o)
	step := func(name string, removed, added, perHash int) error {
		desired := w.desired()
		lb, err := lowerBound(g, w.sb.Kibana.Items(), desired)
		if err != nil {
			return err
		}
		// The plan file of the change, saved by a plan just before the
		// apply (same world, same state): what `plan --out` writes.
		planFile := filepath.Join(ws.dir, strings.ReplaceAll(name, " ", "-")+".plan")
		logf("writes: %s: plan --out", name)
		if _, err := ws.run(ctx, "plan-"+strings.ReplaceAll(name, " ", "-"), "plan", "--out", planFile); err != nil {
			return err
		}
		planBytes, err := fileSize(planFile)
		if err != nil {
			return err
		}
		w.sb.Kibana.ResetCounters()
		logf("writes: %s: apply", name)
		res, err := ws.run(ctx, "apply-"+strings.ReplaceAll(name, " ", "-"), "apply", "--auto-approve", "--json")
		if err != nil {
			return err
		}
		measured := w.sb.Kibana.Counters().Writes()
		ac, err := readApplyComplete(res.Stdout)
		if err != nil {
			return err
		}
		values, items, err := groupValues(g, w.sb.Kibana.Items())
		if err != nil {
			return err
		}
		row := writeRow{
			Case: name, Removed: removed, Added: added, DesiredAfter: len(desired),
			Measured: measured, LowerBound: lb, PerHash: perHash, WithinBound: measured <= lb+1,
			ItemsAfter: items, ValuesAfter: values, ApplyWall: seconds(res.Wall),
			ApplyOutcome: ac.Outcome, ApplyReported: ac.Writes, PlanBytes: planBytes,
		}
		r.Writes = append(r.Writes, row)
		if !row.WithinBound {
			r.Failed = append(r.Failed, fmt.Sprintf("writes %s: %d measured > lower bound %d + 1", name, measured, lb))
		}
		if ac.Outcome != "success" || values != len(desired) {
			r.Failed = append(r.Failed, fmt.Sprintf("writes %s: apply outcome %q, %d values in %d items, want %d", name, ac.Outcome, values, items, len(desired)))
		}
		return nil
	}
	n := len(w.desired())
	if err := step("initial sync", 0, n, perHashWrites(0, n)); err != nil {
		return err
	}
	for _, pct := range r.Params.Churn {
		removed, added, err := w.churn(float64(pct) / 100)
		if err != nil {
			return err
		}
		if err := step(fmt.Sprintf("%d%% churn", pct), removed, added, perHashWrites(removed, added)); err != nil {
			return err
		}
	}
	return nil
}

// benchLarge is measurements 2 and 3: cold, warm and K-changed plans on
// the large scenario, with their Lumu calls, wall time and peak RSS.
func benchLarge(ctx context.Context, o options, bin, tmp string, r *results) error {
	logf("large: starting the large scenario")
	sb, err := sandbox.Start(ctx, sandbox.Options{Scenario: lumusim.ScenarioLarge, Seed: o.seed})
	if err != nil {
		return err
	}
	defer sb.Close()
	cfg := configParams{
		HashTypes:      []string{"sha256", "sha1", "md5"},
		AdversaryTypes: lumusim.AdversaryTypes,
		Statuses:       []string{"open", "closed"},
		Days:           30, OnlyActive: true,
		OSTypes:   []string{"windows", "macos", "linux"},
		MaxValues: 1000,
	}
	f := lumuFilter{AdversaryTypes: cfg.AdversaryTypes, Statuses: cfg.Statuses, Days: cfg.Days, OnlyActive: cfg.OnlyActive}
	for _, t := range cfg.HashTypes {
		f.HashTypes = append(f.HashTypes, lumusim.HashType(t))
	}
	ws, err := newWorkspace(ctx, bin, tmp, "large", sb.Info(), cfg)
	if err != nil {
		return err
	}
	planOnce := func(name string, minList, minContexts, kept int) error {
		sb.Lumu.ResetCounters()
		logf("large: %s plan", name)
		res, err := ws.run(ctx, "plan-"+name, "plan")
		if err != nil {
			return err
		}
		c := sb.Lumu.Counters()
		lr := lumuRow{
			Case: name, List: c.List, Contexts: c.Context, Other: c.Total - c.List - c.Context,
			MinList: minList, MinContexts: minContexts, Kept: kept,
		}
		lr.AtMinimum = c.List == int64(minList) && c.Context == int64(minContexts) && lr.Other == 0
		r.Lumu = append(r.Lumu, lr)
		if !lr.AtMinimum {
			r.Failed = append(r.Failed, fmt.Sprintf("lumu %s plan: %d list + %d context + %d other calls, minimum %d + %d", name, c.List, c.Context, lr.Other, minList, minContexts))
		}
		mb := float64(res.MaxRSSKiB) / 1024
		pr := planRow{
			Case: name, Wall: seconds(res.Wall), MaxRSS: mb,
			WallOK: checkTarget(res.Wall.Seconds(), wallTargetS, "s"), RSSOK: checkTarget(mb, rssTargetMB, "MB"),
			Summary: planSummary(res.Stdout),
		}
		r.Plan = append(r.Plan, pr)
		if !pr.WallOK.Passed || !pr.RSSOK.Passed {
			// SPEC section 8 binds the warm-cache plans; a cold plan over
			// the targets is reported, not counted as a miss.
			msg := fmt.Sprintf("plan %s: %.2f s wall (target < %.0f s), %.0f MB peak RSS (target < %.0f MB)", name, res.Wall.Seconds(), wallTargetS, mb, rssTargetMB)
			if name == "cold" {
				r.Notes = append(r.Notes, msg+"; SPEC section 8 sets the targets for a warm cache")
			} else {
				r.Failed = append(r.Failed, msg)
			}
		}
		return nil
	}
	incs := sb.Lumu.Incidents("")
	now := time.Now()
	pages, contexts := lumuMinimum(incs, f, now)
	kept := keptIncidents(incs, f, now)
	if err := planOnce("cold", pages, contexts, len(kept)); err != nil {
		return err
	}
	if err := planOnce("warm", pages, 0, len(kept)); err != nil {
		return err
	}
	// K-changed: a new contact on K kept, active incidents (contacts and
	// lastContact change, so their cached contexts are stale).
	touched := 0
	for _, inc := range kept {
		if touched == o.k {
			break
		}
		if !inc.CurrentlyActive {
			continue
		}
		if err := sb.Lumu.ContactIncident(inc.ID); err != nil {
			return err
		}
		touched++
	}
	if touched < o.k {
		return fmt.Errorf("only %d kept active incidents to touch, want %d", touched, o.k)
	}
	incs = sb.Lumu.Incidents("")
	pages, _ = lumuMinimum(incs, f, time.Now())
	return planOnce(fmt.Sprintf("K=%d changed", o.k), pages, o.k*len(f.HashTypes), len(keptIncidents(incs, f, time.Now())))
}

// planSummary returns the "Plan: ..." and "Hashes: ..." lines of a human
// plan output, joined.
func planSummary(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Plan:") || strings.HasPrefix(l, "No changes") || strings.HasPrefix(l, "Hashes:") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, " ")
}

// benchApply is measurement 4: the initial sync applied from a saved plan
// with the Kibana stand-in sleeping o.latency per POST items, once per
// parallelism, each against a fresh sandbox.
func benchApply(ctx context.Context, o options, bin, tmp string, r *results) error {
	g := churnGroup(o)
	for _, p := range o.parallelism {
		logf("apply: parallelism %d: building a world of %d hashes", p, o.hashes)
		w, err := newChurnWorld(ctx, o.seed, o.hashes, o.perIncident)
		if err != nil {
			return err
		}
		err = func() error {
			defer w.sb.Close()
			ws, err := newWorkspace(ctx, bin, tmp, fmt.Sprintf("apply-p%d", p), w.sb.Info(), churnConfig(o))
			if err != nil {
				return err
			}
			planFile := filepath.Join(ws.dir, "bench.plan")
			if _, err := ws.run(ctx, "plan", "plan", "--out", planFile); err != nil {
				return err
			}
			w.sb.Kibana.SetLatency(kibanasim.KindCreateItem, o.latency)
			w.sb.Kibana.ResetCounters()
			logf("apply: parallelism %d: apply (%s per POST items)", p, o.latency)
			res, err := ws.run(ctx, "apply", "apply", "--parallelism", strconv.Itoa(p), planFile)
			if err != nil {
				return err
			}
			writes := w.sb.Kibana.Counters().Writes()
			values, _, err := groupValues(g, w.sb.Kibana.Items())
			if err != nil {
				return err
			}
			if values != o.hashes {
				r.Failed = append(r.Failed, fmt.Sprintf("apply parallelism %d: %d values in Kibana after apply, want %d", p, values, o.hashes))
			}
			perHash := perHashWrites(0, o.hashes)
			phw := perHashApplyTime(perHash, o.latency, p)
			row := applyRow{Parallelism: p, Writes: writes, Wall: seconds(res.Wall), PerHash: perHash, PerHashWall: seconds(phw)}
			if res.Wall > 0 {
				row.PerHashRatio = phw.Seconds() / res.Wall.Seconds()
			}
			r.Apply = append(r.Apply, row)
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}
