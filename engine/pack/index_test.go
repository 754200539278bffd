package pack

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// TestSortedIndex checks find against a binary search of the whole slice,
// for sets from empty to larger than the table (more than 1<<16 values), on
// every member and on values that are not members: other hashes, the
// members' neighbours, prefixes, upper case and non-hex.
func TestSortedIndex(t *testing.T) {
	hash := func(seed, i int) string {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], uint64(seed))
		binary.LittleEndian.PutUint64(b[8:], uint64(i))
		s := sha256.Sum256(b[:])
		return hex.EncodeToString(s[:])
	}
	for _, n := range []int{0, 1, 2, 3, 17, 1000, 70000} {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = hash(n, i)
		}
		// Clustered values: many sharing one bucket.
		for i := 0; i < n/4; i++ {
			vals[i] = "0000" + vals[i][4:]
		}
		slices.Sort(vals)
		vals = slices.Compact(vals)
		x := newSortedIndex(vals)
		for i, v := range vals {
			if k, ok := x.find(v); !ok || k != i {
				t.Fatalf("n=%d: find(%s) = %d, %v; want %d, true", n, v, k, ok, i)
			}
		}
		probes := []string{"", "0", "000", "0000", "ffff", "fffff", "gggg", "ABCD", strings.Repeat("f", 64), strings.Repeat("0", 64)}
		for i := 0; i < 2000; i++ {
			probes = append(probes, hash(-n-1, i))
		}
		for _, v := range vals[:min(len(vals), 500)] {
			probes = append(probes, v[:63], v+"0", strings.ToUpper(v), v[:63]+"g")
		}
		for _, p := range probes {
			wantK, want := slices.BinarySearch(vals, p)
			k, ok := x.find(p)
			if ok != want || (ok && k != wantK) {
				t.Fatalf("n=%d: find(%q) = %d, %v; binary search says %d, %v", n, p, k, ok, wantK, want)
			}
		}
	}
}

// TestAscending checks the word-at-a-time comparison against Go's string
// order: short strings, shared prefixes of eight and more bytes, bytes
// above 0x7f.
func TestAscending(t *testing.T) {
	vals := []string{"", "a", "abcdefg", "abcdefgh", "abcdefgh0", "abcdefgi", "abcdefgg", "\xffbcdefgh", "0123456789abcdef", "0123456789abcdee", "01234567", "0123456", "ABCDEFGHIJ"}
	for i := 0; i < 50; i++ {
		vals = append(vals, hashForTest(i)[:8+i%5], "0000"+hashForTest(i)[4:])
	}
	for _, a := range vals {
		for _, b := range vals {
			if got := ascending(a, b); got != (a < b) {
				t.Errorf("ascending(%q, %q) = %v, want %v", a, b, got, a < b)
			}
		}
	}
}

func hashForTest(i int) string {
	s := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
	return hex.EncodeToString(s[:])
}
