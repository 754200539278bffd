package kibana

import (
	"testing"

	"github.com/lumuctl/lumuctl/engine/testkit"
)

// TestFastPageFields: decodePageFast's field lists follow the wire structs.
func TestFastPageFields(t *testing.T) {
	testkit.SameJSONNames(t, findPage{}, pageFields)
	testkit.SameJSONNames(t, wireItem{}, itemFields)
	testkit.SameJSONNames(t, wireEntry{}, entryFields)
}
