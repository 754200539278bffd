package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/providers/lumu"
)

// quotaMaxDays bounds the simulated days of the quota cold start.
const quotaMaxDays = 10

// quotaDay is one simulated UTC day of the quota cold start, counted at
// the Lumu stand-in.
type quotaDay struct {
	Day          int    `json:"day"`
	Runs         int    `json:"runs"`
	FailedRuns   int    `json:"failed_runs"`
	Requests     int64  `json:"requests"` // every request the stand-in answered that day
	List         int64  `json:"list"`
	Contexts     int64  `json:"contexts"`
	RateLimited  int64  `json:"answered_429"`
	QuotaRefused int64  `json:"answered_429_daily_quota"`  // 429s of the stand-in's daily quota (the rest: per minute)
	Answered     int    `json:"answered_counted_by_quota"` // what the stand-in's daily quota counted
	HeldRuns     int    `json:"runs_planned_from_last_listing"`
	UnreadEnd    int    `json:"incidents_unread_after_last_run"`
	Hashes       int    `json:"hashes_after_last_run"`
	FirstError   string `json:"first_error,omitempty"`
}

// quotaResult is measurement "quota": a cold start of the large scenario
// under Lumu's quota, in simulated time.
type quotaResult struct {
	PerDay         int        `json:"requests_per_day"`
	PerMinute      int        `json:"requests_per_minute"`
	EveryMin       float64    `json:"run_every_minutes"`
	Kept           int        `json:"kept_incidents"`
	ColdCalls      int        `json:"cold_start_calls"` // list pages + contexts of one unlimited read
	Ideal          int        `json:"ideal_days"`       // ⌈cold_start_calls / requests_per_day⌉
	Days           []quotaDay `json:"days"`
	Converged      bool       `json:"converged"`
	DaysToConverge int        `json:"days_to_converge"`
	RunsToConverge int        `json:"runs_to_converge"`
	Runs           int        `json:"runs"`
	FailedRuns     int        `json:"failed_runs"`
	MaxDay         int64      `json:"max_requests_a_day"`
	MaxAnswered    int        `json:"max_answered_a_day"`
	HeldRuns       int        `json:"runs_planned_from_last_listing"`
	RateLimited    int64      `json:"answered_429"`
	QuotaRefused   int64      `json:"answered_429_daily_quota"`
	NewestFirst    bool       `json:"newest_first"`
	NewestUnread   string     `json:"first_run_newest_unread,omitempty"`
	OldestRead     string     `json:"first_run_oldest_read,omitempty"`
	Dropped        int        `json:"hashes_dropped"`
	FinalHashes    int        `json:"final_hashes"`
	WantHashes     int        `json:"unlimited_read_hashes"`
	Wall           seconds    `json:"wall_s"`
}

// simClock is the simulated time shared by the Lumu stand-in and the
// source: a wait (rate limit, Retry-After) moves it forward at once.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return nil
}

func (c *simClock) advanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// dayCounter counts, at the stand-in, the requests of each simulated UTC
// day by kind and the 429 answers.
type dayCounter struct {
	mu    sync.Mutex
	clock *simClock
	days  map[string]*quotaDay
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (d *dayCounter) wrap(h http.Handler, sim *lumusim.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		day := d.clock.Now().UTC().Format(time.DateOnly)
		before := sim.Counters()
		sr := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(sr, r)
		after := sim.Counters()
		d.mu.Lock()
		defer d.mu.Unlock()
		q := d.days[day]
		if q == nil {
			q = &quotaDay{}
			d.days[day] = q
		}
		q.Requests++
		// One request at a time (concurrency 1): the counter deltas are
		// this request's.
		q.List += after.List - before.List
		q.Contexts += after.Context - before.Context
		if sr.status == http.StatusTooManyRequests {
			q.RateLimited++
			// The daily quota's 429 waits for the next UTC midnight; the
			// per-minute one at most a minute.
			if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); ra > 60 {
				q.QuotaRefused++
			}
		}
	})
}

func (d *dayCounter) get(day string) quotaDay {
	d.mu.Lock()
	defer d.mu.Unlock()
	if q := d.days[day]; q != nil {
		return *q
	}
	return quotaDay{}
}

// benchQuota is the cold start of the large scenario (the filter of
// measurement 2) under Lumu's quota: requests_per_day and
// requests_per_minute as set, runs every -quota-every of simulated time
// (or at once when the previous run overran), until a run leaves no
// incident unread. It runs lumuctl's Lumu source (providers/lumu) in this
// process against the Lumu stand-in, both on one simulated clock: a
// rate-limit wait moves the clock instead of sleeping, so days pass in
// seconds. The incidents stay as they were at the start (the filter's
// window is pinned there), so every difference between runs comes from
// the quota. The requests are counted per simulated UTC day at the
// stand-in.
func benchQuota(ctx context.Context, o options, tmp string, r *results) error {
	for _, every := range o.quotaEvery {
		if err := quotaColdStart(ctx, o, tmp, every, r); err != nil {
			return fmt.Errorf("a run every %s: %w", every, err)
		}
	}
	return nil
}

// quotaColdStart is one cold start of benchQuota, with a run every every,
// on a fresh stand-in and cache.
func quotaColdStart(ctx context.Context, o options, tmp string, every time.Duration, r *results) error {
	began := time.Now()
	// Start one minute into a UTC day, so that simulated days are UTC days.
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(time.Minute)
	clk := &simClock{now: start}
	sc, err := lumusim.GenerateScenario(lumusim.ScenarioLarge, o.seed, start)
	if err != nil {
		return err
	}
	const key = "lumuctl-bench-quota-key"
	sc.Companies[0].Key = key
	sim := lumusim.New(lumusim.Options{Scenario: sc, Now: clk.Now})
	counter := &dayCounter{clock: clk, days: map[string]*quotaDay{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: counter.wrap(sim, sim), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	filter := provider.Filter{
		Name: "bench", HashTypes: []provider.HashType{provider.SHA256, provider.SHA1, provider.MD5},
		AdversaryTypes: lumusim.AdversaryTypes, Days: 30, Statuses: []string{"open", "closed"}, OnlyActive: true,
	}
	company := provider.Company{Name: "bench", UUID: sc.Companies[0].UUID, APIURL: "http://" + ln.Addr().String(), Key: key,
		RequestsPerMinute: 1_000_000, RequestsPerDay: 10_000_000}
	req := provider.FetchRequest{Company: company, Filter: filter, Now: start}

	// The reference: one unlimited read (no rate limit, no quota, no
	// cache), not counted.
	logf("quota: unlimited reference read of the large scenario")
	ref, err := fetchOnce(clk, "", req, 4)
	if err != nil {
		return fmt.Errorf("reference read: %w", err)
	}
	q := &quotaResult{PerDay: o.quotaPerDay, PerMinute: o.quotaPerMin, EveryMin: every.Minutes(),
		Kept: ref.Stats.IncidentsKept, ColdCalls: ref.Stats.ListCalls + ref.Stats.ContextCalls, WantHashes: len(ref.Indicators)}
	q.Ideal = ceilDiv(q.ColdCalls, q.PerDay)
	r.Quota = append(r.Quota, q)
	if err := sim.SetRateLimit(o.quotaPerMin); err != nil {
		return err
	}
	// The stand-in enforces the daily quota strictly (429 until the next
	// UTC midnight), counted afresh from here.
	if err := sim.SetDailyQuota(o.quotaPerDay); err != nil {
		return err
	}
	counter.mu.Lock()
	counter.days = map[string]*quotaDay{}
	counter.mu.Unlock()
	clk.mu.Lock()
	clk.now = start
	clk.mu.Unlock()

	req.Company.RequestsPerMinute, req.Company.RequestsPerDay = o.quotaPerMin, o.quotaPerDay
	cache := filepath.Join(tmp, fmt.Sprintf("quota-cache-%d.db", len(r.Quota)))
	have := map[string]bool{}
	next := start
	day := ""
	var cur *quotaDay
	closeDay := func() {
		if cur == nil {
			return
		}
		got := counter.get(day)
		cur.Requests, cur.List, cur.Contexts, cur.RateLimited, cur.QuotaRefused = got.Requests, got.List, got.Contexts, got.RateLimited, got.QuotaRefused
		q.QuotaRefused += cur.QuotaRefused
		for _, m := range sim.DailyCounts() {
			cur.Answered = max(cur.Answered, m[day])
		}
		q.MaxAnswered = max(q.MaxAnswered, cur.Answered)
		q.Days = append(q.Days, *cur)
		q.MaxDay = max(q.MaxDay, cur.Requests)
		q.RateLimited += cur.RateLimited
	}
	logf("quota: cold start, %d requests a day, %d a minute, a run every %s (simulated)", o.quotaPerDay, o.quotaPerMin, every)
	for !q.Converged {
		clk.advanceTo(next)
		runStart := clk.Now()
		if d := runStart.UTC().Format(time.DateOnly); d != day {
			closeDay()
			if len(q.Days) == quotaMaxDays {
				break
			}
			day = d
			cur = &quotaDay{Day: len(q.Days) + 1}
		}
		resp, err := fetchOnce(clk, cache, req, 1)
		q.Runs++
		cur.Runs++
		if err != nil {
			q.FailedRuns++
			cur.FailedRuns++
			if cur.FirstError == "" {
				cur.FirstError = err.Error()
			}
		} else {
			if slices.ContainsFunc(resp.Warnings, func(w provider.Warning) bool { return w.Summary == "Lumu incident list not read" }) {
				q.HeldRuns++
				cur.HeldRuns++
			}
			for h := range have {
				if resp.Indicators[h] == nil {
					q.Dropped++
					delete(have, h)
				}
			}
			for h := range resp.Indicators {
				have[h] = true
			}
			cur.UnreadEnd, cur.Hashes = resp.Stats.IncidentsUnread, len(resp.Indicators)
			if q.Runs == 1 {
				q.NewestFirst, q.OldestRead, q.NewestUnread = newestFirst(ref, resp)
			}
			if resp.Stats.IncidentsUnread == 0 {
				q.Converged, q.RunsToConverge, q.DaysToConverge = true, q.Runs, cur.Day
				q.FinalHashes = len(resp.Indicators)
			}
		}
		next = runStart.Add(every)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if q.Converged {
		closeDay()
	}
	q.Wall = seconds(time.Since(began))
	switch {
	case !q.Converged:
		r.Failed = append(r.Failed, fmt.Sprintf("quota, a run every %s: not converged after %d simulated days", every, quotaMaxDays))
	case q.FinalHashes != q.WantHashes:
		r.Failed = append(r.Failed, fmt.Sprintf("quota, a run every %s: converged with %d hashes, an unlimited read gives %d", every, q.FinalHashes, q.WantHashes))
	}
	return nil
}

// fetchOnce is one run's read: a new Source on the cache file (as each
// lumuctl process opens it). The runs use concurrency 1, so that the
// simulated clock advances exactly by the rate-limit waits and the
// stand-in's counts per request are exact.
func fetchOnce(clk *simClock, cache string, req provider.FetchRequest, concurrency int) (provider.FetchResponse, error) {
	s, diags := lumu.NewSource(provider.SourceOptions{CachePath: cache},
		lumu.WithClock(clk.Now), lumu.WithSleep(clk.Sleep), lumu.WithJitter(func() float64 { return 0 }), lumu.WithConcurrency(concurrency))
	if diags.HasErrors() {
		return provider.FetchResponse{}, errors.New(diags.Error())
	}
	resp := s.Fetch(context.Background(), req)
	if err := s.Close(); err != nil && resp.Err == nil {
		resp.Err = err
	}
	for _, w := range resp.Warnings {
		if w.Summary == "Lumu cache unreadable" || w.Summary == "Lumu daily quota not recorded" {
			return resp, fmt.Errorf("%s: %s", w.Summary, w.Detail)
		}
	}
	return resp, resp.Err
}

// newestFirst says whether, among the incidents that yield hashes in the
// unlimited read, every incident the first run read is at least as recent
// (lastContact) as every incident it left unread.
func newestFirst(ref, first provider.FetchResponse) (ok bool, oldestRead, newestUnread string) {
	last := map[string]time.Time{}
	for _, ind := range ref.Indicators {
		for _, in := range ind.Incidents {
			last[in.ID] = in.LastContact
		}
	}
	read := map[string]bool{}
	for _, ind := range first.Indicators {
		for _, in := range ind.Incidents {
			read[in.ID] = true
		}
	}
	var or, nu time.Time
	ids := make([]string, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t := last[id]
		if read[id] {
			if or.IsZero() || t.Before(or) {
				or = t
			}
		} else if t.After(nu) {
			nu = t
		}
	}
	f := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	return !nu.After(or), f(or), f(nu)
}
