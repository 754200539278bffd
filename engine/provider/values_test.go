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
	})
}
