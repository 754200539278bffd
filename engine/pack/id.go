package pack

import (
	"fmt"
	"strings"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// MaxSeq is the largest item sequence number: seq is written with exactly
// four digits. (Kibana allows 10,000 items per list, so a group can never
// legitimately need more.)
const MaxSeq = 9999

// Group identifies one slot group: the items of one blocklist that hold
// hashes of one OS and one hash type.
type Group struct {
	Namespace string // [a-z0-9_]{1,32}
	Blocklist string // [a-z][a-z0-9_]{0,47}
	OS        string // one of provider.OSTypes
	Type      provider.HashType
}

// Prefix is the item_id prefix shared by every item of the group's
// blocklist: "lumuctl-<namespace>-<blocklist>-".
func (g Group) Prefix() string { return BlocklistPrefix(g.Namespace, g.Blocklist) }

// ID builds the item_id of the group's item number seq.
func (g Group) ID(seq int) (string, error) {
	return ItemID(g.Namespace, g.Blocklist, g.OS, g.Type, seq)
}

// Validate reports the first invalid field of g.
func (g Group) Validate() error {
	_, err := ItemID(g.Namespace, g.Blocklist, g.OS, g.Type, 1)
	return err
}

// String is "<blocklist>/<os>/<type>", for error messages.
func (g Group) String() string { return g.Blocklist + "/" + g.OS + "/" + string(g.Type) }

// OwnedPrefix is the ownership mark of a configuration: an item is owned by
// the configuration with namespace ns exactly when its item_id starts with
// "lumuctl-<ns>-" (SPEC section 5). It does not validate ns.
func OwnedPrefix(ns string) string { return "lumuctl-" + ns + "-" }

// BlocklistPrefix is the ownership prefix of one blocklist's items:
// "lumuctl-<namespace>-<blocklist>-". It does not validate its arguments.
func BlocklistPrefix(namespace, blocklist string) string {
	return OwnedPrefix(namespace) + blocklist + "-"
}

// ItemID returns "lumuctl-<ns>-<blocklist>-<os>-<hashType>-<seq>" with seq
// zero-padded to four digits, or an error naming the first invalid part.
func ItemID(ns, blocklist, os string, hashType provider.HashType, seq int) (string, error) {
	switch {
	case !ValidLabel(ns, 32, false):
		return "", fmt.Errorf("invalid namespace %q: want [a-z0-9_]{1,32}", ns)
	case !ValidLabel(blocklist, 48, true):
		return "", fmt.Errorf("invalid blocklist label %q: want [a-z][a-z0-9_]{0,47}", blocklist)
	case !isOS(os):
		return "", fmt.Errorf("invalid OS %q: want one of %s", os, strings.Join(provider.OSTypes, ", "))
	case hashType.HexLen() == 0:
		return "", fmt.Errorf("invalid hash type %q: want md5, sha1 or sha256", hashType)
	case seq < 1 || seq > MaxSeq:
		return "", fmt.Errorf("item sequence %d out of range 1..%d", seq, MaxSeq)
	}
	return fmt.Sprintf("%s%s-%s-%04d", BlocklistPrefix(ns, blocklist), os, hashType, seq), nil
}

// ParseItemID recognises an item_id built by ItemID under prefix (as
// returned by BlocklistPrefix, ending in "-"). It reports ok=false for
// anything else: another prefix, an unknown OS or hash type, a sequence that
// is not exactly four digits or is 0000, extra or missing parts, upper case.
// The caller must treat an id that carries the prefix but does not parse as
// an owned item outside every group.
func ParseItemID(prefix, id string) (os string, hashType provider.HashType, seq int, ok bool) {
	if prefix == "" || !strings.HasSuffix(prefix, "-") {
		return "", "", 0, false
	}
	rest, found := strings.CutPrefix(id, prefix)
	if !found {
		return "", "", 0, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 3 || !isOS(parts[0]) {
		return "", "", 0, false
	}
	ht := provider.HashType(parts[1])
	if ht.HexLen() == 0 {
		return "", "", 0, false
	}
	digits := parts[2]
	if len(digits) != 4 {
		return "", "", 0, false
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return "", "", 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 {
		return "", "", 0, false
	}
	return parts[0], ht, n, true
}

func isOS(s string) bool {
	for _, o := range provider.OSTypes {
		if s == o {
			return true
		}
	}
	return false
}

// ValidLabel checks [a-z0-9_]{1,maxLen}, with a leading letter when
// letterFirst (namespaces: 32, no letter rule; blocklist labels: 48, letter
// first).
func ValidLabel(s string, maxLen int, letterFirst bool) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
		case (c >= '0' && c <= '9') || c == '_':
			if i == 0 && letterFirst {
				return false
			}
		default:
			return false
		}
	}
	return true
}
