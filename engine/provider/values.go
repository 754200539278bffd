package provider

import (
	"bytes"
	"hash/maphash"
	"strings"
)

// DecodeValues decodes raw, a JSON array of strings, the way hash lists
// arrive (Kibana entry values, cached Lumu related files): ok is false
// unless raw is such an array whose strings hold only printable ASCII
// without escapes, and then the caller decodes it with encoding/json
// instead, which gives the same result for every input DecodeValues
// accepts. The strings share one allocation: a list of n hashes costs two
// allocations instead of n+1, and one pass over raw.
func DecodeValues(raw []byte) (vals []string, ok bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '[' {
		return nil, false
	}
	// Pass 1: check the shape, count the strings and their bytes.
	n, total := 0, 0
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		if skipSpace(raw, i+1) != len(raw) {
			return nil, false
		}
		return []string{}, true
	}
	for {
		if i == len(raw) || raw[i] != '"' {
			return nil, false
		}
		j := i + 1
		for j < len(raw) && raw[j] != '"' {
			if c := raw[j]; c < 0x20 || c >= 0x7f || c == '\\' {
				return nil, false
			}
			j++
		}
		if j == len(raw) {
			return nil, false
		}
		n++
		total += j - i - 1
		i = skipSpace(raw, j+1)
		if i == len(raw) {
			return nil, false
		}
		if raw[i] == ']' {
			if skipSpace(raw, i+1) != len(raw) {
				return nil, false
			}
			break
		}
		if raw[i] != ',' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
	}
	// Pass 2: copy the contents into one string; pass 3: slice it.
	var b strings.Builder
	b.Grow(total)
	eachString(raw, func(v []byte) { b.Write(v) })
	all := b.String()
	vals = make([]string, 0, n)
	eachString(raw, func(v []byte) {
		vals = append(vals, all[:len(v)])
		all = all[len(v):]
	})
	return vals, true
}

// ValueLists decodes hash lists like DecodeValues and hands out the same
// slice for lists whose JSON is the same, byte for byte: the items of one
// blocklist on several OSes hold the same hashes in the same order, and a
// snapshot of the state then holds each list once. The slices it returns
// are shared: callers must not modify them (nothing that reads a snapshot
// does; shared values are already the rule between the state and Kibana's
// items, see plan.shareValues). A nil *ValueLists shares nothing.
type ValueLists struct {
	seed  maphash.Seed
	lists map[uint64][]string
}

// NewValueLists returns an empty ValueLists.
func NewValueLists() *ValueLists {
	return &ValueLists{seed: maphash.MakeSeed(), lists: map[uint64][]string{}}
}

// Decode is DecodeValues(raw), returning an earlier list when raw is the
// compact JSON of it.
func (l *ValueLists) Decode(raw []byte) ([]string, bool) {
	if l == nil {
		return DecodeValues(raw)
	}
	h := maphash.Bytes(l.seed, raw)
	if c, ok := l.lists[h]; ok && compactJSONOf(c, raw) {
		return c, true
	}
	vals, ok := DecodeValues(raw)
	if ok {
		l.lists[h] = vals
	}
	return vals, ok
}

// DecodeValuesLike is DecodeValues, returning known itself when raw is
// the compact JSON of that (non-empty) list: an item read again as it was
// last written costs one comparison, no allocation. raw must be valid JSON
// (a page that encoding/json or jsonscan checked).
//
// known may hold any strings (the state decodes values that DecodeValues
// refuses with encoding/json), so raw must also hold no escape and no
// quote inside a string: otherwise a value's bytes may line up with another
// list's JSON (known [`x","y`] and raw ["x","y"], or known [`a\"b`] and
// raw ["a\"b"], which is [`a"b`]).
func DecodeValuesLike(raw []byte, known []string) ([]string, bool) {
	if len(known) > 0 && compactJSONOf(known, raw) &&
		bytes.IndexByte(raw, '\\') < 0 && bytes.Count(raw, quote) == 2*len(known) {
		return known, true
	}
	return DecodeValues(raw)
}

var quote = []byte{'"'}

// compactJSONOf reports whether raw is exactly the compact JSON array of
// vals, each string copied between quotes. When vals are strings that
// DecodeValues returned (no character needs escaping), DecodeValues(raw) is
// then vals; for any other strings see DecodeValuesLike.
func compactJSONOf(vals []string, raw []byte) bool {
	if len(raw) < 2 || raw[0] != '[' {
		return false
	}
	i := 1
	for k, v := range vals {
		if k > 0 {
			if i >= len(raw) || raw[i] != ',' {
				return false
			}
			i++
		}
		if len(raw)-i < len(v)+2 || raw[i] != '"' || string(raw[i+1:i+1+len(v)]) != v || raw[i+1+len(v)] != '"' {
			return false
		}
		i += len(v) + 2
	}
	return i == len(raw)-1 && raw[i] == ']'
}

// eachString calls f with the contents of each string of raw, which
// DecodeValues checked: no escapes, so every '"' delimits a string.
func eachString(raw []byte, f func([]byte)) {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		j := i + 1
		for raw[j] != '"' {
			j++
		}
		f(raw[i+1 : j])
		i = j
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
