package kibanasim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is a scheduled failure: the next Count requests of Kind fail as
// described. Exactly one of Status, Reset and ResetAfterSuccess is set,
// or only DelayMS (a slow but otherwise normal answer); DelayMS may also
// delay a Status answer.
type Fault struct {
	Kind              string `json:"kind"`                          // request kind (see Kind), or "*" for any
	Count             int    `json:"count"`                         // how many requests; 0 means 1
	Status            int    `json:"status,omitempty"`              // 429, 500, 502, 503 or 504
	RetryAfter        string `json:"retry_after,omitempty"`         // Retry-After of a 429; default "1"
	Reset             bool   `json:"reset,omitempty"`               // close the connection without answering
	ResetAfterSuccess bool   `json:"reset_after_success,omitempty"` // handle the request, then close without answering
	DelayMS           int    `json:"delay_ms,omitempty"`            // answer this much later
	// LandLate keeps handling the request after DelayMS even when the
	// client has gone meanwhile (a real server does not notice a killed
	// client before it answers): the write of a SIGKILLed run lands late.
	LandLate bool `json:"land_late,omitempty"`
	// Hold keeps the request at the gate of that name until Release opens
	// it, then handles it even when the client has gone meanwhile (like
	// LandLate): a killed run's write lands exactly when a test says.
	Hold string `json:"hold,omitempty"`
	// Release opens the gate of that name once this request has been
	// handled and before it is answered, and waits (at most gateWait) for
	// the requests held there to be handled: they land after this request
	// read the store and before its client hears the answer.
	Release string `json:"release,omitempty"`
	// Match, when set, limits the fault to requests whose query or body
	// contains it (an item_id, a saved-object id): a test picks the write
	// of one item whatever order parallel requests arrive in.
	Match string `json:"match,omitempty"`
}

// gateWait bounds how long a Release fault waits for the requests it let go.
const gateWait = 10 * time.Second

// gate holds the requests of Hold faults of one name.
type gate struct {
	open    chan struct{}
	opened  bool
	waiting int // held now
	landed  int // handled after the gate opened
}

func (f *Fault) check() error {
	set := 0
	for _, b := range []bool{f.Status != 0, f.Reset, f.ResetAfterSuccess} {
		if b {
			set++
		}
	}
	switch {
	case f.Kind == "":
		return errors.New("fault: kind is required (a request kind such as \"POST items\", or \"*\")")
	case f.Count < 0:
		return errors.New("fault: count must be >= 0")
	case f.DelayMS < 0:
		return errors.New("fault: delay_ms must be >= 0")
	case set > 1:
		return errors.New("fault: set only one of status, reset, reset_after_success")
	case set == 0 && f.DelayMS == 0 && f.Hold == "" && f.Release == "":
		return errors.New("fault: set one of status, reset, reset_after_success, delay_ms, hold or release")
	case f.Hold != "" && f.Hold == f.Release:
		return errors.New("fault: a request cannot wait at the gate it opens")
	case f.Status != 0 && f.Status != 429 && (f.Status < 500 || f.Status > 504):
		return fmt.Errorf("fault: status %d not supported (429, 500-504)", f.Status)
	}
	if f.RetryAfter != "" {
		if _, err := strconv.Atoi(f.RetryAfter); err != nil {
			return fmt.Errorf("fault: retry_after %q is not a number of seconds", f.RetryAfter)
		}
	}
	return nil
}

// AddFault schedules f after any faults already scheduled.
func (s *Server) AddFault(f Fault) error {
	if err := f.check(); err != nil {
		return err
	}
	if f.Count == 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
	return nil
}

// ClearFaults drops every scheduled fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the faults still scheduled.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// gateLocked returns the gate of that name, made closed when new. Caller
// holds s.mu.
func (s *Server) gateLocked(name string) *gate {
	g := s.gates[name]
	if g == nil {
		g = &gate{open: make(chan struct{})}
		s.gates[name] = g
	}
	return g
}

// Release opens the gate of that name: the requests held there (and any
// later Hold fault of that name) are handled.
func (s *Server) Release(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.gateLocked(name); !g.opened {
		g.opened = true
		close(g.open)
	}
}

// ReleaseAll opens every gate (a test's cleanup: a held request would
// otherwise keep the server from closing).
func (s *Server) ReleaseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.gates {
		if !g.opened {
			g.opened = true
			close(g.open)
		}
	}
}

// Gate reports how many requests wait at the gate of that name and how
// many it let through and were handled.
func (s *Server) Gate(name string) (waiting, landed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.gates[name]; g != nil {
		return g.waiting, g.landed
	}
	return 0, 0
}

// releaseAndWait opens the gate of that name and waits, at most gateWait,
// until no request is held there any more.
func (s *Server) releaseAndWait(name string) {
	s.Release(name)
	for deadline := time.Now().Add(gateWait); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if waiting, _ := s.Gate(name); waiting == 0 {
			return
		}
	}
}

// SetLatency delays every request of kind ("*" for all kinds without their
// own setting) by d; d == 0 removes the setting.
func (s *Server) SetLatency(kind string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.latency, kind)
	} else {
		s.latency[kind] = d
	}
}

// Counters returns the number of requests seen, by kind.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counters)
}

// ResetCounters zeroes the request counters (the log is kept).
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters = Counters{}
}

// LogEntry is one request as the stand-in saw it. It never holds header
// values, so no credential can leak through it.
type LogEntry struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Query  string    `json:"query,omitempty"`
	Kind   string    `json:"kind"`
	Status int       `json:"status"` // 0 when the connection was reset
	Fault  string    `json:"fault,omitempty"`
}

const maxLog = 10000

// Log returns the request log, oldest first (at most the last 10,000).
func (s *Server) Log() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogEntry(nil), s.log...)
}

// takeFault consumes one matching scheduled fault; text is the request's
// query and body, for Match. Caller holds s.mu.
func (s *Server) takeFault(kind, text string) *Fault {
	for i, f := range s.faults {
		if f.Kind != kind && f.Kind != "*" {
			continue
		}
		if f.Match != "" && !strings.Contains(text, f.Match) {
			continue
		}
		taken := *f
		if f.Count--; f.Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return &taken
	}
	return nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.ResponseWriter.Write(b)
}

// bufferWriter holds a response that will never be sent.
type bufferWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.h }
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = 200
	}
	return b.body.Write(p)
}

// front counts, logs, delays and injects faults around the emulated Kibana.
func (s *Server) front(w http.ResponseWriter, r *http.Request) {
	kind := Kind(r.Method, r.URL.Path)
	text := r.URL.RawQuery
	if s.matching(kind) && r.Body != nil {
		// Read the body for Match and put it back for the handler.
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		if err == nil {
			text += "\n" + string(b)
		}
	}
	s.mu.Lock()
	s.counters[kind]++
	lat, ok := s.latency[kind]
	if !ok {
		lat = s.latency["*"]
	}
	f := s.takeFault(kind, text)
	var held *gate
	if f != nil && f.Hold != "" {
		held = s.gateLocked(f.Hold)
		held.waiting++
	}
	s.mu.Unlock()

	entry := LogEntry{Time: time.Now().UTC(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Kind: kind}
	defer func() { s.appendLog(entry) }()
	if f != nil {
		lat += time.Duration(f.DelayMS) * time.Millisecond
	}
	if held != nil {
		// Handle the request whatever the client does meanwhile, once
		// the gate opens.
		r = r.WithContext(context.WithoutCancel(r.Context()))
		<-held.open
		defer func() {
			s.mu.Lock()
			held.waiting--
			held.landed++
			s.mu.Unlock()
		}()
	}
	if f != nil && (f.LandLate || held != nil) {
		// Handle the request whatever the client does meanwhile.
		r = r.WithContext(context.WithoutCancel(r.Context()))
		time.Sleep(lat)
	} else if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			entry.Fault = "client gone during latency"
			return
		}
	}
	switch {
	case f != nil && f.Status != 0:
		entry.Fault, entry.Status = fmt.Sprintf("status %d", f.Status), f.Status
		if f.Status == 429 {
			ra := f.RetryAfter
			if ra == "" {
				ra = "1"
			}
			w.Header().Set("Retry-After", ra)
			boom(w, 429, "Too Many Requests")
			return
		}
		boom(w, f.Status, "injected fault")
		return
	case f != nil && f.Reset:
		entry.Fault = "reset"
		resetConn(w)
		return
	case f != nil && f.ResetAfterSuccess:
		bw := &bufferWriter{h: http.Header{}}
		s.inner.ServeHTTP(bw, r)
		entry.Fault = fmt.Sprintf("reset after status %d", bw.status)
		resetConn(w)
		return
	case f != nil && f.Release != "":
		// Handled now, answered once the held requests landed.
		bw := &bufferWriter{h: http.Header{}}
		s.inner.ServeHTTP(bw, r)
		s.releaseAndWait(f.Release)
		maps.Copy(w.Header(), bw.h)
		if bw.status == 0 {
			bw.status = http.StatusOK
		}
		w.WriteHeader(bw.status)
		_, _ = w.Write(bw.body.Bytes())
		entry.Status = bw.status
		entry.Fault = "released " + f.Release
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.inner.ServeHTTP(sw, r)
	entry.Status = sw.status
	if f != nil {
		entry.Fault = fmt.Sprintf("delay %dms", f.DelayMS)
		if f.LandLate {
			entry.Fault += ", landed late"
		}
		if held != nil {
			entry.Fault = "held at " + f.Hold + ", landed late"
		}
	}
}

// matching reports whether a scheduled fault for kind has a Match.
func (s *Server) matching(kind string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Match != "" && (f.Kind == kind || f.Kind == "*") {
			return true
		}
	}
	return false
}

func (s *Server) appendLog(e LogEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) >= maxLog {
		s.log = append(s.log[:0], s.log[len(s.log)-maxLog+1:]...)
	}
	s.log = append(s.log, e)
}

// resetConn drops the connection without an answer: a TCP RST when the
// connection can be hijacked, else an aborted handler.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
