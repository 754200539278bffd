package lumu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Defaults of a Source (a company without requests_per_minute or
// requests_per_day gets provider.DefaultRequestsPerMinute and
// provider.DefaultRequestsPerDay).
const (
	// DefaultConcurrency is how many contexts one fetch reads at once.
	DefaultConcurrency = 4
)

// Option configures a Source (mostly for tests).
type Option func(*Source)

// WithHTTPClient sets the HTTP client used for every request.
func WithHTTPClient(c *http.Client) Option { return func(s *Source) { s.httpClient = c } }

// WithClock sets the clock (rate limiting, retry budget, default Now).
func WithClock(now func() time.Time) Option { return func(s *Source) { s.now = now } }

// WithSleep sets how the Source waits (rate limit, retries).
func WithSleep(sleep SleepFunc) Option { return func(s *Source) { s.sleep = sleep } }

// WithJitter sets the random source of backoff jitter: a float in [0,1).
func WithJitter(f func() float64) Option { return func(s *Source) { s.jitter = f } }

// WithConcurrency sets how many contexts one fetch reads at once (>= 1).
func WithConcurrency(n int) Option { return func(s *Source) { s.concurrency = n } }

// WithCacheTimeout sets how long opening the cache waits for another
// process (DefaultCacheTimeout).
func WithCacheTimeout(d time.Duration) Option { return func(s *Source) { s.cacheTimeout = d } }

// Source is the Lumu Defender provider.Source. It is safe for concurrent
// Fetch calls; they share the per-key rate limiters and the cache.
type Source struct {
	httpClient   *http.Client
	now          func() time.Time
	sleep        SleepFunc
	jitter       func() float64
	concurrency  int
	cacheTimeout time.Duration
	httpLog      provider.HTTPLog
	refresh      bool // SourceOptions.Refresh

	cache     *cache
	cacheWarn *provider.Warning
	warnOnce  sync.Once

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // by sha256 of the key
	quotas   map[string]*dailyQuota   // by quotaKey
	memQuota *memQuotas               // the quota store without a cache
}

var _ provider.Source = (*Source)(nil)

// Factory builds the Lumu source with default options; hand it to the
// engine in provider.Factories.
var Factory provider.SourceFactory = func(o provider.SourceOptions) (provider.Source, hcl.Diagnostics) {
	return NewSource(o)
}

// NewSource returns a Lumu source. It opens the cache at o.CachePath (if
// any); a cache that cannot be used is reported as a warning by the first
// Fetch, never as an error.
func NewSource(o provider.SourceOptions, opts ...Option) (provider.Source, hcl.Diagnostics) {
	s := &Source{
		now:          time.Now,
		sleep:        provider.Sleep,
		concurrency:  DefaultConcurrency,
		cacheTimeout: DefaultCacheTimeout,
		limiters:     make(map[string]*rate.Limiter),
		quotas:       make(map[string]*dailyQuota),
		memQuota:     &memQuotas{},
		httpLog:      o.HTTPLog,
		refresh:      o.Refresh,
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Timeout: 60 * time.Second}
	}
	if s.concurrency < 1 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid Lumu source option",
			Detail:   fmt.Sprintf("Concurrency must be at least 1, not %d.", s.concurrency),
		}}
	}
	switch {
	case o.Cache != nil:
		s.cache = &cache{ext: o.Cache, path: "(shared state backend)"}
	case o.CachePath != "":
		s.cache, s.cacheWarn = openCache(o.CachePath, s.cacheTimeout)
	}
	return s, nil
}

// Close releases the cache file.
func (s *Source) Close() error { return s.cache.close() }

// limiter returns the budget shared by every fetch that uses key. The
// first requests_per_minute seen for a key wins.
func (s *Source) limiter(key string, rpm int) *rate.Limiter {
	sum := sha256.Sum256([]byte(key))
	id := hex.EncodeToString(sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.limiters[id]; ok {
		return l
	}
	if rpm <= 0 {
		rpm = provider.DefaultRequestsPerMinute
	}
	// A burst of one second's worth of requests (at least one).
	l := rate.NewLimiter(rate.Limit(float64(rpm)/60), max(1, rpm/60))
	s.limiters[id] = l
	return l
}

// quota returns the daily quota shared by every fetch that uses key. The
// first requests_per_day seen for a key wins.
func (s *Source) quota(key string, perDay int) *dailyQuota {
	id := quotaKey(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.quotas[id]; ok {
		return q
	}
	if perDay <= 0 {
		perDay = provider.DefaultRequestsPerDay
	}
	var store quotaStore = s.memQuota
	if s.cache != nil {
		store = s.cache
	}
	q := &dailyQuota{key: id, limit: perDay, store: store, now: s.now, cache: s.cache}
	s.quotas[id] = q
	return q
}

// Fetch lists the incidents req.Filter selects and returns their hashes.
func (s *Source) Fetch(ctx context.Context, req provider.FetchRequest) (resp provider.FetchResponse) {
	f := &fetch{src: s, req: req, label: req.Company.Name + "/" + req.Filter.Name}
	if req.Progress != nil {
		var pmu sync.Mutex
		f.progress = func(ev provider.ProgressEvent) {
			ev.Source = f.label
			pmu.Lock()
			defer pmu.Unlock()
			req.Progress(ev)
		}
	} else {
		f.progress = func(provider.ProgressEvent) {}
	}
	s.warnOnce.Do(func() {
		if s.cacheWarn != nil {
			f.warnings = append(f.warnings, *s.cacheWarn)
		}
	})
	err := f.run(ctx)
	resp = provider.FetchResponse{Warnings: f.warnings, Stats: f.stats, Unread: f.unread, Err: err}
	if err == nil {
		resp.Indicators = f.indicators
	}
	return resp
}

// fetch is the work of one Fetch call.
type fetch struct {
	src      *Source
	req      provider.FetchRequest
	label    string
	progress func(provider.ProgressEvent)

	mu         sync.Mutex // guards stats and updates while contexts are read
	stats      provider.FetchStats
	stopped    string   // why context reads stopped ("": they did not)
	quotaStop  bool     // stopped by the daily quota: reads already reserved go on
	unread     []string // ids of kept incidents not read
	warnings   []provider.Warning
	updates    map[string]cachedIncident
	indicators map[string]*provider.Indicator
}

// incidentFiles is what the contexts of one kept incident yielded.
type incidentFiles struct {
	skipped  bool                           // only_active and inactive, or vanished
	vanished bool                           // a context read answered 404
	unread   bool                           // not read: the daily quota or a 429 stopped the reads
	files    map[provider.HashType][]string // raw related_files per type
}

func (f *fetch) run(ctx context.Context) error {
	co, fl := f.req.Company, f.req.Filter
	if err := validate(co, fl); err != nil {
		return err
	}
	now := f.req.Now
	if now.IsZero() {
		now = f.src.now()
	}
	from := now.Add(-time.Duration(fl.Days) * 24 * time.Hour)
	quota := f.src.quota(co.Key, co.RequestsPerDay)
	fid := filterID(co, fl)
	// The incident list is read whole (it decides removals) with the whole
	// quota; the context reads then leave what the lists of the later runs
	// of the UTC day will cost (listing.go).
	headroom := 0
	defer func() {
		if err := quota.flush(); err != nil {
			f.warnings = append(f.warnings, provider.Warning{Summary: "Lumu daily quota not recorded", Detail: err.Error()})
		}
		if err := quota.saveSchedule(); err != nil {
			f.warnings = append(f.warnings, provider.Warning{Summary: "Lumu cache not updated", Detail: "The listing schedule could not be stored: " + err.Error()})
		}
	}()
	client, err := NewClient(ClientConfig{
		BaseURL:      co.APIURL,
		Key:          co.Key,
		Company:      co.Name,
		HTTPClient:   f.src.httpClient,
		Limiter:      f.src.limiter(co.Key, co.RequestsPerMinute),
		RetryTimeout: co.RetryTimeout,
		Now:          f.src.now,
		Sleep:        f.src.sleep,
		Jitter:       f.src.jitter,
		Progress: func(k provider.ProgressKind, d time.Duration, detail string) {
			f.progress(provider.ProgressEvent{Kind: k, Wait: d, Detail: detail})
		},
		HTTPLog: f.src.httpLog,
		Quota: func(ctx context.Context) error {
			if a, ok := ctx.Value(allowanceKey{}).(*allowance); ok && a.take() {
				return nil // reserved with the incident's reads
			}
			return quota.take(headroom)
		},
	})
	if err != nil {
		return err
	}

	// 1. List. No toDate (like Lumu's own integrations): an incident whose
	// lastContact is ahead of this machine's clock must still be listed.
	// A listing the day's quota cannot pay for (as many pages as the last
	// complete one) is not started: the run plans from that last listing.
	pages := quota.noteStart(fid, f.src.now())
	var list ListResult
	if pages > 0 && quota.left() < pages {
		err = fmt.Errorf("%w: %d left, the last list took %d pages", ErrQuotaExhausted, quota.left(), pages)
	} else {
		list, err = client.ListIncidents(ctx, ListQuery{
			From:           from,
			Statuses:       fl.Statuses,
			AdversaryTypes: fl.AdversaryTypes,
			Labels:         fl.Labels,
		}, func(n int) {
			f.progress(provider.ProgressEvent{Kind: provider.ProgressIncidentsListed, Done: n})
		})
	}
	f.stats.ListCalls = list.Pages
	f.stats.IncidentsListed = len(list.Incidents)
	var kept []*Incident
	held := "" // why the listing was not read whole, when it was not
	if err != nil {
		why, stop := stopsReading(err, quota.limit, 0)
		if !stop || ctx.Err() != nil {
			return fmt.Errorf("company %q, ioc_filter %q: %w", co.Name, fl.Name, err)
		}
		last, lerr := f.src.cache.loadListing(fid)
		if last == nil {
			detail := "no complete incident list of this ioc_filter is in the cache"
			if lerr != nil {
				detail = lerr.Error()
			}
			return fmt.Errorf("company %q, ioc_filter %q: %w; %s to plan from instead", co.Name, fl.Name, err, detail)
		}
		held = fmt.Sprintf("%s, before the incident list was read whole: this run plans from the last complete list (%s, %d incidents) and the contexts in the cache, so nothing is added or removed because of it",
			why, last.At.Format(time.RFC3339), len(last.Incidents))
		kept = last.incidents()
		f.stopped = held
	} else {
		quota.notePages(fid, list.Pages)
		// 2. Keep.
		for i := range list.Incidents {
			in := &list.Incidents[i]
			if !keep(in, fl, from) {
				continue
			}
			// Lumu's clock may be ahead of ours: a lastContact in the future is
			// "now" (dropping it would unblock the incident's hashes). Beyond
			// ClockSkew the clocks are far apart, or the time is wrong: say so.
			if ahead := in.LastContact.Time.Sub(now); ahead > ClockSkew {
				f.warnings = append(f.warnings, futureWarning(in.ID, in.LastContact.Time, ahead))
			}
			kept = append(kept, in)
		}
		if err := f.src.cache.storeListing(fid, f.src.now(), kept); err != nil {
			f.warnings = append(f.warnings, provider.Warning{Summary: "Lumu cache not updated", Detail: "The incident list could not be stored (" + err.Error() + "); a run that the daily quota stops before its list has nothing to plan from."})
		}
	}
	f.stats.IncidentsKept = len(kept)
	headroom = quota.listReserve(f.src.now())

	// 3. Contexts, from the cache where the incident did not change.
	ids := make([]string, len(kept))
	for i, in := range kept {
		ids[i] = in.ID
	}
	companyKey := strings.ToLower(co.UUID)
	cached, cerr := f.src.cache.load(companyKey, ids)
	if cerr != nil {
		f.warnings = append(f.warnings, provider.Warning{Summary: "Lumu cache unreadable", Detail: cerr.Error() + "; this run reads the contexts from Lumu."})
	}
	f.updates = make(map[string]cachedIncident)
	results := make([]incidentFiles, len(kept))
	total := len(kept) * len(fl.HashTypes)
	done := 0
	advance := func(n int) {
		f.mu.Lock()
		done += n
		d := done
		f.mu.Unlock()
		f.progress(provider.ProgressEvent{Kind: provider.ProgressContexts, Done: d, Total: total})
	}
	// Newest lastContact first: when the daily quota runs out, the most
	// recent incidents are the ones read.
	order := make([]int, len(kept))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := kept[b].LastContact.Time.Compare(kept[a].LastContact.Time); c != 0 {
			return c
		}
		return strings.Compare(kept[a].ID, kept[b].ID)
	})
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(f.src.concurrency)
	var inflight sync.WaitGroup
	for _, i := range order {
		in := kept[i]
		if gctx.Err() != nil {
			break
		}
		// The reads this incident needs are reserved here, in order, so the
		// quota goes to the newest incidents whatever the scheduling.
		need := f.needs(in, cached)
		if need > 0 {
			f.mu.Lock()
			stopped := f.stopped != ""
			f.mu.Unlock()
			if !stopped {
				err := quota.reserve(need, headroom)
				if err != nil {
					// The reads in flight may give back what they
					// reserved (an only_active incident skipped after
					// its first context): wait for them, then try again.
					inflight.Wait()
					err = quota.reserve(need, headroom)
				}
				if err != nil {
					why, _ := stopsReading(err, quota.limit, headroom)
					f.mu.Lock()
					if f.stopped == "" {
						f.stopped, f.quotaStop = why, true
					}
					f.mu.Unlock()
					stopped = true
				}
			}
			if stopped {
				results[i] = unreadFiles(in, cached, f.req.Filter)
				continue
			}
		}
		if need == 0 {
			// Answered from the cache alone: no request, nothing to wait
			// for, so no goroutine (a warm run has thousands of these).
			r, err := f.contexts(gctx, client, in, cached, advance)
			results[i] = r
			if err != nil { // cannot happen without a request; kept honest
				g.Go(func() error { return err })
			}
			continue
		}
		inflight.Add(1)
		g.Go(func() error {
			defer inflight.Done()
			a := &allowance{n: need}
			r, err := f.contexts(context.WithValue(gctx, allowanceKey{}, a), client, in, cached, advance)
			quota.giveBack(a.left())
			if why, stop := stopsReading(err, quota.limit, headroom); stop {
				f.mu.Lock()
				if f.stopped == "" {
					f.stopped = why
				}
				f.mu.Unlock()
				r, err = unreadFiles(in, cached, f.req.Filter), nil
			}
			results[i] = r
			return err
		})
	}
	gerr := g.Wait()
	if gerr == nil && ctx.Err() != nil {
		gerr = fmt.Errorf("interrupted: %w", ctx.Err())
	}
	// What was read is valid even when another read failed: keep it.
	if err := f.src.cache.store(companyKey, f.updates); err != nil {
		f.warnings = append(f.warnings, provider.Warning{Summary: "Lumu cache not updated", Detail: err.Error() + "; the next run reads these contexts from Lumu again."})
	}
	if gerr != nil {
		return fmt.Errorf("company %q, ioc_filter %q: %w", co.Name, fl.Name, gerr)
	}

	// 4 and 5. Normalise, filter, keep provenance.
	// Sized once for every file listed (an upper bound: a hash in several
	// incidents is counted each time), so the map never grows and rehashes.
	files := 0
	for _, r := range results {
		if !r.skipped {
			for _, t := range fl.HashTypes {
				files += len(r.files[t])
			}
		}
	}
	f.indicators = make(map[string]*provider.Indicator, files)
	unread := 0
	slab := make([]provider.Indicator, 0, files) // the indicators, in one block
	for i, in := range kept {
		r := results[i]
		if r.unread {
			unread++
			f.unread = append(f.unread, in.ID)
		}
		if r.vanished {
			f.warnings = append(f.warnings, provider.Warning{
				Summary: "Lumu incident vanished",
				Detail: fmt.Sprintf("Lumu answered 404 for the context of incident %s, listed a moment before (company %q, ioc_filter %q); it contributes no hashes to this run.",
					in.ID, co.Name, fl.Name),
			})
		}
		if r.skipped {
			continue
		}
		// One ref per incident, shared by every hash it yields: a hash
		// with one incident (the common case) gets a one-element slice
		// of it with no spare capacity, so an append copies instead of
		// writing into the shared array.
		ref := []provider.IncidentRef{{
			ID: in.ID, Company: co.Name, Filter: fl.Name,
			AdversaryID: in.AdversaryID, AdversaryTypes: slices.Clone(in.AdversaryTypes),
			Description: in.Description, LastContact: in.LastContact.Time, Status: strings.ToLower(in.Status),
		}}
		for _, t := range fl.HashTypes {
			for _, raw := range r.files[t] {
				h, ok := Normalize(raw, t)
				if !ok {
					f.warnings = append(f.warnings, malformedWarning(in.ID, t, raw))
					continue
				}
				ind := f.indicators[h]
				if ind == nil {
					if len(slab) == cap(slab) {
						slab = make([]provider.Indicator, 0, 1024)
					}
					slab = append(slab, provider.Indicator{Hash: h, Type: t, Incidents: ref})
					f.indicators[h] = &slab[len(slab)-1]
					continue
				}
				ind.Incidents = append(ind.Incidents, ref[0])
			}
		}
	}
	if held != "" {
		f.stats.IncidentsUnread = unread
		f.warnings = append(f.warnings, provider.Warning{
			Summary: "Lumu incident list not read",
			Detail:  fmt.Sprintf("%s; %d incident(s) not read yet; the next run continues.", held, unread),
		})
	} else if unread > 0 {
		f.stats.IncidentsUnread = unread
		f.warnings = append(f.warnings, provider.Warning{
			Summary: "Lumu incidents not read yet",
			Detail: fmt.Sprintf("%d incident(s) not read yet: %s; the next run continues, newest lastContact first. Their hashes already known from an earlier read stay blocked; nothing is removed because of it.",
				unread, f.stopped),
		})
	}
	for _, ind := range f.indicators {
		if len(ind.Incidents) < 2 {
			continue // shared with other hashes: never sorted in place
		}
		slices.SortFunc(ind.Incidents, func(a, b provider.IncidentRef) int { return strings.Compare(a.ID, b.ID) })
		ind.Incidents = slices.CompactFunc(ind.Incidents, func(a, b provider.IncidentRef) bool { return a.ID == b.ID })
	}
	return nil
}

// contexts reads the contexts of one kept incident, one per hash type,
// from the cache when the incident did not change.
func (f *fetch) contexts(ctx context.Context, c *Client, in *Incident, cached map[string]cachedIncident, advance func(int)) (incidentFiles, error) {
	types := f.req.Filter.HashTypes
	r := incidentFiles{files: make(map[provider.HashType][]string, len(types))}
	fresh := freshnessOf(in)
	rec, hit := cached[in.ID]
	hit = hit && rec.sameIncident(fresh) && !f.src.refresh
	var fetched map[provider.HashType]cachedContext
	defer func() {
		if len(fetched) > 0 {
			fresh.Contexts = fetched
			f.mu.Lock()
			f.updates[in.ID] = fresh
			f.mu.Unlock()
		}
	}()
	for i, t := range types {
		var cx cachedContext
		if c0, ok := rec.Contexts[t]; hit && ok {
			cx = c0
			f.mu.Lock()
			f.stats.ContextCached++
			f.mu.Unlock()
		} else {
			f.mu.Lock()
			// A 429 past retry_timeout stops every read; the quota stops
			// only the reads not reserved yet.
			stopped := f.stopped != "" && !f.quotaStop
			if !stopped {
				f.stats.ContextCalls++
			}
			f.mu.Unlock()
			if stopped {
				return r, errStopped
			}
			got, err := c.Context(ctx, in.ID, t)
			if errors.Is(err, provider.ErrNotFound) {
				// The incident vanished between the list and this read
				// (SPEC 3): it contributes nothing; any other error still
				// fails the source.
				r.skipped, r.vanished = true, true
				advance(len(types) - i)
				return r, nil
			}
			if err != nil {
				return r, err
			}
			cx = newCachedContext(got)
			// An answer that does not look like a context (neither field,
			// or related files that are not strings) is used for this run
			// as SPEC 3 says but never cached: a bad answer (a proxy's
			// "{}", a broken backend) cached once would decide every later
			// run, until the cache was deleted. A well-formed answer with
			// an odd value (a string that is not a hash) is Lumu's data:
			// cached, and warned about on every run.
			if cacheable(got) {
				if fetched == nil {
					fetched = make(map[provider.HashType]cachedContext, len(types))
				}
				fetched[t] = cx
			}
		}
		if i == 0 && f.req.Filter.OnlyActive && cx.skipReason() != "" {
			r.skipped = true
			advance(len(types))
			return r, nil
		}
		r.files[t] = cx.Files
		advance(1)
	}
	return r, nil
}

// ClockSkew is how far ahead of this machine's clock a Lumu lastContact
// may be before a warning says so. Any time ahead counts as now.
const ClockSkew = 5 * time.Minute

// futureWarning says that an incident's lastContact is far ahead of now.
func futureWarning(id string, lc time.Time, ahead time.Duration) provider.Warning {
	return provider.Warning{
		Summary: "Lumu time ahead of this machine's clock",
		Detail: fmt.Sprintf("Lumu incident %s was last seen at %s, %s ahead of this machine's clock (more than the %s tolerance); lumuctl counts it as seen now. Check the clock of this machine (NTP).",
			id, lc.UTC().Format(time.RFC3339), ahead.Round(time.Second), ClockSkew),
		Incident: id,
	}
}

// keep applies SPEC section 3 step 2 (and labels) to one listed incident.
// There is no upper bound on lastContact: a time ahead of ours is now.
func keep(in *Incident, fl provider.Filter, from time.Time) bool {
	lc := in.LastContact.Time
	if lc.IsZero() || lc.Before(from) {
		return false
	}
	status := strings.ToLower(strings.TrimSpace(in.Status))
	if status == "muted" || !slices.Contains(fl.Statuses, status) {
		return false
	}
	typeOK := false
	for _, t := range in.AdversaryTypes {
		if slices.ContainsFunc(fl.AdversaryTypes, func(w string) bool { return strings.EqualFold(w, t) }) {
			typeOK = true
			break
		}
	}
	if !typeOK {
		return false
	}
	if len(fl.Labels) > 0 {
		for _, l := range fl.Labels {
			if _, ok := in.LabelDistribution[strconv.Itoa(l)]; ok {
				return true
			}
		}
		return false
	}
	return true
}

// validate checks what Fetch relies on; engine/config normally ensures it.
func validate(co provider.Company, fl provider.Filter) error {
	where := fmt.Sprintf("company %q, ioc_filter %q", co.Name, fl.Name)
	switch {
	case !ValidUUID(co.UUID):
		return fmt.Errorf("%s: company uuid %q is not a UUID", where, truncate(co.UUID, 80))
	case co.Key == "":
		return fmt.Errorf("%s: the Defender API key is empty", where)
	case len(fl.HashTypes) == 0:
		return fmt.Errorf("%s: hash_types is empty", where)
	case fl.Days < 1:
		return fmt.Errorf("%s: days must be at least 1, not %d", where, fl.Days)
	case len(fl.Statuses) == 0:
		return fmt.Errorf("%s: statuses is empty", where)
	case len(fl.AdversaryTypes) == 0:
		return fmt.Errorf("%s: adversary_types is empty", where)
	}
	seen := map[provider.HashType]bool{}
	for _, t := range fl.HashTypes {
		if t.HexLen() == 0 {
			return fmt.Errorf("%s: unknown hash type %q", where, t)
		}
		if seen[t] {
			return fmt.Errorf("%s: hash type %q listed twice", where, t)
		}
		seen[t] = true
	}
	for _, st := range fl.Statuses {
		if st != "open" && st != "closed" {
			return fmt.Errorf("%s: status %q is not open or closed (muted incidents never count)", where, st)
		}
	}
	return nil
}

// needs is how many context reads in needs to send: the hash types the
// cache cannot answer.
func (f *fetch) needs(in *Incident, cached map[string]cachedIncident) int {
	rec, hit := cached[in.ID]
	if !hit || !rec.sameIncident(freshnessOf(in)) || f.src.refresh {
		return len(f.req.Filter.HashTypes)
	}
	types := f.req.Filter.HashTypes
	if cx, ok := rec.Contexts[types[0]]; ok && f.req.Filter.OnlyActive && cx.skipReason() != "" {
		return 0 // skipped on its cached first context (only_active)
	}
	n := 0
	for _, t := range types {
		if _, ok := rec.Contexts[t]; !ok {
			n++
		}
	}
	return n
}

// allowance is the quota reserved for one incident's context reads; a
// retry beyond it takes from the quota itself.
type allowance struct {
	mu sync.Mutex
	n  int
}

type allowanceKey struct{}

func (a *allowance) take() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n <= 0 {
		return false
	}
	a.n--
	return true
}

func (a *allowance) left() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// errStopped: context reads stopped earlier in this fetch (daily quota,
// or rate limited past retry_timeout).
var errStopped = errors.New("context reads stopped")

// stopsReading reports whether err ends the context reads of a fetch
// without failing it, and why: the daily quota is used up, or Lumu kept
// answering 429 past retry_timeout.
func stopsReading(err error, perDay, reserve int) (string, bool) {
	var apiErr *APIError
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, errStopped):
		return "", true
	case errors.Is(err, ErrQuotaExhausted):
		if reserve > 0 {
			return fmt.Sprintf("the Lumu daily quota (requests_per_day = %d, less %d kept for the incident lists of the later runs today) is used up for today (UTC)", perDay, reserve), true
		}
		return fmt.Sprintf("the Lumu daily quota (requests_per_day = %d) is used up for today (UTC)", perDay), true
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests:
		return "Lumu kept answering 429 Too Many Requests past retry_timeout", true
	}
	return "", false
}

// unreadFiles is what an incident whose contexts were not read in this run
// yields: what the cache holds for it from an earlier read, even if the
// incident changed since (its hashes stay until it is read again), else
// nothing yet.
func unreadFiles(in *Incident, cached map[string]cachedIncident, fl provider.Filter) incidentFiles {
	r := incidentFiles{unread: true, files: make(map[provider.HashType][]string, len(fl.HashTypes))}
	rec, ok := cached[in.ID]
	if !ok {
		return r
	}
	for i, t := range fl.HashTypes {
		cx, ok := rec.Contexts[t]
		if !ok {
			continue
		}
		if i == 0 && fl.OnlyActive && cx.skipReason() != "" {
			r.skipped = true
			return r
		}
		r.files[t] = cx.Files
	}
	return r
}

// cacheable reports whether a context answer is well-formed enough to be
// cached: it has currently_active or related_files, and every related file
// is a JSON string.
func cacheable(cx *Context) bool {
	if !cx.HasCurrentlyActive && cx.RelatedFiles == nil {
		return false
	}
	for _, raw := range cx.RelatedFiles {
		if len(raw) == 0 || raw[0] != '"' {
			return false
		}
	}
	return true
}
