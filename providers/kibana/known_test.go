package kibana

import (
	"encoding/json"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// TestListKnownSharesValues: an item listed with the values Known holds for
// it gets Known's slice; one whose values differ keeps its own; the answer
// is the same as without Known.
func TestListKnownSharesValues(t *testing.T) {
	const prefix = "lumuctl-default-"
	f := newRecSim(t, kibanasim.Options{}, false)
	same, differs := prefix+"lumu-windows-md5-0001", prefix+"lumu-windows-md5-0002"
	f.add(t, same)
	f.add(t, differs)
	c := f.client(t, nil)
	plain, err := c.List(ctx, provider.ListRequest{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	knownVals := []string{strings.Repeat("a", 32)} // what add seeds
	known := map[string]provider.Item{
		same:    {ItemID: same, Entries: []provider.Entry{{Field: "file.hash.md5", Value: knownVals}}},
		differs: {ItemID: differs, Entries: []provider.Entry{{Field: "file.hash.md5", Value: []string{strings.Repeat("b", 32)}}}},
	}
	shared, err := c.List(ctx, provider.ListRequest{Prefix: prefix, Known: known})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(plain, shared); d != "" {
		t.Fatalf("Known changed the answer (-without +with):\n%s", d)
	}
	for _, it := range shared.Owned {
		v := it.Entries[0].Value
		isKnown := unsafe.SliceData(v) == unsafe.SliceData(knownVals)
		if want := it.ItemID == same; isKnown != want {
			t.Errorf("item %s: values shared with Known = %v, want %v", it.ItemID, isKnown, want)
		}
	}
}

// TestKnownWithEscapedValues: the state may record values encoding/json
// decoded (foreign values someone typed into an owned item), holding
// quotes or backslashes whose bytes line up with another list's JSON. An
// item listed with such a Known must read as it does without it.
func TestKnownWithEscapedValues(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		known []string
	}{
		{`["x","y"]`, []string{`x","y`}},
		{`["a\"b"]`, []string{`a\"b`}},
		{`["a\\b","c"]`, []string{`a\\b`, "c"}},
	} {
		w := wireItem{ID: "id", ItemID: "item", Version: "v1", Entries: []wireEntry{{
			Field: "file.hash.md5", Type: "match_any", Operator: "included", Value: json.RawMessage(tc.raw),
		}}}
		want, err := w.toItem()
		if err != nil {
			t.Fatal(err)
		}
		known := provider.Item{ItemID: "item", Entries: []provider.Entry{{Field: "file.hash.md5", Value: tc.known}}}
		got, err := w.toItemLike(&known)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s with Known %q reads differently (-without +with):\n%s", tc.raw, tc.known, d)
		}
	}
}
