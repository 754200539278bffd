// Package metrics holds lumuctl's Prometheus metric families (SPEC section
// 9): one Set per one-shot run (--metrics-file, written in the
// node_exporter textfile-collector format) or per apply --every loop
// (/metrics, counters across cycles). It uses client_golang's registry and
// text exposition; no label value is ever a secret (companies, kibanas and
// blocklists are configuration labels, never URLs or keys).
package metrics

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/lumuctl/lumuctl/engine/safefile"
)

// Cycle outcomes of lumuctl_cycles_total.
const (
	OutcomeSuccess = "success"
	OutcomePartial = "partial"
	OutcomeError   = "error"
	OutcomeGuard   = "guard"
	OutcomeLocked  = "locked"
)

// Outcomes lists every cycle outcome, so each series exists from the start.
var Outcomes = []string{OutcomeSuccess, OutcomePartial, OutcomeError, OutcomeGuard, OutcomeLocked}

// Item write operations of lumuctl_item_writes_total.
var Ops = []string{"create", "update", "delete"}

// Guards of lumuctl_guard_trips_total.
var Guards = []string{"mass_delete", "prevent_destroy", "empty_source"}

// Lumu request kinds of lumuctl_lumu_requests_total.
var LumuKinds = []string{"list", "context"}

// Set is one registry and its families. Its methods are safe for concurrent
// use.
type Set struct {
	reg *prometheus.Registry

	runTimestamp   *prometheus.GaugeVec
	runSuccess     *prometheus.GaugeVec
	runDuration    *prometheus.GaugeVec
	runExitCode    *prometheus.GaugeVec
	hashesBlocked  *prometheus.GaugeVec
	itemWrites     *prometheus.CounterVec
	lumuRequests   *prometheus.CounterVec
	lumuThrottled  *prometheus.CounterVec
	lumuUnread     *prometheus.GaugeVec
	kibanaRequests *prometheus.CounterVec
	driftItems     *prometheus.GaugeVec
	guardTrips     *prometheus.CounterVec
	cycles         *prometheus.CounterVec // nil unless loop

	mu        sync.Mutex
	companies map[string]string // Lumu key -> company label; keys never leave the process
}

// New returns a Set with every family registered; loop adds
// lumuctl_cycles_total with all its outcomes at 0.
func New(loop bool) *Set {
	s := &Set{reg: prometheus.NewRegistry(), companies: map[string]string{}}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		s.reg.MustRegister(v)
		return v
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		s.reg.MustRegister(v)
		return v
	}
	s.runTimestamp = gauge("lumuctl_run_last_timestamp_seconds", "When the last run of the command ended, in seconds since the Unix epoch.", "command")
	s.runSuccess = gauge("lumuctl_run_last_success", "1 if the last run of the command succeeded, else 0.", "command")
	s.runDuration = gauge("lumuctl_run_last_duration_seconds", "How long the last run of the command took.", "command")
	s.runExitCode = gauge("lumuctl_run_last_exit_code", "The exit code of the last run of the command (SPEC section 4).", "command")
	s.hashesBlocked = gauge("lumuctl_hashes_blocked", "Hashes lumuctl blocks per blocklist and operating system, as recorded in the state when the run ended.", "blocklist", "os")
	s.itemWrites = counter("lumuctl_item_writes_total", "Successful Kibana item writes, by blocklist and operation.", "blocklist", "op")
	s.lumuRequests = counter("lumuctl_lumu_requests_total", "Requests sent to the Lumu Defender API, by company and kind (list: incident list pages, context: incident contexts).", "company", "kind")
	s.lumuThrottled = counter("lumuctl_lumu_throttled_total", "Lumu answers 429 Too Many Requests, by company.", "company")
	s.lumuUnread = gauge("lumuctl_lumu_unread_incidents", "Incidents whose context the last plan could not read yet, by company.", "company")
	s.kibanaRequests = counter("lumuctl_kibana_requests_total", "Requests sent to Kibana, by kibana block, method and HTTP status code (\"error\" when no answer came).", "kibana", "method", "code")
	s.driftItems = gauge("lumuctl_drift_items", "Owned items changed in Kibana outside lumuctl, found by the last plan, by blocklist.", "blocklist")
	s.guardTrips = counter("lumuctl_guard_trips_total", "Safety guards tripped, by blocklist and guard (mass_delete, prevent_destroy, empty_source).", "blocklist", "guard")
	if loop {
		s.cycles = counter("lumuctl_cycles_total", "apply --every cycles, by outcome.", "outcome")
		for _, o := range Outcomes {
			s.cycles.WithLabelValues(o)
		}
	}
	return s
}

// Registry is the Set's registry (for tests and the HTTP handler).
func (s *Set) Registry() *prometheus.Registry { return s.reg }

// Configure names the companies, kibanas and blocklists of the
// configuration: their counters start at 0, so rate() and alerts work from
// the first scrape. keys maps each company's Lumu key to its label; the
// keys stay in memory only, to attribute requests.
func (s *Set) Configure(keys map[string]string, kibanas, blocklists []string) {
	s.mu.Lock()
	for k, c := range keys {
		s.companies[k] = c
	}
	s.mu.Unlock()
	for _, c := range keys {
		for _, k := range LumuKinds {
			s.lumuRequests.WithLabelValues(c, k)
		}
		s.lumuThrottled.WithLabelValues(c)
	}
	for _, b := range blocklists {
		for _, op := range Ops {
			s.itemWrites.WithLabelValues(b, op)
		}
		for _, g := range Guards {
			s.guardTrips.WithLabelValues(b, g)
		}
	}
}

// Run records the end of one run of command.
func (s *Set) Run(command string, start, end time.Time, exitCode int) {
	s.runTimestamp.WithLabelValues(command).Set(float64(end.UnixNano()) / 1e9)
	s.runDuration.WithLabelValues(command).Set(end.Sub(start).Seconds())
	s.runExitCode.WithLabelValues(command).Set(float64(exitCode))
	ok := 0.0
	if exitCode == 0 || (command == "plan" && exitCode == 2) {
		ok = 1 // plan --detailed-exitcode: 2 is success with changes
	}
	s.runSuccess.WithLabelValues(command).Set(ok)
}

// Cycle counts one apply --every cycle.
func (s *Set) Cycle(outcome string) {
	if s.cycles != nil {
		s.cycles.WithLabelValues(outcome).Inc()
	}
}

// BlockedKey is one (blocklist, os) pair.
type BlockedKey struct{ Blocklist, OS string }

// SetBlocked replaces every lumuctl_hashes_blocked series by counts.
func (s *Set) SetBlocked(counts map[BlockedKey]int) {
	s.hashesBlocked.Reset()
	for k, n := range counts {
		s.hashesBlocked.WithLabelValues(k.Blocklist, k.OS).Set(float64(n))
	}
}

// ItemWrite counts one successful item write.
func (s *Set) ItemWrite(blocklist, op string) { s.itemWrites.WithLabelValues(blocklist, op).Inc() }

// GuardTrip counts one tripped guard.
func (s *Set) GuardTrip(blocklist, guard string) {
	s.guardTrips.WithLabelValues(blocklist, guard).Inc()
}

// SetDrift replaces every lumuctl_drift_items series by drift.
func (s *Set) SetDrift(drift map[string]int) {
	s.driftItems.Reset()
	for b, n := range drift {
		s.driftItems.WithLabelValues(b).Set(float64(n))
	}
}

// SetUnread sets lumuctl_lumu_unread_incidents of company.
func (s *Set) SetUnread(company string, n int) {
	s.lumuUnread.WithLabelValues(company).Set(float64(n))
}

// Text renders the registry in the Prometheus text exposition format.
func (s *Set) Text() ([]byte, error) {
	mfs, err := s.reg.Gather()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// WriteFile writes the metrics for node_exporter's textfile collector:
// through a temporary file in the same directory and a rename (the
// collector never reads half a file), mode 0644.
func (s *Set) WriteFile(path string) error {
	text, err := s.Text()
	if err != nil {
		return err
	}
	return safefile.WriteAtomic(path, text, 0o644)
}

// Handler serves /metrics.
func (s *Set) Handler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
}

// KibanaTransport counts every request of kibana block name through next
// (nil: http.DefaultTransport).
func (s *Set) KibanaTransport(name string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &countingTransport{next: next, count: func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		code := "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		s.kibanaRequests.WithLabelValues(name, req.Method, code).Inc()
		return resp, err
	}}
}

// LumuTransport counts every Lumu request through next (nil:
// http.DefaultTransport), attributing it to a company by its key (see
// Configure); an unknown key counts as company "unknown".
func (s *Set) LumuTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &countingTransport{next: next, count: func(req *http.Request) (*http.Response, error) {
		s.mu.Lock()
		company, ok := s.companies[req.URL.Query().Get("key")]
		s.mu.Unlock()
		if !ok {
			company = "unknown"
		}
		kind := "other"
		switch p := req.URL.Path; {
		case strings.HasSuffix(p, "/incidents/all"):
			kind = "list"
		case strings.HasSuffix(p, "/context"):
			kind = "context"
		}
		resp, err := next.RoundTrip(req)
		s.lumuRequests.WithLabelValues(company, kind).Inc()
		if err == nil && resp.StatusCode == http.StatusTooManyRequests {
			s.lumuThrottled.WithLabelValues(company).Inc()
		}
		return resp, err
	}}
}

// countingTransport counts requests on their way to next.
type countingTransport struct {
	next  http.RoundTripper
	count func(*http.Request) (*http.Response, error)
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) { return t.count(r) }

// CloseIdleConnections passes http.Client.CloseIdleConnections on to the
// wrapped transport.
func (t *countingTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
