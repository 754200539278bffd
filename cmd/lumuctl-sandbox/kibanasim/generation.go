package kibanasim

import (
	"fmt"
	"strconv"
	"strings"
)

// Generation is a group of Kibana releases that behave alike for what
// lumuctl sends (docs/compatibility.md lists the rules and their sources).
type Generation int

const (
	// GenPreCap is 8.x before the artifact bounds: no limit on values per
	// entry, entries per item or value length other than the payload size
	// (BlocklistValidator before elastic/kibana PRs #255987 and #274803).
	GenPreCap Generation = iota + 1
	// GenCapped has the bounds (2,000 values per entry, 250 entries, 4,096
	// characters per value) and no space awareness: late 8.x and 9.0.
	GenCapped
	// GenSpaces is 9.1+: the bounds plus Elastic Defend space awareness
	// (ownerSpaceId tags, space-scoped _find, owner-space write rules,
	// Global Artifact Management privilege).
	GenSpaces
)

// DefaultVersion is the Kibana version emulated when none is given.
const DefaultVersion = "9.0"

// Versions are the canonical --kibana-version values, one per generation,
// oldest first; the tests run the end-to-end scripts against each.
var Versions = []string{"8.17", "9.0", "9.1"}

// capFrom is the first release assumed to carry the artifact bounds. The
// bounds were merged to Kibana main in 2026 (PR #255987) with no release
// label visible in the source read; the stand-in assumes they reached the
// 8.19 maintenance line (docs/compatibility.md marks this "assumed").
var capFrom = [2]int{8, 19}

// ParseVersion maps a Kibana version ("8.17", "9.1.3", "9.2") to its
// generation. Versions before 8.2 (no Blocklist feature) are refused.
func ParseVersion(v string) (Generation, error) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("kibana version %q: want MAJOR.MINOR[.PATCH], e.g. %s", v, strings.Join(Versions, ", "))
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return 0, fmt.Errorf("kibana version %q: %q is not a number", v, p)
		}
		n[i] = x
	}
	major, minor := n[0], n[1]
	switch {
	case major < 8 || (major == 8 && minor < 2):
		return 0, fmt.Errorf("kibana version %q: Elastic Defend Blocklist exists from 8.2 on", v)
	case major > 9 || (major == 9 && minor >= 1):
		return GenSpaces, nil
	case major > capFrom[0] || (major == capFrom[0] && minor >= capFrom[1]):
		return GenCapped, nil
	}
	return GenPreCap, nil
}

func (g Generation) String() string {
	switch g {
	case GenPreCap:
		return "8.x before the artifact bounds"
	case GenCapped:
		return "8.19/9.0 (artifact bounds, no space awareness)"
	case GenSpaces:
		return "9.1+ (artifact bounds, space awareness)"
	}
	return fmt.Sprintf("Generation(%d)", int(g))
}
