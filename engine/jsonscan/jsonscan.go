// Package jsonscan reads JSON text in one pass for the few large documents
// lumuctl reads on every plan (Kibana _find pages, state items), straight
// into the caller's structs. It is strict and narrow: every method reports
// false on anything it does not handle exactly as encoding/json would, and
// the caller then decodes the document with encoding/json instead. It
// validates what it passes over, so a document it reads whole is valid
// JSON.
package jsonscan

import (
	"encoding/json"
	"math/bits"
	"strings"
)

// New returns a Scanner at the start of b, past leading space.
func New(b []byte) *Scanner {
	p := &Scanner{b: b}
	p.Space()
	return p
}

// End reports whether the whole input was read.
func (p *Scanner) End() bool { return p.i == len(p.b) }

// Skip moves past any valid JSON value and the space after it.
func (p *Scanner) Skip() bool { return p.skip(0) }

// Raw moves past any valid JSON value and returns it (without the space
// after it), sharing the input's memory.
func (p *Scanner) Raw() ([]byte, bool) {
	start := p.i
	if !p.skip(0) {
		return nil, false
	}
	end := p.i
	for end > start && isSpace(p.b[end-1]) {
		end--
	}
	return p.b[start:end:end], true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// FirstTime reports false when key is one of names (at most 32) and was
// seen before in this object (*seen has a bit per name): a repeated field
// is left to encoding/json, which merges it into what it decoded first.
func FirstTime(seen *uint32, key []byte, names []string) bool {
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

// Folds reports whether key matches one of names the way encoding/json
// matches object keys to field names (case-insensitively): a key that
// folds to a field name without being it is left to encoding/json.
func Folds(key []byte, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}

// Scanner is a cursor over JSON text. Its methods report false on anything
// they do not accept (including invalid JSON); the position is then
// meaningless.
type Scanner struct {
	b []byte
	i int
}

// maxDepth bounds the nesting skip follows; deeper values go to
// encoding/json (which has its own, larger limit).
const maxDepth = 64

// Space moves past JSON white space.
func (p *Scanner) Space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// Null consumes a null literal (and the space after it) if one is next.
func (p *Scanner) Null() bool {
	if len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		p.Space()
		return true
	}
	return false
}

// Object reads an object, calling field with each key, positioned
// at the value (which field must consume, with the space after it).
func (p *Scanner) Object(field func(key []byte) bool) bool {
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return false
	}
	p.i++
	p.Space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.Space()
		return true
	}
	for {
		key, ok := p.plainKey()
		if !ok {
			return false
		}
		p.Space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return false
		}
		p.i++
		p.Space()
		if !field(key) {
			return false
		}
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.Space()
		case '}':
			p.i++
			p.Space()
			return true
		default:
			return false
		}
	}
}

// Array reads an array, calling elem positioned at each element
// (which elem must consume, with the space after it).
func (p *Scanner) Array(elem func() bool) bool {
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return false
	}
	p.i++
	p.Space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.Space()
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
			p.Space()
		case ']':
			p.i++
			p.Space()
			return true
		default:
			return false
		}
	}
}

// plainKey reads an object key of printable ASCII without escapes.
func (p *Scanner) plainKey() ([]byte, bool) {
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

// String reads a string value into *s; null leaves *s as it is (as
// encoding/json does).
func (p *Scanner) String(s *string) bool {
	if p.Null() {
		return true
	}
	v, ok := p.StringValue()
	if ok {
		*s = v
	}
	return ok
}

// Strings reads a list of strings into *ss; null sets it to nil.
func (p *Scanner) Strings(ss *[]string) bool {
	if p.Null() {
		*ss = nil
		return true
	}
	out := []string{}
	if !p.Array(func() bool {
		v, ok := p.StringValue()
		out = append(out, v)
		return ok
	}) {
		return false
	}
	*ss = out
	return true
}

// StringValue reads a string token and the space after it. Strings with
// escapes or non-ASCII bytes are decoded by encoding/json (which replaces
// invalid UTF-8), the token having been checked here first.
func (p *Scanner) StringValue() (string, bool) {
	start := p.i
	plain, ok := p.skipString()
	if !ok {
		return "", false
	}
	tok := p.b[start:p.i]
	p.Space()
	if plain {
		return string(tok[1 : len(tok)-1]), true
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return "", false
	}
	return s, true
}

// stringSpecial marks the bytes skipString must look at inside a string:
// '"', '\\', control characters and bytes from 0x7f up.
var stringSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x7f
	}
	return t
}()

// skipString moves past a valid string token; plain reports that it has
// neither escapes nor bytes outside printable ASCII.
func (p *Scanner) skipString() (plain, ok bool) {
	b := p.b
	if p.i >= len(b) || b[p.i] != '"' {
		return false, false
	}
	plain = true
	for j := p.i + 1; j < len(b); j++ {
		for j < len(b) && !stringSpecial[b[j]] {
			j++ // the usual byte: printable ASCII other than '"' and '\\'
		}
		if j == len(b) {
			break
		}
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

// smallDigits is how many decimal digits SmallInt reads: 15 where an int
// has 64 bits, 9 where it has 32 (386, arm), so that the value always fits.
const smallDigits = 9 + 6*(bits.UintSize/64)

// SmallInt reads an integer of at most smallDigits digits (which an int
// holds) and the space after it.
func (p *Scanner) SmallInt() (int, bool) {
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
	case digits == 0 || digits > smallDigits:
		return 0, false
	case digits > 1 && p.b[j-digits] == '0': // leading zero: invalid JSON
		return 0, false
	case j < len(p.b) && (p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E'):
		return 0, false
	}
	p.i = j
	p.Space()
	if neg {
		n = -n
	}
	return n, true
}

// skip moves past any valid JSON value and the space after it.
func (p *Scanner) skip(depth int) bool {
	if p.i >= len(p.b) || depth > maxDepth {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.Object(func([]byte) bool { return p.skip(depth + 1) })
	case c == '[':
		return p.Array(func() bool { return p.skip(depth + 1) })
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
	p.Space()
	return true
}

func (p *Scanner) literal(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	p.Space()
	return true
}

// number moves past a number token of the JSON grammar.
func (p *Scanner) number() bool {
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
