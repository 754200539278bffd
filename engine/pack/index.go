package pack

import (
	"math/bits"
	"slices"
)

// sortedIndex finds canonical hashes in a sorted slice of them without a
// map: a table of where each leading hex prefix starts narrows a lookup to
// the few values that share the value's prefix, searched in place. Hashes
// are uniform, so with about as many prefixes as values a lookup compares
// one or two strings, where a binary search of 200,000 compares 18.
type sortedIndex struct {
	vals  []string
	shift uint    // a value's bucket is its first 16 bits (4 hex digits) >> shift
	start []int32 // vals[start[b]:start[b+1]] are the values of bucket b
}

// newSortedIndex indexes vals, which must be sorted canonical (lowercase
// hex) hashes; the planner's desired set is.
func newSortedIndex(vals []string) sortedIndex {
	b := min(bits.Len(uint(len(vals))), 16) // about one value per bucket
	x := sortedIndex{vals: vals, shift: uint(16 - b), start: make([]int32, 1<<b+1)}
	next := 0 // the first bucket whose start is not yet set
	for i, v := range vals {
		p, _ := prefix16(v)
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
// there. A value that does not start with four lowercase hex digits is not a
// canonical hash, so not there.
func (x sortedIndex) find(v string) (int, bool) {
	p, ok := prefix16(v)
	if !ok {
		return 0, false
	}
	b := p >> x.shift
	lo, hi := int(x.start[b]), int(x.start[b+1])
	if hi-lo <= 8 {
		// The usual bucket: a few values, told apart by equality, which
		// stops at the first differing word, not by ordering.
		for k := lo; k < hi; k++ {
			if x.vals[k] == v {
				return k, true
			}
		}
		return 0, false
	}
	k, found := slices.BinarySearch(x.vals[lo:hi], v)
	return lo + k, found
}

// prefix16 is the value of v's first four hex digits (lowercase only).
func prefix16(v string) (uint32, bool) {
	if len(v) < 4 {
		return 0, false
	}
	var p uint32
	for i := 0; i < 4; i++ {
		d := lowerHex[v[i]]
		if d == 0xff {
			return 0, false
		}
		p = p<<4 | uint32(d)
	}
	return p, true
}

// lowerHex maps '0'-'9' and 'a'-'f' to their value and every other byte to
// 0xff.
var lowerHex = func() (t [256]uint8) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = uint8(c-'a') + 10
	}
	return t
}()
