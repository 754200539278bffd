package lumu

import (
	"testing"

	"github.com/lumuctl/lumuctl/engine/testkit"
)

// TestCacheFastFields: decodeCachedFast's field lists follow the structs.
func TestCacheFastFields(t *testing.T) {
	testkit.SameJSONNames(t, cachedIncident{}, cachedFields)
	testkit.SameJSONNames(t, cachedContext{}, contextFields)
}
