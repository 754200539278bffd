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
// for match_any entries.
func (e Entry) MarshalJSON() ([]byte, error) {
	j := entryJSON{Field: e.Field, Type: e.Type, Operator: e.Operator, Entries: e.Entries}
	var err error
	switch {
	case e.Type == "match" && len(e.Value) == 1:
		j.Value, err = json.Marshal(e.Value[0])
	case e.Type == "nested" || e.Type == "exists":
	default:
		v := e.Value
		if v == nil {
			v = []string{}
		}
		j.Value, err = json.Marshal(v)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
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
