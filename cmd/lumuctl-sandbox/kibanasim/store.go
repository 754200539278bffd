package kibanasim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

const (
	nsAgnostic = "agnostic"
	nsSingle   = "single"
)

// List is an exception list container as Kibana returns it.
type List struct {
	ID            string          `json:"id"`
	ListID        string          `json:"list_id"`
	Type          string          `json:"type"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Immutable     bool            `json:"immutable"`
	NamespaceType string          `json:"namespace_type"`
	OSTypes       []string        `json:"os_types"`
	Tags          []string        `json:"tags"`
	meta          json.RawMessage // as sent; never stored (refused by the mapping)
	Version       int             `json:"version"`
	VersionID     string          `json:"_version"`
	TieBreakerID  string          `json:"tie_breaker_id"`
	CreatedAt     string          `json:"created_at"`
	CreatedBy     string          `json:"created_by"`
	UpdatedAt     string          `json:"updated_at"`
	UpdatedBy     string          `json:"updated_by"`
}

// listKey identifies a list: agnostic lists are global, single lists
// belong to a space.
type listKey struct{ ns, listID string }

// nsKey is the storage namespace of a namespace type in a space: the
// saved-object type exception-list-agnostic is global, exception-list is
// per space.
func nsKey(namespaceType, space string) string {
	if namespaceType == nsAgnostic {
		return nsAgnostic
	}
	return nsSingle + ":" + space
}

func blocklistContainer() List {
	return List{
		ListID:        BlocklistListID,
		Type:          "endpoint_blocklists",
		Name:          "Endpoint Security Blocklists List",
		Description:   "Endpoint Security Blocklists List",
		NamespaceType: nsAgnostic,
	}
}

// encodeVersion renders a saved-object version: base64 of [seq_no,primary_term].
func encodeVersion(seq int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("[%d,1]", seq)))
}

// decodeVersion parses a _version; ok is false when it is not a valid
// saved-object version.
func decodeVersion(v string) (seq int64, ok bool) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return 0, false
	}
	var pair []int64
	if json.Unmarshal(b, &pair) != nil || len(pair) != 2 {
		return 0, false
	}
	return pair[0], true
}

func (s *Server) nextSeq() int64 {
	s.seq++
	return s.seq
}

// newUUID returns a deterministic (per seed) uuid v4 string. Caller holds s.mu.
func (s *Server) newUUID() string {
	a, b := s.rng.Uint64(), s.rng.Uint64()
	a = a&^0xf000 | 0x4000
	b = b&^(0xc<<60) | 0x8<<60
	h := fmt.Sprintf("%016x%016x", a, b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Server) now() string { return s.opts.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// createListLocked stores a new list. Caller holds s.mu (or is New).
func (s *Server) createListLocked(l List, ns string) List {
	now := s.now()
	l.ID = s.newUUID()
	l.TieBreakerID = s.newUUID()
	l.Version = 1
	l.VersionID = encodeVersion(s.nextSeq())
	l.CreatedAt, l.UpdatedAt = now, now
	l.CreatedBy, l.UpdatedBy = s.opts.User, s.opts.User
	if l.OSTypes == nil {
		l.OSTypes = []string{}
	}
	if l.Tags == nil {
		l.Tags = []string{}
	}
	s.lists[listKey{ns, l.ListID}] = &l
	return l
}

// lookupItem finds an item by id or item_id in a storage namespace.
// Caller holds s.mu.
func (s *Server) lookupItem(ns, id, itemID string) *record {
	if id != "" {
		if rec, ok := s.items[id]; ok && rec.nsKey == ns {
			return rec
		}
		return nil
	}
	if sid, ok := s.byItemID[ns][itemID]; ok {
		return s.items[sid]
	}
	return nil
}

func notFoundItem(id, itemID string) *apiErr {
	if id != "" {
		return siemErr(404, "exception list item id: %q does not exist", id)
	}
	return siemErr(404, "exception list item item_id: %q does not exist", itemID)
}

// insertLocked stores a new item. Caller holds s.mu.
func (s *Server) insertLocked(it Item, ns string) *record {
	s.created++
	seq := s.nextSeq()
	it.Version = encodeVersion(seq)
	rec := &record{item: it, nsKey: ns, created: s.created, seq: seq}
	s.items[it.ID] = rec
	if s.byItemID[ns] == nil {
		s.byItemID[ns] = map[string]string{}
	}
	s.byItemID[ns][it.ItemID] = it.ID
	return rec
}

// removeLocked deletes an item. Caller holds s.mu.
func (s *Server) removeLocked(rec *record) {
	delete(s.items, rec.item.ID)
	delete(s.byItemID[rec.nsKey], rec.item.ItemID)
	s.nextSeq()
}

// bumpLocked records a write to rec. Caller holds s.mu.
func (s *Server) bumpLocked(rec *record) {
	rec.seq = s.nextSeq()
	rec.item.Version = encodeVersion(rec.seq)
	rec.item.UpdatedAt = s.now()
}

// countList is the number of items of a list. Caller holds s.mu.
func (s *Server) countList(ns, listID string) int {
	n := 0
	for _, rec := range s.items {
		if rec.nsKey == ns && rec.item.ListID == listID {
			n++
		}
	}
	return n
}

// hasOwnerSpaceTag reports whether tags carry an ownerSpaceId tag.
func ownerSpaceTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if strings.HasPrefix(t, ownerSpaceTagPrefx) {
			out = append(out, t)
		}
	}
	return out
}

// atoiParam parses a non-negative integer query parameter.
func atoiParam(q, name string) (int, error) {
	n, err := strconv.Atoi(q)
	if err != nil {
		return 0, fmt.Errorf("%s: Expected number, received nan", name)
	}
	if n < 0 {
		return 0, fmt.Errorf("%s: Number must be greater than or equal to 0", name)
	}
	return n, nil
}
