package state

import (
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// TestFastItemFields: DecodeItemFast's field lists follow the structs.
func TestFastItemFields(t *testing.T) {
	testkit.SameJSONNames(t, Item{}, stateItemFields)
	testkit.SameJSONNames(t, provider.Item{}, itemFields)
	testkit.SameJSONNames(t, provider.Entry{}, entryFields)
}
