package lumu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// testKey is distinctive so that a leak is easy to find.
const testKey = "sEcReT-LumuKey-9f2c41&x=7"

const testCompanyUUID = "10228d9c-ff18-4251-ac19-514185e00f17"

// newFakeClock is the lumu tests' clock.
func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2025, 6, 4, 12, 0, 0, 0, time.UTC))
}

// recorded is one request the fake saw.
type recorded struct {
	Method string
	Path   string
	Query  url.Values
	Body   map[string]any
}

// fakeLumu is a small Lumu stand-in built from the recorded payloads: a
// fixed incident list (served as is, whatever the filters) and contexts per
// incident and hash type. Hooks let a test answer differently.
type fakeLumu struct {
	t   testing.TB
	key string

	mu        sync.Mutex
	incidents []map[string]any
	// contexts[id][type] is the context body; a missing entry is served as
	// an empty 200 body.
	contexts map[string]map[provider.HashType]map[string]any
	requests []recorded
	calls    map[string]int // "list", "context", "context <id> <type>", "details"
	pageSize int            // 0: honour items

	// hook, when set, may answer a request itself (return true).
	hook func(w http.ResponseWriter, r *http.Request, n int) bool
}

func newFakeLumu(t testing.TB) *fakeLumu {
	return &fakeLumu{t: t, key: testKey, contexts: map[string]map[provider.HashType]map[string]any{}, calls: map[string]int{}}
}

func (f *fakeLumu) addIncident(in map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.incidents = append(f.incidents, in)
}

func (f *fakeLumu) setContext(id string, t provider.HashType, cx map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.contexts[id] == nil {
		f.contexts[id] = map[provider.HashType]map[string]any{}
	}
	f.contexts[id][t] = cx
}

func (f *fakeLumu) count(k string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[k]
}

func (f *fakeLumu) Requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeLumu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &rec.Body); err != nil {
			f.t.Errorf("request body is not JSON: %v", err)
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, rec)
	n := len(f.requests)
	f.mu.Unlock()
	if f.hook != nil && f.hook(w, r, n) {
		return
	}
	if r.URL.Query().Get("key") != f.key {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/incidents/all":
		f.serveList(w, r)
	case r.Method == http.MethodGet && len(parts) == 4 && parts[0] == "api" && parts[1] == "incidents" && parts[3] == "context":
		f.serveContext(w, r, parts[2])
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeLumu) serveList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["list"]++
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	items, _ := strconv.Atoi(r.URL.Query().Get("items"))
	if page < 1 || items < 1 || items > 100 {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"name":"BadRequest","detail":"bad paging"}`)
		return
	}
	if f.pageSize > 0 {
		items = f.pageSize
	}
	lo := min((page-1)*items, len(f.incidents))
	hi := min(lo+items, len(f.incidents))
	pi := map[string]any{"page": page, "items": items}
	if hi < len(f.incidents) {
		pi["next"] = page + 1
	}
	if page > 1 {
		pi["prev"] = page - 1
	}
	writeJSON(w, map[string]any{"items": f.incidents[lo:hi], "paginationInfo": pi, "timestamp": "2023-01-25T12:10:12.304Z"})
}

func (f *fakeLumu) serveContext(w http.ResponseWriter, r *http.Request, id string) {
	t := provider.HashType(r.URL.Query().Get("hash"))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["context"]++
	f.calls["context "+id+" "+string(t)]++
	known := false
	for _, in := range f.incidents {
		if in["id"] == id {
			known = true
		}
	}
	if !known {
		http.NotFound(w, r)
		return
	}
	cx, ok := f.contexts[id][t]
	if !ok {
		w.WriteHeader(http.StatusOK) // empty 200 body
		return
	}
	if st, ok := cx["_status"].(int); ok { // an error answer for this context
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": http.StatusText(st)})
		return
	}
	writeJSON(w, cx)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// start serves f and returns its URL.
func (f *fakeLumu) start() *httptest.Server {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	return srv
}

// samplePayloads reads testdata/sample-payloads.json (Lumu's sample
// payloads, kept in the repository so no test reads outside it).
func samplePayloads(t testing.TB) map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("testdata/sample-payloads.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// sampleIncidents returns the incidents of the recorded list payload.
func sampleIncidents(t testing.TB) []map[string]any {
	t.Helper()
	var page struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(samplePayloads(t)["POST /api/incidents/all (also open|muted|closed)"], &page); err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// sampleContext returns the recorded context payload.
func sampleContext(t testing.TB) map[string]any {
	t.Helper()
	var cx map[string]any
	if err := json.Unmarshal(samplePayloads(t)["GET /api/incidents/{id}/context?hash=sha256"], &cx); err != nil {
		t.Fatal(err)
	}
	return cx
}

// testClient returns a Client for srv with a fake clock and no jitter.
func testClient(t testing.TB, srv *httptest.Server, clk *testkit.Clock, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{
		BaseURL: srv.URL, Key: testKey, Company: "acme", HTTPClient: srv.Client(),
		Now: clk.Now, Sleep: clk.Sleep, Jitter: func() float64 { return 0 },
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// assertNoKey fails when s holds the test key in any form.
func assertNoKey(t testing.TB, s string) {
	t.Helper()
	for _, k := range []string{testKey, url.QueryEscape(testKey), "sEcReT"} {
		if strings.Contains(s, k) {
			t.Errorf("the key leaked into %q", s)
		}
	}
}
