package lumu

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// TestDailyQuotaColdStartConverges: a cold start that needs more calls than
// one day's requests_per_day converges over several days (UTC days of the
// source's clock), never sending more than the quota on a day (counted at
// the stand-in, across several runs a day and new Source values: the count
// lives in the cache), never failing, never dropping a hash it had, reading
// the newest incidents first, and saying how many incidents are unread.
func TestDailyQuotaColdStartConverges(t *testing.T) {
	sim, srv, sc := startSim(t, lumusim.ScenarioSmall)
	path := t.TempDir() + "/cache.db"
	clk := newFakeClock()
	req := simRequest(srv, sc.Companies[0].UUID, provider.SHA256, provider.MD5)
	const quota = 15
	req.Company.RequestsPerDay = quota
	kept, _ := simKept(sim, req)
	// Reference: what one unlimited read gives.
	ref := testSource(t, srv, clk, "")
	want := ref.Fetch(context.Background(), simRequest(srv, sc.Companies[0].UUID, provider.SHA256, provider.MD5))
	if want.Err != nil {
		t.Fatal(want.Err)
	}
	calls := want.Stats.ListCalls + want.Stats.ContextCalls
	if calls <= 2*quota {
		t.Fatalf("the scenario needs %d calls: the test needs more than two days' quota of %d", calls, quota)
	}
	perDay := quota - quota/10 - want.Stats.ListCalls // contexts leave a tenth for later lists
	maxDays := (calls-want.Stats.ListCalls+perDay-1)/perDay + 1

	have := map[string]bool{}
	var day int
	for day = 1; ; day++ {
		if day > maxDays {
			t.Fatalf("not converged after %d days (%d calls, %d a day)", maxDays, calls, quota)
		}
		sim.ResetCounters()
		var resp provider.FetchResponse
		for run := range 2 { // two runs a day; the second finds the quota spent
			s := testSource(t, srv, clk, path)
			resp = s.Fetch(context.Background(), req)
			s.Close()
			if resp.Err != nil {
				t.Fatalf("day %d run %d: %v", day, run, resp.Err)
			}
		}
		if n := sim.Counters().Total; n > quota {
			t.Fatalf("day %d: %d requests reached Lumu, more than requests_per_day = %d", day, n, quota)
		}
		for h := range have {
			if resp.Indicators[h] == nil {
				t.Fatalf("day %d: hash %s known the day before was dropped", day, h)
			}
		}
		for h := range resp.Indicators {
			have[h] = true
		}
		if day == 1 {
			checkNewestFirst(t, kept, want, resp)
		}
		if resp.Stats.IncidentsUnread == 0 {
			break
		}
		if !slices.ContainsFunc(resp.Warnings, func(w provider.Warning) bool {
			return w.Summary == "Lumu incidents not read yet" && strings.Contains(w.Detail, "daily quota (requests_per_day = 15")
		}) {
			t.Errorf("day %d: %d unread incidents but no warning saying so: %+v", day, resp.Stats.IncidentsUnread, resp.Warnings)
		}
		clk.Advance(24 * time.Hour)
	}
	if day < 3 {
		t.Errorf("converged on day %d: the quota did not bind", day)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(want.Indicators)), slices.Sorted(maps.Keys(have))) {
		t.Errorf("after %d days: %d hashes, an unlimited read gives %d", day, len(have), len(want.Indicators))
	}
	t.Logf("%d calls at %d a day: converged on day %d", calls, quota, day)
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
