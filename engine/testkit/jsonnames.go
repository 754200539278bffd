package testkit

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// SameJSONNames fails t unless names (a hand-written field list of a fast
// decoder) is exactly the set of JSON names of struct type v's fields. A
// field added to the struct but not to the decoder's list would otherwise
// make the decoder refuse (or, worse, skip) it without any test noticing.
func SameJSONNames(t testing.TB, v any, names []string) {
	t.Helper()
	typ := reflect.TypeOf(v)
	var want []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		want = append(want, name)
	}
	got := slices.Clone(names)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the fast decoder's fields of %s are %q; the struct's JSON names are %q", typ, got, want)
	}
}
