package jsonscan

import (
	"encoding/json"
	"testing"
)

// TestSmallIntFitsInt: SmallInt accepts only numbers that encoding/json
// decodes into an int, with the same value. An int has 32 bits on 386 and
// arm (GOARCH=386 go test ./engine/jsonscan/), where ten digits can
// overflow it.
func TestSmallIntFitsInt(t *testing.T) {
	for _, in := range []string{
		"0", "-0", "7", "-7", "999999999", "-999999999",
		"2147483647", "-2147483648", "2147483648", "-2147483649", "4294967296", "9999999999",
		"123456789012345", "-123456789012345", "999999999999999",
		"1234567890123456", "9223372036854775807", "9223372036854775808",
	} {
		got, ok := New([]byte(in)).SmallInt()
		var want int
		err := json.Unmarshal([]byte(in), &want)
		if ok && (err != nil || got != want) {
			t.Errorf("SmallInt(%s) = %d, true; encoding/json gives %d, %v", in, got, want, err)
		}
		if !ok && len(in) <= 10 && err == nil && want > -1e9 && want < 1e9 {
			t.Errorf("SmallInt(%s) refused a small integer", in)
		}
	}
}
