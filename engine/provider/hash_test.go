package provider

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestParseHashRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		sum  []byte
		want HashType
	}{
		{func() []byte { s := md5.Sum([]byte("x")); return s[:] }(), MD5},
		{func() []byte { s := sha1.Sum([]byte("x")); return s[:] }(), SHA1},
		{func() []byte { s := sha256.Sum256([]byte("x")); return s[:] }(), SHA256},
	} {
		s := hex.EncodeToString(tc.sum)
		h, err := ParseHash(s)
		if err != nil {
			t.Fatalf("ParseHash(%s): %v", s, err)
		}
		if h.Type() != tc.want || h.String() != s || string(h.Bytes()) != string(tc.sum) {
			t.Errorf("ParseHash(%s) = %v %s %x", s, h.Type(), h, h.Bytes())
		}
		if h2, err := ParseHashOf(tc.want, s); err != nil || h2 != h {
			t.Errorf("ParseHashOf(%s, %s) = %v, %v", tc.want, s, h2, err)
		}
		if h3, err := HashFromBytes(tc.sum); err != nil || h3 != h {
			t.Errorf("HashFromBytes(%x) = %v, %v", tc.sum, h3, err)
		}
		if !ValidHash(s) || !tc.want.Valid(s) {
			t.Errorf("%s not valid", s)
		}
		if string(h.AppendHex([]byte("p:"))) != "p:"+s {
			t.Errorf("AppendHex")
		}
	}
}

func TestParseHashErrors(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	for _, tc := range []struct{ in, want string }{
		{"", "want 32, 40 or 64 hex digits"},
		{sha[:63], "want 32, 40 or 64 hex digits"},
		{strings.ToUpper(sha), "not lowercase"},
		{" " + sha[:63], "not hex"},
		{"g" + sha[1:], "not hex"},
		{sha[:31] + "\xff", "not hex"},
		{strings.Repeat("z", 200), "…"},
	} {
		_, err := ParseHash(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseHash(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
		if ValidHash(tc.in) {
			t.Errorf("ValidHash(%q) = true", tc.in)
		}
	}
	if _, err := ParseHashOf(MD5, sha); err == nil || !strings.Contains(err.Error(), "64 characters, want 32") {
		t.Errorf("ParseHashOf(md5, sha256) = %v", err)
	}
	if _, err := ParseHashOf("crc32", "00000000"); err == nil {
		t.Error("ParseHashOf(crc32) succeeded")
	}
	if SHA1.Valid(sha) || MD5.Valid(sha[:32]+" ") || HashType("x").Valid("") {
		t.Error("Valid accepted a wrong length or type")
	}
	if _, err := HashFromBytes(make([]byte, 17)); err == nil {
		t.Error("HashFromBytes(17 bytes) succeeded")
	}
	var h Hash
	if !h.IsZero() || h.String() != "" || h.Type() != "" {
		t.Errorf("zero Hash: %q %q", h, h.Type())
	}
	if _, err := h.MarshalText(); err == nil {
		t.Error("MarshalText of the zero Hash succeeded")
	}
}

func TestNormalizeHash(t *testing.T) {
	for in, want := range map[string]string{
		"  ABCdef\t": "abcdef",
		"abc":        "abc",
		"\nABC \n":   "abc",
		"":           "",
		"ÄB":         "äb",
	} {
		if got := NormalizeHash(in); got != want {
			t.Errorf("NormalizeHash(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHashCompareOrdersLikeHex: sorting Hashes and sorting their hex
// spellings give the same order, across types too.
func TestHashCompareOrdersLikeHex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var hs []Hash
	var ss []string
	for i := range 3000 {
		n := []int{16, 20, 32}[i%3]
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.IntN(4)) // small alphabet: many shared prefixes
		}
		h, err := HashFromBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		ss = append(ss, h.String())
	}
	slices.SortFunc(hs, Hash.Compare)
	slices.Sort(ss)
	for i := range hs {
		if hs[i].String() != ss[i] {
			t.Fatalf("position %d: %s, hex order has %s", i, hs[i], ss[i])
		}
	}
}

func TestHashJSON(t *testing.T) {
	h := MustParseHash(strings.Repeat("0f", 20))
	b, err := json.Marshal(map[Hash][]Hash{h: {h}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"` + h.String() + `":["` + h.String() + `"]}`
	if string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	var back map[Hash][]Hash
	if err := json.Unmarshal(b, &back); err != nil || back[h][0] != h {
		t.Fatalf("unmarshal: %v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`["ABCD"]`), &[]Hash{}); err == nil {
		t.Fatal("unmarshal of an invalid hash succeeded")
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add(strings.Repeat("a", 32))
	f.Add(strings.Repeat("F", 40))
	f.Add("xyz")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if (err == nil) != ValidHash(s) {
			t.Fatalf("ParseHash(%q) err=%v but ValidHash=%v", s, err, ValidHash(s))
		}
		if err == nil && h.String() != s {
			t.Fatalf("round trip %q -> %q", s, h)
		}
		if err == nil {
			if _, err := hex.DecodeString(s); err != nil {
				t.Fatalf("ParseHash accepted %q that hex rejects", s)
			}
		}
	})
}
