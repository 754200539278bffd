package lumusim

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// Kind classifies an /api request for counters, faults and latency.
type Kind string

// Request kinds. KindAll matches every request in SetFault and SetLatency.
const (
	KindList    Kind = "list"    // POST /api/incidents/all|open|muted|closed
	KindContext Kind = "context" // GET /api/incidents/{id}/context
	KindDetails Kind = "details" // GET /api/incidents/{id}/details
	KindAction  Kind = "action"  // POST /api/incidents/{id}/{action}
	KindOther   Kind = "other"   // anything else under /api (404/405)
	KindAll     Kind = "all"
)

func (k Kind) valid() bool {
	switch k {
	case KindList, KindContext, KindDetails, KindAction, KindOther, KindAll:
		return true
	}
	return false
}

// Counters counts requests. List, Context, Details, Action and Other count
// requests that reached their handler (whatever it answered); requests
// stopped earlier are counted only under Fault, Unauthorized or RateLimited.
// Total counts every request.
type Counters struct {
	Total         int64 `json:"total"`
	List          int64 `json:"list"`
	Context       int64 `json:"context"`
	Details       int64 `json:"details"`
	Action        int64 `json:"action"`
	Other         int64 `json:"other"`
	Unauthorized  int64 `json:"unauthorized"`
	RateLimited   int64 `json:"rate_limited"`
	Fault         int64 `json:"fault"`
	ContextSHA256 int64 `json:"context_sha256"`
	ContextSHA1   int64 `json:"context_sha1"`
	ContextMD5    int64 `json:"context_md5"`
}

// Counters returns a snapshot of the request counters.
func (s *Server) Counters() Counters {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.counters
}

// ResetCounters sets every counter to zero.
func (s *Server) ResetCounters() {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.counters = Counters{}
}

func (s *Server) count(f func(c *Counters)) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	f(&s.counters)
}

func (s *Server) countKind(k Kind, h HashType) {
	s.count(func(c *Counters) {
		switch k {
		case KindList:
			c.List++
		case KindContext:
			c.Context++
			switch h {
			case SHA256:
				c.ContextSHA256++
			case SHA1:
				c.ContextSHA1++
			case MD5:
				c.ContextMD5++
			}
		case KindDetails:
			c.Details++
		case KindAction:
			c.Action++
		default:
			c.Other++
		}
	})
}

// Fault makes matching requests fail instead of being served.
type Fault struct {
	// Kind selects the requests (KindAll: every request). A later SetFault
	// for the same Kind replaces the earlier one.
	Kind Kind `json:"kind"`
	// Status is the answer: 429 (with Retry-After), 500, 502, 503 or 504.
	// Ignored when Reset is set.
	Status int `json:"status,omitempty"`
	// Reset closes the connection without an answer (TCP reset).
	Reset bool `json:"reset,omitempty"`
	// Count is how many matching requests fail; 0 means until cleared.
	Count int `json:"count,omitempty"`
	// FromPage, for list requests, matches only pages >= FromPage: an outage
	// in the middle of a listing.
	FromPage int `json:"from_page,omitempty"`
	// RetryAfter is the Retry-After of a 429, in seconds (default 1).
	RetryAfter int `json:"retry_after,omitempty"`
}

func (f Fault) validate() error {
	if !f.Kind.valid() {
		return fmt.Errorf("unknown fault kind %q (want list, context, details, action, other or all)", f.Kind)
	}
	if !f.Reset {
		switch f.Status {
		case 429, 500, 502, 503, 504:
		default:
			return fmt.Errorf("fault status %d not supported (want 429, 500, 502, 503 or 504, or reset)", f.Status)
		}
	}
	if f.Count < 0 || f.FromPage < 0 || f.RetryAfter < 0 {
		return fmt.Errorf("fault count, from_page and retry_after must be >= 0")
	}
	if f.FromPage > 0 && f.Kind != KindList && f.Kind != KindAll {
		return fmt.Errorf("from_page only applies to list requests")
	}
	return nil
}

type faultState struct {
	Fault
	left int // remaining; only meaningful when Count > 0
}

// SetFault installs f, replacing any fault of the same kind.
func (s *Server) SetFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f.Kind] = &faultState{Fault: f, left: f.Count}
	return nil
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// SetLatency makes requests of kind k wait d before being handled (0
// removes it). A kind's own latency wins over KindAll's.
func (s *Server) SetLatency(k Kind, d time.Duration) error {
	if !k.valid() {
		return fmt.Errorf("unknown latency kind %q", k)
	}
	if d < 0 {
		return fmt.Errorf("latency must be >= 0, got %s", d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d == 0 {
		delete(s.latency, k)
	} else {
		s.latency[k] = d
	}
	return nil
}

func (s *Server) latencyFor(k Kind) time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if d, ok := s.latency[k]; ok {
		return d
	}
	return s.latency[KindAll]
}

// takeFault returns the fault that fires for this request, consuming one of
// its count, or nil.
func (s *Server) takeFault(k Kind, page int) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []Kind{k, KindAll} {
		fs := s.faults[key]
		if fs == nil {
			continue
		}
		if fs.FromPage > 0 && (k != KindList || page < fs.FromPage) {
			continue
		}
		f := fs.Fault
		if fs.Count > 0 {
			fs.left--
			if fs.left <= 0 {
				delete(s.faults, key)
			}
		}
		return &f
	}
	return nil
}

// serveFault answers w with f.
func serveFault(w http.ResponseWriter, f *Fault) {
	if f.Reset {
		resetConn(w)
		return
	}
	switch f.Status {
	case 429:
		ra := f.RetryAfter
		if ra == 0 {
			ra = 1
		}
		w.Header().Set("Retry-After", fmt.Sprint(ra))
		writeError(w, 429, "TooManyRequests", "Rate limit exceeded")
	case 500:
		writeError(w, 500, "InternalServerError", "Internal server error")
	default:
		// Gateways answer 502/503/504 with HTML, not JSON.
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", f.Status, http.StatusText(f.Status))
	}
}

// resetConn drops the client connection without an HTTP answer, with a TCP
// reset when possible.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// rateLimit applies the per-key budget. It sets the RateLimit-* headers and
// reports whether the request may proceed.
func (s *Server) allow(w http.ResponseWriter, co *company) bool {
	s.mu.Lock()
	limit, perDay := s.rateLimit, s.perDay
	now := s.now()
	// The daily quota: requests answered per key per UTC day.
	if day := now.Format(time.DateOnly); co.day != day {
		co.day, co.dayCount = day, 0
	}
	if perDay > 0 && co.dayCount >= perDay {
		s.mu.Unlock()
		reset := now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now)
		secs := max(1, int64((reset+time.Second-1)/time.Second))
		h := w.Header()
		h.Set("RateLimit-Limit", fmt.Sprint(perDay))
		h.Set("RateLimit-Remaining", "0")
		h.Set("RateLimit-Reset", fmt.Sprint(secs))
		h.Set("Retry-After", fmt.Sprint(secs))
		return false
	}
	if limit == 0 {
		s.countDayLocked(co)
		s.mu.Unlock()
		return true
	}
	if co.windowStart.IsZero() || !now.Before(co.windowStart.Add(time.Minute)) {
		co.windowStart, co.windowCount = now, 0
	}
	ok := co.windowCount < limit
	if ok {
		co.windowCount++
		s.countDayLocked(co)
	}
	remaining := limit - co.windowCount
	reset := co.windowStart.Add(time.Minute).Sub(now)
	s.mu.Unlock()

	secs := int64((reset + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	h := w.Header()
	h.Set("RateLimit-Limit", fmt.Sprint(limit))
	h.Set("RateLimit-Remaining", fmt.Sprint(remaining))
	h.Set("RateLimit-Reset", fmt.Sprint(secs))
	if !ok {
		h.Set("Retry-After", fmt.Sprint(secs))
	}
	return ok
}

// countDayLocked counts one answered request of co today; s.mu is held.
func (s *Server) countDayLocked(co *company) {
	co.dayCount++
	if co.dayMax == nil {
		co.dayMax = map[string]int{}
	}
	co.dayMax[co.day] = co.dayCount
}
