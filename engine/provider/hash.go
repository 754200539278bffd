package provider

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
)

// Hash is one md5, sha1 or sha256 digest in binary form: 33 bytes,
// comparable (a map key without a string header or a heap allocation) and
// ordered like its hex form. Its text form (String, MarshalText) is the
// canonical spelling: lowercase hex. The zero Hash is invalid.
//
// Every place that checks or normalises a hash value uses this file:
// ParseHash / ParseHashOf (canonical hex to Hash), HashType.Valid and
// ValidHash (is it canonical hex), NormalizeHash (trim and lowercase a value
// as read).
type Hash struct {
	n uint8 // digest length in bytes: 16, 20 or 32; 0 for the zero Hash
	b [32]byte
}

// Len is the digest length in bytes of a hash of this type (0 if unknown).
func (t HashType) Len() int { return t.HexLen() / 2 }

// Valid reports whether s is a canonical digest of type t: exactly HexLen
// lowercase hex digits.
func (t HashType) Valid(s string) bool {
	n := t.HexLen()
	return n != 0 && len(s) == n && isLowerHex(s)
}

// ValidHash reports whether s is a canonical md5, sha1 or sha256 digest:
// 32, 40 or 64 lowercase hex digits.
func ValidHash(s string) bool {
	return hashTypeOfLen(len(s)) != "" && isLowerHex(s)
}

// NormalizeHash is the canonical spelling of a hash value as read (from
// Lumu, Kibana, a configuration file or the command line): surrounding
// white space trimmed, lowercase. It does not check the result; use
// ValidHash or HashType.Valid on it.
func NormalizeHash(s string) string {
	t := strings.TrimSpace(s)
	for i := 0; i < len(t); i++ {
		if c := t[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(t)
		}
	}
	return t // already lowercase: no copy
}

// ParseHash parses a canonical md5, sha1 or sha256 digest (32, 40 or 64
// lowercase hex digits). The type follows from the length.
func ParseHash(s string) (Hash, error) {
	t := hashTypeOfLen(len(s))
	if t == "" {
		return Hash{}, fmt.Errorf("invalid hash %q: want 32, 40 or 64 hex digits", truncHash(s))
	}
	return parseHex(t, s)
}

// ParseHashOf parses a canonical digest of type t (HexLen lowercase hex
// digits).
func ParseHashOf(t HashType, s string) (Hash, error) {
	n := t.HexLen()
	if n == 0 {
		return Hash{}, fmt.Errorf("invalid hash type %q", t)
	}
	if len(s) != n {
		return Hash{}, fmt.Errorf("invalid %s hash %q: %d characters, want %d hex digits", t, truncHash(s), len(s), n)
	}
	return parseHex(t, s)
}

// MustParseHash is ParseHash for constants and tests; it panics on an
// invalid hash.
func MustParseHash(s string) Hash {
	h, err := ParseHash(s)
	if err != nil {
		panic(err)
	}
	return h
}

// HashFromBytes returns the Hash of a raw md5, sha1 or sha256 digest (16, 20
// or 32 bytes), as the state stores keep it.
func HashFromBytes(b []byte) (Hash, error) {
	if hashTypeOfLen(2*len(b)) == "" {
		return Hash{}, fmt.Errorf("invalid hash: %d bytes, want 16, 20 or 32", len(b))
	}
	var h Hash
	h.n = uint8(len(b))
	copy(h.b[:], b)
	return h, nil
}

func parseHex(t HashType, s string) (Hash, error) {
	var h Hash
	h.n = uint8(len(s) / 2)
	for i := 0; i < len(s); i += 2 {
		hi, lo := unhex[s[i]], unhex[s[i+1]]
		if hi|lo == 0xff {
			return Hash{}, invalidHex(t, s)
		}
		h.b[i/2] = hi<<4 | lo
	}
	return h, nil
}

func invalidHex(t HashType, s string) error {
	if strings.ToLower(s) != s && isLowerHex(strings.ToLower(s)) {
		return fmt.Errorf("invalid %s hash %q: not lowercase", t, truncHash(s))
	}
	return fmt.Errorf("invalid %s hash %q: not hex", t, truncHash(s))
}

// unhex maps a lowercase hex digit to its value and anything else to 0xff.
// hi|lo == 0xff above catches every invalid digit: valid values are < 16.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
	}
	return t
}()

// HexDigit is the value of c as a lowercase hex digit; ok is false for any
// other byte.
func HexDigit(c byte) (v byte, ok bool) {
	v = unhex[c]
	return v, v != 0xff
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if unhex[s[i]] == 0xff {
			return false
		}
	}
	return true
}

func hashTypeOfLen(hexLen int) HashType {
	switch hexLen {
	case 32:
		return MD5
	case 40:
		return SHA1
	case 64:
		return SHA256
	}
	return ""
}

func truncHash(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Type is the hash's family ("" for the zero Hash).
func (h Hash) Type() HashType { return hashTypeOfLen(2 * int(h.n)) }

// IsZero reports whether h is the zero (invalid) Hash.
func (h Hash) IsZero() bool { return h.n == 0 }

// Bytes returns the raw digest (a copy).
func (h Hash) Bytes() []byte { return bytes.Clone(h.b[:h.n]) }

// String is the canonical spelling: lowercase hex ("" for the zero Hash).
func (h Hash) String() string { return hex.EncodeToString(h.b[:h.n]) }

// AppendHex appends the lowercase hex form of h to dst.
func (h Hash) AppendHex(dst []byte) []byte { return hex.AppendEncode(dst, h.b[:h.n]) }

// Compare orders hashes like their hex spellings (strings.Compare of
// String()): byte-wise, a shorter digest before a longer one it prefixes.
func (h Hash) Compare(o Hash) int { return bytes.Compare(h.b[:h.n], o.b[:o.n]) }

// MarshalText encodes h as lowercase hex, so JSON and plan files keep hex
// strings (also as map keys).
func (h Hash) MarshalText() ([]byte, error) {
	if h.n == 0 {
		return nil, fmt.Errorf("marshal of the zero Hash")
	}
	return h.AppendHex(make([]byte, 0, 2*int(h.n))), nil
}

// UnmarshalText is ParseHash.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}
