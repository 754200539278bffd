package pack

import (
	"math/rand/v2"
	"testing"
)

// plainLowerBytewise is plainLower's definition, one byte at a time.
func plainLowerBytewise(v string) bool {
	if v == "" || asciiSpace(v[0]) || asciiSpace(v[len(v)-1]) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return false
		}
	}
	return true
}

// TestPlainLowerWordwise checks the eight-bytes-at-a-time plainLower against
// the bytewise definition: every byte value at every position of values of
// 1 to 70 bytes, and random values.
func TestPlainLowerWordwise(t *testing.T) {
	base := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345")
	for n := 1; n <= len(base); n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := append([]byte(nil), base[:n]...)
				b[pos] = byte(c)
				if got, want := plainLower(string(b)), plainLowerBytewise(string(b)); got != want {
					t.Fatalf("plainLower(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, r.IntN(80))
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(4) > 0 { // mostly ASCII, so both answers occur
				b[i] &= 0x7f
			}
		}
		if got, want := plainLower(string(b)), plainLowerBytewise(string(b)); got != want {
			t.Fatalf("plainLower(%q) = %v, want %v", b, got, want)
		}
	}
}

func BenchmarkPlainLower(b *testing.B) {
	v := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	b.Run("wordwise", func(b *testing.B) {
		for b.Loop() {
			if !plainLower(v) {
				b.Fatal()
			}
		}
	})
	b.Run("bytewise", func(b *testing.B) {
		for b.Loop() {
			if !plainLowerBytewise(v) {
				b.Fatal()
			}
		}
	})
}
