package testkit

import (
	"encoding/json"
	"reflect"
	"testing"
)

// SameAsJSON requires a one-pass decoder, when it accepts data (ok), to
// give what encoding/json gives for it into a T, and fails t otherwise. It
// returns ok. same, when not nil, compares the two results instead of
// reflect.DeepEqual (for a time.Time, whose location may differ while the
// instant is equal).
func SameAsJSON[T any](t testing.TB, name string, data []byte, fast func([]byte) (T, bool), same func(fast, slow T) bool) (ok bool) {
	t.Helper()
	got, ok := fast(data)
	if !ok {
		return false
	}
	var slow T
	if err := json.Unmarshal(data, &slow); err != nil {
		t.Fatalf("%s accepted what encoding/json refuses (%v): %q", name, err, data)
	}
	if same == nil {
		same = func(a, b T) bool { return reflect.DeepEqual(a, b) }
	}
	if !same(got, slow) {
		t.Fatalf("%s differs from encoding/json:\nfast %#v\njson %#v\ndata %q", name, got, slow, data)
	}
	return true
}
