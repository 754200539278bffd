package kibanasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// referenceEntry is how Entry was marshalled before it wrote its JSON by
// hand: the value marshalled on its own, then entryJSON through
// encoding/json.
func referenceEntry(t *testing.T, e Entry) []byte {
	t.Helper()
	j := entryJSON{Field: e.Field, Type: e.Type, Operator: e.Operator}
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
		t.Fatal(err)
	}
	out, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Entries) > 0 {
		// entryJSON's Entries go through Entry.MarshalJSON: splice in
		// the reference encoding of each instead.
		var subs []json.RawMessage
		for _, s := range e.Entries {
			subs = append(subs, referenceEntry(t, s))
		}
		sub, err := json.Marshal(subs)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out[:len(out)-1], `,"entries":`...)
		out = append(append(out, sub...), '}')
	}
	return out
}

// awkward are strings encoding/json escapes: quotes, backslashes, HTML
// characters, control characters, U+2028, invalid UTF-8, non-ASCII.
var awkward = []string{"", "plain", `q"uote`, `back\slash`, "<script>&amp;", "tab\there", "\x01\x1f", "line\u2028sep", "bad\xffutf8", "é café", "\x7f"}

func entriesForTest() []Entry {
	var es []Entry
	for _, s := range awkward {
		es = append(es,
			Entry{Field: s, Type: "match", Operator: "included", Value: []string{s}},
			Entry{Field: "file.hash.sha256", Type: "match_any", Operator: s, Value: []string{s, "a", s}},
		)
	}
	return append(es,
		Entry{Field: "f", Type: "match", Operator: "included", Value: []string{"a", "b"}},
		Entry{Field: "f", Type: "match_any", Operator: "included"},
		Entry{Field: "f", Type: "match_any", Operator: "included", Value: []string{}},
		Entry{Field: "f", Type: "exists", Operator: "included", Value: []string{"ignored"}},
		Entry{Field: "f", Type: "nested", Entries: []Entry{{Field: "g", Type: "match", Operator: "included", Value: []string{"<x>"}}, {Field: "h", Type: "exists"}}},
		Entry{Field: "f", Type: "nested"},
		Entry{Field: "f", Type: "wildcard", Value: []string{"C:\\*"}},
	)
}

// TestEntryJSON checks the hand-written Entry encoding against
// encoding/json's, byte for byte.
func TestEntryJSON(t *testing.T) {
	for i, e := range entriesForTest() {
		got, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceEntry(t, e); !bytes.Equal(got, want) {
			t.Errorf("entry %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestFindResultJSON checks the one-pass page encoding against
// json.Marshal of the same page, byte for byte.
func TestFindResultJSON(t *testing.T) {
	var items []Item
	for i, s := range awkward {
		it := Item{ID: s, ItemID: fmt.Sprint("item-", i), ListID: s, NamespaceType: "agnostic", Type: "simple",
			Name: s, Description: s, OSTypes: []string{"windows", s}, Tags: []string{s},
			Entries: entriesForTest()[i:], Comments: []Comment{{ID: s, Comment: s, CreatedAt: "t", CreatedBy: s, UpdatedBy: s}},
			Version: s, TieBreakerID: s, CreatedAt: s, CreatedBy: s, UpdatedAt: s, UpdatedBy: s}
		if i%2 == 0 {
			it.ExpireTime = s + "2030"
			it.OSTypes, it.Tags, it.Entries, it.Comments = nil, nil, nil, nil
		}
		if i%3 == 0 {
			it.Tags, it.Entries, it.Comments = []string{}, []Entry{}, []Comment{}
		}
		items = append(items, it)
	}
	for _, r := range []FindResult{{}, {Data: []Item{}, Page: 1, PerPage: 20}, {Data: items, Page: 3, PerPage: 100, Total: 12345}} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("page:\n got %s\nwant %s", got, want)
		}
	}
}
