package state

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/testkit"
)

// checkDecodeItemFast requires DecodeItemFast, when it accepts data, to
// give what encoding/json gives.
func checkDecodeItemFast(t *testing.T, data []byte) (accepted bool) {
	t.Helper()
	return testkit.SameAsJSON(t, "DecodeItemFast", data, DecodeItemFast, func(fast, slow Item) bool {
		return reflect.DeepEqual(fast, slow) && fast.Item.UpdatedAt.Equal(slow.Item.UpdatedAt)
	})
}

var fastItemSeeds = []struct {
	name string
	data string
	fast bool
}{
	{"usual", `{"blocklist":"prod","os":"windows","hash_type":"sha256","item":{"id":"so-1","item_id":"lumuctl-default-prod-windows-sha256-1","_version":"WzEsMV0=",` +
		`"name":"n","description":"d","os_types":["windows"],"tags":["policy:all"],"entries":[{"field":"file.hash.sha256","type":"match_any","operator":"included",` +
		`"value":["` + strings.Repeat("ab", 32) + `","` + strings.Repeat("cd", 32) + `"]}],"type":"simple","updated_at":"2026-08-10T09:00:00.123Z","updated_by":"elastic"}}`, true},
	{"spaces_and_unknown", " { \"x\" : [1, {\"y\": null}], \"item\" : { \"item_id\" : \"a\" , \"entries\" : [ { \"value\" : [ ] } , { \"value\" : null } ] } } ", true},
	{"nulls", `{"blocklist":null,"item":{"tags":null,"os_types":[],"entries":null,"updated_at":null}}`, true},
	{"item_null", `{"item":null,"os":"linux"}`, true},
	{"escapes", `{"blocklist":"a\u00e9\"","item":{"name":"\ud800","item_id":"x"}}`, true},
	{"no_updated_at", `{"item":{"item_id":"x"}}`, true},
	{"updated_at_zone", `{"item":{"updated_at":"2026-08-10T09:00:00+02:00"}}`, true},
	{"updated_at_bad", `{"item":{"updated_at":"yesterday"}}`, false},
	{"updated_at_number", `{"item":{"updated_at":5}}`, false},
	{"value_escaped", `{"item":{"entries":[{"value":["a\u0062"]}]}}`, false},
	{"value_null_elem", `{"item":{"entries":[{"value":[null]}]}}`, false},
	{"value_string", `{"item":{"entries":[{"value":"x"}]}}`, false},
	{"entry_null", `{"item":{"entries":[null]}}`, false},
	{"key_case", `{"Item":{}}`, false},
	{"inner_key_case", `{"item":{"Item_ID":"x"}}`, false},
	{"repeated", `{"item":{"tags":["a"],"tags":["b"]}}`, false},
	{"trailing", `{"item":{}} ]`, false},
	{"truncated", `{"item":{"item_id":"x"`, false},
	{"not_object", `[1]`, false},
	{"empty", ``, false},
}

func TestDecodeItemFast(t *testing.T) {
	for _, tc := range fastItemSeeds {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkDecodeItemFast(t, []byte(tc.data)); got != tc.fast {
				t.Fatalf("DecodeItemFast accepted = %v, want %v", got, tc.fast)
			}
		})
	}
}

// FuzzDecodeItemFast: whatever DecodeItemFast accepts, encoding/json
// decodes to the same Item.
func FuzzDecodeItemFast(f *testing.F) {
	for _, s := range fastItemSeeds {
		f.Add([]byte(s.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecodeItemFast(t, data) })
}
