package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// results is everything one run measured; it is written as JSON.
type results struct {
	Machine  machine        `json:"machine"`
	Params   params         `json:"params"`
	Writes   []writeRow     `json:"kibana_writes"`
	Lumu     []lumuRow      `json:"lumu_calls"`
	Plan     []planRow      `json:"plan_large"`
	Apply    []applyRow     `json:"apply_latency"`
	Window   []windowRun    `json:"sliding_window,omitempty"`
	Backends []backendRow   `json:"state_backends,omitempty"`
	Growth   *growthResult  `json:"reference_and_growth,omitempty"`
	Crash    []*crashResult `json:"crash_recovery,omitempty"`
	Quota    []*quotaResult `json:"quota_cold_start,omitempty"`
	Summary  []summaryRow   `json:"summary,omitempty"`
	Elapsed  seconds        `json:"elapsed_s"`
	Notes    []string       `json:"notes,omitempty"`
	Failed   []string       `json:"failed,omitempty"`
}

// seconds is a duration written as seconds with millisecond precision.
type seconds time.Duration

func (s seconds) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", time.Duration(s).Seconds())), nil
}

func (s seconds) String() string { return fmt.Sprintf("%.2f s", time.Duration(s).Seconds()) }

type machine struct {
	NProc     int    `json:"nproc"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
	CPU       string `json:"cpu,omitempty"`
	Date      string `json:"date"`
	LoadStart string `json:"loadavg_start,omitempty"`
	LoadEnd   string `json:"loadavg_end,omitempty"`
	Commit    string `json:"commit,omitempty"`
}

type params struct {
	Seed              int64   `json:"seed"`
	Hashes            int     `json:"hashes"`
	HashesPerIncident int     `json:"hashes_per_incident"`
	MaxValuesPerItem  int     `json:"max_values_per_item"`
	Churn             []int   `json:"churn_percent"`
	K                 int     `json:"k_changed_incidents"`
	LatencyMS         int64   `json:"write_latency_ms"`
	Parallelism       []int   `json:"parallelism"`
	LargeConfig       string  `json:"large_config"`
	WallTargetS       float64 `json:"plan_wall_target_s"`
	RSSTargetMB       float64 `json:"plan_rss_target_mb"`
}

// writeRow is one change of measurement 1.
type writeRow struct {
	Case          string  `json:"case"`
	Removed       int     `json:"hashes_removed"`
	Added         int     `json:"hashes_added"`
	DesiredAfter  int     `json:"desired_after"`
	Measured      int     `json:"measured_writes"`
	LowerBound    int     `json:"lower_bound"`
	PerHash       int     `json:"one_item_per_hash_writes"`
	WithinBound   bool    `json:"within_bound_plus_one"`
	ItemsAfter    int     `json:"owned_items_after"`
	ValuesAfter   int     `json:"values_after"`
	ApplyWall     seconds `json:"apply_wall_s"`
	ApplyOutcome  string  `json:"apply_outcome"`
	ApplyReported int     `json:"apply_reported_writes"`
	PlanBytes     int64   `json:"plan_file_bytes"` // `plan --out` of the change, before the apply
}

// lumuRow is one plan of measurement 2.
type lumuRow struct {
	Case        string `json:"case"`
	List        int64  `json:"list_calls"`
	Contexts    int64  `json:"context_calls"`
	Other       int64  `json:"other_calls"`
	MinList     int    `json:"min_list_calls"`
	MinContexts int    `json:"min_context_calls"`
	AtMinimum   bool   `json:"at_minimum"`
	Kept        int    `json:"kept_incidents"`
}

// planRow is one plan of measurement 3.
type planRow struct {
	Case    string  `json:"case"`
	Wall    seconds `json:"wall_s"`
	MaxRSS  float64 `json:"max_rss_mb"`
	WallOK  target  `json:"wall_target"`
	RSSOK   target  `json:"rss_target"`
	Summary string  `json:"summary"`
}

// applyRow is one apply of measurement 4.
type applyRow struct {
	Parallelism  int     `json:"parallelism"`
	Writes       int     `json:"measured_writes"`
	Wall         seconds `json:"wall_s"`
	PerHash      int     `json:"one_item_per_hash_writes"`
	PerHashWall  seconds `json:"one_item_per_hash_wall_s"`
	PerHashRatio float64 `json:"one_item_per_hash_ratio"`
}

func newMachine() machine {
	return machine{
		NProc:     runtime.NumCPU(),
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		CPU:       cpuModel(),
		Date:      time.Now().UTC().Format(time.RFC3339),
		LoadStart: loadAvg(),
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func writeJSON(path string, r *results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func yes(b bool, t, f string) string {
	if b {
		return t
	}
	return f
}

// printTable writes the four tables of r.
func printTable(w io.Writer, r *results) {
	m := r.Machine
	fmt.Fprintf(w, "lumuctl-bench  %s  %s  %d CPU  %s  load %s → %s\n", m.Date, m.GoVersion, m.NProc, m.CPU, m.LoadStart, m.LoadEnd)

	if len(r.Writes) > 0 {
		fmt.Fprintf(w, "\n1. Kibana item writes, %d sha256 hashes on one OS, max_values_per_item %d\n\n", r.Params.Hashes, r.Params.MaxValuesPerItem)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "change\t-hashes\t+hashes\tmeasured\tlower bound\t≤ bound+1\tone item per hash\t")
		for _, x := range r.Writes {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t\n", x.Case, x.Removed, x.Added, x.Measured, x.LowerBound, yes(x.WithinBound, "yes", "NO"), x.PerHash)
		}
		tw.Flush()

	}
	if len(r.Lumu) > 0 {
		fmt.Fprintf(w, "\n2. Lumu calls, large scenario (%s)\n\n", r.Params.LargeConfig)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "plan\tlist\tcontexts\tother\tmin list\tmin contexts\tat minimum\t")
		for _, x := range r.Lumu {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", x.Case, x.List, x.Contexts, x.Other, x.MinList, x.MinContexts, yes(x.AtMinimum, "yes", "NO"))
		}
		tw.Flush()

	}
	if len(r.Plan) > 0 {
		fmt.Fprintf(w, "\n3. plan on the large scenario (SPEC targets, warm cache: < %.0f s, < %.0f MB peak RSS)\n\n", r.Params.WallTargetS, r.Params.RSSTargetMB)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "plan\twall\tpeak RSS\twall target\tRSS target\t")
		for _, x := range r.Plan {
			fmt.Fprintf(tw, "%s\t%.2f s\t%.0f MB\t%s\t%s\t\n", x.Case, time.Duration(x.Wall).Seconds(), x.MaxRSS, yes(x.WallOK.Passed, "pass", "FAIL"), yes(x.RSSOK.Passed, "pass", "FAIL"))
		}
		tw.Flush()
		for _, x := range r.Plan {
			if x.Summary != "" {
				fmt.Fprintf(w, "   %s: %s\n", x.Case, x.Summary)
			}
		}

	}
	if len(r.Apply) > 0 {
		fmt.Fprintf(w, "\n4. apply of the %d-hash initial sync, %d ms per POST items\n\n", r.Params.Hashes, r.Params.LatencyMS)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "parallelism\twrites\twall\tone item per hash: writes\twall (derived)\tratio\t")
		for _, x := range r.Apply {
			fmt.Fprintf(tw, "%d\t%d\t%.1f s\t%d\t%.0f s\t%.0f×\t\n", x.Parallelism, x.Writes, time.Duration(x.Wall).Seconds(), x.PerHash, time.Duration(x.PerHashWall).Seconds(), x.PerHashRatio)
		}
		tw.Flush()
	}

	for _, run := range r.Window {
		fmt.Fprintf(w, "\n5. sliding window: %d sha256 hashes a day for 30 days, max_values_per_item %d, %s; target per day %s\n\n", r.Params.Hashes/30/r.Params.HashesPerIncident*r.Params.HashesPerIncident, r.Params.MaxValuesPerItem, run.Case, run.Target)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "day\t-hashes\t+hashes\tmeasured\ttarget\tsorted layout\tone item per hash\tratio\titems\t")
		for _, x := range run.Days {
			ratio := 0.0
			if x.Measured > 0 {
				ratio = float64(x.PerHash) / float64(x.Measured)
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%d\t%d\t%.0f×\t%d\t\n", x.Day, x.Removed, x.Added, x.Measured, yes(x.Measured <= x.Bound, fmt.Sprintf("≤ %d", x.Bound), fmt.Sprintf("> %d NO", x.Bound)), x.Sorted, x.PerHash, ratio, x.Items)
		}
		tw.Flush()
		fmt.Fprintf(w, "   worst day %d writes; every day within target: %s\n", run.Worst, yes(run.WithinAll, "yes", "NO"))
	}

	printBackends(w, r)
	printGrowth(w, r)
	printCrash(w, r)
	printQuota(w, r)
	printSummary(w, r)

	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s", n)
	}
	for _, f := range r.Failed {
		fmt.Fprintf(w, "\nMISSED: %s", f)
	}
	fmt.Fprintf(w, "\n\ntotal %s\n", r.Elapsed)
}
