package lumu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/lumuctl/lumuctl/engine/provider"
)

const incA = "a0664d30-94d4-11ed-b0f8-a7e340234a4e"

func TestListIncidentsPagesAndRequest(t *testing.T) {
	f := newFakeLumu(t)
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("%08x-94d4-11ed-b0f8-a7e340234a4e", i)
		want = append(want, id)
		f.addIncident(map[string]any{"id": id, "lastContact": "2025-06-03T00:00:00Z"})
	}
	f.pageSize = 3 // the server pages by 3 whatever we ask
	srv := f.start()
	c := testClient(t, srv, newFakeClock(), nil)
	var progress []int
	res, err := c.ListIncidents(context.Background(), ListQuery{
		From:           time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		To:             time.Date(2025, 6, 4, 12, 0, 0, 1500, time.UTC), // rounded up to the ms
		Statuses:       []string{"open", "closed"},
		AdversaryTypes: []string{"C2C", "Malware"},
		Labels:         []int{548, 0},
	}, func(n int) { progress = append(progress, n) })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range res.Incidents {
		got = append(got, in.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("incidents mismatch (-want +got):\n%s", diff)
	}
	if res.Pages != 3 {
		t.Errorf("pages = %d, want 3", res.Pages)
	}
	if diff := cmp.Diff([]int{3, 6, 7}, progress); diff != "" {
		t.Errorf("progress mismatch (-want +got):\n%s", diff)
	}
	body := map[string]any{
		"fromDate":        "2025-06-01T00:00:00.000Z",
		"toDate":          "2025-06-04T12:00:00.001Z",
		"status":          []any{"open", "closed"},
		"adversary-types": []any{"C2C", "Malware"},
		"labels":          []any{548.0, 0.0},
	}
	var wantReqs []recorded
	for page := 1; page <= 3; page++ {
		wantReqs = append(wantReqs, recorded{
			Method: "POST", Path: "/api/incidents/all",
			Query: url.Values{"key": {testKey}, "page": {fmt.Sprint(page)}, "items": {"100"}},
			Body:  body,
		})
	}
	if diff := cmp.Diff(wantReqs, f.Requests()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
}

func TestListIncidentsOmitsEmptyFilters(t *testing.T) {
	f := newFakeLumu(t)
	srv := f.start()
	c := testClient(t, srv, newFakeClock(), nil)
	if _, err := c.ListIncidents(context.Background(), ListQuery{Statuses: []string{"open"}}, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"status": []any{"open"}}, f.Requests()[0].Body); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

func TestListIncidentsGuards(t *testing.T) {
	page := func(ids []string, next int) string {
		var items []string
		for _, id := range ids {
			items = append(items, fmt.Sprintf(`{"id":%q}`, id))
		}
		pi := fmt.Sprintf(`{"page":1,"items":100,"next":%d}`, next)
		if next == 0 {
			pi = `{"page":1,"items":100}`
		}
		return fmt.Sprintf(`{"items":[%s],"paginationInfo":%s}`, strings.Join(items, ","), pi)
	}
	tests := []struct {
		name      string
		serve     func(n int) string // n = request number, from 1
		maxPages  int
		wantErr   string
		wantCalls int
		wantIDs   int
	}{
		{
			name:      "next points back",
			serve:     func(n int) string { return page([]string{fmt.Sprintf("%08x-94d4-11ed-b0f8-a7e340234a4e", n)}, 1) },
			wantErr:   "announced page 1 as the next page",
			wantCalls: 1,
		},
		{
			name:      "same page again and again",
			serve:     func(n int) string { return page([]string{incA}, n+1) },
			wantErr:   "repeated incidents it had already listed",
			wantCalls: 2,
		},
		{
			name:      "never ends",
			serve:     func(n int) string { return page([]string{fmt.Sprintf("%08x-94d4-11ed-b0f8-a7e340234a4e", n)}, n+1) },
			maxPages:  5,
			wantErr:   "still had more pages after 5 pages",
			wantCalls: 5,
		},
		{
			name:      "invalid id",
			serve:     func(int) string { return page([]string{incA, "../../admin"}, 0) },
			wantErr:   `invalid id "../../admin" (not a UUID)`,
			wantCalls: 1,
		},
		{
			name:      "empty id",
			serve:     func(int) string { return `{"items":[{"status":"open"}]}` },
			wantErr:   `invalid id "" (not a UUID)`,
			wantCalls: 1,
		},
		{
			name:      "empty body ends the list",
			serve:     func(int) string { return "" },
			wantCalls: 1,
		},
		{
			name: "alternative pagination key",
			serve: func(n int) string {
				return strings.Replace(page([]string{fmt.Sprintf("%08x-94d4-11ed-b0f8-a7e340234a4e", n)}, map[int]int{1: 2}[n]), "paginationInfo", "pagination", 1)
			},
			wantCalls: 2,
			wantIDs:   2,
		},
		{
			name:      "upper-case id accepted and lowered",
			serve:     func(int) string { return page([]string{strings.ToUpper(incA)}, 0) },
			wantCalls: 1,
			wantIDs:   1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, tt.serve(int(calls.Add(1))))
			}))
			defer srv.Close()
			c := testClient(t, srv, newFakeClock(), func(cfg *ClientConfig) { cfg.MaxPages = tt.maxPages })
			res, err := c.ListIncidents(context.Background(), ListQuery{}, nil)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if err != nil {
				assertNoKey(t, err.Error())
			}
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if err == nil && len(res.Incidents) != tt.wantIDs {
				t.Errorf("incidents = %d, want %d", len(res.Incidents), tt.wantIDs)
			}
			for _, in := range res.Incidents {
				if in.ID != strings.ToLower(in.ID) {
					t.Errorf("id %q not lower-cased", in.ID)
				}
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		call      string // list | context | details
		want      string
		sentinel  error
		wantCalls int
	}{
		{"401", 401, "", "list", `Lumu rejected the Defender API key of company "acme" (http://127.0.0.1:`, provider.ErrUnauthorized, 1},
		{"403", 403, "", "context", `/context?hash=sha256: 403 Forbidden): Lumu refused the request of company "acme"`, provider.ErrForbidden, 1},
		{"400 with name and detail", 400, `{"name":"InvalidDateRange","detail":"fromDate is beyond the retention limit"}`, "list", ", POST /api/incidents/all (page 1): 400 Bad Request): Lumu rejected the request: InvalidDateRange: fromDate is beyond the retention limit", nil, 1},
		{"400 echoing the key", 400, `bad request for /api/incidents/all?key=` + testKey + `&page=1`, "list", "bad request for /api/incidents/all?key=REDACTED&page=1", nil, 1},
		{"404 names the incident", 404, `{"detail":"nope"}`, "context", ", GET /api/incidents/" + incA + "/context?hash=sha256: 404 Not Found): Lumu has no incident " + incA, provider.ErrNotFound, 1},
		{"404 details", 404, "", "details", ", GET /api/incidents/" + incA + "/details: 404 Not Found): Lumu has no incident " + incA, provider.ErrNotFound, 1},
		{"500 after retries", 500, "oops", "details", ", GET /api/incidents/" + incA + "/details: 500 Internal Server Error): gave up after", nil, 0},
		{"418 not retried", 418, "teapot", "list", ", POST /api/incidents/all (page 1): 418 I'm a teapot): teapot", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			c := testClient(t, srv, newFakeClock(), func(cfg *ClientConfig) { cfg.RetryTimeout = 10 * time.Second })
			var err error
			switch tt.call {
			case "list":
				_, err = c.ListIncidents(context.Background(), ListQuery{}, nil)
			case "context":
				_, err = c.Context(context.Background(), incA, provider.SHA256)
			case "details":
				_, err = c.Details(context.Background(), incA)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
			assertNoKey(t, err.Error())
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(err, %v) = false", tt.sentinel)
			}
			if tt.wantCalls > 0 && int(calls.Load()) != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls.Load(), tt.wantCalls)
			}
		})
	}
}

// flaky answers the first len(fail) requests with the given statuses (and
// headers), then 200 with body.
func flaky(fail []int, hdr http.Header, body string, calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if n <= len(fail) {
			for k, v := range hdr {
				w.Header()[k] = v
			}
			w.WriteHeader(fail[n-1])
			return
		}
		fmt.Fprint(w, body)
	}
}

func TestRetries(t *testing.T) {
	clk0 := newFakeClock().Now()
	tests := []struct {
		name       string
		fail       []int
		hdr        http.Header
		wantCalls  int
		wantSleeps []time.Duration
		wantKinds  []provider.ProgressKind
	}{
		{"429 Retry-After seconds", []int{429}, http.Header{"Retry-After": {"1"}}, 2, []time.Duration{time.Second}, []provider.ProgressKind{provider.ProgressRateLimited}},
		{"429 Retry-After date", []int{429}, http.Header{"Retry-After": {clk0.Add(7 * time.Second).Format(http.TimeFormat)}}, 2, []time.Duration{7 * time.Second}, []provider.ProgressKind{provider.ProgressRateLimited}},
		{"429 RateLimit-Reset", []int{429}, http.Header{"Ratelimit-Reset": {"12"}, "Ratelimit-Remaining": {"0"}}, 2, []time.Duration{12 * time.Second}, []provider.ProgressKind{provider.ProgressRateLimited}},
		{"429 without headers backs off", []int{429, 429}, nil, 3, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}, []provider.ProgressKind{provider.ProgressRateLimited, provider.ProgressRateLimited}},
		{"502 then success", []int{502}, nil, 2, []time.Duration{250 * time.Millisecond}, []provider.ProgressKind{provider.ProgressRetrying}},
		{"500 503 504 then success", []int{500, 503, 504}, nil, 4, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}, []provider.ProgressKind{provider.ProgressRetrying, provider.ProgressRetrying, provider.ProgressRetrying}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(flaky(tt.fail, tt.hdr, `{"currently_active":true,"related_files":["`+strings.Repeat("a", 64)+`"]}`, &calls))
			defer srv.Close()
			clk := newFakeClock()
			var kinds []provider.ProgressKind
			c := testClient(t, srv, clk, func(cfg *ClientConfig) {
				cfg.Progress = func(k provider.ProgressKind, _ time.Duration, detail string) {
					kinds = append(kinds, k)
					assertNoKey(t, detail)
				}
			})
			cx, err := c.Context(context.Background(), incA, provider.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if len(cx.Files()) != 1 {
				t.Errorf("files = %v", cx.Files())
			}
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantSleeps, clk.Sleeps()); diff != "" {
				t.Errorf("sleeps mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantKinds, kinds); diff != "" {
				t.Errorf("progress mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryJitter(t *testing.T) {
	c := &Client{cfg: ClientConfig{Jitter: func() float64 { return 0.5 }}}
	got := []time.Duration{c.backoff(1), c.backoff(2), c.backoff(3), c.backoff(8), c.backoff(60)}
	want := []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond, 22500 * time.Millisecond, 22500 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backoff mismatch (-want +got):\n%s", diff)
	}
}

func TestRetryBudgetExhausted(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(flaky([]int{503, 503, 503, 503, 503, 503, 503, 503}, nil, "{}", &calls))
	defer srv.Close()
	clk := newFakeClock()
	c := testClient(t, srv, clk, func(cfg *ClientConfig) { cfg.RetryTimeout = 2 * time.Second })
	_, err := c.Context(context.Background(), incA, provider.SHA1)
	// Waits 250ms, 500ms, 1s (1.75s); the next 2s wait would pass 2s.
	want := "Lumu (" + srv.URL + ", GET /api/incidents/" + incA + "/context?hash=sha1: 503 Service Unavailable): gave up after 4 attempts in 1.75s (retry_timeout 2s)"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
	if calls.Load() != 4 {
		t.Errorf("calls = %d, want 4", calls.Load())
	}
	if diff := cmp.Diff([]time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps mismatch (-want +got):\n%s", diff)
	}
}

func Test429RetryAfterBeyondBudget(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(flaky([]int{429}, http.Header{"Retry-After": {"600"}}, "{}", &calls))
	defer srv.Close()
	clk := newFakeClock()
	c := testClient(t, srv, clk, nil) // default 2m budget
	_, err := c.Details(context.Background(), incA)
	if err == nil || !strings.Contains(err.Error(), "/details: 429 Too Many Requests): gave up after 1 attempts") {
		t.Fatalf("error = %v", err)
	}
	if calls.Load() != 1 || len(clk.Sleeps()) != 0 {
		t.Errorf("calls = %d, sleeps = %v; want 1 call, no sleep", calls.Load(), clk.Sleeps())
	}
}

func TestCancelStopsWait(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  http.Header
	}{
		{"during Retry-After", http.Header{"Retry-After": {"3600"}}},
		{"during backoff", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			seen := make(chan struct{}, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				for k, v := range tc.hdr {
					w.Header()[k] = v
				}
				w.WriteHeader(map[bool]int{true: 429, false: 503}[tc.hdr != nil])
				select {
				case seen <- struct{}{}:
				default:
				}
			}))
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			// Real sleeps: a wait that cancellation does not stop makes
			// the test hang, not pass. Jitter 1 makes the first backoff
			// 500ms, so cancellation races nothing.
			c, err := NewClient(ClientConfig{BaseURL: srv.URL, Key: testKey, Company: "acme", HTTPClient: srv.Client(),
				RetryTimeout: 2 * time.Hour, Jitter: func() float64 { return 1 }})
			if err != nil {
				t.Fatal(err)
			}
			go func() { <-seen; cancel() }()
			_, err = c.Details(ctx, incA)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error = %v, want context.Canceled", err)
			}
			assertNoKey(t, err.Error())
			if calls.Load() != 1 {
				t.Errorf("calls = %d, want 1", calls.Load())
			}
		})
	}
}

func TestRateLimiterWaits(t *testing.T) {
	f := newFakeLumu(t)
	f.addIncident(map[string]any{"id": incA})
	srv := f.start()
	clk := newFakeClock()
	var waits []time.Duration
	c := testClient(t, srv, clk, func(cfg *ClientConfig) {
		cfg.Limiter = rate.NewLimiter(rate.Limit(60.0/60), 1) // 60/min, burst 1
		cfg.Progress = func(k provider.ProgressKind, d time.Duration, _ string) {
			if k == provider.ProgressRateLimited {
				waits = append(waits, d)
			}
		}
	})
	for range 3 {
		if _, err := c.Context(context.Background(), incA, provider.MD5); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{time.Second, time.Second}
	if diff := cmp.Diff(want, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, waits); diff != "" {
		t.Errorf("rate_limited events mismatch (-want +got):\n%s", diff)
	}
	if got := f.count("context"); got != 3 {
		t.Errorf("context calls = %d, want 3", got)
	}
}

func TestConnectionErrorsAreRetriedAndScrubbed(t *testing.T) {
	// A listener that accepts and closes at once: every request fails at
	// the transport level, and net/http's *url.Error embeds the full URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()
	clk := newFakeClock()
	c, err := NewClient(ClientConfig{BaseURL: "http://" + ln.Addr().String(), Key: testKey, Company: "acme",
		Now: clk.Now, Sleep: clk.Sleep, Jitter: func() float64 { return 0 }, RetryTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListIncidents(context.Background(), ListQuery{}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	assertNoKey(t, err.Error())
	if !strings.HasPrefix(err.Error(), "Lumu (http://"+ln.Addr().String()+", POST /api/incidents/all (page 1)): ") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("error = %v", err)
	}
	if diff := cmp.Diff([]time.Duration{250 * time.Millisecond, 500 * time.Millisecond}, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps mismatch (-want +got):\n%s", diff)
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		var ue *url.Error
		if errors.As(e, &ue) {
			t.Errorf("a *url.Error (holding the raw URL) is in the chain: %v", ue)
		}
	}
}

func TestResponseTooLarge(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprintf(w, `{"related_files":["%s"]}`, strings.Repeat("a", 4096))
	}))
	defer srv.Close()
	c := testClient(t, srv, newFakeClock(), func(cfg *ClientConfig) { cfg.MaxBodyBytes = 1024 })
	_, err := c.Context(context.Background(), incA, provider.SHA256)
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Fatalf("error = %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("calls = %d, want 1 (not retried)", calls.Load())
	}
}

func TestDecodingIsTolerant(t *testing.T) {
	p := samplePayloads(t)
	tests := []struct {
		name string
		body string
		want func(t *testing.T, cx *Context)
	}{
		{"recorded payload: no related_files", string(p["GET /api/incidents/{id}/context?hash=sha256"]), func(t *testing.T, cx *Context) {
			if !cx.Active() || len(cx.Files()) != 0 || cx.AdversaryID != "jits.ac.in" {
				t.Errorf("context = %+v", cx)
			}
		}},
		{"empty 200 body", "", func(t *testing.T, cx *Context) {
			if cx.CurrentlyActive != nil || len(cx.Files()) != 0 {
				t.Errorf("context = %+v", cx)
			}
		}},
		{"inactive, odd entries, unknown fields", `{"currently_active":false,"related_files":["AA",12,null],"new_field":{"x":1},"timestamp":"2023-02-15T21:59:16Z"}`, func(t *testing.T, cx *Context) {
			if cx.Active() {
				t.Error("active")
			}
			if diff := cmp.Diff([]string{"AA", "12", "null"}, cx.Files()); diff != "" {
				t.Errorf("files mismatch (-want +got):\n%s", diff)
			}
			if !cx.Timestamp.Equal(time.Date(2023, 2, 15, 21, 59, 16, 0, time.UTC)) {
				t.Errorf("timestamp = %v", cx.Timestamp)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tt.body) }))
			defer srv.Close()
			cx, err := testClient(t, srv, newFakeClock(), nil).Context(context.Background(), incA, provider.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, cx)
		})
	}
}

func TestDetailsFromRecordedPayload(t *testing.T) {
	body := samplePayloads(t)["GET /api/incidents/{id}/details"]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	d, err := testClient(t, srv, newFakeClock(), nil).Details(context.Background(), "14fd84b0-9bdd-11ed-a0c7-dd6f8e69d343")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != "muted" || d.Contacts != 95 || len(d.Actions) != 1 || d.Actions[0].Action != "mute" ||
		!d.LastContact.Equal(time.Date(2023, 1, 24, 21, 17, 50, 0, time.UTC)) || d.LabelDistribution["989"] != 69 {
		t.Errorf("details = %+v", d)
	}
}

func TestTimeDecoding(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{`"2023-01-15T13:00:46.339Z"`, time.Date(2023, 1, 15, 13, 0, 46, 339e6, time.UTC), false},
		{`"2023-02-15T05:35:40Z"`, time.Date(2023, 2, 15, 5, 35, 40, 0, time.UTC), false},
		{`"2023-02-15T05:35:40.123456789+02:00"`, time.Date(2023, 2, 15, 3, 35, 40, 123456789, time.UTC), false},
		{`null`, time.Time{}, false},
		{`""`, time.Time{}, false},
		{`"yesterday"`, time.Time{}, true},
		{`12`, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got Time
			err := got.UnmarshalJSON([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got.Time, tt.want)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://defender.lumu.io/api/incidents/all?key=abc123&page=2", "https://defender.lumu.io/api/incidents/all?key=REDACTED&page=2"},
		{`Post "http://x/api?items=100&KEY=s3cr%26t": EOF`, `Post "http://x/api?items=100&KEY=REDACTED": EOF`},
		{"no secrets here", "no secrets here"},
	}
	for _, tt := range tests {
		if got := Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewClientRejectsBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "http://", "://", "https://x/?key=" + testKey} {
		_, err := NewClient(ClientConfig{BaseURL: u, Key: testKey, Company: "acme"})
		if err == nil {
			t.Errorf("NewClient(%q): no error", u)
			continue
		}
		assertNoKey(t, err.Error())
	}
}
