package lumu

import (
	"github.com/lumuctl/lumuctl/engine/jsonscan"
)

// decodeIncidentPageFast decodes a page of POST /api/incidents/all in one
// pass (package jsonscan). ok is false for anything it does not decode
// exactly as encoding/json would (a field in another case, a repeated
// field or label, another type, a number that is not a small integer,
// escapes in keys, a null where encoding/json would keep a zero element,
// invalid JSON, trailing data): the caller then uses encoding/json, which
// gives the same page for everything decodeIncidentPageFast accepts
// (list_fast_test.go checks this). A plan reads every page of the listing:
// 100 pages of 100 incidents in the reference world.
func decodeIncidentPageFast(data []byte) (page incidentPage, ok bool) {
	p := jsonscan.New(data)
	var seen uint32
	if !p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, pageFields) {
			return false
		}
		switch string(key) {
		case "items":
			if p.Null() {
				page.Items = nil
				return true
			}
			page.Items = make([]Incident, 0, PageSize)
			return p.Array(func() bool {
				page.Items = append(page.Items, Incident{})
				return decodeIncidentFast(p, &page.Items[len(page.Items)-1])
			})
		case "paginationInfo":
			if p.Null() {
				return true
			}
			return decodePaginationFast(p, &page.PaginationInfo)
		case "pagination":
			if p.Null() {
				page.Pagination = nil
				return true
			}
			page.Pagination = new(PaginationInfo)
			return decodePaginationFast(p, page.Pagination)
		}
		if jsonscan.Folds(key, pageFields...) {
			return false
		}
		return p.Skip()
	}) || !p.End() {
		return incidentPage{}, false
	}
	return page, true
}

var (
	pageFields       = []string{"items", "paginationInfo", "pagination"}
	paginationFields = []string{"page", "items", "next", "prev"}
	incidentFields   = []string{"id", "timestamp", "statusTimestamp", "status", "contacts",
		"adversaries", "adversaryId", "adversaryTypes", "description", "labelDistribution",
		"totalEndpoints", "firstContact", "lastContact", "unread"}
)

func decodePaginationFast(p *jsonscan.Scanner, pi *PaginationInfo) bool {
	var seen uint32
	return p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, paginationFields) {
			return false
		}
		switch string(key) {
		case "page":
			return intFast(p, &pi.Page)
		case "items":
			return intFast(p, &pi.Items)
		case "next":
			return intFast(p, &pi.Next)
		case "prev":
			return intFast(p, &pi.Prev)
		}
		if jsonscan.Folds(key, paginationFields...) {
			return false
		}
		return p.Skip()
	})
}

// decodeIncidentFast decodes one element of items into the zero Incident
// *in. A null element is left to encoding/json.
func decodeIncidentFast(p *jsonscan.Scanner, in *Incident) bool {
	var seen uint32
	return p.Object(func(key []byte) bool {
		if !jsonscan.FirstTime(&seen, key, incidentFields) {
			return false
		}
		switch string(key) {
		case "id":
			return p.String(&in.ID)
		case "timestamp":
			return timeFast(p, &in.Timestamp)
		case "statusTimestamp":
			return timeFast(p, &in.StatusTimestamp)
		case "status":
			return commonString(p, &in.Status)
		case "contacts":
			var n int
			if !intFast(p, &n) {
				return false
			}
			in.Contacts = int64(n)
			return true
		case "adversaries":
			return p.Strings(&in.Adversaries)
		case "adversaryId":
			return p.String(&in.AdversaryID)
		case "adversaryTypes":
			return commonStrings(p, &in.AdversaryTypes)
		case "description":
			return p.String(&in.Description)
		case "labelDistribution":
			return labelsFast(p, &in.LabelDistribution)
		case "totalEndpoints":
			return intFast(p, &in.TotalEndpoints)
		case "firstContact":
			return timeFast(p, &in.FirstContact)
		case "lastContact":
			return timeFast(p, &in.LastContact)
		case "unread":
			if p.Null() {
				return true
			}
			raw, ok := p.Raw()
			switch {
			case !ok:
				return false
			case string(raw) == "true":
				in.Unread = true
			case string(raw) != "false":
				return false
			}
			return true
		}
		if jsonscan.Folds(key, incidentFields...) {
			return false
		}
		return p.Skip()
	})
}

// intFast reads an integer of at most 15 digits (9 where an int has 32
// bits) into *n (null leaves *n as it is, as encoding/json does).
// Fractions, exponents and longer numbers are left to encoding/json, which
// refuses some of them.
func intFast(p *jsonscan.Scanner, n *int) bool {
	if p.Null() {
		return true
	}
	v, ok := p.SmallInt()
	if ok {
		*n = v
	}
	return ok
}

// timeFast reads a timestamp into the zero Time *t as Time.UnmarshalJSON
// does: null and "" are the zero Time, any other string must be RFC 3339,
// anything else (which UnmarshalJSON refuses) is left to encoding/json.
// A string of printable ASCII without escapes is parsed in place.
func timeFast(p *jsonscan.Scanner, t *Time) bool {
	raw, ok := p.Raw()
	switch {
	case !ok:
		return false
	case string(raw) == "null" || string(raw) == `""`:
		*t = Time{}
		return true
	case raw[0] != '"':
		return false
	}
	text := raw[1 : len(raw)-1]
	for _, c := range text {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			var s string
			if !jsonscan.New(raw).String(&s) {
				return false
			}
			t.Time, ok = parseTimestamp(s)
			return ok
		}
	}
	t.Time, ok = parseTimestamp(string(text))
	return ok
}

// commonString reads a string as Scanner.String does, without allocating
// for the few values every incident repeats (statuses, adversary types).
func commonString(p *jsonscan.Scanner, s *string) bool {
	raw, ok := p.Raw()
	switch {
	case !ok:
		return false
	case raw[0] != '"':
		return string(raw) == "null"
	}
	switch string(raw[1 : len(raw)-1]) {
	case "open":
		*s = "open"
	case "muted":
		*s = "muted"
	case "closed":
		*s = "closed"
	case "C2C":
		*s = "C2C"
	case "Malware":
		*s = "Malware"
	case "Mining":
		*s = "Mining"
	case "Spam":
		*s = "Spam"
	case "Phishing":
		*s = "Phishing"
	default:
		return jsonscan.New(raw).String(s)
	}
	return true
}

// commonStrings reads a list of strings as Scanner.Strings does, through
// commonString.
func commonStrings(p *jsonscan.Scanner, ss *[]string) bool {
	if p.Null() {
		*ss = nil
		return true
	}
	out := make([]string, 0, 1)
	if !p.Array(func() bool {
		var v string
		if p.Null() || !commonString(p, &v) { // a null element is left to encoding/json
			return false
		}
		out = append(out, v)
		return true
	}) {
		return false
	}
	*ss = out
	return true
}

// labelsFast reads labelDistribution (label id to contacts). null sets it
// to nil, as encoding/json does; a repeated label, a label with escapes and
// a null count are left to encoding/json.
func labelsFast(p *jsonscan.Scanner, m *map[string]int) bool {
	if p.Null() {
		*m = nil
		return true
	}
	out := make(map[string]int, 4)
	if !p.Object(func(key []byte) bool {
		if _, dup := out[string(key)]; dup || p.Null() {
			return false
		}
		n, ok := p.SmallInt()
		out[string(key)] = n
		return ok
	}) {
		return false
	}
	*m = out
	return true
}
