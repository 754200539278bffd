package lumusim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Control returns the handler of the JSON control API. Its paths include the
// /lumu prefix (mount it at "/lumu/" without stripping):
//
//	GET  /lumu/incidents?status=S            [{"id","status","last_contact","adversary_types"}...]
//	POST /lumu/incidents                     NewIncident → the incident summary (201)
//	POST /lumu/incidents/{id}/close          body optional {"comment":"..."}; also mute, reopen, contact
//	POST /lumu/faults                        Fault, or {"clear":true}
//	POST /lumu/latency                       {"kind":"context","duration":"150ms"}
//	POST /lumu/ratelimit                     {"per_minute":50}
//	GET  /lumu/counters                      Counters
//	POST /lumu/counters/reset
//
// Errors are {"error":"..."} with 400 (bad input) or 404 (unknown incident).
// The control API needs no key: it only ever listens on loopback.
func (s *Server) Control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lumu/incidents", s.ctlListIncidents)
	mux.HandleFunc("POST /lumu/incidents", s.ctlAddIncident)
	mux.HandleFunc("POST /lumu/incidents/{id}/{op}", s.ctlIncidentOp)
	mux.HandleFunc("POST /lumu/faults", s.ctlFaults)
	mux.HandleFunc("POST /lumu/latency", s.ctlLatency)
	mux.HandleFunc("POST /lumu/ratelimit", s.ctlRateLimit)
	mux.HandleFunc("GET /lumu/counters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Counters())
	})
	mux.HandleFunc("POST /lumu/counters/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCounters()
		writeJSON(w, http.StatusOK, s.Counters())
	})
	return mux
}

func ctlError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// IncidentSummary is what the control API lists for an incident.
type IncidentSummary struct {
	ID             string   `json:"id"`
	CompanyUUID    string   `json:"company_uuid"`
	Status         string   `json:"status"`
	LastContact    string   `json:"last_contact"`
	Contacts       int      `json:"contacts"`
	AdversaryID    string   `json:"adversary_id"`
	AdversaryTypes []string `json:"adversary_types"`
}

func (s *Server) summaries(status string) []IncidentSummary {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []IncidentSummary{}
	for _, c := range s.companies {
		for _, inc := range c.incidents {
			if status == "" || inc.Status == status {
				out = append(out, summary(c, inc))
			}
		}
	}
	return out
}

func summary(c *company, inc *Incident) IncidentSummary {
	return IncidentSummary{
		ID: inc.ID, CompanyUUID: c.uuid, Status: inc.Status, LastContact: fmtTime(inc.LastContact),
		Contacts: inc.Contacts, AdversaryID: inc.AdversaryID, AdversaryTypes: nonNil(inc.AdversaryTypes),
	}
}

func (s *Server) ctlListIncidents(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	switch status {
	case "", StatusOpen, StatusMuted, StatusClosed:
	default:
		ctlError(w, http.StatusBadRequest, fmt.Errorf("status must be open, muted or closed, got %q", status))
		return
	}
	writeJSON(w, http.StatusOK, s.summaries(status))
}

func (s *Server) ctlAddIncident(w http.ResponseWriter, r *http.Request) {
	var n NewIncident
	if err := readStrictJSON(r, &n); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	inc, err := s.AddIncident(n)
	if errors.Is(err, ErrNotFound) {
		ctlError(w, http.StatusNotFound, err)
		return
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	s.mu.RLock()
	sum := summary(s.owner[inc.ID], inc)
	s.mu.RUnlock()
	writeJSON(w, http.StatusCreated, sum)
}

func (s *Server) ctlIncidentOp(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("id"))
	var body struct {
		Comment string `json:"comment"`
	}
	if err := readStrictJSON(r, &body); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	var err error
	switch op := r.PathValue("op"); op {
	case "close":
		err = s.CloseIncident(id, body.Comment)
	case "mute":
		err = s.MuteIncident(id, body.Comment)
	case "reopen":
		err = s.ReopenIncident(id, body.Comment)
	case "contact":
		err = s.ContactIncident(id)
	default:
		ctlError(w, http.StatusNotFound, fmt.Errorf("unknown operation %q (want close, mute, reopen or contact)", op))
		return
	}
	if errors.Is(err, ErrNotFound) {
		ctlError(w, http.StatusNotFound, err)
		return
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	s.mu.RLock()
	sum := summary(s.owner[id], s.owner[id].byID[id])
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, sum)
}

func (s *Server) ctlFaults(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Fault
		Clear bool `json:"clear"`
	}
	if err := readStrictJSON(r, &body); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	if body.Clear {
		s.ClearFaults()
		writeJSON(w, http.StatusOK, map[string]bool{"cleared": true})
		return
	}
	if err := s.SetFault(body.Fault); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, body.Fault)
}

func (s *Server) ctlLatency(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Kind     Kind   `json:"kind"`
		Duration string `json:"duration"`
	}
	if err := readStrictJSON(r, &body); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	d, err := time.ParseDuration(body.Duration)
	if err != nil {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("duration: %v", err))
		return
	}
	if err := s.SetLatency(body.Kind, d); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"kind": string(body.Kind), "duration": d.String()})
}

func (s *Server) ctlRateLimit(w http.ResponseWriter, r *http.Request) {
	var body struct {
		PerMinute *int `json:"per_minute"`
		PerDay    *int `json:"per_day"`
	}
	if err := readStrictJSON(r, &body); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	if body.PerMinute == nil && body.PerDay == nil {
		ctlError(w, http.StatusBadRequest, errors.New("per_minute or per_day is required"))
		return
	}
	out := map[string]int{}
	if body.PerDay != nil {
		if err := s.SetDailyQuota(*body.PerDay); err != nil {
			ctlError(w, http.StatusBadRequest, err)
			return
		}
		out["per_day"] = *body.PerDay
	}
	if body.PerMinute != nil {
		if err := s.SetRateLimit(*body.PerMinute); err != nil {
			ctlError(w, http.StatusBadRequest, err)
			return
		}
		out["per_minute"] = *body.PerMinute
	}
	writeJSON(w, http.StatusOK, out)
}
