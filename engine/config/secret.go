package config

import (
	"encoding/json"
	"fmt"
)

// redacted is what a Secret (or a sensitive Text) prints as.
const redacted = "(sensitive value)"

// Secret is a credential or a value that came from a variable marked
// sensitive = true. Every way of printing or encoding it (String, GoString,
// fmt verbs, JSON, text) yields "(sensitive value)"; only Reveal returns the
// value, and it must only be called to hand the credential to a client.
//
// The zero value is an empty, known secret.
type Secret struct {
	value   string
	unknown bool
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{value: s} }

// unknownSecret is a secret whose value is not known (validate mode).
func unknownSecret() Secret { return Secret{unknown: true} }

// Reveal returns the secret value. Never print, log or store its result.
func (s Secret) Reveal() string { return s.value }

// Known reports whether the value is known. In offline (validate) mode a
// credential taken from an unset variable is unknown.
func (s Secret) Known() bool { return !s.unknown }

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the value.
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so every verb (%v, %+v, %#v, %s, %q, %x)
// prints the redaction marker.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", redacted)
	default:
		fmt.Fprint(f, redacted)
	}
}

// MarshalJSON implements json.Marshaler without revealing the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler without revealing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Text is an informational string (a company's name or contact) that is
// printable unless it came from a sensitive variable, in which case it
// behaves like a Secret.
type Text struct {
	value     string
	sensitive bool
}

// NewText returns a printable Text.
func NewText(s string) Text { return Text{value: s} }

// Sensitive reports whether the text came from a sensitive variable.
func (t Text) Sensitive() bool { return t.sensitive }

// Reveal returns the raw value, sensitive or not.
func (t Text) Reveal() string { return t.value }

// String returns the value, or "(sensitive value)" when it is sensitive.
func (t Text) String() string {
	if t.sensitive {
		return redacted
	}
	return t.value
}

// GoString implements fmt.GoStringer.
func (t Text) GoString() string { return fmt.Sprintf("%q", t.String()) }

// Format implements fmt.Formatter: every verb sees String().
func (t Text) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", t.String())
	default:
		fmt.Fprint(f, t.String())
	}
}

// MarshalJSON encodes String() as a JSON string.
func (t Text) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// MarshalText implements encoding.TextMarshaler with String().
func (t Text) MarshalText() ([]byte, error) { return []byte(t.String()), nil }
