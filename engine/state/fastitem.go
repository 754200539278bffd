package state

import (
	"github.com/lumuctl/lumuctl/engine/jsonscan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// DecodeItemFast decodes the JSON of an Item, as the stores keep it, in one
// pass (package jsonscan): the fields spelled exactly, strings, lists of
// plain hash strings. ok is false for anything else, and the caller then
// decodes data with encoding/json, which gives the same Item for every
// input DecodeItemFast accepts (fastitem_test.go checks this). A warm plan
// reads 600,000 hash values from the state; encoding/json spends most of
// a snapshot's time on them, one reflective string store each.
func DecodeItemFast(data []byte) (it Item, ok bool) {
	return DecodeItemShared(data, nil)
}

// DecodeItemShared is DecodeItemFast sharing value lists through lists
// (nil: none shared): the stores read a snapshot's items with one
// provider.ValueLists, so the items of one blocklist on three OSes, which
// hold the same hashes in the same order, are held once, not three times.
func DecodeItemShared(data []byte, lists *provider.ValueLists) (it Item, ok bool) {
	p := jsonscan.New(data)
	var seen uint32
	if !p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, stateItemFields) {
			return false
		}
		switch string(key) {
		case "blocklist":
			return p.String(&it.Blocklist)
		case "os":
			return p.String(&it.OS)
		case "hash_type":
			return p.String((*string)(&it.HashType))
		case "item":
			return decodeProviderItem(p, &it.Item, lists)
		}
		if jsonscan.Folds(key, stateItemFields...) {
			return false
		}
		return p.Skip()
	}) || !p.End() {
		return Item{}, false
	}
	return it, true
}

var (
	stateItemFields = []string{"blocklist", "os", "hash_type", "item"}
	itemFields      = []string{"id", "item_id", "_version", "name", "description", "os_types", "tags", "entries", "type", "updated_at", "updated_by"}
	entryFields     = []string{"field", "type", "operator", "value"}
)

func decodeProviderItem(p *jsonscan.Scanner, it *provider.Item, lists *provider.ValueLists) bool {
	if p.Null() {
		return true // encoding/json leaves a struct alone for null
	}
	var seen uint32
	return p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, itemFields) {
			return false
		}
		switch string(key) {
		case "id":
			return p.String(&it.ID)
		case "item_id":
			return p.String(&it.ItemID)
		case "_version":
			return p.String(&it.Version)
		case "name":
			return p.String(&it.Name)
		case "description":
			return p.String(&it.Description)
		case "type":
			return p.String(&it.Type)
		case "updated_by":
			return p.String(&it.UpdatedBy)
		case "os_types":
			return p.Strings(&it.OSTypes)
		case "tags":
			return p.Strings(&it.Tags)
		case "updated_at":
			raw, ok := p.Raw()
			// What encoding/json calls for a time.Time, null included.
			return ok && it.UpdatedAt.UnmarshalJSON(raw) == nil
		case "entries":
			if p.Null() {
				it.Entries = nil
				return true
			}
			es := []provider.Entry{}
			if !p.Array(func() bool {
				var e provider.Entry
				ok := decodeEntry(p, &e, lists)
				es = append(es, e)
				return ok
			}) {
				return false
			}
			it.Entries = es
			return true
		}
		if jsonscan.Folds(key, itemFields...) {
			return false
		}
		return p.Skip()
	})
}

func decodeEntry(p *jsonscan.Scanner, e *provider.Entry, lists *provider.ValueLists) bool {
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
				e.Value = nil
				return true
			}
			raw, ok := p.Raw()
			if !ok {
				return false
			}
			// One allocation for all the strings of the list, or none
			// when an earlier item's list was the same.
			e.Value, ok = lists.Decode(raw)
			return ok
		}
		if jsonscan.Folds(key, entryFields...) {
			return false
		}
		return p.Skip()
	})
}
