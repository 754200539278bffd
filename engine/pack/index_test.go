package pack

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
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

// TestSortHashes compares SortHashes with slices.Sort: hashes of every
// size around the bucket threshold, clustered prefixes, repeats, and lists
// with one value that is not lowercase hex (a plain sort).
func TestSortHashes(t *testing.T) {
	for _, n := range []int{0, 1, 5, 1023, 1024, 1025, 5000, 70000} {
		for _, odd := range []string{"", "UPPER", "ab", "zz" + hashForTest(1)} {
			s := make([]string, 0, n+1)
			for i := 0; i < n; i++ {
				h := hashForTest(i)
				switch i % 7 {
				case 0:
					h = "0000" + h[4:]
				case 1:
					h = hashForTest(i - 1) // a repeat
				}
				s = append(s, h)
			}
			if odd != "" && n > 0 {
				s[n/2] = odd
			}
			want := slices.Clone(s)
			slices.Sort(want)
			SortHashes(s)
			if !slices.Equal(s, want) {
				t.Fatalf("n=%d odd=%q: SortHashes differs from slices.Sort", n, odd)
			}
		}
	}
}

// TestNewDesired: what NewDesired refuses, and that Pack refuses a checked
// set that is not its Desired.
func TestNewDesired(t *testing.T) {
	a, b := hashForTest(1), hashForTest(2)
	if a > b {
		a, b = b, a
	}
	for _, tc := range []struct {
		name   string
		t      provider.HashType
		hashes []string
		want   string
	}{
		{"unsorted", provider.SHA256, []string{b, a}, "not sorted"},
		{"repeat", provider.SHA256, []string{a, a}, "listed twice"},
		{"upper case", provider.SHA256, []string{strings.ToUpper(a)}, "not lowercase hex"},
		{"wrong type", provider.MD5, []string{a}, "characters"},
		{"bad type", "crc32", nil, "invalid hash type"},
	} {
		if _, err := NewDesired(tc.t, tc.hashes); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewDesired error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	d, err := NewDesired(provider.SHA256, []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Pack(Input{Type: provider.SHA256, Max: 10, Desired: []string{a, b}, Checked: d}); err == nil {
		t.Errorf("Pack accepted a checked set that is an equal copy, not its Desired")
	}
	if _, err := Pack(Input{Type: provider.SHA256, Max: 10, Desired: d.Hashes(), Checked: d, NewID: func(seq int) (string, error) { return fmt.Sprint("id-", seq), nil }}); err != nil {
		t.Errorf("Pack refused its checked Desired: %v", err)
	}
	if _, err := PackGroupChecked(Group{Namespace: "n", Blocklist: "b", OS: "windows", Type: provider.MD5}, 10, nil, d, nil); err == nil {
		t.Errorf("PackGroupChecked accepted a sha256 set for an md5 group")
	}
}

// TestSortDesired compares SortDesired with SortHashes then NewDesired: the
// same order, the same index, the same error, for every hash type, sizes
// around the bucket threshold, hashes sharing their first eight (and more)
// characters, repeats, and one invalid value.
func TestSortDesired(t *testing.T) {
	for _, ht := range []provider.HashType{provider.MD5, provider.SHA1, provider.SHA256} {
		for _, n := range []int{0, 1, 5, 1023, 1024, 1025, 5000, 70000} {
			for _, odd := range []string{"", "repeat", "UPPER", "short", "8same"} {
				s := make([]string, 0, n)
				for i := 0; i < n; i++ {
					h := hashForTest(i)[:ht.HexLen()]
					if i%5 == 0 {
						h = "0000" + h[4:]
					}
					if i%11 == 0 {
						h = "abcdef01" + h[8:] // same first word
					}
					s = append(s, h)
				}
				if n > 2 {
					switch odd {
					case "repeat":
						s[n/2] = s[n/3]
					case "UPPER":
						s[n/2] = strings.ToUpper(s[n/2])
					case "short":
						s[n/2] = s[n/2][:ht.HexLen()-1]
					case "8same":
						s[n/2] = s[n/3][:ht.HexLen()-1] + "x"
					}
				}
				want := slices.Clone(s)
				SortHashes(want)
				wd, werr := NewDesired(ht, want)
				got := slices.Clone(s)
				gd, gerr := SortDesired(ht, got)
				if fmt.Sprint(werr) != fmt.Sprint(gerr) {
					t.Fatalf("%s n=%d odd=%s: error %v, want %v", ht, n, odd, gerr, werr)
				}
				if werr != nil {
					continue
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s n=%d odd=%s: order differs from SortHashes", ht, n, odd)
				}
				if gd.t != wd.t || !slices.Equal(gd.hashes, wd.hashes) || gd.idx.shift != wd.idx.shift ||
					!slices.Equal(gd.idx.start, wd.idx.start) || !slices.Equal(gd.idx.words, wd.idx.words) || !sameSlice(gd.hashes, got) {
					t.Fatalf("%s n=%d odd=%s: index differs from NewDesired's", ht, n, odd)
				}
			}
		}
	}
}

func BenchmarkSortDesired(b *testing.B) {
	src := make([]string, 200000)
	for i := range src {
		h := sha256.Sum256(binary.LittleEndian.AppendUint32(nil, uint32(i)))
		src[i] = hex.EncodeToString(h[:])
	}
	s := make([]string, len(src))
	b.Run("SortDesired", func(b *testing.B) {
		for b.Loop() {
			copy(s, src)
			if _, err := SortDesired(provider.SHA256, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SortHashes+NewDesired", func(b *testing.B) {
		for b.Loop() {
			copy(s, src)
			SortHashes(s)
			if _, err := NewDesired(provider.SHA256, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
