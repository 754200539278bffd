package lumusim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	defaultItems  = 50
	maxItems      = 100
	retentionDays = 90
	maxBody       = 1 << 20
)

// route is a classified /api request.
type route struct {
	kind   Kind
	list   string // all, open, muted, closed
	id     string // incident id (context, details, action)
	action string // mark-as-read, comment, mute, unmute, close
	method string // the method the route takes
	ok     bool   // false: 404 (or 405 when badMethod)

	badMethod bool
}

var actions = []string{"mark-as-read", "comment", "mute", "unmute", "close"}

func classify(r *http.Request) route {
	rest, found := strings.CutPrefix(r.URL.Path, "/api/incidents/")
	if !found {
		return route{kind: KindOther}
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1 && slices.Contains([]string{"all", "open", "muted", "closed"}, parts[0]):
		return route{kind: KindList, list: parts[0], method: http.MethodPost, ok: r.Method == http.MethodPost, badMethod: r.Method != http.MethodPost}
	case len(parts) == 2 && (parts[1] == "context" || parts[1] == "details"):
		k := KindContext
		if parts[1] == "details" {
			k = KindDetails
		}
		return route{kind: k, id: parts[0], method: http.MethodGet, ok: r.Method == http.MethodGet, badMethod: r.Method != http.MethodGet}
	case len(parts) == 2 && slices.Contains(actions, parts[1]):
		return route{kind: KindAction, id: parts[0], action: parts[1], method: http.MethodPost, ok: r.Method == http.MethodPost, badMethod: r.Method != http.MethodPost}
	}
	return route{kind: KindOther}
}

// ServeHTTP serves the Lumu API (see the package documentation).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.count(func(c *Counters) { c.Total++ })
	rt := classify(r)
	if rt.badMethod || !rt.ok {
		rt.kind = KindOther
	}
	page := 1
	if rt.kind == KindList {
		if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil {
			page = p
		}
	}
	if d := s.latencyFor(rt.kind); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f := s.takeFault(rt.kind, page); f != nil {
		s.count(func(c *Counters) { c.Fault++ })
		serveFault(w, f)
		return
	}
	key := r.URL.Query().Get("key")
	s.mu.RLock()
	co := s.byKey[key]
	s.mu.RUnlock()
	if key == "" || co == nil {
		s.count(func(c *Counters) { c.Unauthorized++ })
		detail := "The key is not valid"
		if key == "" {
			detail = "The key query parameter is required"
		}
		writeError(w, http.StatusUnauthorized, "Unauthorized", detail)
		return
	}
	if !s.allow(w, co) {
		s.count(func(c *Counters) { c.RateLimited++ })
		writeError(w, http.StatusTooManyRequests, "TooManyRequests", "Rate limit exceeded")
		return
	}
	switch {
	case rt.badMethod:
		s.countKind(KindOther, "")
		w.Header().Set("Allow", rt.method)
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Method "+r.Method+" is not allowed here")
	case !rt.ok:
		s.countKind(KindOther, "")
		writeError(w, http.StatusNotFound, "NotFound", "No such resource")
	case rt.kind == KindList:
		s.countKind(KindList, "")
		s.serveList(w, r, co, rt.list)
	case rt.kind == KindContext:
		s.serveContext(w, r, co, rt.id)
	case rt.kind == KindDetails:
		s.countKind(KindDetails, "")
		s.serveDetails(w, co, rt.id)
	case rt.kind == KindAction:
		s.countKind(KindAction, "")
		s.serveAction(w, r, co, rt.id, rt.action)
	}
}

// errorBody is the {"name","detail"} envelope of Lumu errors.
type errorBody struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

func writeError(w http.ResponseWriter, status int, name, detail string) {
	writeJSON(w, status, errorBody{Name: name, Detail: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusBadRequest, "InvalidParameter", fmt.Sprintf(format, args...))
}

// fmtTime renders t like Lumu: milliseconds, or no fraction when t has none.
func fmtTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

func fmtOptTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmtTime(t)
}

// paging parses page and items from the query.
func paging(r *http.Request) (page, items int, err error) {
	q := r.URL.Query()
	page, items = 1, defaultItems
	if v := q.Get("page"); v != "" {
		page, err = strconv.Atoi(v)
		if err != nil || page < 1 {
			return 0, 0, fmt.Errorf("page must be a positive integer, got %q", v)
		}
	}
	if v := q.Get("items"); v != "" {
		items, err = strconv.Atoi(v)
		if err != nil || items < 1 {
			return 0, 0, fmt.Errorf("items must be a positive integer, got %q", v)
		}
		if items > maxItems {
			return 0, 0, fmt.Errorf("items must be at most %d, got %d", maxItems, items)
		}
	}
	return page, items, nil
}

// listBody is the body of the list endpoints. Unknown fields (including any
// paging in the body) are ignored.
type listBody struct {
	FromDate       *string  `json:"fromDate"`
	ToDate         *string  `json:"toDate"`
	Status         []string `json:"status"`
	AdversaryTypes []string `json:"adversary-types"`
	Labels         []int    `json:"labels"`
}

func readJSONBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("read body: %v", err)
	}
	if len(b) > maxBody {
		return fmt.Errorf("body larger than %d bytes", maxBody)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("invalid JSON body: %v", err)
	}
	return nil
}

// listFilter is a validated list request.
type listFilter struct {
	from, to time.Time // zero: unbounded
	statuses []string  // empty: any
	types    []string  // empty: any
	labels   []string  // empty: any
}

func (f *listFilter) match(inc *Incident) bool {
	if !f.from.IsZero() && inc.LastContact.Before(f.from) {
		return false
	}
	if !f.to.IsZero() && inc.LastContact.After(f.to) {
		return false
	}
	if len(f.statuses) > 0 && !slices.Contains(f.statuses, inc.Status) {
		return false
	}
	if len(f.types) > 0 && !slices.ContainsFunc(inc.AdversaryTypes, func(t string) bool { return slices.Contains(f.types, t) }) {
		return false
	}
	if len(f.labels) > 0 && !slices.ContainsFunc(f.labels, func(l string) bool { _, ok := inc.LabelDistribution[l]; return ok }) {
		return false
	}
	return true
}

func (s *Server) parseListFilter(r *http.Request, list string) (*listFilter, error) {
	var body listBody
	if err := readJSONBody(r, &body); err != nil {
		return nil, err
	}
	f := &listFilter{}
	for _, t := range body.AdversaryTypes {
		if !slices.Contains(AdversaryTypes, t) {
			return nil, fmt.Errorf("adversary-types: unknown type %q", t)
		}
	}
	f.types = body.AdversaryTypes
	for _, l := range body.Labels {
		f.labels = append(f.labels, strconv.Itoa(l))
	}
	if list != "all" {
		// The per-status lists take only adversary-types and labels.
		f.statuses = []string{list}
		return f, nil
	}
	for _, st := range body.Status {
		switch st {
		case StatusOpen, StatusMuted, StatusClosed:
		default:
			return nil, fmt.Errorf("status: unknown value %q (want open, muted or closed)", st)
		}
	}
	f.statuses = body.Status
	parse := func(name string, v *string) (time.Time, error) {
		if v == nil {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, *v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: %q is not an ISO-8601 date such as 2023-01-01T14:40:14.000Z", name, *v)
		}
		return t, nil
	}
	var err error
	if f.from, err = parse("fromDate", body.FromDate); err != nil {
		return nil, err
	}
	if f.to, err = parse("toDate", body.ToDate); err != nil {
		return nil, err
	}
	if !f.from.IsZero() && f.from.Before(s.now().Add(-retentionDays*24*time.Hour)) {
		return nil, fmt.Errorf("fromDate: %s is beyond the retention limit of %d days", *body.FromDate, retentionDays)
	}
	if !f.from.IsZero() && !f.to.IsZero() && f.to.Before(f.from) {
		return nil, fmt.Errorf("toDate is before fromDate")
	}
	return f, nil
}

// listIncidentJSON is an incident as lists serve it (camelCase).
type listIncidentJSON struct {
	ID                  string         `json:"id"`
	Timestamp           string         `json:"timestamp"`
	StatusTimestamp     string         `json:"statusTimestamp"`
	Status              string         `json:"status"`
	Contacts            int            `json:"contacts"`
	Adversaries         []string       `json:"adversaries"`
	AdversaryID         string         `json:"adversaryId"`
	AdversaryTypes      []string       `json:"adversaryTypes"`
	Description         string         `json:"description"`
	LabelDistribution   map[string]int `json:"labelDistribution"`
	TotalEndpoints      int            `json:"totalEndpoints"`
	LastContact         string         `json:"lastContact"`
	Unread              bool           `json:"unread"`
	HasPlaybackContacts bool           `json:"hasPlaybackContacts"`
	FirstContact        string         `json:"firstContact"`
}

func toListJSON(inc *Incident) listIncidentJSON {
	return listIncidentJSON{
		ID:                  inc.ID,
		Timestamp:           fmtTime(inc.Timestamp),
		StatusTimestamp:     fmtTime(inc.StatusTimestamp),
		Status:              inc.Status,
		Contacts:            inc.Contacts,
		Adversaries:         []string{inc.AdversaryID},
		AdversaryID:         inc.AdversaryID,
		AdversaryTypes:      slices.Clone(inc.AdversaryTypes),
		Description:         inc.Description,
		LabelDistribution:   maps(inc.LabelDistribution),
		TotalEndpoints:      inc.TotalEndpoints,
		LastContact:         fmtTime(inc.LastContact),
		Unread:              inc.Unread,
		HasPlaybackContacts: inc.HasPlaybackContacts,
		FirstContact:        fmtTime(inc.FirstContact),
	}
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type paginationInfo struct {
	Page  int `json:"page"`
	Items int `json:"items"`
	Next  int `json:"next,omitempty"`
	Prev  int `json:"prev,omitempty"`
}

type listResponse struct {
	Items          []listIncidentJSON `json:"items"`
	Timestamp      string             `json:"timestamp"`
	PaginationInfo paginationInfo     `json:"paginationInfo"`
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, co *company, list string) {
	page, items, err := paging(r)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	f, err := s.parseListFilter(r, list)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	resp := listResponse{Items: []listIncidentJSON{}, PaginationInfo: paginationInfo{Page: page, Items: items}}
	skip := (page - 1) * items
	s.mu.RLock()
	for _, inc := range co.incidents {
		if !f.match(inc) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(resp.Items) == items {
			resp.PaginationInfo.Next = page + 1
			break
		}
		resp.Items = append(resp.Items, toListJSON(inc))
	}
	s.mu.RUnlock()
	if page > 1 {
		resp.PaginationInfo.Prev = page - 1
	}
	resp.Timestamp = fmtTime(s.now().Truncate(time.Millisecond))
	writeJSON(w, http.StatusOK, resp)
}

type mitreJSON struct {
	Details []mitreDetail `json:"details"`
	Matrix  string        `json:"matrix"`
	Version string        `json:"version"`
}

type mitreDetail struct {
	Tactic     string   `json:"tactic"`
	Techniques []string `json:"techniques"`
}

// contextJSON is the context of an incident (snake_case).
type contextJSON struct {
	AdversaryID       string    `json:"adversary_id"`
	CurrentlyActive   *bool     `json:"currently_active,omitempty"`
	Rank              *int      `json:"rank,omitempty"`
	DeactivatedOn     string    `json:"deactivated_on,omitempty"`
	ExternalResources []string  `json:"external_resources"`
	Mitre             mitreJSON `json:"mitre"`
	Playbooks         []string  `json:"playbooks"`
	RelatedFiles      []string  `json:"related_files,omitempty"`
	ThreatDetails     []string  `json:"threat_details"`
	ThreatTriggers    []string  `json:"threat_triggers"`
	Timestamp         string    `json:"timestamp"`
}

func mitreFor(types []string) mitreJSON {
	m := mitreJSON{Details: []mitreDetail{}, Matrix: "enterprise", Version: "8.2"}
	for _, t := range types {
		switch t {
		case "C2C", "Malware":
			m.Details = append(m.Details, mitreDetail{"command-and-control", []string{"T1071"}})
		case "DGA":
			m.Details = append(m.Details, mitreDetail{"command-and-control", []string{"T1568.002"}})
		case "Phishing":
			m.Details = append(m.Details, mitreDetail{"initial-access", []string{"T1566"}})
		case "Mining":
			m.Details = append(m.Details, mitreDetail{"impact", []string{"T1496"}})
		}
	}
	return m
}

// lookup finds an incident of company co; it writes 400/404 and returns nil
// when there is none.
func (s *Server) lookup(w http.ResponseWriter, co *company, id string) *Incident {
	if !isUUID(id) {
		badRequest(w, "incident id %q is not a UUID", id)
		return nil
	}
	inc := co.byID[strings.ToLower(id)]
	if inc == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Incident "+id+" not found")
	}
	return inc
}

func (s *Server) serveContext(w http.ResponseWriter, r *http.Request, co *company, id string) {
	ht := SHA256
	if v := r.URL.Query().Get("hash"); v != "" {
		ht = HashType(strings.ToLower(v))
		if ht.HexLen() == 0 {
			s.countKind(KindContext, "")
			badRequest(w, "hash must be one of sha256, sha1, md5, got %q", v)
			return
		}
	}
	s.countKind(KindContext, ht)
	s.mu.RLock()
	inc := s.lookup(w, co, id)
	if inc == nil {
		s.mu.RUnlock()
		return
	}
	if inc.ContextNotFound {
		s.mu.RUnlock()
		writeError(w, http.StatusNotFound, "NotFound", "Incident "+id+" not found")
		return
	}
	var active *bool
	if !inc.OmitCurrentlyActive {
		a := inc.CurrentlyActive
		active = &a
	}
	var rank *int
	if inc.Rank != nil {
		r := *inc.Rank
		rank = &r
	}
	c := contextJSON{
		AdversaryID:       inc.AdversaryID,
		CurrentlyActive:   active,
		Rank:              rank,
		DeactivatedOn:     fmtOptTime(inc.DeactivatedOn),
		ExternalResources: []string{"https://urlhaus.abuse.ch/host/" + inc.AdversaryID + "/"},
		Mitre:             mitreFor(inc.AdversaryTypes),
		Playbooks:         []string{"https://docs.lumu.io/portal/en/kb/articles/malware-incident-response-playbook"},
		RelatedFiles:      inc.Files(ht),
		ThreatDetails:     nonNil(inc.ThreatDetails),
		ThreatTriggers:    nonNil(inc.ThreatTriggers),
	}
	s.mu.RUnlock()
	c.Timestamp = fmtTime(s.now().Truncate(time.Millisecond))
	writeJSON(w, http.StatusOK, c)
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return slices.Clone(v)
}

type actionJSON struct {
	Datetime string `json:"datetime"`
	UserID   int    `json:"userId"`
	Action   string `json:"action"`
	Comment  string `json:"comment"`
}

type contactDetailsJSON struct {
	UUID         string         `json:"uuid,omitempty"`
	Datetime     string         `json:"datetime,omitempty"`
	Host         string         `json:"host,omitempty"`
	Types        []string       `json:"types,omitempty"`
	Details      []string       `json:"details,omitempty"`
	EndpointIP   string         `json:"endpointIp,omitempty"`
	EndpointName string         `json:"endpointName,omitempty"`
	Label        *int           `json:"label,omitempty"`
	SourceType   string         `json:"sourceType,omitempty"`
	SourceData   map[string]any `json:"sourceData,omitempty"`
	IsPlayback   bool           `json:"isPlayback"`
}

// detailsJSON is an incident's details: isUnread instead of unread, plus
// actions and contact details.
type detailsJSON struct {
	ID                  string             `json:"id"`
	Timestamp           string             `json:"timestamp"`
	IsUnread            bool               `json:"isUnread"`
	Contacts            int                `json:"contacts"`
	AdversaryID         string             `json:"adversaryId"`
	Adversaries         []string           `json:"adversaries"`
	AdversaryTypes      []string           `json:"adversaryTypes"`
	Description         string             `json:"description"`
	LabelDistribution   map[string]int     `json:"labelDistribution"`
	TotalEndpoints      int                `json:"totalEndpoints"`
	LastContact         string             `json:"lastContact"`
	HasPlaybackContacts bool               `json:"hasPlaybackContacts"`
	Status              string             `json:"status"`
	StatusTimestamp     string             `json:"statusTimestamp"`
	Actions             []actionJSON       `json:"actions"`
	FirstContactDetails contactDetailsJSON `json:"firstContactDetails"`
	LastContactDetails  contactDetailsJSON `json:"lastContactDetails"`
}

func (s *Server) serveDetails(w http.ResponseWriter, co *company, id string) {
	s.mu.RLock()
	inc := s.lookup(w, co, id)
	if inc == nil {
		s.mu.RUnlock()
		return
	}
	label := 0
	d := detailsJSON{
		ID:                  inc.ID,
		Timestamp:           fmtTime(inc.Timestamp),
		IsUnread:            inc.Unread,
		Contacts:            inc.Contacts,
		AdversaryID:         inc.AdversaryID,
		Adversaries:         []string{inc.AdversaryID},
		AdversaryTypes:      slices.Clone(inc.AdversaryTypes),
		Description:         inc.Description,
		LabelDistribution:   maps(inc.LabelDistribution),
		TotalEndpoints:      inc.TotalEndpoints,
		LastContact:         fmtTime(inc.LastContact),
		HasPlaybackContacts: inc.HasPlaybackContacts,
		Status:              inc.Status,
		StatusTimestamp:     fmtTime(inc.StatusTimestamp),
		Actions:             []actionJSON{},
		FirstContactDetails: contactDetailsJSON{IsPlayback: false},
		LastContactDetails: contactDetailsJSON{
			UUID: uuidV1(inc.LastContact, 0, 0x0f9b6b8d54f0), Datetime: fmtTime(inc.LastContact),
			Host: inc.AdversaryID, Types: slices.Clone(inc.AdversaryTypes), Details: []string{inc.Description},
			EndpointIP: "192.168.1.100", EndpointName: "LUMU-100", Label: &label,
			SourceType: "windows_agent", SourceData: map[string]any{},
		},
	}
	for _, a := range inc.Actions {
		d.Actions = append(d.Actions, actionJSON{Datetime: fmtTime(a.Datetime), UserID: a.UserID, Action: a.Action, Comment: a.Comment})
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, d)
}

// serveAction handles mark-as-read, comment, mute, unmute and close: 200
// with an empty body, like the real API.
func (s *Server) serveAction(w http.ResponseWriter, r *http.Request, co *company, id, action string) {
	var body struct {
		Comment *string `json:"comment"`
	}
	if err := readJSONBody(r, &body); err != nil {
		badRequest(w, "%v", err)
		return
	}
	userID := 0
	if v := r.Header.Get("Lumu-User-Id"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			badRequest(w, "Lumu-User-Id must be a non-negative integer, got %q", v)
			return
		}
		userID = n
	}
	comment := ""
	if body.Comment != nil {
		comment = *body.Comment
	}
	if action == "comment" && comment == "" {
		badRequest(w, "comment is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inc := s.lookup(w, co, id)
	if inc == nil {
		return
	}
	now := s.now()
	switch action {
	case "mark-as-read":
		inc.Unread = false
		inc.Actions = append([]Action{{Datetime: now, UserID: userID, Action: "read"}}, inc.Actions...)
	case "comment":
		inc.Actions = append([]Action{{Datetime: now, UserID: userID, Action: "comment", Comment: comment}}, inc.Actions...)
	case "mute":
		s.setStatusLocked(inc, StatusMuted, comment, userID)
	case "unmute":
		if inc.Status == StatusMuted {
			s.setStatusLocked(inc, StatusOpen, comment, userID)
		}
	case "close":
		s.setStatusLocked(inc, StatusClosed, comment, userID)
	}
	w.WriteHeader(http.StatusOK)
}

// readStrictJSON decodes an optional JSON body, rejecting unknown fields
// (control API requests are ours, so typos should fail loudly).
func readStrictJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("read body: %v", err)
	}
	if len(b) > maxBody {
		return fmt.Errorf("body larger than %d bytes", maxBody)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("invalid JSON body: trailing data")
	}
	return nil
}
