package lumusim

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRateLimit(t *testing.T) {
	var mu sync.Mutex
	now := testNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s, ts := start(t, Options{RateLimitPerMinute: 3, Now: clock})
	list := func(key string) response { return do(t, "POST", ts.URL+"/api/incidents/all?key="+key, "{}") }

	type hdr struct{ Status, Limit, Remaining, Reset, RetryAfter string }
	get := func(r response) hdr {
		return hdr{strconv.Itoa(r.status), r.header.Get("RateLimit-Limit"), r.header.Get("RateLimit-Remaining"),
			r.header.Get("RateLimit-Reset"), r.header.Get("Retry-After")}
	}
	var got []hdr
	got = append(got, get(list(keyA)))
	advance(20 * time.Second)
	got = append(got, get(list(keyA)), get(list(keyA)), get(list(keyA)))
	got = append(got, get(list(keyB))) // another key has its own budget
	advance(40 * time.Second)          // the window of key A ends
	got = append(got, get(list(keyA)))
	want := []hdr{
		{"200", "3", "2", "60", ""},
		{"200", "3", "1", "40", ""},
		{"200", "3", "0", "40", ""},
		{"429", "3", "0", "40", "40"},
		{"200", "3", "2", "60", ""},
		{"200", "3", "2", "60", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rate-limit answers mismatch (-want +got):\n%s", diff)
	}
	if c := s.Counters(); c.RateLimited != 1 || c.List != 5 {
		t.Errorf("counters = %+v, want 1 rate_limited and 5 list", c)
	}

	// Off by default, and switchable.
	if err := s.SetRateLimit(0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if r := list(keyA); r.status != 200 || r.header.Get("RateLimit-Limit") != "" {
			t.Fatalf("with the limit off: status %d, RateLimit-Limit %q", r.status, r.header.Get("RateLimit-Limit"))
		}
	}
}

func TestFaults(t *testing.T) {
	ctx := "/api/incidents/" + idA + "/context?key=" + keyA
	list := func(page int) string { return "/api/incidents/all?items=2&key=" + keyA + "&page=" + strconv.Itoa(page) }
	tests := []struct {
		name     string
		fault    Fault
		paths    []string
		want     []int // statuses; 0 = connection error
		counters Counters
	}{
		{"next two 503 then served", Fault{Kind: KindContext, Status: 503, Count: 2}, []string{ctx, ctx, ctx},
			[]int{503, 503, 200}, Counters{Total: 3, Fault: 2, Context: 1, ContextSHA256: 1}},
		{"other kinds unaffected", Fault{Kind: KindContext, Status: 500, Count: 1}, []string{list(1), ctx, ctx},
			[]int{200, 500, 200}, Counters{Total: 3, Fault: 1, List: 1, Context: 1, ContextSHA256: 1}},
		{"429 with Retry-After", Fault{Kind: KindList, Status: 429, Count: 1, RetryAfter: 7}, []string{list(1), list(1)},
			[]int{429, 200}, Counters{Total: 2, Fault: 1, List: 1}},
		{"until cleared", Fault{Kind: KindAll, Status: 502}, []string{list(1), ctx, list(2)},
			[]int{502, 502, 502}, Counters{Total: 3, Fault: 3}},
		{"outage mid-listing", Fault{Kind: KindList, Status: 504, FromPage: 2}, []string{list(1), list(2), list(3), list(1)},
			[]int{200, 504, 504, 200}, Counters{Total: 4, Fault: 2, List: 2}},
		{"connection reset", Fault{Kind: KindDetails, Reset: true, Count: 1},
			[]string{"/api/incidents/" + idA + "/details?key=" + keyA, "/api/incidents/" + idA + "/details?key=" + keyA},
			[]int{0, 200}, Counters{Total: 2, Fault: 1, Details: 1}},
		{"faults come before the key check", Fault{Kind: KindList, Status: 503, Count: 1}, []string{"/api/incidents/all?key=bad", "/api/incidents/all?key=bad"},
			[]int{503, 401}, Counters{Total: 2, Fault: 1, Unauthorized: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ts := start(t, Options{})
			if err := s.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, p := range tt.paths {
				method := "GET"
				if p[:19] == "/api/incidents/all?" {
					method = "POST"
				}
				req, _ := http.NewRequest(method, ts.URL+p, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					got = append(got, 0)
					continue
				}
				resp.Body.Close()
				got = append(got, resp.StatusCode)
				if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != strconv.Itoa(tt.fault.RetryAfter) {
					t.Errorf("Retry-After = %q, want %d", resp.Header.Get("Retry-After"), tt.fault.RetryAfter)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statuses mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.counters, s.Counters()); diff != "" {
				t.Errorf("counters mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFaultValidation(t *testing.T) {
	s := New(Options{Companies: fixture()})
	for _, f := range []Fault{
		{Kind: "lists", Status: 500},
		{Kind: KindList, Status: 404},
		{Kind: KindList},
		{Kind: KindContext, Status: 500, FromPage: 2},
		{Kind: KindList, Status: 500, Count: -1},
	} {
		if err := s.SetFault(f); err == nil {
			t.Errorf("SetFault(%+v) = nil, want an error", f)
		}
	}
	if err := s.SetLatency("bogus", time.Second); err == nil {
		t.Errorf("SetLatency(bogus) = nil, want an error")
	}
}

func TestResetCounters(t *testing.T) {
	s, ts := start(t, Options{})
	do(t, "POST", ts.URL+"/api/incidents/all?key="+keyA, "")
	if s.Counters().Total != 1 {
		t.Fatalf("total = %d, want 1", s.Counters().Total)
	}
	s.ResetCounters()
	if diff := cmp.Diff(Counters{}, s.Counters()); diff != "" {
		t.Errorf("counters after reset (-want +got):\n%s", diff)
	}
}

// TestDailyQuota: the per-key quota of a UTC day refuses the request after
// the last one with a 429 whose reset is the next UTC midnight, counts only
// answered requests, keeps keys apart, and starts afresh at midnight.
func TestDailyQuota(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 6, 4, 23, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, ts := start(t, Options{RequestsPerDay: 3, Now: clock})
	list := func(key string) response { return do(t, "POST", ts.URL+"/api/incidents/all?key="+key, "{}") }
	for i := range 3 {
		if r := list(keyA); r.status != 200 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	r := list(keyA)
	if r.status != 429 || r.header.Get("Retry-After") != "3600" || r.header.Get("RateLimit-Reset") != "3600" ||
		r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("4th request: %d %v, want 429 with a reset at midnight (3600 s)", r.status, r.header)
	}
	if r := list(keyB); r.status != 200 {
		t.Errorf("another key: %d, want its own quota", r.status)
	}
	mu.Lock()
	now = now.Add(time.Hour) // midnight UTC
	mu.Unlock()
	if r := list(keyA); r.status != 200 {
		t.Errorf("after midnight: %d, want a new day's quota", r.status)
	}
	counts := s.DailyCounts()
	var a map[string]int
	for _, m := range counts {
		if m["2025-06-04"] == 3 {
			a = m
		}
	}
	if a == nil || a["2025-06-05"] != 1 {
		t.Errorf("daily counts = %v, want key A at 3 on 2025-06-04 (the refused request not counted) and 1 on 2025-06-05", counts)
	}
	if c := s.Counters(); c.RateLimited != 1 {
		t.Errorf("counters = %+v, want 1 rate_limited", c)
	}
}
