package kibana

import (
	"encoding/json"
	"strings"
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
	p := &scan{b: body}
	p.ws()
	var seen uint32
	if !p.objectFields(func(key []byte) bool {
		if !firstTime(&seen, key, pageFields) {
			return false
		}
		switch string(key) {
		case "data":
			return p.pageData(&fp)
		case "total":
			if p.null() {
				fp.total = nil
				return true
			}
			n, ok := p.smallInt()
			if !ok {
				return false
			}
			fp.total = &n
			return true
		case "page", "per_page":
			if p.null() {
				return true
			}
			_, ok := p.smallInt()
			return ok
		}
		if foldsTo(key, "data", "total", "page", "per_page") {
			return false
		}
		return p.skip(0)
	}) {
		return fastPage{}, false
	}
	p.ws()
	if p.i != len(p.b) {
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

// firstTime reports false when key is one of names (at most 32) and was
// seen before in this object (*seen has a bit per name): a repeated field
// is left to encoding/json, which merges it into what it decoded first.
func firstTime(seen *uint32, key []byte, names []string) bool {
	for i, n := range names {
		if string(key) == n {
			if *seen&(1<<i) != 0 {
				return false
			}
			*seen |= 1 << i
			return true
		}
	}
	return true
}

// foldsTo reports whether key matches one of names the way encoding/json
// matches object keys to field names (case-insensitively).
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}

func (p *scan) pageData(fp *fastPage) bool {
	if p.null() {
		fp.items = nil
		return true
	}
	items := fp.items[:0]
	if !p.arrayElems(func() bool {
		var w wireItem
		if !p.item(&w) {
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

func (p *scan) item(w *wireItem) bool {
	var seen uint32
	return p.objectFields(func(key []byte) bool {
		if !firstTime(&seen, key, itemFields) {
			return false
		}
		switch string(key) {
		case "id":
			return p.str(&w.ID)
		case "item_id":
			return p.str(&w.ItemID)
		case "_version":
			return p.str(&w.Version)
		case "list_id":
			return p.str(&w.ListID)
		case "namespace_type":
			return p.str(&w.NamespaceType)
		case "type":
			return p.str(&w.Type)
		case "name":
			return p.str(&w.Name)
		case "description":
			return p.str(&w.Description)
		case "updated_at":
			return p.str(&w.UpdatedAt)
		case "updated_by":
			return p.str(&w.UpdatedBy)
		case "os_types":
			return p.strs(&w.OSTypes)
		case "tags":
			return p.strs(&w.Tags)
		case "entries":
			if p.null() {
				w.Entries = nil
				return true
			}
			es := w.Entries[:0]
			if !p.arrayElems(func() bool {
				var e wireEntry
				if !p.entry(&e) {
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
		if foldsTo(key, itemFields...) {
			return false
		}
		return p.skip(0)
	})
}

func (p *scan) entry(e *wireEntry) bool {
	var seen uint32
	return p.objectFields(func(key []byte) bool {
		if !firstTime(&seen, key, entryFields) {
			return false
		}
		switch string(key) {
		case "field":
			return p.str(&e.Field)
		case "type":
			return p.str(&e.Type)
		case "operator":
			return p.str(&e.Operator)
		case "value":
			if p.null() {
				// json.RawMessage keeps a null as the literal.
				e.Value = json.RawMessage("null")
				return true
			}
			start := p.i
			if !p.skip(0) {
				return false
			}
			e.Value = p.b[start:p.i:p.i]
			return true
		}
		if foldsTo(key, entryFields...) {
			return false
		}
		return p.skip(0)
	})
}

// scan is a cursor over JSON text. Its methods report false on anything
// they do not accept; the position is then meaningless.
type scan struct {
	b []byte
	i int
}

// maxFastDepth bounds the nesting skip follows; deeper values go to
// encoding/json (which has its own, larger limit).
const maxFastDepth = 64

func (p *scan) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// null consumes a null literal (and the space after it) if one is next.
func (p *scan) null() bool {
	if len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		p.ws()
		return true
	}
	return false
}

// objectFields reads an object, calling field with each key, positioned
// at the value (which field must consume, with the space after it).
func (p *scan) objectFields(field func(key []byte) bool) bool {
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.ws()
		return true
	}
	for {
		key, ok := p.plainKey()
		if !ok {
			return false
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return false
		}
		p.i++
		p.ws()
		if !field(key) {
			return false
		}
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.ws()
		case '}':
			p.i++
			p.ws()
			return true
		default:
			return false
		}
	}
}

// arrayElems reads an array, calling elem positioned at each element
// (which elem must consume, with the space after it).
func (p *scan) arrayElems(elem func() bool) bool {
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.ws()
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.ws()
		case ']':
			p.i++
			p.ws()
			return true
		default:
			return false
		}
	}
}

// plainKey reads an object key of printable ASCII without escapes.
func (p *scan) plainKey() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	j := p.i + 1
	for j < len(p.b) && p.b[j] != '"' {
		if c := p.b[j]; c < 0x20 || c >= 0x7f || c == '\\' {
			return nil, false
		}
		j++
	}
	if j == len(p.b) {
		return nil, false
	}
	key := p.b[p.i+1 : j]
	p.i = j + 1
	return key, true
}

// str reads a string value into *s; null leaves *s as it is (as
// encoding/json does).
func (p *scan) str(s *string) bool {
	if p.null() {
		return true
	}
	v, ok := p.strValue()
	if ok {
		*s = v
	}
	return ok
}

// strs reads a list of strings into *ss; null sets it to nil.
func (p *scan) strs(ss *[]string) bool {
	if p.null() {
		*ss = nil
		return true
	}
	out := []string{}
	if !p.arrayElems(func() bool {
		v, ok := p.strValue()
		out = append(out, v)
		return ok
	}) {
		return false
	}
	*ss = out
	return true
}

// strValue reads a string token and the space after it. Strings with
// escapes or non-ASCII bytes are decoded by encoding/json (which replaces
// invalid UTF-8), the token having been checked here first.
func (p *scan) strValue() (string, bool) {
	start := p.i
	plain, ok := p.skipString()
	if !ok {
		return "", false
	}
	tok := p.b[start:p.i]
	p.ws()
	if plain {
		return string(tok[1 : len(tok)-1]), true
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return "", false
	}
	return s, true
}

// skipString moves past a valid string token; plain reports that it has
// neither escapes nor bytes outside printable ASCII.
func (p *scan) skipString() (plain, ok bool) {
	b := p.b
	if p.i >= len(b) || b[p.i] != '"' {
		return false, false
	}
	plain = true
	for j := p.i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			p.i = j + 1
			return plain, true
		case c < 0x20:
			return false, false
		case c == '\\':
			plain = false
			j++
			if j >= len(b) {
				return false, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return false, false
				}
				for _, h := range b[j+1 : j+5] {
					if unhexDigit(h) < 0 {
						return false, false
					}
				}
				j += 4
			default:
				return false, false
			}
		case c >= 0x7f:
			plain = false
		}
	}
	return false, false
}

func unhexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// smallInt reads an integer of at most 15 digits (which every Go int
// holds) and the space after it.
func (p *scan) smallInt() (int, bool) {
	j, neg := p.i, false
	if j < len(p.b) && p.b[j] == '-' {
		neg = true
		j++
	}
	n, digits := 0, 0
	for j < len(p.b) && '0' <= p.b[j] && p.b[j] <= '9' {
		n = n*10 + int(p.b[j]-'0')
		digits++
		j++
	}
	switch {
	case digits == 0 || digits > 15:
		return 0, false
	case digits > 1 && p.b[j-digits] == '0': // leading zero: invalid JSON
		return 0, false
	case j < len(p.b) && (p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E'):
		return 0, false
	}
	p.i = j
	p.ws()
	if neg {
		n = -n
	}
	return n, true
}

// skip moves past any valid JSON value and the space after it.
func (p *scan) skip(depth int) bool {
	if p.i >= len(p.b) || depth > maxFastDepth {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.objectFields(func([]byte) bool { return p.skip(depth + 1) })
	case c == '[':
		return p.arrayElems(func() bool { return p.skip(depth + 1) })
	case c == '"':
		if _, ok := p.skipString(); !ok {
			return false
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		if !p.number() {
			return false
		}
	default:
		return false
	}
	p.ws()
	return true
}

func (p *scan) literal(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	p.ws()
	return true
}

// number moves past a number token of the JSON grammar.
func (p *scan) number() bool {
	b, j := p.b, p.i
	digits := func() int {
		k := j
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		return j - k
	}
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case digits() == 0:
		return false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if digits() == 0 {
			return false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return false
		}
	}
	p.i = j
	return true
}
