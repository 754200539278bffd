package kibana

import (
	"encoding/json"

	"github.com/lumuctl/lumuctl/engine/jsonscan"
)

// decodePageFast decodes a _find answer in one pass over body, straight
// into wireItems, for the answers Kibana actually sends: an object whose
// data is an array of item objects with the fields of wireItem spelled
// exactly, string (or null) values and lists of strings where wireItem
// has them. An entry's value is left as a sub-slice of body (toItem
// decodes it). It checks that body is valid JSON as it goes.
//
// ok is false for anything else (invalid JSON, a field spelled in another
// case or with escapes, a value of another type, a non-object item, deep
// nesting): the caller then decodes body with encoding/json, which gives
// the same result for every body decodePageFast accepts (the differential
// test and fuzz target in fastpage_test.go check this). The gain: the
// general path scans each item four times (whole page validated, item
// skipped as json.RawMessage and copied, item validated again, entry
// values skipped) and allocates every item's JSON twice; a warm plan of
// 600,000 hash values reads some 45 MB of pages.
func decodePageFast(body []byte) (fp fastPage, ok bool) {
	p := jsonscan.New(body)
	var seen uint32
	if !p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, pageFields) {
			return false
		}
		switch string(key) {
		case "data":
			return pageData(p, &fp)
		case "total":
			if p.Null() {
				fp.total = nil
				return true
			}
			n, ok := p.SmallInt()
			if !ok {
				return false
			}
			fp.total = &n
			return true
		case "page", "per_page":
			if p.Null() {
				return true
			}
			_, ok := p.SmallInt()
			return ok
		}
		if jsonscan.Folds(key, "data", "total", "page", "per_page") {
			return false
		}
		return p.Skip()
	}) {
		return fastPage{}, false
	}
	if !p.End() {
		return fastPage{}, false
	}
	return fp, true
}

// fastPage is what decodePageFast returns: findPage with decoded items.
type fastPage struct {
	items []wireItem
	total *int
}

// pageFields, itemFields and entryFields are the JSON names of findPage,
// wireItem and wireEntry.
var (
	pageFields  = []string{"data", "page", "per_page", "total"}
	itemFields  = []string{"id", "item_id", "_version", "list_id", "namespace_type", "type", "name", "description", "os_types", "tags", "entries", "updated_at", "updated_by"}
	entryFields = []string{"field", "type", "operator", "value"}
)

func pageData(p *jsonscan.Scanner, fp *fastPage) bool {
	if p.Null() {
		fp.items = nil
		return true
	}
	items := fp.items[:0]
	if !p.Array(func() bool {
		var w wireItem
		if !decodeItemFast(p, &w) {
			return false
		}
		items = append(items, w)
		return true
	}) {
		return false
	}
	if items == nil {
		items = []wireItem{}
	}
	fp.items = items
	return true
}

func decodeItemFast(p *jsonscan.Scanner, w *wireItem) bool {
	var seen uint32
	return p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, itemFields) {
			return false
		}
		switch string(key) {
		case "id":
			return p.String(&w.ID)
		case "item_id":
			return p.String(&w.ItemID)
		case "_version":
			return p.String(&w.Version)
		case "list_id":
			return p.String(&w.ListID)
		case "namespace_type":
			return p.String(&w.NamespaceType)
		case "type":
			return p.String(&w.Type)
		case "name":
			return p.String(&w.Name)
		case "description":
			return p.String(&w.Description)
		case "updated_at":
			return p.String(&w.UpdatedAt)
		case "updated_by":
			return p.String(&w.UpdatedBy)
		case "os_types":
			return p.Strings(&w.OSTypes)
		case "tags":
			return p.Strings(&w.Tags)
		case "entries":
			if p.Null() {
				w.Entries = nil
				return true
			}
			es := w.Entries[:0]
			if !p.Array(func() bool {
				var e wireEntry
				if !decodeEntryFast(p, &e) {
					return false
				}
				es = append(es, e)
				return true
			}) {
				return false
			}
			if es == nil {
				es = []wireEntry{}
			}
			w.Entries = es
			return true
		}
		if jsonscan.Folds(key, itemFields...) {
			return false
		}
		return p.Skip()
	})
}

func decodeEntryFast(p *jsonscan.Scanner, e *wireEntry) bool {
	var seen uint32
	return p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, entryFields) {
			return false
		}
		switch string(key) {
		case "field":
			return p.String(&e.Field)
		case "type":
			return p.String(&e.Type)
		case "operator":
			return p.String(&e.Operator)
		case "value":
			if p.Null() {
				// json.RawMessage keeps a null as the literal.
				e.Value = json.RawMessage("null")
				return true
			}
			v, ok := p.Raw()
			e.Value = v
			return ok
		}
		if jsonscan.Folds(key, entryFields...) {
			return false
		}
		return p.Skip()
	})
}
