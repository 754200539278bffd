package lumu

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// TestDailyQuotaColdStartConverges: a cold start that needs more calls than
// one day's requests_per_day converges over several days (UTC days of the
// injected clock, shared by the source and the stand-in, which enforces the
// quota itself: a request beyond it would be answered 429 until midnight).
// Four runs a day, each through a new Source on the cache (the count, the
// listing schedule and the last listing live there): never more than the
// quota a day at the stand-in, no 429, no failed run, no hash dropped by
// any run, the newest incidents read first, the unread incidents counted
// and named in a warning; a run that the quota stops before its list plans
// from the last complete list without sending a request. Exact counts are
// not asserted: the reads run concurrently; the bounds are exact.
func TestDailyQuotaColdStartConverges(t *testing.T) {
	sim, srv, sc := startSim(t, lumusim.ScenarioSmall)
	path := t.TempDir() + "/cache.db"
	clk := testkit.NewClock(time.Date(2025, 6, 5, 0, 0, 0, 0, time.UTC)) // midnight UTC
	sim.SetNow(clk.Now)
	req := simRequest(srv, sc.Companies[0].UUID, provider.SHA256, provider.MD5)
	const quota, runsADay = 15, 4
	req.Company.RequestsPerDay = quota
	kept, _ := simKept(sim, req)
	// Reference: what one unlimited read gives (before the quota is on).
	ref := testSource(t, srv, clk, "")
	unlimited := req
	unlimited.Company.RequestsPerDay = 0
	want := ref.Fetch(context.Background(), unlimited)
	if want.Err != nil {
		t.Fatal(want.Err)
	}
	if err := sim.SetDailyQuota(quota); err != nil {
		t.Fatal(err)
	}
	sim.ResetCounters()
	pages := want.Stats.ListCalls
	calls := pages + want.Stats.ContextCalls
	if calls <= 2*quota {
		t.Fatalf("the scenario needs %d calls: the test needs more than two days' quota of %d", calls, quota)
	}
	// From day 2 on, each day pays its runs' lists and reads at least the
	// rest in contexts; day 1 (schedule unknown) reads quota - pages.
	perDay := quota - runsADay*pages
	// One day more: the reads of one incident are reserved together, so a
	// day may end with a request or two unused.
	maxDays := 2 + (want.Stats.ContextCalls-(quota-pages)+perDay-1)/perDay

	have := map[string]bool{}
	var day int
	held := 0
	for day = 1; ; day++ {
		if day > maxDays {
			t.Fatalf("not converged after %d days (%d calls, %d a day)", maxDays, calls, quota)
		}
		date := clk.Now().UTC().Format(time.DateOnly)
		var resp provider.FetchResponse
		for run := range runsADay {
			s := testSource(t, srv, clk, path)
			resp = s.Fetch(context.Background(), req)
			s.Close()
			if resp.Err != nil {
				t.Fatalf("day %d run %d: %v", day, run+1, resp.Err)
			}
			for h := range have {
				if resp.Indicators[h] == nil {
					t.Fatalf("day %d run %d: hash %s known before was dropped", day, run+1, h)
				}
			}
			for h := range resp.Indicators {
				have[h] = true
			}
			if day == 1 && run == 0 {
				checkNewestFirst(t, kept, want, resp)
			}
			listNotRead := slices.ContainsFunc(resp.Warnings, func(w provider.Warning) bool { return w.Summary == "Lumu incident list not read" })
			if listNotRead {
				held++
				if resp.Stats.ListCalls != 0 || resp.Stats.ContextCalls != 0 {
					t.Errorf("day %d run %d: planned from the last list, yet sent %d list and %d context requests", day, run+1, resp.Stats.ListCalls, resp.Stats.ContextCalls)
				}
			}
			if n := resp.Stats.IncidentsUnread; n > 0 {
				if len(resp.Unread) != n {
					t.Errorf("day %d run %d: %d unread but %d ids", day, run+1, n, len(resp.Unread))
				}
				if !listNotRead && !slices.ContainsFunc(resp.Warnings, func(w provider.Warning) bool {
					return w.Summary == "Lumu incidents not read yet" && strings.Contains(w.Detail, "daily quota (requests_per_day = 15")
				}) {
					t.Errorf("day %d run %d: %d unread incidents but no warning saying so: %+v", day, run+1, n, resp.Warnings)
				}
			}
			clk.Advance(24 * time.Hour / runsADay)
		}
		if n := sim.DailyCounts()[sc.Companies[0].UUID][date]; n > quota {
			t.Fatalf("day %d: %d requests reached Lumu, more than requests_per_day = %d", day, n, quota)
		}
		if resp.Stats.IncidentsUnread == 0 {
			break
		}
	}
	if c := sim.Counters(); c.RateLimited != 0 {
		t.Errorf("the stand-in refused %d requests (429): lumuctl went past its quota", c.RateLimited)
	}
	if day < 3 {
		t.Errorf("converged on day %d: the quota did not bind", day)
	}
	if held == 0 {
		t.Errorf("no run was stopped before its list: the test does not cover planning from the last list")
	}
	if !slices.Equal(slices.Sorted(maps.Keys(want.Indicators)), slices.Sorted(maps.Keys(have))) {
		t.Errorf("after %d days: %d hashes, an unlimited read gives %d", day, len(have), len(want.Indicators))
	}
	t.Logf("%d calls (%d list pages a run) at %d a day, %d runs a day: converged on day %d; %d runs planned from the last list", calls, pages, quota, runsADay, day, held)
}

// TestListStopped429: Lumu refuses the list with a 429 whose reset lies
// beyond retry_timeout (its own daily quota, spent by another client).
// With a complete list in the cache the run plans from it: no error, the
// same hashes, every incident it did not read counted; without one, the
// run fails (a failed source never shrinks the desired set) and says why.
func TestListStopped429(t *testing.T) {
	sim, srv, sc := startSim(t, lumusim.ScenarioSmall)
	clk := testkit.NewClock(simNow)
	sim.SetNow(clk.Now)
	req := simRequest(srv, sc.Companies[0].UUID, provider.SHA256)
	req.Company.RetryTimeout = time.Minute
	path := t.TempDir() + "/cache.db"
	fetch := func(path string) provider.FetchResponse {
		s := testSource(t, srv, clk, path)
		defer s.Close()
		return s.Fetch(context.Background(), req)
	}
	first := fetch(path)
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	if err := sim.SetDailyQuota(1); err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Post(srv.URL+"/api/incidents/open?key="+url.QueryEscape(testKey), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	sim.ResetCounters()

	held := fetch(path)
	if held.Err != nil {
		t.Fatalf("with a last list in the cache: %v", held.Err)
	}
	if !maps.EqualFunc(first.Indicators, held.Indicators, func(a, b *provider.Indicator) bool { return a.Hash == b.Hash }) {
		t.Errorf("planned from the last list: %d hashes, the run before had %d", len(held.Indicators), len(first.Indicators))
	}
	if !slices.ContainsFunc(held.Warnings, func(w provider.Warning) bool {
		return w.Summary == "Lumu incident list not read" && strings.Contains(w.Detail, "429") && strings.Contains(w.Detail, "plans from the last complete list")
	}) {
		t.Errorf("no warning that the run plans from the last list: %+v", held.Warnings)
	}
	if c := sim.Counters(); c.RateLimited != 1 || c.Context != 0 {
		t.Errorf("stand-in counters %+v, want the one refused list request and no context read", c)
	}

	failed := fetch(t.TempDir() + "/empty.db")
	if failed.Err == nil || !strings.Contains(failed.Err.Error(), "no complete incident list of this ioc_filter is in the cache") {
		t.Errorf("without a last list: err = %v, want the 429 and no list to plan from", failed.Err)
	}
}

// checkNewestFirst: among the incidents that yield hashes (in an unlimited
// read), those read on the first day are newer than those left unread.
func checkNewestFirst(t *testing.T, kept []*lumusim.Incident, all, r provider.FetchResponse) {
	t.Helper()
	yields, read := map[string]bool{}, map[string]bool{}
	for _, ind := range all.Indicators {
		for _, ref := range ind.Incidents {
			yields[ref.ID] = true
		}
	}
	for _, ind := range r.Indicators {
		for _, ref := range ind.Incidents {
			read[ref.ID] = true
		}
	}
	var oldestRead, newestUnread time.Time
	for _, in := range kept {
		switch {
		case !yields[in.ID]:
		case read[in.ID]:
			if oldestRead.IsZero() || in.LastContact.Before(oldestRead) {
				oldestRead = in.LastContact
			}
		case in.LastContact.After(newestUnread):
			newestUnread = in.LastContact
		}
	}
	if len(read) == 0 || newestUnread.IsZero() {
		t.Fatalf("day 1 read %d incidents and left none unread: the quota did not bind", len(read))
	}
	if newestUnread.After(oldestRead) {
		t.Errorf("day 1 left an incident of %s unread but read one of %s: not newest first", newestUnread, oldestRead)
	}
}

// TestListReserve: the context reads leave the lists of the later runs of
// the UTC day: pages × (time left ÷ median interval) per filter, none for a
// filter whose interval is unknown or whose runs stopped, runs back to back
// counted as one a minute, and never more than half the day's quota.
func TestListReserve(t *testing.T) {
	noon := time.Date(2025, 6, 5, 12, 0, 0, 0, time.UTC)
	every := func(d time.Duration, n int) []time.Time {
		var out []time.Time
		for i := n - 1; i >= 0; i-- {
			out = append(out, noon.Add(-time.Duration(i)*d))
		}
		return out
	}
	manual := append(every(30*time.Minute, 5), noon.Add(time.Second)) // one odd run
	tests := []struct {
		name  string
		sched schedule
		used  int
		want  int
	}{
		{"first run", schedule{"a": {Pages: 68, Starts: every(time.Hour, 1)}}, 0, 0},
		{"every 30 min", schedule{"a": {Pages: 68, Starts: every(30*time.Minute, 5)}}, 0, 68 * 24},
		{"an odd manual run", schedule{"a": {Pages: 68, Starts: manual}}, 0, 68 * 24}, // the median interval stays 30 min
		{"two filters", schedule{"a": {Pages: 10, Starts: every(time.Hour, 3)}, "b": {Pages: 2, Starts: every(6*time.Hour, 3)}}, 0, 10*12 + 2*2},
		{"stopped a day ago", schedule{"a": {Pages: 68, Starts: every(30*time.Minute, 5)}}, 0, 0},
		{"back to back", schedule{"a": {Pages: 1, Starts: every(0, 5)}}, 0, 720},
		{"at most half the quota", schedule{"a": {Pages: 1000, Starts: every(30*time.Minute, 5)}}, 8000, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := noon
			if tt.name == "stopped a day ago" {
				now = noon.Add(2 * time.Hour) // the next UTC day is not reached, but 4 intervals passed
			}
			q := &dailyQuota{key: "k", limit: 10000, store: &memQuotas{}, now: func() time.Time { return now }, sched: tt.sched}
			if tt.used > 0 {
				if err := q.reserve(tt.used, 0); err != nil {
					t.Fatal(err)
				}
			}
			if got := q.listReserve(now); got != tt.want {
				t.Errorf("listReserve = %d, want %d", got, tt.want)
			}
		})
	}
}
