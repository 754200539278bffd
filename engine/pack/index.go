package pack

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Desired is a desired set checked once and indexed: sorted lowercase hex
// digests of one type, without repeats. The planner builds one per hash type
// of a blocklist and packs each OS group with it (PackGroupChecked).
type Desired struct {
	t      provider.HashType
	hashes []string
	idx    sortedIndex
}

// NewDesired checks hashes (sorted, distinct, lowercase hex digests of type
// t) and indexes them. hashes is kept, not copied: the caller must not
// change it afterwards.
func NewDesired(t provider.HashType, hashes []string) (*Desired, error) {
	if t.HexLen() == 0 {
		return nil, fmt.Errorf("pack: invalid hash type %q", t)
	}
	if !slices.IsSorted(hashes) {
		return nil, fmt.Errorf("pack: desired %s hashes are not sorted", t)
	}
	if err := checkDesired(t, hashes, true, nil); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	return &Desired{t: t, hashes: hashes, idx: newSortedIndex(hashes)}, nil
}

// SortDesired sorts hashes in place (Go's string order) and returns them
// checked and indexed, as NewDesired does for sorted ones, with the same
// errors. Each string is read twice (checked and counted by its leading
// hex digits, then placed in its bucket); its first eight bytes, taken as
// one ordered word, then do the sorting and become the index's side array,
// so the sort and the index touch one contiguous array, not 200,000
// scattered strings four more times. hashes is kept, not copied.
func SortDesired(t provider.HashType, hashes []string) (*Desired, error) {
	n := t.HexLen()
	if n < 8 || len(hashes) < 1024 {
		SortHashes(hashes)
		return NewDesired(t, hashes)
	}
	type keyed struct {
		w uint64
		s string
	}
	b := min(bits.Len(uint(len(hashes))), indexBits)
	shift := uint(indexBits - b)
	start := make([]int32, 1<<b+1)
	for _, h := range hashes {
		if !t.Valid(h) {
			// Any invalid hash: the plain path, which names it.
			SortHashes(hashes)
			return NewDesired(t, hashes)
		}
		start[prefixOfWord(word8(h))>>shift+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	next := slices.Clone(start[:len(start)-1])
	out := make([]keyed, len(hashes))
	for _, h := range hashes {
		w := word8(h)
		bk := prefixOfWord(w) >> shift
		out[next[bk]] = keyed{w, h}
		next[bk]++
	}
	byKey := func(a, b keyed) int {
		if a.w != b.w {
			if a.w < b.w {
				return -1
			}
			return 1
		}
		return strings.Compare(a.s, b.s)
	}
	for k := 0; k+1 < len(start); k++ {
		if bucket := out[start[k]:start[k+1]]; len(bucket) > 1 {
			slices.SortFunc(bucket, byKey)
		}
	}
	words := make([]uint64, len(out))
	for i, k := range out {
		if i > 0 && k.w == out[i-1].w && k.s == out[i-1].s {
			return nil, fmt.Errorf("pack: desired hash %s listed twice", k.s)
		}
		hashes[i], words[i] = k.s, k.w
	}
	return &Desired{t: t, hashes: hashes, idx: sortedIndex{vals: hashes, shift: shift, start: start, words: words}}, nil
}

// prefixOfWord is indexPrefix of a lowercase hex string whose first eight
// bytes are w (word8).
func prefixOfWord(w uint64) uint32 {
	var p uint32
	for i := 0; i < indexBits/4; i++ {
		d, _ := provider.HexDigit(byte(w >> (56 - 8*i)))
		p = p<<4 | uint32(d)
	}
	return p
}

// Hashes returns the checked hashes (read only).
func (d *Desired) Hashes() []string { return d.hashes }

// sameSlice reports whether a and b are the same slice (same elements in
// the same memory), not merely equal.
func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// sortedIndex finds canonical hashes in a sorted slice of them without a
// map: a table of where each leading hex prefix starts narrows a lookup to
// the few values that share the value's prefix, searched in place. Hashes
// are uniform, so with about as many prefixes as values a lookup compares
// one or two strings, where a binary search of 200,000 compares 18.
type sortedIndex struct {
	vals  []string
	shift uint    // a value's bucket is its first indexBits bits (indexBits/4 hex digits) >> shift
	start []int32 // vals[start[b]:start[b+1]] are the values of bucket b
	// words[k] is word8(vals[k]) (0 for a value shorter than 8 bytes),
	// side by side: a lookup reads its bucket's words from one cache line
	// and touches a value's string only when its first word matches.
	words []uint64
}

// newSortedIndex indexes vals, which must be sorted canonical (lowercase
// hex) hashes; the planner's desired set is.
func newSortedIndex(vals []string) sortedIndex {
	b := min(bits.Len(uint(len(vals))), indexBits) // about one value per bucket
	x := sortedIndex{vals: vals, shift: uint(indexBits - b), start: make([]int32, 1<<b+1), words: make([]uint64, len(vals))}
	next := 0 // the first bucket whose start is not yet set
	for i, v := range vals {
		if len(v) >= 8 {
			x.words[i] = word8(v)
		}
		p, _ := indexPrefix(v)
		for k := int(p >> x.shift); next <= k; next++ {
			x.start[next] = int32(i)
		}
	}
	for ; next < len(x.start); next++ {
		x.start[next] = int32(len(vals))
	}
	return x
}

// find returns the index of v in the indexed values and whether it is
// there. A value that does not start with five lowercase hex digits is not a
// canonical hash, so not there.
func (x sortedIndex) find(v string) (int, bool) {
	p, ok := indexPrefix(v)
	if !ok {
		return 0, false
	}
	b := p >> x.shift
	lo, hi := int(x.start[b]), int(x.start[b+1])
	if hi-lo <= 8 && len(v) >= 8 {
		// The usual bucket: a few values, told apart by their first eight
		// bytes as one word (inline; the bucket shares at most four), then
		// by equality, not by ordering.
		w := word8(v)
		for k := lo; k < hi; k++ {
			if x.words[k] == w && x.vals[k] == v {
				return k, true
			}
		}
		return 0, false
	}
	k, found := slices.BinarySearch(x.vals[lo:hi], v)
	return lo + k, found
}

// indexBits is the most leading bits (five hex digits) the index's
// buckets use: about one value per bucket up to a million hashes. With 16
// bits, a set of 400,000 averaged six a bucket, and the one in seven
// buckets of more than eight fell back to a binary search of strings.
const indexBits = 20

// indexPrefix is the value of v's first indexBits/4 hex digits (lowercase
// only).
func indexPrefix(v string) (uint32, bool) { return hexPrefix(v, indexBits/4) }

// prefix16 is the value of v's first four hex digits (lowercase only).
func prefix16(v string) (uint32, bool) { return hexPrefix(v, 4) }

// hexPrefix is the value of v's first n hex digits (lowercase only).
func hexPrefix(v string, n int) (uint32, bool) {
	if len(v) < n {
		return 0, false
	}
	var p uint32
	for i := 0; i < n; i++ {
		d, ok := provider.HexDigit(v[i])
		if !ok {
			return 0, false
		}
		p = p<<4 | uint32(d)
	}
	return p, true
}

// SortHashes sorts s in Go's string order. Hashes as the planner holds them
// (lowercase hex) are first distributed by their leading hex digits, which
// order them, so each value is compared only with the few sharing its
// bucket; any other value makes it a plain sort.
func SortHashes(s []string) {
	if len(s) < 1024 {
		slices.Sort(s)
		return
	}
	b := min(bits.Len(uint(len(s))), 16)
	shift := uint(16 - b)
	start := make([]int32, 1<<b+1)
	for _, v := range s {
		p, ok := prefix16(v)
		if !ok {
			slices.Sort(s)
			return
		}
		start[p>>shift+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	next := slices.Clone(start[:len(start)-1])
	out := make([]string, len(s))
	for _, v := range s {
		p, _ := prefix16(v)
		k := p >> shift
		out[next[k]] = v
		next[k]++
	}
	for k := 0; k+1 < len(start); k++ {
		if bucket := out[start[k]:start[k+1]]; len(bucket) > 1 {
			slices.Sort(bucket)
		}
	}
	copy(s, out)
}
