package lumu

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/testkit"
)

// checkCachedFast requires decodeCachedFast, when it accepts v, to give
// what encoding/json gives (last_contact as the same instant).
func checkCachedFast(t *testing.T, v []byte) (accepted bool) {
	t.Helper()
	return testkit.SameAsJSON(t, "decodeCachedFast", v, decodeCachedFast, func(fast, slow cachedIncident) bool {
		if !fast.LastContact.Equal(slow.LastContact) {
			return false
		}
		fast.LastContact = slow.LastContact
		return reflect.DeepEqual(fast, slow)
	})
}

var cachedFastSeeds = []struct {
	name, data string
	fast       bool
}{
	{"usual", `{"last_contact":"2026-11-02T10:00:00.5Z","contacts":12,"status":"open","contexts":{"sha256":{"currently_active":true,"rank":87.5,"related_files":["` +
		strings.Repeat("ab", 32) + `","` + strings.Repeat("cd", 32) + `"]},"md5":{"currently_active":false,"related_files":[]},"sha1":{}}}`, true},
	{"nulls", `{"last_contact":null,"contacts":null,"status":null,"contexts":{"sha1":{"currently_active":null,"rank":null,"related_files":null}}}`, true},
	{"contexts_null", `{"contexts":null,"x":[{"y":1e5}]}`, true},
	{"empty", `{}`, true},
	{"negative", ` {"contacts":-3,"contexts":{"md5":{"rank":-1.5e-3}}} `, true},
	{"contacts_float", `{"contacts":1.5}`, false},
	{"contacts_string", `{"contacts":"1"}`, false},
	{"contacts_huge", `{"contacts":99999999999999999999}`, false},
	{"rank_string", `{"contexts":{"md5":{"rank":"1"}}}`, false},
	{"rank_huge", `{"contexts":{"md5":{"rank":1e400}}}`, false},
	{"active_number", `{"contexts":{"md5":{"currently_active":1}}}`, false},
	{"context_null", `{"contexts":{"md5":null}}`, false},
	{"files_escaped", `{"contexts":{"md5":{"related_files":["\u0061"]}}}`, false},
	{"bad_time", `{"last_contact":"yesterday"}`, false},
	{"key_case", `{"Status":"open"}`, false},
	{"repeated", `{"status":"a","status":"b"}`, false},
	{"trailing", `{} x`, false},
	{"not_object", `[]`, false},
}

func TestDecodeCachedFast(t *testing.T) {
	for _, tc := range cachedFastSeeds {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkCachedFast(t, []byte(tc.data)); got != tc.fast {
				t.Fatalf("decodeCachedFast accepted = %v, want %v", got, tc.fast)
			}
		})
	}
}

// FuzzDecodeCachedFast: whatever decodeCachedFast accepts, encoding/json
// decodes to the same record.
func FuzzDecodeCachedFast(f *testing.F) {
	for _, s := range cachedFastSeeds {
		f.Add([]byte(s.data))
	}
	f.Fuzz(func(t *testing.T, v []byte) { checkCachedFast(t, v) })
}
