package kibana

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// slowPage decodes body the general way (findPage, then each item as
// take does); ok is false when that fails anywhere.
func slowPage(body []byte) (fastPage, bool) {
	var fp findPage
	if json.Unmarshal(body, &fp) != nil {
		return fastPage{}, false
	}
	out := fastPage{total: fp.Total}
	if fp.Data != nil {
		out.items = []wireItem{}
	}
	for _, raw := range fp.Data {
		var w wireItem
		if json.Unmarshal(raw, &w) != nil {
			return fastPage{}, false
		}
		out.items = append(out.items, w)
	}
	return out, true
}

// checkFastPage requires decodePageFast, when it accepts body, to give
// what encoding/json gives (entry values compared without surrounding
// space, as toItem reads them).
func checkFastPage(t *testing.T, body []byte) (accepted bool) {
	t.Helper()
	fast, ok := decodePageFast(body)
	if !ok {
		return false
	}
	slow, sok := slowPage(body)
	if !sok {
		t.Fatalf("decodePageFast accepted a body encoding/json refuses: %q", body)
	}
	trim := func(p fastPage) fastPage {
		for i := range p.items {
			for j := range p.items[i].Entries {
				e := &p.items[i].Entries[j]
				e.Value = bytes.TrimSpace(e.Value)
			}
		}
		return p
	}
	fast, slow = trim(fast), trim(slow)
	if (fast.total == nil) != (slow.total == nil) || fast.total != nil && *fast.total != *slow.total {
		t.Fatalf("total: fast %v, encoding/json %v; body %q", fast.total, slow.total, body)
	}
	if !reflect.DeepEqual(fast.items, slow.items) {
		t.Fatalf("items differ:\nfast %#v\njson %#v\nbody %q", fast.items, slow.items, body)
	}
	return true
}

func TestDecodePageFast(t *testing.T) {
	own := `{"id":"so-1","item_id":"lumuctl-default-x","_version":"WzEsMV0=","list_id":"endpoint_blocklists",` +
		`"namespace_type":"agnostic","type":"simple","name":"n","description":"d","os_types":["windows"],"tags":["policy:all"],` +
		`"entries":[{"field":"file.hash.sha256","type":"match_any","operator":"included","value":["` + strings.Repeat("ab", 32) + `"]}],` +
		`"meta":{"managed_by":"lumuctl","n":[1.5e3,-0,true,false,null,{}]},"updated_at":"2026-08-10T09:00:00.000Z","updated_by":"elastic"}`
	for _, tc := range []struct {
		name string
		body string
		fast bool // decodePageFast must accept it
	}{
		{"usual", `{"data":[` + own + `,` + own + `],"page":1,"per_page":2,"total":2}`, true},
		{"spaces", " {\n\"data\" : [ " + strings.ReplaceAll(own, ",", " ,\t") + " ] , \"total\" : 1 }\r\n", true},
		{"empty", `{"data":[],"total":0}`, true},
		{"data_null", `{"data":null,"total":0}`, true},
		{"no_data", `{"total":0}`, true},
		{"total_null", `{"data":[],"total":null}`, true},
		{"escaped_string_values", `{"data":[{"id":"a\"b\u00e9","name":"\ud800x","description":"é"}],"total":1}`, true},
		{"null_fields", `{"data":[{"id":null,"tags":null,"entries":null,"os_types":[]}],"total":1}`, true},
		{"value_forms", `{"data":[{"entries":[{"value":null},{"value":"x"},{"value":{"a":[1]}},{}]}],"total":1}`, true},
		{"unknown_fields", `{"x":{"y":[1,2,{"z":"w"}]},"data":[{"q":[[]],"id":"i"}],"total":1,"extra":-1.5E+2}`, true},
		{"key_other_case", `{"data":[{"ID":"i"}],"total":1}`, false},
		{"key_escaped", `{"data":[{"i\u0064":"i"}],"total":1}`, false},
		{"page_key_other_case", `{"Data":[],"total":1}`, false},
		{"repeated_field", `{"data":[{"tags":["a","b"],"tags":["c"]}],"total":1}`, false},
		{"repeated_data", `{"data":[],"data":[],"total":1}`, false},
		{"item_not_object", `{"data":[1],"total":1}`, false},
		{"item_null", `{"data":[null],"total":1}`, false},
		{"tag_null", `{"data":[{"tags":[null]}],"total":1}`, false},
		{"id_number", `{"data":[{"id":1}],"total":1}`, false},
		{"total_float", `{"data":[],"total":1.0}`, false},
		{"total_huge", `{"data":[],"total":12345678901234567890}`, false},
		{"total_leading_zero", `{"data":[],"total":01}`, false},
		{"trailing", `{"data":[],"total":1} x`, false},
		{"truncated", `{"data":[` + own[:200], false},
		{"bad_escape", `{"data":[{"id":"\x"}],"total":1}`, false},
		{"control_char", "{\"data\":[{\"id\":\"a\x01\"}],\"total\":1}", false},
		{"trailing_comma", `{"data":[{"id":"a",}],"total":1}`, false},
		{"deep", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"data":[],"total":0}`, false},
		{"bad_number", `{"x":-,"data":[],"total":0}`, false},
		{"bad_literal", `{"x":nul,"data":[],"total":0}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkFastPage(t, []byte(tc.body)); got != tc.fast {
				t.Fatalf("decodePageFast accepted = %v, want %v", got, tc.fast)
			}
		})
	}
}
