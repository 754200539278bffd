package kibanasim

import "testing"

// TestDeleteListDeletesItsItems: DELETE /api/exception_lists removes the
// list and every item of it; afterwards the list reads 404 and a create
// into it 404s (lists plugin delete_exception_list_route.ts).
func TestDeleteListDeletesItsItems(t *testing.T) {
	ts := newTS(t, Options{SeedUnowned: 3})
	createOK(t, ts, "/api/exception_lists/items", blockItem("lumuctl-x"))
	r := ts.do("DELETE", "/api/exception_lists?list_id=endpoint_blocklists&namespace_type=agnostic", nil)
	if r.status != 200 || r.body["list_id"] != BlocklistListID {
		t.Fatalf("delete list: %d %s", r.status, r.raw)
	}
	if n := len(ts.s.Items()); n != 0 {
		t.Errorf("%d items left", n)
	}
	if r := ts.do("GET", "/api/exception_lists?list_id=endpoint_blocklists&namespace_type=agnostic", nil); r.status != 404 {
		t.Errorf("read after delete: %d", r.status)
	}
	if r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-y")); r.status != 404 {
		t.Errorf("create after delete: %d", r.status)
	}
	if r := ts.do("DELETE", "/api/exception_lists?list_id=endpoint_blocklists&namespace_type=agnostic", nil); r.status != 404 {
		t.Errorf("second delete: %d", r.status)
	}
}
