package kibana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// wireItem is an exception-list item as Kibana returns it. Entries and
// timestamps are kept raw until the item is known to be ours, so that a
// foreign item of an unexpected shape never fails a listing. meta is not
// read at all: lumuctl never sends it (Kibana's saved-object mapping
// declares it keyword, SPEC 5) and never compares it.
type wireItem struct {
	ID            string      `json:"id"`
	ItemID        string      `json:"item_id"`
	Version       string      `json:"_version"`
	ListID        string      `json:"list_id"`
	NamespaceType string      `json:"namespace_type"`
	Type          string      `json:"type"`
	Name          string      `json:"name"`
	Description   string      `json:"description"`
	OSTypes       []string    `json:"os_types"`
	Tags          []string    `json:"tags"`
	Entries       []wireEntry `json:"entries"`
	UpdatedAt     string      `json:"updated_at"`
	UpdatedBy     string      `json:"updated_by"`
}

type wireEntry struct {
	Field    string          `json:"field"`
	Type     string          `json:"type"`
	Operator string          `json:"operator"`
	Value    json.RawMessage `json:"value"`
}

// itemHead is the part of an item needed to decide ownership.
type itemHead struct {
	ID     string `json:"id"`
	ItemID string `json:"item_id"`
}

// findPage is a _find answer with items left raw.
type findPage struct {
	Data    []json.RawMessage `json:"data"`
	Page    int               `json:"page"`
	PerPage int               `json:"per_page"`
	Total   *int              `json:"total"`
}

// decodeItem decodes one item answer into a provider.Item.
func decodeItem(raw []byte) (provider.Item, error) {
	var w wireItem
	if err := json.Unmarshal(raw, &w); err != nil {
		return provider.Item{}, fmt.Errorf("decode item: %w", err)
	}
	return w.toItem()
}

// toItem converts w, refusing items that cannot be managed safely.
func (w *wireItem) toItem() (provider.Item, error) { return w.toItemLike(nil) }

// toItemLike is toItem sharing the value lists of known (the item as the
// state recorded it; may be nil) that are the same, without decoding them.
func (w *wireItem) toItemLike(known *provider.Item) (provider.Item, error) {
	switch {
	case w.ID == "":
		return provider.Item{}, fmt.Errorf("item %q has no id", w.ItemID)
	case w.ItemID == "":
		return provider.Item{}, fmt.Errorf("item %q has no item_id", w.ID)
	case w.Version == "":
		return provider.Item{}, fmt.Errorf("item %q has no _version", w.ItemID)
	}
	it := provider.Item{
		ID:          w.ID,
		ItemID:      w.ItemID,
		Version:     w.Version,
		Name:        w.Name,
		Description: w.Description,
		OSTypes:     w.OSTypes,
		Tags:        w.Tags,
		Type:        w.Type,
		UpdatedBy:   w.UpdatedBy,
	}
	for i, e := range w.Entries {
		pe := provider.Entry{Field: e.Field, Type: e.Type, Operator: e.Operator}
		v := bytes.TrimSpace(e.Value)
		switch {
		case len(v) == 0 || bytes.Equal(v, []byte("null")):
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return provider.Item{}, fmt.Errorf("item %q: entries[%d].value: %w", w.ItemID, i, err)
			}
			pe.Value = []string{s}
		default:
			var like []string
			if known != nil && i < len(known.Entries) {
				like = known.Entries[i].Value
			}
			if vals, ok := provider.DecodeValuesLike(v, like); ok {
				pe.Value = vals // the usual list of plain hashes, in one pass
				break
			}
			if err := json.Unmarshal(v, &pe.Value); err != nil {
				return provider.Item{}, fmt.Errorf("item %q: entries[%d].value is not a list of strings", w.ItemID, i)
			}
		}
		it.Entries = append(it.Entries, pe)
	}
	if w.UpdatedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, w.UpdatedAt)
		if err != nil {
			return provider.Item{}, fmt.Errorf("item %q: updated_at %q is not an RFC 3339 time", w.ItemID, w.UpdatedAt)
		}
		it.UpdatedAt = t
	}
	return it, nil
}

// entryBody is an entry as sent.
type entryBody struct {
	Field    string   `json:"field"`
	Type     string   `json:"type"`
	Operator string   `json:"operator"`
	Value    []string `json:"value"`
}

// itemBody is the body of create (POST) and update (PUT). Every field is
// sent: PUT overwrites, and omitted tags or os_types would become empty.
// There is no meta field on purpose: Kibana's API schema accepts an object
// there, but the saved-object mapping declares meta as keyword and
// Elasticsearch refuses the write with a 400 (SPEC 5).
type itemBody struct {
	ID            string      `json:"id,omitempty"`       // update only
	Version       string      `json:"_version,omitempty"` // update only
	ListID        string      `json:"list_id,omitempty"`  // create only
	ItemID        string      `json:"item_id"`
	NamespaceType string      `json:"namespace_type"`
	Type          string      `json:"type"`
	Name          string      `json:"name"`
	Description   string      `json:"description"`
	OSTypes       []string    `json:"os_types"`
	Tags          []string    `json:"tags"`
	Entries       []entryBody `json:"entries"`
	Comments      []any       `json:"comments"`
}

func newItemBody(it provider.Item) itemBody {
	b := itemBody{
		ItemID:        it.ItemID,
		NamespaceType: NamespaceType,
		Type:          "simple",
		Name:          it.Name,
		Description:   it.Description,
		OSTypes:       nonNil(it.OSTypes),
		Tags:          nonNil(it.Tags),
		Entries:       []entryBody{},
		Comments:      []any{},
	}
	for _, e := range it.Entries {
		b.Entries = append(b.Entries, entryBody{Field: e.Field, Type: e.Type, Operator: e.Operator, Value: nonNil(e.Value)})
	}
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sameContent reports whether live holds what body asked for, after
// Kibana's normalisation (duplicate values removed) and ignoring the
// ownerSpaceId tags Kibana may add.
func sameContent(body itemBody, live provider.Item) bool {
	if live.ItemID != body.ItemID || live.Name != body.Name || live.Description != body.Description {
		return false
	}
	if !slices.Equal(nonNil(live.OSTypes), body.OSTypes) {
		return false
	}
	strip := func(tags []string) []string {
		var out []string
		for _, t := range tags {
			if len(t) < len(ownerSpacePrefix) || t[:len(ownerSpacePrefix)] != ownerSpacePrefix {
				out = append(out, t)
			}
		}
		return out
	}
	if !slices.Equal(strip(live.Tags), strip(body.Tags)) {
		return false
	}
	if len(live.Entries) != len(body.Entries) {
		return false
	}
	for i, e := range body.Entries {
		l := live.Entries[i]
		if l.Field != e.Field || l.Type != e.Type || l.Operator != e.Operator || !slices.Equal(l.Value, dedupe(e.Value)) {
			return false
		}
	}
	return true
}

// dedupe removes repeated values, keeping first occurrences (Kibana's
// blocklist normalisation).
func dedupe(v []string) []string {
	seen := make(map[string]bool, len(v))
	out := make([]string, 0, len(v))
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
