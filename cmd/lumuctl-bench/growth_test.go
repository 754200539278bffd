package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

func TestLogSlope(t *testing.T) {
	xs := []float64{25_000, 50_000, 100_000, 200_000, 400_000}
	for _, b := range []float64{0.5, 1, 1.17, 2} {
		ys := make([]float64, len(xs))
		for i, x := range xs {
			ys[i] = 3 * math.Pow(x, b)
		}
		if got := logSlope(xs, ys); math.Abs(got-b) > 1e-9 {
			t.Errorf("exponent %v: fitted %v", b, got)
		}
	}
	if got := logSlope([]float64{1, 2}, []float64{1, 0}); !math.IsNaN(got) {
		t.Errorf("a zero y: fitted %v, want NaN", got)
	}
	if got := logSlope([]float64{5, 5}, []float64{1, 2}); !math.IsNaN(got) {
		t.Errorf("one distinct x: fitted %v, want NaN", got)
	}
}

func TestFitGrowthJudgesLinear(t *testing.T) {
	rows := []worldRow{
		{Hashes: 25_000, Wall: seconds(time.Second), CPU: seconds(time.Second), RSS: 40},
		{Hashes: 400_000, Wall: seconds(30 * time.Second), CPU: seconds(16 * time.Second), RSS: 400},
	}
	got := map[string]growthFit{}
	for _, f := range fitGrowth(rows) {
		got[f.Metric] = f
	}
	// 30× over 16× is n^1.23: not linear; 16× is; RSS 10× is better.
	if f := got["wall"]; f.Linear || math.Abs(f.Ratio-30) > 1e-9 {
		t.Errorf("wall: %+v", f)
	}
	if f := got["CPU"]; !f.Linear || math.Abs(f.Exponent-1) > 1e-9 {
		t.Errorf("CPU: %+v", f)
	}
	if f := got["RSS"]; !f.Linear || f.Exponent >= 1 {
		t.Errorf("RSS: %+v", f)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestNewestFirst(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ind := func(h string, id string, at time.Time) *provider.Indicator {
		return &provider.Indicator{Hash: h, Incidents: []provider.IncidentRef{{ID: id, LastContact: at}}}
	}
	ref := provider.FetchResponse{Indicators: map[string]*provider.Indicator{
		"a": ind("a", "old", t0), "b": ind("b", "mid", t0.Add(time.Hour)), "c": ind("c", "new", t0.Add(2*time.Hour)),
	}}
	good := provider.FetchResponse{Indicators: map[string]*provider.Indicator{"b": ref.Indicators["b"], "c": ref.Indicators["c"]}}
	if ok, _, _ := newestFirst(ref, good); !ok {
		t.Error("reading the two newest: not newest first")
	}
	bad := provider.FetchResponse{Indicators: map[string]*provider.Indicator{"a": ref.Indicators["a"], "c": ref.Indicators["c"]}}
	if ok, oldest, newest := newestFirst(ref, bad); ok || oldest != t0.Format(time.RFC3339) || newest != t0.Add(time.Hour).Format(time.RFC3339) {
		t.Errorf("skipping the middle one: newest first %v (oldest read %s, newest unread %s)", ok, oldest, newest)
	}
}

// TestBuildSummary: every measurement present gives its row, in the order
// of issue 15's table, and a miss in any part of a row makes it not met.
func TestBuildSummary(t *testing.T) {
	ref := worldRow{Hashes: 200_000, OSTypes: 3, Runs: 3, Wall: seconds(800 * time.Millisecond), RSS: 140, NoChange: true,
		InitialPlan: 11e6, ChurnPlan: 2e6, ChurnRemoved: 2000, ChurnAdded: 2000}
	r := &results{
		Window: []windowRun{{Case: "ageing only", Target: "t", WithinAll: true, Worst: 10,
			Days: []windowRow{{Measured: 10, PerHash: 6660, Sorted: 100}}}},
		Growth: &growthResult{Worlds: []worldRow{{Hashes: 25_000}, ref},
			Fits: []growthFit{{Metric: "wall", Exponent: 1.05, Linear: true}, {Metric: "RSS", Exponent: 1.2}}},
		Writes: []writeRow{{Case: "initial sync", WithinBound: true}, {Case: "1% churn", DesiredAfter: 100_000, PlanBytes: 900_000, WithinBound: true}},
		Crash:  []*crashResult{{FirstWrite: seconds(3 * time.Second), Baseline: seconds(2500 * time.Millisecond), Distinct: 5, Desired: 5, ThenNoChange: true, Outcome: "success"}},
		Quota:  []*quotaResult{{Converged: true, DaysToConverge: 2, Ideal: 2, PerDay: 10, MaxDay: 10, FailedRuns: 1, NewestFirst: true}},
	}
	got := buildSummary(r)
	want := []struct {
		prefix string
		met    bool
	}{
		{"writes per day", true},
		{"warm plan, reference world", true},
		{"growth 25k → 200k", false}, // RSS n^1.2
		{"plan file, initial sync", true},
		{"plan file, 1% churn of 100k", true},
		{"plan file, 1% churn of the reference world", false}, // 2 MB
		{"next apply after a SIGKILLed one", true},            // +0.5 s
		{"cold start of large", false},                        // a failed run
		{"Kibana item writes", true},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i].Measure, w.prefix) || got[i].Met != w.met {
			t.Errorf("row %d: %q met %v, want %q… met %v", i, got[i].Measure, got[i].Met, w.prefix, w.met)
		}
	}
}
