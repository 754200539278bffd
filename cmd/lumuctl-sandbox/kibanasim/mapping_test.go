package kibanasim

import (
	"strings"
	"testing"
)

// TestMetaObjectRefusedByTheMapping pins the saved-object mapping rule:
// meta passes route validation as an object, then Elasticsearch refuses it
// (keyword field) with a 400 in the SIEM envelope, and nothing is stored.
func TestMetaObjectRefusedByTheMapping(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	meta := map[string]any{"managed_by": "lumuctl"}

	withMeta := blockItem("lumuctl-meta")
	withMeta["meta"] = meta
	r := ts.do("POST", "/api/exception_lists/items", withMeta)
	e := r.err()
	if r.status != 400 || e.Boom || !strings.Contains(e.Message, "mapper_parsing_exception") ||
		!strings.Contains(e.Message, "[exception-list-agnostic.meta] of type [keyword]") {
		t.Fatalf("create with object meta: %d %s", r.status, r.raw)
	}
	if n := len(ts.s.Items()); n != 0 {
		t.Fatalf("a refused create stored %d items", n)
	}

	c := createOK(t, ts, "/api/exception_lists/items", blockItem("lumuctl-meta"))
	u := ts.do("PUT", "/api/exception_lists/items", putBody(c, func(b map[string]any) { b["meta"] = meta }))
	if u.status != 400 || !strings.Contains(u.err().Message, "mapper_parsing_exception") {
		t.Fatalf("update with object meta: %d %s", u.status, u.raw)
	}
	if got := ts.s.Items()[0]; got.Version != c.body["_version"] {
		t.Errorf("a refused update changed the item: _version %s, want %s", got.Version, c.body["_version"])
	}
	// A stale _version is still a 409 first: the update API checks the
	// version before it parses the document.
	stale := putBody(c, func(b map[string]any) { b["meta"] = meta; b["_version"] = "Wzk5OSwxXQ==" })
	if r := ts.do("PUT", "/api/exception_lists/items", stale); r.status != 409 {
		t.Errorf("stale update with meta: %d, want 409: %s", r.status, r.raw)
	}
	// Not an object: the route schema refuses it first (Boom 400).
	bad := blockItem("lumuctl-meta-str")
	bad["meta"] = "x"
	if r := ts.do("POST", "/api/exception_lists/items", bad); r.status != 400 || !r.err().Boom {
		t.Errorf("string meta: %d %s", r.status, r.raw)
	}
	// The container list has the same mapping.
	list := map[string]any{"list_id": "other", "name": "n", "description": "d", "type": "detection",
		"namespace_type": "agnostic", "meta": meta}
	if r := ts.do("POST", "/api/exception_lists", list); r.status != 400 || !strings.Contains(r.err().Message, "mapper_parsing_exception") {
		t.Errorf("list with object meta: %d %s", r.status, r.raw)
	}
}
