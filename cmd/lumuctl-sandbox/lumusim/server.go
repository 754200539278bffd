package lumusim

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Server.
type Options struct {
	// Companies are served as given (deep-copied). Each needs a unique UUID
	// and a unique non-empty Key.
	Companies []Company
	// Scenario, when non-nil, adds its companies after Companies. Their Key
	// must have been set.
	Scenario *Scenario
	// RateLimitPerMinute is the per-key budget; 0 (the default) turns the
	// rate limit off.
	RateLimitPerMinute int
	// RequestsPerDay is the per-key quota of each UTC day (of Now); 0 (the
	// default) turns it off. A request beyond it is answered 429 with
	// RateLimit-Reset and Retry-After at the next UTC midnight, and is not
	// counted against the quota.
	RequestsPerDay int
	// Now is the clock; nil means time.Now. Windows, rate limits and status
	// changes use it.
	Now func() time.Time
}

// Validate reports the first problem that would make New panic.
func (o Options) Validate() error {
	if o.RateLimitPerMinute < 0 {
		return fmt.Errorf("rate limit must be >= 0, got %d", o.RateLimitPerMinute)
	}
	if o.RequestsPerDay < 0 {
		return fmt.Errorf("daily quota must be >= 0, got %d", o.RequestsPerDay)
	}
	uuids := map[string]bool{}
	keys := map[string]bool{}
	ids := map[string]bool{}
	all := slices.Clone(o.Companies)
	if o.Scenario != nil {
		all = append(all, o.Scenario.Companies...)
	}
	for i, c := range all {
		if !isUUID(c.UUID) {
			return fmt.Errorf("company %d: uuid %q is not a UUID", i, c.UUID)
		}
		if uuids[c.UUID] {
			return fmt.Errorf("company %s: duplicate uuid", c.UUID)
		}
		uuids[c.UUID] = true
		if c.Key == "" {
			return fmt.Errorf("company %s: empty key", c.UUID)
		}
		if keys[c.Key] {
			return fmt.Errorf("company %s: key shared with another company", c.UUID)
		}
		keys[c.Key] = true
		for _, inc := range c.Incidents {
			if inc == nil || !isUUID(inc.ID) {
				return fmt.Errorf("company %s: incident without a UUID id", c.UUID)
			}
			if ids[inc.ID] {
				return fmt.Errorf("company %s: duplicate incident id %s", c.UUID, inc.ID)
			}
			ids[inc.ID] = true
			switch inc.Status {
			case StatusOpen, StatusMuted, StatusClosed:
			default:
				return fmt.Errorf("incident %s: invalid status %q", inc.ID, inc.Status)
			}
		}
	}
	return nil
}

// Server is the Lumu Defender stand-in. It is an http.Handler for the Lumu
// API; Control returns the handler of its control API. Safe for concurrent
// use.
type Server struct {
	nowFn atomic.Pointer[func() time.Time]

	mu        sync.RWMutex
	companies []*company
	byKey     map[string]*company
	owner     map[string]*company // incident id → company
	rateLimit int
	perDay    int
	faults    map[Kind]*faultState
	latency   map[Kind]time.Duration
	seq       uint32 // clock sequence of added incidents

	cmu      sync.Mutex
	counters Counters
}

type company struct {
	uuid      string
	key       string
	incidents []*Incident // sorted: lastContact desc, id asc
	byID      map[string]*Incident

	windowStart time.Time // rate-limit window
	windowCount int

	day      string         // UTC day of dayCount
	dayCount int            // requests answered (not 429) on day
	dayMax   map[string]int // requests answered per UTC day, every day seen
}

// New returns a Server serving opts. It panics when opts.Validate fails (a
// programming error in a test or in the sandbox, which validates first).
func New(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic("lumusim: " + err.Error())
	}
	s := &Server{
		byKey:     map[string]*company{},
		owner:     map[string]*company{},
		rateLimit: opts.RateLimitPerMinute,
		perDay:    opts.RequestsPerDay,
		faults:    map[Kind]*faultState{},
		latency:   map[Kind]time.Duration{},
		seq:       1 << 13,
	}
	s.SetNow(opts.Now)
	all := slices.Clone(opts.Companies)
	if opts.Scenario != nil {
		all = append(all, opts.Scenario.Companies...)
	}
	for _, c := range all {
		co := &company{uuid: c.UUID, key: c.Key, byID: make(map[string]*Incident, len(c.Incidents))}
		for _, inc := range c.Incidents {
			cp := inc.clone()
			co.incidents = append(co.incidents, cp)
			co.byID[cp.ID] = cp
			s.owner[cp.ID] = co
		}
		sortIncidents(co.incidents)
		s.companies = append(s.companies, co)
		s.byKey[co.key] = co
	}
	return s
}

// SetNow replaces the clock; nil means time.Now.
func (s *Server) SetNow(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.nowFn.Store(&now)
}

func (s *Server) now() time.Time { return (*s.nowFn.Load())().UTC() }

// SetRateLimit sets the per-key budget per minute (0 turns it off) and
// starts new windows.
func (s *Server) SetRateLimit(perMinute int) error {
	if perMinute < 0 {
		return fmt.Errorf("rate limit must be >= 0, got %d", perMinute)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = perMinute
	for _, c := range s.companies {
		c.windowStart, c.windowCount = time.Time{}, 0
	}
	return nil
}

// SetDailyQuota sets the per-key quota of each UTC day (0 turns it off)
// and forgets the counts: every key starts a new day's count.
func (s *Server) SetDailyQuota(perDay int) error {
	if perDay < 0 {
		return fmt.Errorf("daily quota must be >= 0, got %d", perDay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perDay = perDay
	for _, c := range s.companies {
		c.day, c.dayCount, c.dayMax = "", 0, nil
	}
	return nil
}

// DailyCounts returns, for every key's company (by UUID), the requests
// answered (not refused with 429) on each UTC day: what the daily quota
// counts.
func (s *Server) DailyCounts() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]int{}
	for _, c := range s.companies {
		m := map[string]int{}
		for d, n := range c.dayMax {
			m[d] = n
		}
		out[c.uuid] = m
	}
	return out
}

// Errors returned by the incident methods.
var (
	// ErrNotFound: no incident (or company) with that id.
	ErrNotFound = errors.New("not found")
)

// Incident returns a copy of the incident with that id.
func (s *Server) Incident(id string) (*Incident, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	co := s.owner[id]
	if co == nil {
		return nil, false
	}
	return co.byID[id].clone(), true
}

// Incidents returns copies of every incident of every company, in list order
// (lastContact, most recent first). status filters when non-empty.
func (s *Server) Incidents(status string) []*Incident {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Incident
	for _, c := range s.companies {
		for _, inc := range c.incidents {
			if status == "" || inc.Status == status {
				out = append(out, inc.clone())
			}
		}
	}
	return out
}

// CompanyUUIDs lists the companies served, in Options order.
func (s *Server) CompanyUUIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, len(s.companies))
	for i, c := range s.companies {
		out[i] = c.uuid
	}
	return out
}

// CloseIncident closes the incident. A status change bumps statusTimestamp
// and records a "close" action; closing a closed incident changes nothing.
func (s *Server) CloseIncident(id, comment string) error {
	return s.setStatus(id, StatusClosed, comment, 0)
}

// MuteIncident mutes the incident (see CloseIncident).
func (s *Server) MuteIncident(id, comment string) error {
	return s.setStatus(id, StatusMuted, comment, 0)
}

// ReopenIncident sets the incident back to open ("unmute" from muted,
// "reopen" from closed; see CloseIncident).
func (s *Server) ReopenIncident(id, comment string) error {
	return s.setStatus(id, StatusOpen, comment, 0)
}

func (s *Server) setStatus(id, status, comment string, userID int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	co := s.owner[id]
	if co == nil {
		return fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	s.setStatusLocked(co.byID[id], status, comment, userID)
	return nil
}

func (s *Server) setStatusLocked(inc *Incident, status, comment string, userID int) {
	if inc.Status == status {
		return
	}
	action := map[string]string{StatusClosed: "close", StatusMuted: "mute", StatusOpen: "unmute"}[status]
	if status == StatusOpen && inc.Status == StatusClosed {
		action = "reopen"
	}
	now := s.now()
	inc.Status = status
	inc.StatusTimestamp = now
	inc.Actions = append([]Action{{Datetime: now, UserID: userID, Action: action, Comment: comment}}, inc.Actions...)
}

// ContactIncident records a new contact: contacts+1 and lastContact = now.
// The incident moves to the front of lists.
func (s *Server) ContactIncident(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	co := s.owner[id]
	if co == nil {
		return fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	inc := co.byID[id]
	inc.Contacts++
	inc.LastContact = s.now()
	if inc.LabelDistribution == nil {
		inc.LabelDistribution = map[string]int{}
	}
	inc.LabelDistribution["0"]++
	sortIncidents(co.incidents)
	return nil
}

// NewIncident describes an incident to add; zero fields get defaults.
type NewIncident struct {
	// CompanyUUID selects the company; empty means the first one.
	CompanyUUID string `json:"company_uuid,omitempty"`
	// AdversaryID defaults to "added-<n>.example".
	AdversaryID string `json:"adversary_id,omitempty"`
	// AdversaryTypes defaults to ["Malware"].
	AdversaryTypes []string `json:"adversary_types,omitempty"`
	Description    string   `json:"description,omitempty"`
	// Status defaults to open.
	Status string `json:"status,omitempty"`
	// CurrentlyActive defaults to true.
	CurrentlyActive *bool `json:"currently_active,omitempty"`
	// OmitCurrentlyActive serves the context without currently_active.
	OmitCurrentlyActive bool `json:"omit_currently_active,omitempty"`
	// Rank is served as the context's rank; absent when nil.
	Rank *int `json:"rank,omitempty"`
	// ContextNotFound makes every context read of the incident answer 404
	// while the incident stays listed.
	ContextNotFound bool `json:"context_not_found,omitempty"`
	// Labels is the labelDistribution; defaults to {"0": 1}.
	Labels map[string]int `json:"labels,omitempty"`
	// Hashes are the related_files per hash type, served as given.
	Hashes map[HashType][]string `json:"hashes,omitempty"`
}

// AddIncident adds an incident created now (one contact, lastContact = now)
// and returns a copy of it.
func (s *Server) AddIncident(n NewIncident) (*Incident, error) {
	for _, t := range n.AdversaryTypes {
		if !slices.Contains(AdversaryTypes, t) {
			return nil, fmt.Errorf("unknown adversary type %q", t)
		}
	}
	for t := range n.Hashes {
		if t.HexLen() == 0 {
			return nil, fmt.Errorf("unknown hash type %q (want sha256, sha1 or md5)", t)
		}
	}
	switch n.Status {
	case "":
		n.Status = StatusOpen
	case StatusOpen, StatusMuted, StatusClosed:
	default:
		return nil, fmt.Errorf("invalid status %q (want open, muted or closed)", n.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var co *company
	for _, c := range s.companies {
		if n.CompanyUUID == "" || c.uuid == n.CompanyUUID {
			co = c
			break
		}
	}
	if co == nil {
		return nil, fmt.Errorf("company %q: %w", n.CompanyUUID, ErrNotFound)
	}
	now := s.now().Truncate(time.Millisecond)
	s.seq++
	inc := &Incident{
		ID:                  uuidV1(now, uint16(s.seq), 0x01aabbccddee),
		Timestamp:           now,
		StatusTimestamp:     now,
		Status:              n.Status,
		Contacts:            1,
		AdversaryID:         n.AdversaryID,
		AdversaryTypes:      slices.Clone(n.AdversaryTypes),
		Description:         n.Description,
		LabelDistribution:   map[string]int{},
		TotalEndpoints:      1,
		FirstContact:        now,
		LastContact:         now,
		Unread:              true,
		CurrentlyActive:     n.CurrentlyActive == nil || *n.CurrentlyActive,
		OmitCurrentlyActive: n.OmitCurrentlyActive,
		Rank:                n.Rank,
		ContextNotFound:     n.ContextNotFound,
		RelatedFiles:        map[HashType][]string{},
	}
	for inc.ID == "" || s.owner[inc.ID] != nil {
		s.seq++
		inc.ID = uuidV1(now, uint16(s.seq), 0x01aabbccddee)
	}
	if inc.AdversaryID == "" {
		inc.AdversaryID = fmt.Sprintf("added-%d.example", s.seq)
	}
	if len(inc.AdversaryTypes) == 0 {
		inc.AdversaryTypes = []string{"Malware"}
	}
	if inc.Description == "" {
		inc.Description = "Malicious domain"
	}
	for k, v := range n.Labels {
		inc.LabelDistribution[k] = v
	}
	if len(inc.LabelDistribution) == 0 {
		inc.LabelDistribution["0"] = 1
	}
	for t, v := range n.Hashes {
		inc.RelatedFiles[t] = slices.Clone(v)
	}
	// co.incidents is kept sorted: insert in place (sorting after each
	// append made adding n incidents quadratic: a minute for 20,000).
	at, _ := slices.BinarySearchFunc(co.incidents, inc, incidentOrder)
	co.incidents = slices.Insert(co.incidents, at, inc)
	co.byID[inc.ID] = inc
	s.owner[inc.ID] = co
	return inc.clone(), nil
}
