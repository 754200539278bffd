package plan

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// TestInternValues: a prior value that a source of the item's blocklist
// yielded again ends up as the source's string (equal bytes, same memory);
// values of another blocklist's sources, and unknown values, stay.
func TestInternValues(t *testing.T) {
	h1, h2, h3 := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	fromSource := func(h string) string { return string([]byte(h)) } // an equal string elsewhere in memory
	mal := &config.IOCFilter{Name: "mal"}
	other := &config.IOCFilter{Name: "other"}
	cfg := &config.Config{
		Settings:   config.Settings{Namespace: "ns"},
		Blocklists: map[string]*config.Blocklist{"edr": {Name: "edr", Sources: []*config.IOCFilter{mal}}},
	}
	s1, s3 := fromSource(h1), fromSource(h3)
	results := map[string]*fetched{
		"mal":   {filter: mal, resp: provider.FetchResponse{Indicators: map[string]*provider.Indicator{s1: {Hash: s1, Type: provider.SHA256}}}},
		"other": {filter: other, resp: provider.FetchResponse{Indicators: map[string]*provider.Indicator{s3: {Hash: s3, Type: provider.SHA256}}}},
	}
	id, err := pack.Group{Namespace: "ns", Blocklist: "edr", OS: "windows", Type: provider.SHA256}.ID(1)
	if err != nil {
		t.Fatal(err)
	}
	vals := []string{fromSource(h1), fromSource(h2), fromSource(h3)}
	before := append([]string(nil), vals...)
	prior := map[string]provider.Item{id: {ItemID: id, Entries: []provider.Entry{{Field: "file.hash.sha256", Value: vals}}}}
	internValues(cfg, prior, results)
	for i, v := range vals {
		if v != before[i] {
			t.Fatalf("value %d changed: %q -> %q", i, before[i], v)
		}
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	if !same(vals[0], s1) {
		t.Error("a value the blocklist's source yielded is not the source's string")
	}
	if !same(vals[1], before[1]) || !same(vals[2], before[2]) {
		t.Error("a value no source of the blocklist yielded was replaced")
	}
}
