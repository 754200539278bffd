package provider

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestDecodeValues(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`[]`, true},
		{` [ ] `, true},
		{`["` + sha + `"]`, true},
		{"[\n \"a\" ,\t\"B c\",\r\"\"]", true},
		{`["a","a"]`, true},
		{`["a\"b"]`, false},    // escape: encoding/json decides
		{`["a\u0041"]`, false}, // escape
		{`["ä"]`, false},       // non-ASCII: encoding/json decides (invalid UTF-8 becomes U+FFFD)
		{"[\"a\tb\"]", false},  // control character: invalid JSON
		{`["a",]`, false},
		{`["a" "b"]`, false},
		{`["a"`, false},
		{`["a`, false},
		{`[1]`, false},
		{`null`, false},
		{`"a"`, false},
		{`["a"] x`, false},
		{``, false},
		{`[`, false},
	} {
		got, ok := DecodeValues([]byte(tc.in))
		if ok != tc.ok {
			t.Errorf("DecodeValues(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		var want []string
		if err := json.Unmarshal([]byte(tc.in), &want); err != nil {
			t.Fatalf("encoding/json refuses %q, which DecodeValues accepted: %v", tc.in, err)
		}
		if !slices.Equal(got, want) || got == nil {
			t.Errorf("DecodeValues(%q) = %q, encoding/json gives %q", tc.in, got, want)
		}
	}
}

// FuzzDecodeValues: whatever DecodeValues accepts, encoding/json decodes
// to the same strings.
func FuzzDecodeValues(f *testing.F) {
	f.Add(`["a","b"]`)
	f.Add(`[ "` + strings.Repeat("0", 64) + `" ]`)
	f.Add(`["\u0041"]`)
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := DecodeValues([]byte(in))
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("accepted %q, encoding/json: %v", in, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: got %q, want %q", in, got, want)
		}
		// Shared through ValueLists: the same strings, and the second
		// decode hands out the first one's list only for compact JSON.
		l := NewValueLists()
		a, _ := l.Decode([]byte(in))
		b, _ := l.Decode([]byte(in))
		if !slices.Equal(a, want) || !slices.Equal(b, want) {
			t.Fatalf("%q: ValueLists gave %q then %q, want %q", in, a, b, want)
		}
		compact := "[]"
		if len(got) > 0 {
			compact = `["` + strings.Join(got, `","`) + `"]`
		}
		if compactJSONOf(got, []byte(in)) != (in == compact) {
			t.Fatalf("%q: compactJSONOf is %v, but the compact JSON of %q is %s", in, !(in == compact), got, compact)
		}
	})
}

// TestValueLists: a list decoded again through the same ValueLists is the
// same slice when its JSON is the same bytes, and equal to DecodeValues's
// in every case.
func TestValueLists(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	l := NewValueLists()
	inputs := []string{`["a","b"]`, `["a","b"]`, `["a", "b"]`, `["a","b","c"]`, `["a"]`, `[]`, `[]`, `["` + sha + `"]`, `["a\"b"]`, `["a","b"]`}
	first := map[string][]string{}
	for _, in := range inputs {
		got, ok := l.Decode([]byte(in))
		want, wantOK := DecodeValues([]byte(in))
		if ok != wantOK || !slices.Equal(got, want) {
			t.Fatalf("Decode(%q) = %q, %v; DecodeValues gives %q, %v", in, got, ok, want, wantOK)
		}
		if prev, seen := first[in]; seen && ok && len(got) > 0 && &prev[0] != &got[0] {
			t.Errorf("Decode(%q) again: a new slice, want the first one shared", in)
		}
		if _, seen := first[in]; !seen {
			first[in] = got
		}
	}
	if a, b := first[`["a","b"]`], first[`["a", "b"]`]; &a[0] == &b[0] {
		t.Errorf("lists of different JSON share a slice")
	}
}

func TestCompactJSONOf(t *testing.T) {
	vals := []string{"ab", "c"}
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{`["ab","c"]`, true},
		{`["ab","c"] `, false},
		{`[ "ab","c"]`, false},
		{`["ab","c","d"]`, false},
		{`["ab"]`, false},
		{`["ab","d"]`, false},
		{`["abc"]`, false},
		{`["ab""c"]`, false},
		{`["ab","c"`, false},
		{`["ab","c`, false},
		{`[`, false},
		{``, false},
	} {
		if got := compactJSONOf(vals, []byte(tc.raw)); got != tc.want {
			t.Errorf("compactJSONOf(%q, %s) = %v, want %v", vals, tc.raw, got, tc.want)
		}
	}
	if !compactJSONOf(nil, []byte(`[]`)) || !compactJSONOf([]string{}, []byte(`[]`)) || compactJSONOf(nil, []byte(`[""]`)) {
		t.Errorf("compactJSONOf of the empty list")
	}
}

// TestDecodeValuesLike: known itself for its compact JSON, a decoded list
// for anything else (other values, other spacing), and DecodeValues's
// answer for an empty known.
func TestDecodeValuesLike(t *testing.T) {
	known := []string{"ab", "cd"}
	if got, ok := DecodeValuesLike([]byte(`["ab","cd"]`), known); !ok || &got[0] != &known[0] {
		t.Errorf("compact JSON of known: got %q (shared %v), want known itself", got, ok && &got[0] == &known[0])
	}
	for _, raw := range []string{`["ab", "cd"]`, `["ab","ce"]`, `["ab"]`} {
		got, ok := DecodeValuesLike([]byte(raw), known)
		want, wantOK := DecodeValues([]byte(raw))
		if ok != wantOK || !slices.Equal(got, want) || (len(got) > 0 && &got[0] == &known[0]) {
			t.Errorf("DecodeValuesLike(%s) = %q, %v; want a decoded %q", raw, got, ok, want)
		}
	}
	if got, ok := DecodeValuesLike([]byte(`[]`), nil); !ok || got == nil || len(got) != 0 {
		t.Errorf("DecodeValuesLike([], nil) = %#v, %v; want an empty non-nil list", got, ok)
	}
}

// TestDecodeValuesLikeEscapes: known comes from the state, whose values
// encoding/json may have decoded (an item recorded with foreign values), so
// they may hold a quote or a backslash. Such a value's bytes can line up
// with a different list's JSON (two values, or an escape sequence): known
// must not be handed out then. Whatever DecodeValuesLike accepts decodes
// to the same strings with encoding/json.
func TestDecodeValuesLikeEscapes(t *testing.T) {
	for _, tc := range []struct {
		known []string
		raw   string
	}{
		{[]string{`x","y`}, `["x","y"]`},                    // one value that reads as two
		{[]string{`a","b`, "c"}, `["a","b","c"]`},           // two that read as three
		{[]string{`a\"b`}, `["a\"b"]`},                      // the escape of a quote
		{[]string{`a\nb`}, `["a\nb"]`},                      // the escape of a newline
		{[]string{`a\u0041`}, `["a\u0041"]`},                // a \u escape
		{[]string{`\\`}, `["\\"]`},                          // an escaped backslash
		{[]string{"ok", `x\"`}, `["ok","x\""]`},             // the escape in a later value
		{[]string{`"`, `"`}, `["\"","\""]`},                 // quotes that do not line up
		{[]string{`a"`, `"b`}, `["a"","b"]`},                // invalid JSON is never a match either
		{[]string{"plain", "values"}, `["plain","values"]`}, // the usual list: shared
	} {
		got, ok := DecodeValuesLike([]byte(tc.raw), tc.known)
		if !ok {
			continue // the caller decodes raw with encoding/json
		}
		var want []string
		if err := json.Unmarshal([]byte(tc.raw), &want); err != nil {
			t.Errorf("DecodeValuesLike(%s, %q) accepted JSON that encoding/json refuses: %v", tc.raw, tc.known, err)
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("DecodeValuesLike(%s, %q) = %q, encoding/json gives %q", tc.raw, tc.known, got, want)
		}
	}
}

// FuzzDecodeValuesLike: whatever DecodeValuesLike accepts, with any known
// list (given as its JSON, so that it may hold any string), encoding/json
// decodes raw to the same strings.
func FuzzDecodeValuesLike(f *testing.F) {
	f.Add(`["x","y"]`, `["x\",\"y"]`)
	f.Add(`["a\"b"]`, `["a\\\"b"]`)
	f.Add(`["ab","cd"]`, `["ab","cd"]`)
	f.Fuzz(func(t *testing.T, raw, knownJSON string) {
		var known []string
		if json.Unmarshal([]byte(knownJSON), &known) != nil {
			return
		}
		got, ok := DecodeValuesLike([]byte(raw), known)
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			if !json.Valid([]byte(raw)) {
				return // raw always comes from a page encoding/json or jsonscan checked
			}
			t.Fatalf("raw %q known %q: accepted, encoding/json: %v", raw, known, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("raw %q known %q: got %q, encoding/json gives %q", raw, known, got, want)
		}
	})
}
