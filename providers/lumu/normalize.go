package lumu

import (
	"fmt"
	"strings"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// NeverBlock is the built-in list of hashes lumuctl never blocks, whatever
// Lumu says: blocking them would block files every system has or would
// match placeholders rather than malware. It holds, for md5, sha1 and
// sha256, the digest of the empty file and the all-zero digest.
var NeverBlock = map[string]string{
	"d41d8cd98f00b204e9800998ecf8427e":                                 "the md5 of the empty file",
	"da39a3ee5e6b4b0d3255bfef95601890afd80709":                         "the sha1 of the empty file",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": "the sha256 of the empty file",
	strings.Repeat("0", 32):                                            "an all-zero md5 (a placeholder)",
	strings.Repeat("0", 40):                                            "an all-zero sha1 (a placeholder)",
	strings.Repeat("0", 64):                                            "an all-zero sha256 (a placeholder)",
}

// Normalize trims and lowercases v and checks that it is a digest of type t
// (hex, of the right length). ok is false when it is not.
func Normalize(v string, t provider.HashType) (string, bool) {
	s := provider.NormalizeHash(v)
	return s, t.Valid(s)
}

func malformedWarning(incident string, t provider.HashType, v string) provider.Warning {
	return provider.Warning{
		Summary: "Malformed hash from Lumu ignored",
		Detail: fmt.Sprintf("Lumu incident %s lists %q as a related %s file, which is not %d hexadecimal digits; lumuctl ignored it.",
			incident, truncate(v, 100), t, t.HexLen()),
		Incident: incident,
	}
}

func neverBlockWarning(incident string, t provider.HashType, h, why string) provider.Warning {
	return provider.Warning{
		Summary: "Hash on the never-block list ignored",
		Detail: fmt.Sprintf("Lumu incident %s lists the %s %s, which is %s; lumuctl never blocks it.",
			incident, t, h, why),
		Incident: incident,
	}
}
