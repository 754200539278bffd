package kibana

import (
	"fmt"
	"strings"
	"unicode"
)

// itemIDField is the saved-object attribute _find filters on.
const itemIDField = "exception-list-agnostic.attributes.item_id"

// escapeKQL escapes s for use as an unquoted KQL value: backslash before
// each of KQL's special characters \():<>"* and before whitespace. Commas
// cannot be escaped (Kibana splits the filter parameter on them before
// parsing KQL) and control characters have no place in an item_id: both are
// errors.
func escapeKQL(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ',':
			return "", fmt.Errorf("prefix %q contains a comma, which Kibana's _find cannot filter on", s)
		case unicode.IsControl(r):
			return "", fmt.Errorf("prefix %q contains a control character", s)
		case strings.ContainsRune(`\():<>"*{}`, r), unicode.IsSpace(r):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

// prefixFilter is the KQL filter matching item_ids that start with prefix
// (an unquoted trailing * is a wildcard; a quoted one would be literal).
func prefixFilter(prefix string) (string, error) {
	esc, err := escapeKQL(prefix)
	if err != nil {
		return "", err
	}
	return itemIDField + ":" + esc + "*", nil
}

// exactFilter is the KQL filter matching item_id == id exactly.
func exactFilter(id string) (string, error) {
	esc, err := escapeKQL(id)
	if err != nil {
		return "", err
	}
	return itemIDField + ":" + esc, nil
}
