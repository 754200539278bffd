package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// summaryRow is one line of the SPEC section 8 table: what was measured in
// this run, the target, the alternative a user has (where there is one) and
// whether the target is met. Every figure comes from the run.
type summaryRow struct {
	Measure     string `json:"measure"`
	Measured    string `json:"measured"`
	Target      string `json:"target"`
	Alternative string `json:"alternative,omitempty"`
	Met         bool   `json:"met"`
}

func mb(b int64) string { return fmt.Sprintf("%.2f MB", float64(b)/1e6) }

func secs(s seconds) float64 { return time.Duration(s).Seconds() }

// buildSummary turns the measurements of r into the rows of issue 15's
// table (in its order), then the other SPEC section 8 figures. A
// measurement that was skipped has no row.
func buildSummary(r *results) []summaryRow {
	var out []summaryRow
	add := func(row summaryRow) { out = append(out, row) }
	for _, run := range r.Window {
		total, perHash, sorted := 0, 0, 0
		for _, d := range run.Days {
			total += d.Measured
			perHash += d.PerHash
			sorted += d.Sorted
		}
		n := len(run.Days)
		if n == 0 {
			continue
		}
		row := summaryRow{
			Measure:  "writes per day, sliding 30-day window, " + run.Case,
			Measured: fmt.Sprintf("worst day %d, mean %.1f over %d days", run.Worst, float64(total)/float64(n), n),
			Target:   run.Target + " every day",
			Met:      run.WithinAll,
		}
		if total > 0 {
			row.Alternative = fmt.Sprintf("one item per hash: %.0f a day (%.0f× more); sorted layout ≥ %.0f a day",
				float64(perHash)/float64(n), float64(perHash)/float64(total), float64(sorted)/float64(n))
		}
		add(row)
	}
	var ref *worldRow
	if g := r.Growth; g != nil {
		for i := range g.Worlds {
			if g.Worlds[i].ChurnPlan > 0 {
				ref = &g.Worlds[i]
			}
		}
	}
	if ref != nil {
		add(summaryRow{
			Measure:  fmt.Sprintf("warm plan, reference world (%d hashes × %d OSes, applied, no change; median of %d)", ref.Hashes, ref.OSTypes, ref.Runs),
			Measured: fmt.Sprintf("%.2f s wall, %.2f s CPU, %.0f MB peak RSS", secs(ref.Wall), secs(ref.CPU), ref.RSS),
			Target:   fmt.Sprintf("≤ %.0f s, ≤ %.0f MB (floor %.0f s, %.0f MB)", refWallTargetS, refRSSTargetMB, wallTargetS, rssTargetMB),
			Met:      secs(ref.Wall) <= refWallTargetS && ref.RSS <= refRSSTargetMB && ref.NoChange,
		})
	}
	if g := r.Growth; g != nil && len(g.Fits) > 0 {
		first, last := g.Worlds[0], g.Worlds[len(g.Worlds)-1]
		var parts []string
		met := len(g.Fits) == 3 // wall, CPU and RSS, each fitted
		for _, f := range g.Fits {
			parts = append(parts, fmt.Sprintf("%s ×%.1f (n^%.2f)", f.Metric, f.Ratio, f.Exponent))
			met = met && f.Linear
		}
		add(summaryRow{
			Measure:  fmt.Sprintf("growth %dk → %dk hashes (%.0f×), warm plan", first.Hashes/1000, last.Hashes/1000, float64(last.Hashes)/float64(first.Hashes)),
			Measured: strings.Join(parts, ", "),
			Target:   fmt.Sprintf("linear or better (fitted exponent ≤ %.2f)", 1+linearExponentSlop),
			Met:      met,
		})
	}
	if ref != nil {
		add(summaryRow{
			Measure:  fmt.Sprintf("plan file, initial sync of the reference world (%d hashes × %d OSes)", ref.Hashes, ref.OSTypes),
			Measured: mb(ref.InitialPlan),
			Target:   "≤ " + mb(int64(initialPlanTarget)),
			Met:      float64(ref.InitialPlan) <= initialPlanTarget,
		})
	}
	for _, w := range r.Writes {
		if strings.HasPrefix(w.Case, "1%") && w.PlanBytes > 0 {
			add(summaryRow{
				Measure:  fmt.Sprintf("plan file, 1%% churn of %dk (-%d +%d hashes, one OS)", (w.DesiredAfter+500)/1000, w.Removed, w.Added),
				Measured: mb(w.PlanBytes),
				Target:   "≤ " + mb(int64(churnPlanTarget)),
				Met:      float64(w.PlanBytes) <= churnPlanTarget,
			})
		}
	}
	if ref != nil {
		add(summaryRow{
			Measure:  fmt.Sprintf("plan file, 1%% churn of the reference world (-%d +%d hashes × %d OSes)", ref.ChurnRemoved, ref.ChurnAdded, ref.OSTypes),
			Measured: mb(ref.ChurnPlan),
			Target:   "≤ " + mb(int64(churnPlanTarget)),
			Met:      float64(ref.ChurnPlan) <= churnPlanTarget,
		})
	}
	for _, c := range r.Crash {
		row := summaryRow{
			Measure: fmt.Sprintf("next apply after a SIGKILLed one (%d writes in flight, landing %.0f s later; %s)", c.InFlight, c.LandLateS, c.Case),
			Measured: fmt.Sprintf("first write after %.2f s (%.2f s for the killed run, no crash behind it: %+.2f s); %d duplicate values; next plan: %s",
				secs(c.FirstWrite), secs(c.Baseline), secs(c.FirstWrite)-secs(c.Baseline), c.Duplicates, yes(c.ThenNoChange, "no changes", "changes")),
			Target: fmt.Sprintf("first write ≤ %.0f s later than without a crash, no duplicate", firstWriteTargetS),
		}
		converged := c.Duplicates == 0 && c.Distinct == c.Desired && c.ThenNoChange && c.Outcome == "success"
		row.Met = converged && c.FirstWrite >= 0 && c.Baseline > 0 && secs(c.FirstWrite)-secs(c.Baseline) <= firstWriteTargetS
		if c.SlowFindS > 0 {
			// Its item searches are held on purpose: only the duplicates count.
			row.Measured = fmt.Sprintf("%d duplicate values; next plan: %s (item searches held %.0f s, so no time target; first write after %.2f s)", c.Duplicates,
				yes(c.ThenNoChange, "no changes", "changes"), c.SlowFindS, secs(c.FirstWrite))
			row.Target, row.Met = "no duplicate", converged
		}
		add(row)
	}
	for _, q := range r.Quota {
		conv := fmt.Sprintf("not converged in %d days", len(q.Days))
		if q.Converged {
			conv = fmt.Sprintf("converged on day %d (run %d)", q.DaysToConverge, q.RunsToConverge)
		}
		daily := q.EveryMin >= 24*60
		target := fmt.Sprintf("converges (days reported), never > %d a day, no run fails, no daily-quota 429, no hash removed, newest first", q.PerDay)
		if daily {
			target = fmt.Sprintf("≤ ⌈calls/quota⌉ = %d days, never > %d a day, no run fails, no daily-quota 429, no hash removed, newest first", q.Ideal, q.PerDay)
		}
		add(summaryRow{
			Measure: fmt.Sprintf("cold start of large under Lumu's quota (%d calls; %d/min, %d/day; a run every %s)", q.ColdCalls, q.PerMinute, q.PerDay, everyText(q.EveryMin)),
			Measured: fmt.Sprintf("%s; at most %d requests a day (%d answered); %d of %d runs failed (%d planned from the last listing); %d answered 429 (%d of the daily quota); newest first: %s; %d hashes removed",
				conv, q.MaxDay, q.MaxAnswered, q.FailedRuns, q.Runs, q.HeldRuns, q.RateLimited, q.QuotaRefused, yes(q.NewestFirst, "yes", "no"), q.Dropped),
			Target: target,
			Met: q.Converged && (!daily || q.DaysToConverge <= q.Ideal) && q.MaxDay <= int64(q.PerDay) && q.FailedRuns == 0 &&
				q.QuotaRefused == 0 && q.NewestFirst && q.Dropped == 0 && q.FinalHashes == q.WantHashes,
		})
	}
	// The rest of SPEC section 8.
	if len(r.Writes) > 0 {
		worst, all := "", true
		for _, w := range r.Writes {
			worst += fmt.Sprintf("%s %d/%d, ", w.Case, w.Measured, w.LowerBound)
			all = all && w.WithinBound
		}
		add(summaryRow{
			Measure:     fmt.Sprintf("Kibana item writes, %d hashes (measured/lower bound)", r.Params.Hashes),
			Measured:    strings.TrimSuffix(worst, ", "),
			Target:      "≤ lower bound + 1",
			Alternative: fmt.Sprintf("one item per hash: %d creates for the initial sync", r.Writes[0].PerHash),
			Met:         all,
		})
	}
	if len(r.Lumu) > 0 {
		all, parts := true, []string{}
		for _, l := range r.Lumu {
			parts = append(parts, fmt.Sprintf("%s %d", l.Case, l.List+l.Contexts+l.Other))
			all = all && l.AtMinimum
		}
		add(summaryRow{
			Measure:  "Lumu calls, large scenario (cold, warm, K changed)",
			Measured: strings.Join(parts, ", "),
			Target:   "at the minimum (list pages + contexts needed)",
			Met:      all,
		})
	}
	if len(r.Plan) > 0 {
		all, parts := true, []string{}
		for _, p := range r.Plan {
			if p.Case == "cold" {
				continue // SPEC 8 binds the warm-cache plans
			}
			parts = append(parts, fmt.Sprintf("%s %.2f s, %.0f MB", p.Case, secs(p.Wall), p.MaxRSS))
			all = all && p.WallOK.Passed && p.RSSOK.Passed
		}
		add(summaryRow{
			Measure:  "plan of the large scenario, warm cache (measurement 3; MB = MiB)",
			Measured: strings.Join(parts, "; "),
			Target:   fmt.Sprintf("< %.0f s, < %.0f MB (the floor)", wallTargetS, rssTargetMB),
			Met:      all && len(parts) > 0,
		})
	}
	if len(r.Backends) == 2 {
		b, p := r.Backends[0], r.Backends[1]
		wr, ar := secs(p.WarmPlan)/secs(b.WarmPlan), secs(p.Apply)/secs(b.Apply)
		add(summaryRow{
			Measure:  "PostgreSQL backend / bbolt, large scenario",
			Measured: fmt.Sprintf("warm plan %.2f×, apply %.2f×", wr, ar),
			Target:   fmt.Sprintf("≤ %.1f×", backendTargetRatio),
			Met:      wr <= backendTargetRatio && ar <= backendTargetRatio,
		})
	}
	return out
}

func printSummary(w io.Writer, r *results) {
	if len(r.Summary) == 0 {
		return
	}
	fmt.Fprintf(w, "\nSPEC section 8 (issue 15), this run\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tmeasured\ttarget\tmet\talternative")
	for _, s := range r.Summary {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Measure, s.Measured, s.Target, yes(s.Met, "met", "NOT MET"), s.Alternative)
	}
	tw.Flush()
}

func printGrowth(w io.Writer, r *results) {
	g := r.Growth
	if g == nil || len(g.Worlds) == 0 {
		return
	}
	fmt.Fprintf(w, "\n7. reference-shaped worlds: sha256, %d per incident, windows+macos+linux, max_values_per_item 1000, applied; warm no-change plan (median of the runs)\n\n", refPerIncident)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "hashes\tvalues\titems\truns\twall\tCPU\tpeak RSS\twall/hash\tCPU/hash\tRSS/hash\tcold plan\tinitial apply\tinitial plan file\tno change\t")
	for _, x := range g.Worlds {
		n := float64(x.Hashes)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%.2f s\t%.2f s\t%.0f MB\t%.1f µs\t%.1f µs\t%.2f KB\t%.1f s\t%.1f s\t%s\t%s\t\n",
			x.Hashes, x.Values, x.Items, x.Runs, secs(x.Wall), secs(x.CPU), x.RSS,
			secs(x.Wall)/n*1e6, secs(x.CPU)/n*1e6, x.RSS*1e3/n, secs(x.ColdPlan), secs(x.InitialApply), mb(x.InitialPlan), yes(x.NoChange, "yes", "NO"))
	}
	tw.Flush()
	for _, f := range g.Fits {
		exp := "n/a"
		if !math.IsNaN(f.Exponent) {
			exp = fmt.Sprintf("%.2f", f.Exponent)
		}
		fmt.Fprintf(w, "   %s grows ×%.1f from %d to %d hashes: fitted exponent %s, linear or better (≤ %.2f): %s\n",
			f.Metric, f.Ratio, g.Worlds[0].Hashes, g.Worlds[len(g.Worlds)-1].Hashes, exp, 1+linearExponentSlop, yes(f.Linear, "yes", "NO"))
	}
	for _, x := range g.Worlds {
		if x.ChurnPlan > 0 {
			fmt.Fprintf(w, "   %d hashes: plan file of a 1%% change (-%d +%d hashes on %d OSes): %s\n", x.Hashes, x.ChurnRemoved, x.ChurnAdded, x.OSTypes, mb(x.ChurnPlan))
		}
	}
}

func printCrash(w io.Writer, r *results) {
	for _, c := range r.Crash {
		fmt.Fprintf(w, "\n8. next apply after a SIGKILLed one (%s): %d hashes, --parallelism %d; killed with %d creates landed and %d held at Kibana (landing %.0f s later)\n\n",
			c.Case, c.Hashes, c.Parallelism, c.LandedAtKill, c.InFlight, c.LandLateS)
		if c.SlowFindS > 0 {
			fmt.Fprintf(w, "   the next apply's item searches (GET _find) held %.0f s each, so it plans after the killed writes landed\n", c.SlowFindS)
		}
		fmt.Fprintf(w, "   the killed apply's first write came %.2f s after its start (planning, no crash behind it)\n", secs(c.Baseline))
		fmt.Fprintf(w, "   first write %.2f s after the next apply started (target: ≤ %.0f s more than that); that apply: %.2f s, %d writes, %d answered 409, outcome %s\n",
			secs(c.FirstWrite), firstWriteTargetS, secs(c.NextWall), c.NextWrites, c.NextConflicts, c.Outcome)
		fmt.Fprintf(w, "   late writes landed: %d; then %d values, %d distinct, %d desired, %d duplicates; the next plan: %s\n",
			c.LateLanded, c.Values, c.Distinct, c.Desired, c.Duplicates, c.ThenSummary)
	}
}

func printQuota(w io.Writer, r *results) {
	for _, q := range r.Quota {
		printQuotaRun(w, q)
	}
}

func printQuotaRun(w io.Writer, q *quotaResult) {
	fmt.Fprintf(w, "\n9. cold start of the large scenario under Lumu's quota (simulated time): %d kept incidents, %d calls unlimited; requests_per_day %d (enforced by the stand-in), requests_per_minute %d, a run every %s\n\n",
		q.Kept, q.ColdCalls, q.PerDay, q.PerMinute, everyText(q.EveryMin))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "day\truns\tfailed\tfrom last list\trequests\tlist\tcontexts\t429\tquota\tunread after\thashes\t")
	for _, d := range q.Days {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t\n", d.Day, d.Runs, d.FailedRuns, d.HeldRuns, d.Requests, d.List, d.Contexts, d.RateLimited,
			yes(d.Requests <= int64(q.PerDay), fmt.Sprintf("≤ %d", q.PerDay), fmt.Sprintf("> %d NO", q.PerDay)), d.UnreadEnd, d.Hashes)
	}
	tw.Flush()
	for _, d := range q.Days {
		if d.FirstError != "" {
			fmt.Fprintf(w, "   day %d, first failed run: %s\n", d.Day, d.FirstError)
		}
	}
	conv, target := "not converged", "converges"
	if q.Converged {
		conv = fmt.Sprintf("converged on day %d, run %d", q.DaysToConverge, q.RunsToConverge)
	}
	if q.EveryMin >= 24*60 {
		target = fmt.Sprintf("target ≤ ⌈%d/%d⌉ = %d days", q.ColdCalls, q.PerDay, q.Ideal)
	}
	fmt.Fprintf(w, "   %s (%s); max requests in a UTC day %d, %d answered (target ≤ %d); failed runs %d of %d (target 0); answered 429 %d, of the daily quota %d (target 0; the others are the stand-in's one-minute window, retried)\n",
		conv, target, q.MaxDay, q.MaxAnswered, q.PerDay, q.FailedRuns, q.Runs, q.RateLimited, q.QuotaRefused)
	fmt.Fprintf(w, "   %d runs planned from the last complete listing (quota used up before the list); %d hashes at the end, an unlimited read gives %d; hashes removed between runs %d (target 0)\n",
		q.HeldRuns, q.FinalHashes, q.WantHashes, q.Dropped)
	fmt.Fprintf(w, "   first run: oldest incident read %s, newest left unread %s: newest first %s\n", q.OldestRead, q.NewestUnread, yes(q.NewestFirst, "yes", "NO"))
}

// everyText writes an interval given in minutes as "24 h" or "30 min".
func everyText(min float64) string {
	if min >= 60 && math.Mod(min, 60) == 0 {
		return fmt.Sprintf("%.0f h", min/60)
	}
	return fmt.Sprintf("%g min", min)
}
