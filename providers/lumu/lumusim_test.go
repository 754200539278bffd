package lumu

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// These tests run the provider against the sandbox's Lumu stand-in
// (in-process), whose request counters are independent of FetchStats.

var simNow = time.Date(2025, 6, 4, 12, 0, 0, 0, time.UTC)

func startSim(t testing.TB, scenario string) (*lumusim.Server, *httptest.Server, *lumusim.Scenario) {
	t.Helper()
	sc, err := lumusim.GenerateScenario(scenario, 7, simNow)
	if err != nil {
		t.Fatal(err)
	}
	sc.Companies[0].Key = testKey
	sim := lumusim.New(lumusim.Options{Scenario: sc, Now: func() time.Time { return simNow }})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv, sc
}

func simRequest(srv *httptest.Server, uuid string, types ...provider.HashType) provider.FetchRequest {
	return provider.FetchRequest{
		Company: provider.Company{Name: "acme", UUID: uuid, APIURL: srv.URL, Key: testKey, RequestsPerMinute: 100000},
		Filter: provider.Filter{Name: "all", HashTypes: types,
			AdversaryTypes: []string{"C2C", "Malware", "Mining", "Spam", "Phishing"},
			Days:           30, Statuses: []string{"open", "closed"}},
		Now: simNow,
	}
}

// simKept lists, independently of keep, the incidents of the scenario a
// request selects, and how many of them Lumu says are inactive.
func simKept(sim *lumusim.Server, req provider.FetchRequest) (kept []*lumusim.Incident, inactive int) {
	from := req.Now.Add(-time.Duration(req.Filter.Days) * 24 * time.Hour)
	for _, in := range sim.Incidents("") {
		if in.LastContact.Before(from) || in.LastContact.After(req.Now) || !slices.Contains(req.Filter.Statuses, in.Status) {
			continue
		}
		if !slices.ContainsFunc(in.AdversaryTypes, func(t string) bool { return slices.Contains(req.Filter.AdversaryTypes, t) }) {
			continue
		}
		kept = append(kept, in)
		if !in.CurrentlyActive {
			inactive++
		}
	}
	return kept, inactive
}

func TestLumusimCallCounts(t *testing.T) {
	sim, srv, sc := startSim(t, lumusim.ScenarioSmall)
	path := t.TempDir() + "/cache.db"
	clk := newFakeClock()
	req := simRequest(srv, sc.Companies[0].UUID, provider.SHA256, provider.MD5)
	const types = 2
	kept, _ := simKept(sim, req)
	if len(kept) < 10 || len(kept) == len(sim.Incidents("")) {
		t.Fatalf("scenario gives %d kept of %d incidents; the test needs some of each", len(kept), len(sim.Incidents("")))
	}
	fetch := func() provider.FetchResponse {
		t.Helper()
		sim.ResetCounters()
		s := testSource(t, srv, clk, path)
		defer s.Close()
		resp := s.Fetch(context.Background(), req)
		if resp.Err != nil {
			t.Fatal(resp.Err)
		}
		c := sim.Counters()
		if int(c.List) != resp.Stats.ListCalls || int(c.Context) != resp.Stats.ContextCalls {
			t.Errorf("server counted %d list / %d context calls, stats say %+v", c.List, c.Context, resp.Stats)
		}
		return resp
	}

	cold := fetch()
	if cold.Stats.IncidentsKept != len(kept) || cold.Stats.ContextCalls != len(kept)*types {
		t.Errorf("cold: stats %+v; want %d kept and %d context calls", cold.Stats, len(kept), len(kept)*types)
	}
	if len(cold.Indicators) == 0 {
		t.Error("cold: no hashes")
	}
	// The scenario has a few malformed values: each is a warning naming
	// a listed incident.
	malformed := 0
	for _, w := range cold.Warnings {
		if w.Summary != "Malformed hash from Lumu ignored" {
			continue
		}
		malformed++
		if !slices.ContainsFunc(kept, func(in *lumusim.Incident) bool { return strings.Contains(w.Detail, in.ID) }) {
			t.Errorf("warning names no kept incident: %s", w.Detail)
		}
	}
	t.Logf("small scenario: %d listed, %d kept, %d hashes, %d malformed values, %d list pages",
		cold.Stats.IncidentsListed, cold.Stats.IncidentsKept, len(cold.Indicators), malformed, cold.Stats.ListCalls)

	warm := fetch()
	if warm.Stats.ContextCalls != 0 || warm.Stats.ContextCached != len(kept)*types {
		t.Errorf("warm: stats %+v; want 0 context calls", warm.Stats)
	}

	// K = 3 kept incidents change: two new contacts, one closed.
	for _, in := range kept[:2] {
		if err := sim.ContactIncident(in.ID); err != nil {
			t.Fatal(err)
		}
	}
	k3 := kept[2]
	if k3.Status == "closed" {
		if err := sim.ReopenIncident(k3.ID, "test"); err != nil {
			t.Fatal(err)
		}
	} else if err := sim.CloseIncident(k3.ID, "test"); err != nil {
		t.Fatal(err)
	}
	changed := fetch()
	if changed.Stats.ContextCalls != 3*types {
		t.Errorf("after 3 changes: stats %+v; want %d context calls", changed.Stats, 3*types)
	}
	if again := fetch(); again.Stats.ContextCalls != 0 {
		t.Errorf("repeated after the changes: %d context calls, want 0", again.Stats.ContextCalls)
	}

	// Muting a kept incident removes it without reading any context.
	if err := sim.MuteIncident(kept[3].ID, "test"); err != nil {
		t.Fatal(err)
	}
	muted := fetch()
	if muted.Stats.ContextCalls != 0 || muted.Stats.IncidentsKept != len(kept)-1 {
		t.Errorf("after muting: stats %+v; want %d kept and 0 context calls", muted.Stats, len(kept)-1)
	}
	for _, ind := range muted.Indicators {
		for _, ref := range ind.Incidents {
			if ref.ID == kept[3].ID {
				t.Fatalf("hash %s still names the muted incident", ind.Hash)
			}
		}
	}
}

func TestLumusimOnlyActive(t *testing.T) {
	sim, srv, sc := startSim(t, lumusim.ScenarioSmall)
	req := simRequest(srv, sc.Companies[0].UUID, provider.SHA256, provider.SHA1, provider.MD5)
	req.Filter.OnlyActive = true
	kept, inactive := simKept(sim, req)
	if inactive == 0 {
		t.Skip("scenario has no inactive kept incident")
	}
	s := testSource(t, srv, newFakeClock(), "")
	resp := s.Fetch(context.Background(), req)
	if resp.Err != nil {
		t.Fatal(resp.Err)
	}
	want := (len(kept)-inactive)*3 + inactive
	if c := sim.Counters(); int(c.Context) != want || resp.Stats.ContextCalls != want {
		t.Errorf("context calls: server %d, stats %d; want %d (%d kept, %d inactive)", c.Context, resp.Stats.ContextCalls, want, len(kept), inactive)
	}
}

func TestLumusimFaults(t *testing.T) {
	sim, srv, sc := startSim(t, lumusim.ScenarioSmall)
	req := simRequest(srv, sc.Companies[0].UUID, provider.SHA256)
	kept, _ := simKept(sim, req)

	t.Run("one 429 with Retry-After: 1", func(t *testing.T) {
		sim.ResetCounters()
		if err := sim.SetFault(lumusim.Fault{Kind: lumusim.KindList, Status: 429, Count: 1, RetryAfter: 1}); err != nil {
			t.Fatal(err)
		}
		defer sim.ClearFaults()
		clk := newFakeClock()
		resp := testSource(t, srv, clk, "").Fetch(context.Background(), req)
		if resp.Err != nil {
			t.Fatal(resp.Err)
		}
		c := sim.Counters()
		if c.Fault != 1 || int(c.Total) != 1+resp.Stats.ListCalls+len(kept) {
			t.Errorf("counters %+v; want one 429 and %d calls in all", c, 1+resp.Stats.ListCalls+len(kept))
		}
		if got := clk.Sleeps(); !slices.Equal(got, []time.Duration{time.Second}) {
			t.Errorf("sleeps = %v, want [1s]", got)
		}
	})
	t.Run("context outage beyond retry_timeout", func(t *testing.T) {
		if err := sim.SetFault(lumusim.Fault{Kind: lumusim.KindContext, Status: 503}); err != nil {
			t.Fatal(err)
		}
		defer sim.ClearFaults()
		r := req
		r.Company.RetryTimeout = 5 * time.Second
		resp := testSource(t, srv, newFakeClock(), "").Fetch(context.Background(), r)
		if resp.Err == nil || !strings.Contains(resp.Err.Error(), ": 503 Service Unavailable): gave up after") {
			t.Fatalf("Err = %v", resp.Err)
		}
		assertNoKey(t, resp.Err.Error())
		if resp.Indicators != nil {
			t.Error("a failed fetch returned indicators")
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		r := req
		r.Company.Key = "not-" + testKey
		resp := testSource(t, srv, newFakeClock(), "").Fetch(context.Background(), r)
		if resp.Err == nil || !strings.Contains(resp.Err.Error(), `Lumu rejected the Defender API key of company "acme" (http://127.0.0.1:`) {
			t.Fatalf("Err = %v", resp.Err)
		}
		assertNoKey(t, resp.Err.Error())
	})
}

// BenchmarkExtractLargeWarm measures one fetch of the lumusim "large"
// scenario (10,000 incidents) for all three hash types from a warm cache:
// the list pages over loopback, the cache read and the extraction.
func BenchmarkExtractLargeWarm(b *testing.B) {
	_, srv, sc := startSim(b, lumusim.ScenarioLarge)
	path := b.TempDir() + "/cache.db"
	req := simRequest(srv, sc.Companies[0].UUID, provider.SHA256, provider.SHA1, provider.MD5)
	req.Filter.AdversaryTypes = []string{"C2C", "Malware", "DGA", "Mining", "Spam", "Phishing", "Anonymizer", "Network Scan", "Inappropriate content"}
	// The cold read needs more than the default daily quota (10,000): the
	// benchmark measures the warm read, not the quota.
	req.Company.RequestsPerDay = 10_000_000
	s, diags := NewSource(provider.SourceOptions{CachePath: path}, WithHTTPClient(srv.Client()))
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	defer s.Close()
	cold := s.Fetch(context.Background(), req)
	if cold.Err != nil {
		b.Fatal(cold.Err)
	}
	b.Logf("cold: %d listed, %d kept, %d hashes, %d list pages, %d context calls",
		cold.Stats.IncidentsListed, cold.Stats.IncidentsKept, len(cold.Indicators), cold.Stats.ListCalls, cold.Stats.ContextCalls)
	b.ReportAllocs()
	b.ResetTimer()
	var resp provider.FetchResponse
	for b.Loop() {
		resp = s.Fetch(context.Background(), req)
		if resp.Err != nil {
			b.Fatal(resp.Err)
		}
		if resp.Stats.ContextCalls != 0 {
			b.Fatalf("warm fetch made %d context calls", resp.Stats.ContextCalls)
		}
	}
	b.ReportMetric(float64(len(resp.Indicators)), "hashes/op")
	b.ReportMetric(float64(resp.Stats.ListCalls), "listcalls/op")
}
