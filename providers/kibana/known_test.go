package kibana

import (
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
