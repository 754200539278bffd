package lumu

import (
	"fmt"

	"github.com/lumuctl/lumuctl/engine/provider"
)

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
