package provider

import "strings"

// DecodeValues decodes raw, a JSON array of strings, the way hash lists
// arrive (Kibana entry values, cached Lumu related files): ok is false
// unless raw is such an array whose strings hold only printable ASCII
// without escapes, and then the caller decodes it with encoding/json
// instead, which gives the same result for every input DecodeValues
// accepts. The strings share one allocation: a list of n hashes costs two
// allocations instead of n+1, and one pass over raw.
func DecodeValues(raw []byte) (vals []string, ok bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '[' {
		return nil, false
	}
	// Pass 1: check the shape, count the strings and their bytes.
	n, total := 0, 0
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		if skipSpace(raw, i+1) != len(raw) {
			return nil, false
		}
		return []string{}, true
	}
	for {
		if i == len(raw) || raw[i] != '"' {
			return nil, false
		}
		j := i + 1
		for j < len(raw) && raw[j] != '"' {
			if c := raw[j]; c < 0x20 || c >= 0x7f || c == '\\' {
				return nil, false
			}
			j++
		}
		if j == len(raw) {
			return nil, false
		}
		n++
		total += j - i - 1
		i = skipSpace(raw, j+1)
		if i == len(raw) {
			return nil, false
		}
		if raw[i] == ']' {
			if skipSpace(raw, i+1) != len(raw) {
				return nil, false
			}
			break
		}
		if raw[i] != ',' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
	}
	// Pass 2: copy the contents into one string; pass 3: slice it.
	var b strings.Builder
	b.Grow(total)
	eachString(raw, func(v []byte) { b.Write(v) })
	all := b.String()
	vals = make([]string, 0, n)
	eachString(raw, func(v []byte) {
		vals = append(vals, all[:len(v)])
		all = all[len(v):]
	})
	return vals, true
}

// eachString calls f with the contents of each string of raw, which
// DecodeValues checked: no escapes, so every '"' delimits a string.
func eachString(raw []byte, f func([]byte)) {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		j := i + 1
		for raw[j] != '"' {
			j++
		}
		f(raw[i+1 : j])
		i = j
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
