package lumu

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

var testNow = time.Date(2025, 6, 4, 12, 0, 0, 0, time.UTC)

func h32(n int) string { return fmt.Sprintf("%032x", n+0xabc000) }
func h40(n int) string { return fmt.Sprintf("%040x", n+0xabc000) }
func h64(n int) string { return fmt.Sprintf("%064x", n+0xabc000) }

// uid returns a v1-style incident id for n.
func uid(n int) string { return fmt.Sprintf("%08x-94d4-11ed-b0f8-a7e340234a4e", n) }

// inc builds a listed incident.
func inc(n int, lastContact time.Time, status string, types ...string) map[string]any {
	return map[string]any{
		"id": uid(n), "status": status, "adversaryTypes": types, "contacts": 10,
		"adversaryId": fmt.Sprintf("adv%d.example", n), "adversaries": []string{fmt.Sprintf("adv%d.example", n)},
		"description": fmt.Sprintf("incident %d", n), "labelDistribution": map[string]int{"0": 10},
		"lastContact": lastContact.Format(time.RFC3339Nano),
	}
}

func with(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }

func files(active bool, fs ...any) map[string]any {
	return map[string]any{"currently_active": active, "related_files": fs}
}

// testSource returns a Source with a fake clock and no real waits.
func testSource(t testing.TB, srv *httptest.Server, clk *testkit.Clock, cachePath string, opts ...Option) *Source {
	t.Helper()
	opts = append([]Option{WithHTTPClient(srv.Client()), WithClock(clk.Now), WithSleep(clk.Sleep), WithJitter(func() float64 { return 0 })}, opts...)
	s, diags := NewSource(provider.SourceOptions{CachePath: cachePath}, opts...)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	t.Cleanup(func() { s.Close() })
	return s.(*Source)
}

func testRequest(srv *httptest.Server) provider.FetchRequest {
	return provider.FetchRequest{
		Company: provider.Company{Name: "acme", UUID: testCompanyUUID, APIURL: srv.URL, Key: testKey, RequestsPerMinute: 100000},
		Filter: provider.Filter{Name: "malware", HashTypes: []provider.HashType{provider.SHA256},
			AdversaryTypes: []string{"C2C", "Malware"}, Days: 30, Statuses: []string{"open"}},
		Now: testNow,
	}
}

// provenance flattens indicators to hash → incident ids, checking each
// indicator's own invariants on the way.
func provenance(t *testing.T, inds map[string]*provider.Indicator) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for h, ind := range inds {
		if ind.Hash != h || len(h) != ind.Type.HexLen() {
			t.Errorf("indicator %q: hash %q type %q", h, ind.Hash, ind.Type)
		}
		var ids []string
		for _, r := range ind.Incidents {
			ids = append(ids, r.ID)
		}
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Errorf("indicator %q: incidents not sorted and unique: %v", h, ids)
		}
		out[h] = ids
	}
	return out
}

func TestFetchExtraction(t *testing.T) {
	from := testNow.Add(-30 * 24 * time.Hour)
	in := func(d time.Duration) time.Time { return testNow.Add(-d) }
	type ctxs = map[string]map[provider.HashType]map[string]any
	tests := []struct {
		name      string
		incidents []map[string]any
		contexts  ctxs
		filter    func(*provider.Filter)
		want      map[string][]string
		wantWarn  []string       // substrings, one per warning, in order
		wantCalls map[string]int // "context <id> <type>" → calls (only these checked)
		wantStats *provider.FetchStats
	}{
		{
			name: "window edges by lastContact",
			incidents: []map[string]any{
				inc(1, from, "open", "C2C"),                          // exactly at now-days: in
				inc(2, from.Add(-time.Millisecond), "open", "C2C"),   // just outside
				inc(3, testNow, "open", "C2C"),                       // exactly now: in
				inc(4, testNow.Add(time.Millisecond), "open", "C2C"), // Lumu's clock ahead: now
				with(inc(5, testNow, "open", "C2C"), "lastContact", nil),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: files(true, h64(1))},
				uid(2): {provider.SHA256: files(true, h64(2))},
				uid(3): {provider.SHA256: files(true, h64(3))},
				uid(4): {provider.SHA256: files(true, h64(4))},
				uid(5): {provider.SHA256: files(true, h64(5))},
			},
			want:      map[string][]string{h64(1): {uid(1)}, h64(3): {uid(3)}, h64(4): {uid(4)}},
			wantCalls: map[string]int{"context " + uid(2) + " sha256": 0, "context " + uid(4) + " sha256": 1},
			wantStats: &provider.FetchStats{ListCalls: 1, ContextCalls: 3, IncidentsListed: 5, IncidentsKept: 3},
		},
		{
			// Issue 10 item 7: Lumu's clock 30 s ahead used to drop the
			// incident, unblocking its hashes silently.
			name: "lastContact ahead of this clock: now, with a warning beyond 5 minutes",
			incidents: []map[string]any{
				inc(1, testNow.Add(2*time.Hour), "open", "C2C"),
				inc(2, testNow.Add(5*time.Minute), "open", "C2C"),
				inc(3, testNow.Add(30*time.Second), "open", "C2C"),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: files(true, h64(1))},
				uid(2): {provider.SHA256: files(true, h64(2))},
				uid(3): {provider.SHA256: files(true, h64(3))},
			},
			want:     map[string][]string{h64(1): {uid(1)}, h64(2): {uid(2)}, h64(3): {uid(3)}},
			wantWarn: []string{"Lumu incident " + uid(1) + " was last seen at 2025-06-04T14:00:00Z, 2h0m0s ahead of this machine's clock (more than the 5m0s tolerance); lumuctl counts it as seen now."},
		},
		{
			name: "statuses: muted never counts, even when listed",
			incidents: []map[string]any{
				inc(1, in(time.Hour), "open", "C2C"),
				inc(2, in(time.Hour), "muted", "C2C"),
				inc(3, in(time.Hour), "closed", "C2C"),
				inc(4, in(time.Hour), "Closed", "C2C"),
				inc(5, in(time.Hour), "MUTED", "C2C"),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: files(true, h64(1))},
				uid(2): {provider.SHA256: files(true, h64(2))},
				uid(3): {provider.SHA256: files(true, h64(3))},
				uid(4): {provider.SHA256: files(true, h64(4))},
				uid(5): {provider.SHA256: files(true, h64(5))},
			},
			filter:    func(f *provider.Filter) { f.Statuses = []string{"open", "closed"} },
			want:      map[string][]string{h64(1): {uid(1)}, h64(3): {uid(3)}, h64(4): {uid(4)}},
			wantCalls: map[string]int{"context " + uid(2) + " sha256": 0, "context " + uid(5) + " sha256": 0},
		},
		{
			name: "statuses: closed only when asked",
			incidents: []map[string]any{
				inc(1, in(time.Hour), "open", "C2C"),
				inc(3, in(time.Hour), "closed", "C2C"),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: files(true, h64(1))},
				uid(3): {provider.SHA256: files(true, h64(3))},
			},
			want: map[string][]string{h64(1): {uid(1)}},
		},
		{
			name: "adversary types: at least one in the list",
			incidents: []map[string]any{
				inc(1, in(time.Hour), "open", "DGA"),
				inc(2, in(time.Hour), "open", "Spam", "Malware"),
				inc(3, in(time.Hour), "open", "malware"),
				inc(4, in(time.Hour), "open"),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: files(true, h64(1))},
				uid(2): {provider.SHA256: files(true, h64(2))},
				uid(3): {provider.SHA256: files(true, h64(3))},
				uid(4): {provider.SHA256: files(true, h64(4))},
			},
			filter: func(f *provider.Filter) { f.AdversaryTypes = []string{"Malware"} },
			want:   map[string][]string{h64(2): {uid(2)}, h64(3): {uid(3)}},
		},
		{
			name: "labels: one of them in labelDistribution",
			incidents: []map[string]any{
				with(inc(1, in(time.Hour), "open", "C2C"), "labelDistribution", map[string]int{"548": 3, "0": 1}),
				with(inc(2, in(time.Hour), "open", "C2C"), "labelDistribution", map[string]int{"4055": 3}),
				with(inc(3, in(time.Hour), "open", "C2C"), "labelDistribution", nil),
				with(inc(4, in(time.Hour), "open", "C2C"), "labelDistribution", map[string]int{"989": 1}),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: files(true, h64(1))},
				uid(2): {provider.SHA256: files(true, h64(2))},
				uid(3): {provider.SHA256: files(true, h64(3))},
				uid(4): {provider.SHA256: files(true, h64(4))},
			},
			filter: func(f *provider.Filter) { f.Labels = []int{548, 989} },
			want:   map[string][]string{h64(1): {uid(1)}, h64(4): {uid(4)}},
		},
		{
			name: "only_active: the first context decides, the others are not read",
			incidents: []map[string]any{
				inc(1, in(time.Hour), "open", "C2C"),
				inc(2, in(time.Hour), "open", "C2C"),
				inc(3, in(time.Hour), "open", "C2C"),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: files(false, h64(1)), provider.MD5: files(false, h32(1))},
				uid(2): {provider.SHA256: files(true, h64(2)), provider.MD5: files(false, h32(2))},
				uid(3): {provider.SHA256: {"related_files": []string{h64(3)}}, provider.MD5: files(true, h32(3))},
			},
			filter: func(f *provider.Filter) {
				f.OnlyActive = true
				f.HashTypes = []provider.HashType{provider.SHA256, provider.MD5}
			},
			// uid(3)'s first context has no currently_active: inactive,
			// as Lumu's integrations read it (SPEC 3).
			want: map[string][]string{h64(2): {uid(2)}, h32(2): {uid(2)}},
			wantCalls: map[string]int{
				"context " + uid(1) + " sha256": 1, "context " + uid(1) + " md5": 0,
				"context " + uid(2) + " sha256": 1, "context " + uid(2) + " md5": 1,
				"context " + uid(3) + " sha256": 1, "context " + uid(3) + " md5": 0,
			},
			wantStats: &provider.FetchStats{ListCalls: 1, ContextCalls: 4, IncidentsListed: 3, IncidentsKept: 3},
		},
		{
			name: "only_active: rank below 900000 skips, missing rank is 900000, null currently_active is active",
			incidents: []map[string]any{
				inc(1, in(time.Hour), "open", "C2C"),
				inc(2, in(time.Hour), "open", "C2C"),
				inc(3, in(time.Hour), "open", "C2C"),
				inc(4, in(time.Hour), "open", "C2C"),
				inc(5, in(time.Hour), "open", "C2C"),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: {"currently_active": true, "rank": 899999, "related_files": []string{h64(1)}}},
				uid(2): {provider.SHA256: {"currently_active": true, "rank": 900000, "related_files": []string{h64(2)}}},
				uid(3): {provider.SHA256: {"currently_active": true, "rank": 950000.5, "related_files": []string{h64(3)}}},
				uid(4): {provider.SHA256: {"currently_active": nil, "related_files": []string{h64(4)}}},
				uid(5): {provider.SHA256: {"currently_active": false, "rank": 999999, "related_files": []string{h64(5)}}},
			},
			filter: func(f *provider.Filter) { f.OnlyActive = true },
			want:   map[string][]string{h64(2): {uid(2)}, h64(3): {uid(3)}, h64(4): {uid(4)}},
		},
		{
			name: "only_active off: rank and a missing currently_active do not matter",
			incidents: []map[string]any{
				inc(1, in(time.Hour), "open", "C2C"),
				inc(2, in(time.Hour), "open", "C2C"),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: {"rank": 1, "related_files": []string{h64(1)}}},
				uid(2): {provider.SHA256: {"related_files": []string{h64(2)}}},
			},
			want: map[string][]string{h64(1): {uid(1)}, h64(2): {uid(2)}},
		},
		{
			name: "a 404 for one incident's context: it contributes nothing, with a warning naming it",
			incidents: []map[string]any{
				inc(1, in(time.Hour), "open", "C2C"),
				inc(2, in(time.Hour), "open", "C2C"),
			},
			contexts: ctxs{
				uid(1): {provider.SHA256: {"_status": 404}, provider.MD5: files(true, h32(1))},
				uid(2): {provider.SHA256: files(true, h64(2)), provider.MD5: files(true, h32(2))},
			},
			filter:    func(f *provider.Filter) { f.HashTypes = []provider.HashType{provider.SHA256, provider.MD5} },
			want:      map[string][]string{h64(2): {uid(2)}, h32(2): {uid(2)}},
			wantWarn:  []string{"Lumu answered 404 for the context of incident " + uid(1)},
			wantCalls: map[string]int{"context " + uid(1) + " md5": 0},
		},
		{
			name:      "only_active off: inactive incidents count",
			incidents: []map[string]any{inc(1, in(time.Hour), "open", "C2C")},
			contexts:  ctxs{uid(1): {provider.SHA256: files(false, h64(1))}},
			want:      map[string][]string{h64(1): {uid(1)}},
		},
		{
			name:      "normalisation and malformed values",
			incidents: []map[string]any{inc(1, in(time.Hour), "open", "C2C")},
			contexts: ctxs{uid(1): {
				provider.SHA256: files(true, "  "+strings.ToUpper(h64(1))+"\n", "xyz", h64(2)[:63], strings.Repeat("g", 64), 12345, strings.Repeat("f", 5000), h32(3)),
				provider.SHA1:   files(true, h40(4), h64(5)),
			}},
			filter: func(f *provider.Filter) { f.HashTypes = []provider.HashType{provider.SHA256, provider.SHA1} },
			want:   map[string][]string{h64(1): {uid(1)}, h40(4): {uid(1)}},
			wantWarn: []string{
				`Lumu incident ` + uid(1) + ` lists "xyz" as a related sha256 file, which is not 64 hexadecimal digits`,
				`"` + h64(2)[:63] + `"`,
				`"` + strings.Repeat("g", 64) + `"`,
				`"12345"`,
				`"` + strings.Repeat("f", 100) + `... (5000 bytes)"`,
				`"` + h32(3) + `" as a related sha256 file`,
				`"` + h64(5) + `" as a related sha1 file, which is not 40 hexadecimal digits`,
			},
		},
		{
			name: "provenance merged across incidents sharing a hash",
			incidents: []map[string]any{
				inc(3, in(time.Hour), "open", "C2C"),
				inc(1, in(2*time.Hour), "open", "Malware"),
				inc(2, in(3*time.Hour), "open", "C2C"),
			},
			contexts: ctxs{
				uid(3): {provider.SHA256: files(true, h64(7), h64(8))},
				uid(1): {provider.SHA256: files(true, h64(7), strings.ToUpper(h64(7)))},
				uid(2): {provider.SHA256: files(true, h64(8), h64(7))},
			},
			want: map[string][]string{h64(7): {uid(1), uid(2), uid(3)}, h64(8): {uid(2), uid(3)}},
		},
		{
			name:      "no related_files and empty bodies mean no hashes",
			incidents: []map[string]any{inc(1, in(time.Hour), "open", "C2C"), inc(2, in(time.Hour), "open", "C2C")},
			contexts:  ctxs{uid(1): {provider.SHA256: {"currently_active": true}}},
			want:      map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeLumu(t)
			for _, in := range tt.incidents {
				f.addIncident(in)
			}
			for id, byType := range tt.contexts {
				for ht, cx := range byType {
					f.setContext(id, ht, cx)
				}
			}
			srv := f.start()
			s := testSource(t, srv, newFakeClock(), "")
			req := testRequest(srv)
			if tt.filter != nil {
				tt.filter(&req.Filter)
			}
			resp := s.Fetch(context.Background(), req)
			if resp.Err != nil {
				t.Fatal(resp.Err)
			}
			if diff := cmp.Diff(tt.want, provenance(t, resp.Indicators)); diff != "" {
				t.Errorf("hashes mismatch (-want +got):\n%s", diff)
			}
			if len(resp.Warnings) != len(tt.wantWarn) {
				t.Errorf("got %d warnings, want %d: %+v", len(resp.Warnings), len(tt.wantWarn), resp.Warnings)
			} else {
				for i, w := range tt.wantWarn {
					if !strings.Contains(resp.Warnings[i].Detail, w) || !strings.Contains(resp.Warnings[i].Detail, uid(1)) {
						t.Errorf("warning %d = %q, want it to contain %q and name the incident", i, resp.Warnings[i].Detail, w)
					}
				}
			}
			for k, n := range tt.wantCalls {
				if got := f.count(k); got != n {
					t.Errorf("%s: %d calls, want %d", k, got, n)
				}
			}
			if got := f.count("context"); got != resp.Stats.ContextCalls {
				t.Errorf("server saw %d context calls, stats say %d", got, resp.Stats.ContextCalls)
			}
			if tt.wantStats != nil {
				if diff := cmp.Diff(*tt.wantStats, resp.Stats); diff != "" {
					t.Errorf("stats mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestFetchRecordedPayloads runs the recorded list payload through a fetch
// and checks the full provenance.
func TestFetchRecordedPayloads(t *testing.T) {
	f := newFakeLumu(t)
	for _, in := range sampleIncidents(t) {
		f.addIncident(in)
	}
	// The recorded context (no related_files) for the QakBot incident,
	// files for the two others, one hash shared.
	f.setContext("6eddaf40-938c-11ed-b0f8-a7e340234a4e", provider.SHA256, sampleContext(t))
	f.setContext("a0664d30-94d4-11ed-b0f8-a7e340234a4e", provider.SHA256, files(true, h64(1), h64(2)))
	f.setContext("8c5efc90-aca5-11ed-9fd0-e5fb50c818f6", provider.SHA256, files(true, h64(2)))
	srv := f.start()
	s := testSource(t, srv, newFakeClock(), "")
	req := testRequest(srv)
	req.Now = time.Date(2023, 2, 16, 0, 0, 0, 0, time.UTC)
	req.Filter.AdversaryTypes = []string{"C2C", "Malware", "Phishing"}
	var events []provider.ProgressEvent
	req.Progress = func(ev provider.ProgressEvent) { events = append(events, ev) }
	resp := s.Fetch(context.Background(), req)
	if resp.Err != nil {
		t.Fatal(resp.Err)
	}
	phishing := provider.IncidentRef{
		ID: "a0664d30-94d4-11ed-b0f8-a7e340234a4e", Company: "acme", Filter: "malware",
		AdversaryID: "waste4think.eu", AdversaryTypes: []string{"Phishing"}, Description: "Phishing domain",
		LastContact: time.Date(2023, 1, 18, 21, 22, 9, 643e6, time.UTC), Status: "open",
	}
	c2c := provider.IncidentRef{
		ID: "8c5efc90-aca5-11ed-9fd0-e5fb50c818f6", Company: "acme", Filter: "malware",
		AdversaryID: "104.156.63.145", AdversaryTypes: []string{"C2C"}, Description: "Malware family Agentemis",
		LastContact: time.Date(2023, 2, 15, 5, 35, 40, 0, time.UTC), Status: "open",
	}
	want := map[string]*provider.Indicator{
		h64(1): {Hash: h64(1), Type: provider.SHA256, Incidents: []provider.IncidentRef{phishing}},
		h64(2): {Hash: h64(2), Type: provider.SHA256, Incidents: []provider.IncidentRef{c2c, phishing}},
	}
	if diff := cmp.Diff(want, resp.Indicators); diff != "" {
		t.Errorf("indicators mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(provider.FetchStats{ListCalls: 1, ContextCalls: 3, IncidentsListed: 3, IncidentsKept: 3}, resp.Stats); diff != "" {
		t.Errorf("stats mismatch (-want +got):\n%s", diff)
	}
	// Progress: one listing event, then contexts 1/3 .. 3/3.
	var kinds []string
	for _, ev := range events {
		if ev.Source != "acme/malware" {
			t.Errorf("event source %q", ev.Source)
		}
		kinds = append(kinds, fmt.Sprintf("%s %d/%d", ev.Kind, ev.Done, ev.Total))
	}
	if diff := cmp.Diff([]string{"incidents_listed 3/0", "contexts 1/3", "contexts 2/3", "contexts 3/3"}, kinds); diff != "" {
		t.Errorf("progress mismatch (-want +got):\n%s", diff)
	}
}

func TestFetchFailures(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(f *fakeLumu, req *provider.FetchRequest)
		wantErr string
	}{
		{"wrong key", func(f *fakeLumu, req *provider.FetchRequest) { f.key = "another" },
			`Lumu rejected the Defender API key of company "acme" (http://127.0.0.1:`},
		{"context fails", func(f *fakeLumu, req *provider.FetchRequest) {
			req.Company.RetryTimeout = time.Second
			f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if strings.HasSuffix(r.URL.Path, "/context") {
					w.WriteHeader(502)
					return true
				}
				return false
			}
		}, ": 502 Bad Gateway): gave up after"},
		{"bad company uuid", func(f *fakeLumu, req *provider.FetchRequest) { req.Company.UUID = "acme" }, `company uuid "acme" is not a UUID`},
		{"muted status", func(f *fakeLumu, req *provider.FetchRequest) { req.Filter.Statuses = []string{"muted"} }, `status "muted" is not open or closed`},
		{"unknown hash type", func(f *fakeLumu, req *provider.FetchRequest) { req.Filter.HashTypes = []provider.HashType{"crc32"} }, `unknown hash type "crc32"`},
		{"no key", func(f *fakeLumu, req *provider.FetchRequest) { req.Company.Key = "" }, "the Defender API key is empty"},
		{"bad api_url", func(f *fakeLumu, req *provider.FetchRequest) { req.Company.APIURL = "defender.lumu.io" }, `api_url "defender.lumu.io" is not an http(s) URL`},
		{"interrupted", func(f *fakeLumu, req *provider.FetchRequest) {}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeLumu(t)
			for i := range 6 {
				f.addIncident(inc(i, testNow.Add(-time.Hour), "open", "C2C"))
				f.setContext(uid(i), provider.SHA256, files(true, h64(i)))
			}
			srv := f.start()
			s := testSource(t, srv, newFakeClock(), "")
			req := testRequest(srv)
			tt.mod(f, &req)
			ctx := context.Background()
			if tt.name == "interrupted" {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			resp := s.Fetch(ctx, req)
			if resp.Err == nil || !strings.Contains(resp.Err.Error(), tt.wantErr) {
				t.Fatalf("Err = %v, want it to contain %q", resp.Err, tt.wantErr)
			}
			assertNoKey(t, resp.Err.Error())
			if resp.Indicators != nil {
				t.Errorf("a failed fetch returned indicators: %v", resp.Indicators)
			}
		})
	}
}

func TestLimiterSharedPerKey(t *testing.T) {
	s := testSource(t, httptest.NewServer(http.NotFoundHandler()), newFakeClock(), "")
	a := s.limiter(testKey, 50)
	if b := s.limiter(testKey, 600); b != a {
		t.Error("two fetches with the same key got different limiters")
	}
	if c := s.limiter("other-key", 50); c == a {
		t.Error("two keys share a limiter")
	}
	if a.Limit() != 50.0/60 || a.Burst() != 1 {
		t.Errorf("50/min: limit %v burst %d, want %v and 1", a.Limit(), a.Burst(), 50.0/60)
	}
	if d := s.limiter("default-key", 0); d.Limit() != provider.DefaultRequestsPerMinute/60.0 {
		t.Errorf("default limit %v", d.Limit())
	}
	for id := range s.limiters {
		if strings.Contains(id, testKey) || len(id) != 64 {
			t.Errorf("limiter id %q is not a key digest", id)
		}
	}
}

// TestFetchSharesBudget runs two filters of one company, one after the
// other, against a 60/min budget (burst 1): the second fetch's first
// request waits for the budget the first fetch spent. With one limiter per
// fetch it would not, and there would be 3 waits instead of 4.
func TestFetchSharesBudget(t *testing.T) {
	f := newFakeLumu(t)
	f.addIncident(inc(1, testNow.Add(-time.Hour), "open", "C2C"))
	f.setContext(uid(1), provider.SHA256, files(true, h64(1)))
	f.setContext(uid(1), provider.SHA1, files(true, h40(1)))
	srv := f.start()
	clk := newFakeClock()
	s := testSource(t, srv, clk, "")
	a := testRequest(srv)
	a.Company.RequestsPerMinute = 60
	a.Filter.HashTypes = []provider.HashType{provider.SHA256, provider.SHA1}
	b := a
	b.Filter.Name = "other"
	b.Filter.HashTypes = []provider.HashType{provider.SHA1}
	for _, req := range []provider.FetchRequest{a, b} {
		if r := s.Fetch(context.Background(), req); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if n := len(f.Requests()); n != 5 {
		t.Fatalf("%d requests, want 5", n)
	}
	want := []time.Duration{time.Second, time.Second, time.Second, time.Second}
	if diff := cmp.Diff(want, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps mismatch (-want +got):\n%s", diff)
	}
}

// TestContextErrorOtherThan404FailsTheSource pins the other half of SPEC 3:
// only a 404 makes an incident contribute nothing; any other error answer
// for a context fails the fetch.
func TestContextErrorOtherThan404FailsTheSource(t *testing.T) {
	f := newFakeLumu(t)
	f.addIncident(inc(1, testNow.Add(-time.Hour), "open", "C2C"))
	f.addIncident(inc(2, testNow.Add(-time.Hour), "open", "C2C"))
	f.setContext(uid(1), provider.SHA256, map[string]any{"_status": 403})
	f.setContext(uid(2), provider.SHA256, files(true, h64(2)))
	srv := f.start()
	s := testSource(t, srv, newFakeClock(), "")
	resp := s.Fetch(context.Background(), testRequest(srv))
	if resp.Err == nil || !strings.Contains(resp.Err.Error(), "403") {
		t.Fatalf("a 403 for one context: err = %v, indicators %d", resp.Err, len(resp.Indicators))
	}
}
