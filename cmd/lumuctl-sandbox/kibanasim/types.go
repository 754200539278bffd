package kibanasim

import (
	"encoding/json"
	"fmt"
)

// Item is an exception list item as Kibana returns it.
type Item struct {
	ID            string    `json:"id"`
	ItemID        string    `json:"item_id"`
	ListID        string    `json:"list_id"`
	NamespaceType string    `json:"namespace_type"`
	Type          string    `json:"type"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	OSTypes       []string  `json:"os_types"`
	Tags          []string  `json:"tags"`
	Entries       []Entry   `json:"entries"`
	Comments      []Comment `json:"comments"`
	ExpireTime    string    `json:"expire_time,omitempty"`
	Version       string    `json:"_version"`
	TieBreakerID  string    `json:"tie_breaker_id"`
	CreatedAt     string    `json:"created_at"`
	CreatedBy     string    `json:"created_by"`
	UpdatedAt     string    `json:"updated_at"`
	UpdatedBy     string    `json:"updated_by"`
}

// Entry is one item entry. Value holds the values of a match_any entry, or
// the single value of a match entry; Entries holds the entries of a nested
// entry.
type Entry struct {
	Field    string   `json:"field"`
	Type     string   `json:"type"`
	Operator string   `json:"operator,omitempty"`
	Value    []string `json:"-"`
	Entries  []Entry  `json:"entries,omitempty"`
}

type entryJSON struct {
	Field    string          `json:"field"`
	Type     string          `json:"type"`
	Operator string          `json:"operator,omitempty"`
	Value    json.RawMessage `json:"value,omitempty"`
	Entries  []Entry         `json:"entries,omitempty"`
}

// MarshalJSON writes value as a string for match entries and as an array
// for match_any entries. It writes what encoding/json writes for entryJSON
// (with the value marshalled first), byte for byte (TestEntryJSON), without
// encoding the value list twice and validating it again: a _find page holds
// up to 100 items of up to 2,000 values, and the benchmarks measure
// lumuctl's time, not the stand-in's.
func (e Entry) MarshalJSON() ([]byte, error) {
	n := 64 + len(e.Field)
	for _, v := range e.Value {
		n += len(v) + 3
	}
	return e.appendJSON(make([]byte, 0, n)), nil
}

func (e Entry) appendJSON(b []byte) []byte {
	b = append(b, `{"field":`...)
	b = appendJSONString(b, e.Field)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	if e.Operator != "" {
		b = append(b, `,"operator":`...)
		b = appendJSONString(b, e.Operator)
	}
	switch {
	case e.Type == "match" && len(e.Value) == 1:
		b = append(b, `,"value":`...)
		b = appendJSONString(b, e.Value[0])
	case e.Type == "nested" || e.Type == "exists":
	default:
		v := e.Value
		if v == nil {
			v = []string{} // a match_any entry always has a list
		}
		b = append(b, `,"value":`...)
		b = appendJSONArray(b, v, func(b []byte, s *string) []byte { return appendJSONString(b, *s) })
	}
	if len(e.Entries) > 0 {
		b = append(b, `,"entries":`...)
		b = appendJSONArray(b, e.Entries, func(b []byte, e *Entry) []byte { return e.appendJSON(b) })
	}
	return append(b, '}')
}

// appendJSONArray appends xs as encoding/json writes a slice: null when
// nil, otherwise each element by elem between brackets, comma-separated.
func appendJSONArray[T any](b []byte, xs []T, elem func([]byte, *T) []byte) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, &xs[i])
	}
	return append(b, ']')
}

// appendJSONString appends s as encoding/json writes it: printable ASCII
// other than the characters it escapes (quote, backslash, and <, > and &,
// HTML-escaped) is copied; anything else is left to encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// UnmarshalJSON accepts value as a string or an array of strings.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var j entryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Entry{Field: j.Field, Type: j.Type, Operator: j.Operator, Entries: j.Entries}
	if len(j.Value) == 0 || string(j.Value) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(j.Value, &s); err == nil {
		e.Value = []string{s}
		return nil
	}
	if err := json.Unmarshal(j.Value, &e.Value); err != nil {
		return fmt.Errorf("entry value: must be a string or an array of strings")
	}
	return nil
}

// Comment is an item comment.
type Comment struct {
	ID        string `json:"id"`
	Comment   string `json:"comment"`
	CreatedAt string `json:"created_at"`
	CreatedBy string `json:"created_by"`
	UpdatedAt string `json:"updated_at,omitempty"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// Counters holds request counts by kind, e.g. "POST items", "PUT items",
// "DELETE items", "GET items", "GET _find", "GET lists", "POST lists",
// "GET summary", "GET fleet policies".
type Counters map[string]int

// Writes is the number of item write requests (POST, PUT and DELETE of
// /api/exception_lists/items) that reached the stand-in, whatever their
// outcome. Container creation is not counted.
func (c Counters) Writes() int { return c[KindCreateItem] + c[KindUpdateItem] + c[KindDeleteItem] }

// Request kinds used by Counters, latency and faults.
const (
	KindCreateItem = "POST items"
	KindUpdateItem = "PUT items"
	KindDeleteItem = "DELETE items"
	KindReadItem   = "GET items"
	KindFind       = "GET _find"
	KindReadList   = "GET lists"
	KindCreateList = "POST lists"
	KindDeleteList = "DELETE lists"
	KindSummary    = "GET summary"
	KindFleet      = "GET fleet policies"
	KindOther      = "other"
)

func (it *Item) clone() Item {
	c := *it
	c.OSTypes = append([]string{}, it.OSTypes...)
	c.Tags = append([]string{}, it.Tags...)
	c.Entries = cloneEntries(it.Entries)
	c.Comments = append([]Comment{}, it.Comments...)
	return c
}

func cloneEntries(es []Entry) []Entry {
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = e
		out[i].Value = append([]string(nil), e.Value...)
		if e.Entries != nil {
			out[i].Entries = cloneEntries(e.Entries)
		}
	}
	return out
}
