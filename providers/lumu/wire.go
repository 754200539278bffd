package lumu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Time is a Lumu timestamp. It accepts RFC 3339 with or without a fraction
// of a second, null and the empty string (the zero Time).
type Time struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" || string(b) == `""` {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp %s is not a string", truncate(string(b), 64))
	}
	v, ok := parseTimestamp(s)
	if !ok {
		return fmt.Errorf("timestamp %q is not RFC 3339", truncate(s, 64))
	}
	t.Time = v
	return nil
}

// parseTimestamp parses the (unquoted) text of a timestamp other than "".
func parseTimestamp(s string) (time.Time, bool) {
	v, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	return v.UTC(), err == nil
}

// MarshalJSON implements json.Marshaler (RFC 3339 with nanoseconds, or
// null for the zero Time).
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// Incident is one Lumu incident as the list and details endpoints return
// it. Every field is optional on the wire; unknown fields are ignored.
type Incident struct {
	ID                string         `json:"id"`
	Timestamp         Time           `json:"timestamp"`
	StatusTimestamp   Time           `json:"statusTimestamp"`
	Status            string         `json:"status"`
	Contacts          int64          `json:"contacts"`
	Adversaries       []string       `json:"adversaries"`
	AdversaryID       string         `json:"adversaryId"`
	AdversaryTypes    []string       `json:"adversaryTypes"`
	Description       string         `json:"description"`
	LabelDistribution map[string]int `json:"labelDistribution"`
	TotalEndpoints    int            `json:"totalEndpoints"`
	FirstContact      Time           `json:"firstContact"`
	LastContact       Time           `json:"lastContact"`
	Unread            bool           `json:"unread"`
}

// PaginationInfo is the paging envelope of list responses. Next is 0 when
// there is no further page.
type PaginationInfo struct {
	Page  int `json:"page"`
	Items int `json:"items"`
	Next  int `json:"next"`
	Prev  int `json:"prev"`
}

// incidentPage is the body of POST /api/incidents/all.
type incidentPage struct {
	Items          []Incident     `json:"items"`
	PaginationInfo PaginationInfo `json:"paginationInfo"`
	// Pagination is an alternative spelling seen on some list endpoints.
	Pagination *PaginationInfo `json:"pagination"`
}

// Context is the part of GET /api/incidents/{id}/context that lumuctl uses
// (the endpoint is snake_case, unlike the others).
type Context struct {
	AdversaryID string `json:"adversary_id"`
	// CurrentlyActive is nil when the context has no currently_active or
	// has it null; HasCurrentlyActive tells the two apart.
	CurrentlyActive    *bool `json:"currently_active"`
	HasCurrentlyActive bool  `json:"-"`
	// Rank is nil when absent (Lumu's integrations then use 900000).
	Rank *float64 `json:"rank"`
	// RelatedFiles holds the raw entries of related_files (absent = none).
	// Entries that are not JSON strings are kept raw so that they can be
	// reported, not silently lost.
	RelatedFiles   []json.RawMessage `json:"related_files"`
	ThreatTriggers []string          `json:"threat_triggers"`
	Timestamp      Time              `json:"timestamp"`
}

// UnmarshalJSON records whether currently_active is present at all: Lumu's
// integrations read a missing one as inactive.
func (c *Context) UnmarshalJSON(b []byte) error {
	type plain Context
	var w struct {
		plain
		CurrentlyActive json.RawMessage `json:"currently_active"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Context(w.plain)
	c.CurrentlyActive, c.HasCurrentlyActive = nil, w.CurrentlyActive != nil
	if raw := bytes.TrimSpace(w.CurrentlyActive); len(raw) > 0 && string(raw) != "null" {
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("currently_active: %w", err)
		}
		c.CurrentlyActive = &v
	}
	return nil
}

// MinRank is the rank below which Lumu's integrations skip an incident;
// a context without rank counts as MinRank.
const MinRank = 900000

// Active reports whether Lumu's own integrations treat the context as
// active (SPEC 3): currently_active present and not false. Their code is
// `context.get("currently_active", False)` followed by `is False`, so a
// missing value is inactive and a JSON null is not
// (VictorGomesSec/guardicore-response-v2 lumulib/integration.py @ c0671597,
// a public copy of Lumu's integration library).
func (c *Context) Active() bool {
	return c.HasCurrentlyActive && (c.CurrentlyActive == nil || *c.CurrentlyActive)
}

// Files returns related_files as strings: JSON strings are unquoted, any
// other JSON value is returned as its raw text (and fails validation later).
func (c *Context) Files() []string {
	out := make([]string, 0, len(c.RelatedFiles))
	for _, raw := range c.RelatedFiles {
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
			continue
		}
		out = append(out, string(raw))
	}
	return out
}

// Details is GET /api/incidents/{id}/details: the incident plus its actions.
type Details struct {
	Incident
	IsUnread bool     `json:"isUnread"`
	Actions  []Action `json:"actions"`
}

// Action is one entry of an incident's action log (newest first).
type Action struct {
	Datetime Time   `json:"datetime"`
	UserID   int64  `json:"userId"`
	Action   string `json:"action"`
	Comment  string `json:"comment"`
}

// apiProblem is the body Lumu is understood to send with a 400.
type apiProblem struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidUUID reports whether s is a UUID in canonical (8-4-4-4-12 hex) form,
// in either case.
func ValidUUID(s string) bool { return uuidRE.MatchString(strings.ToLower(s)) }

// truncate shortens s to at most n bytes (on a rune boundary), noting how
// long it was.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:cut], len(s))
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
