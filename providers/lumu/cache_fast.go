package lumu

import (
	"strconv"

	"github.com/lumuctl/lumuctl/engine/jsonscan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// decodeCachedFast decodes a cache record in one pass (package jsonscan),
// with the related files of each context through provider.DecodeValues.
// ok is false for anything it does not decode exactly as encoding/json
// would (a field in another case, a repeated field, another type, escapes
// in keys, invalid JSON): the caller then uses encoding/json, which gives
// the same record for everything decodeCachedFast accepts
// (cache_fast_test.go checks this). A warm plan reads one record per kept
// incident: 10,000 in the reference world.
func decodeCachedFast(v []byte) (rec cachedIncident, ok bool) {
	p := jsonscan.New(v)
	var seen uint32
	if !p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, cachedFields) {
			return false
		}
		switch string(key) {
		case "last_contact":
			raw, ok := p.Raw()
			return ok && rec.LastContact.UnmarshalJSON(raw) == nil
		case "contacts":
			if p.Null() {
				return true
			}
			raw, ok := p.Raw()
			if !ok || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
				return false
			}
			n, err := strconv.ParseInt(string(raw), 10, 64)
			rec.Contacts = n
			return err == nil
		case "status":
			return p.String(&rec.Status)
		case "contexts":
			if p.Null() {
				rec.Contexts = nil
				return true
			}
			if rec.Contexts == nil {
				rec.Contexts = map[provider.HashType]cachedContext{}
			}
			return p.Object(func(key []byte) bool {
				var cx cachedContext
				if !decodeContextFast(p, &cx) {
					return false
				}
				rec.Contexts[provider.HashType(key)] = cx
				return true
			})
		}
		if jsonscan.Folds(key, cachedFields...) {
			return false
		}
		return p.Skip()
	}) || !p.End() {
		return cachedIncident{}, false
	}
	return rec, true
}

var (
	cachedFields  = []string{"last_contact", "contacts", "status", "contexts"}
	contextFields = []string{"currently_active", "rank", "related_files"}
)

func decodeContextFast(p *jsonscan.Scanner, cx *cachedContext) bool {
	var seen uint32
	return p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, contextFields) {
			return false
		}
		switch string(key) {
		case "currently_active":
			if p.Null() {
				cx.Active = nil
				return true
			}
			raw, ok := p.Raw()
			if !ok {
				return false
			}
			var b bool
			switch string(raw) {
			case "true":
				b = true
			case "false":
			default:
				return false
			}
			cx.Active = &b
			return true
		case "rank":
			if p.Null() {
				cx.Rank = nil
				return true
			}
			raw, ok := p.Raw()
			if !ok || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
				return false
			}
			f, err := strconv.ParseFloat(string(raw), 64)
			cx.Rank = &f
			return err == nil
		case "related_files":
			if p.Null() {
				cx.Files = nil
				return true
			}
			raw, ok := p.Raw()
			if !ok {
				return false
			}
			cx.Files, ok = provider.DecodeValues(raw)
			return ok
		}
		if jsonscan.Folds(key, contextFields...) {
			return false
		}
		return p.Skip()
	})
}
