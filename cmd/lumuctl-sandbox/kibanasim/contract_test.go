package kibanasim

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim/contract"
)

func newContractTS(t *testing.T) (*tserver, *contract.Checker) {
	t.Helper()
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	return newTS(t, Options{PolicyIDs: []string{"p-1"}, Space91: true, SeedUnowned: 5, ContractCheck: c}), c
}

// TestContractHappyRun drives every route the way lumuctl does and expects
// the schemas to accept every request and every response.
func TestContractHappyRun(t *testing.T) {
	ts, c := newContractTS(t)
	must := func(method, path string, body any, want int) resp {
		t.Helper()
		r := ts.do(method, path, body)
		if r.status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, want, r.raw)
		}
		return r
	}
	must("GET", "/api/exception_lists?list_id=endpoint_blocklists&namespace_type=agnostic", nil, 200)
	must("POST", "/api/exception_lists", map[string]any{
		"list_id": "other_list", "name": "n", "description": "d", "type": "detection", "namespace_type": "agnostic",
	}, 200)
	must("POST", "/api/exception_lists", map[string]any{
		"list_id": BlocklistListID, "name": "Endpoint Security Blocklists List", "description": "Endpoint Security Blocklists List",
		"type": "endpoint_blocklists", "namespace_type": "agnostic",
	}, 409)
	created := must("POST", "/api/exception_lists/items", blockItem("lumuctl-default-ops-windows-sha256-1"), 200)
	perPolicy := blockItem("lumuctl-default-ops-linux-md5-1")
	perPolicy["os_types"] = []string{"linux"}
	perPolicy["tags"] = []string{"policy:p-1"}
	perPolicy["entries"] = []map[string]any{{"field": "file.hash.md5", "type": "match_any", "operator": "included", "value": []string{hexOf(32, 5)}}}
	must("POST", "/s/sec/api/exception_lists/items", perPolicy, 200)
	must("POST", "/api/exception_lists/items", blockItem("lumuctl-default-ops-windows-sha256-1"), 409)
	must("GET", agnosticFind("filter", "exception-list-agnostic.attributes.item_id:lumuctl-default-*", "page", "1", "per_page", "100", "sort_field", "created_at", "sort_order", "asc"), nil, 200)
	must("GET", agnosticFind("page", "10001", "per_page", "1"), nil, 400)
	must("GET", "/api/exception_lists/items/_find?list_id=endpoint_blocklists", nil, 404)
	must("GET", "/api/exception_lists/items?namespace_type=agnostic&id="+created.body["id"].(string), nil, 200)
	must("GET", "/api/exception_lists/items?namespace_type=agnostic&item_id=nope", nil, 404)
	updated := must("PUT", "/api/exception_lists/items", putBody(created, func(b map[string]any) {
		b["tags"] = []string{"policy:all", "ownerSpaceId:default"}
	}), 200)
	must("PUT", "/api/exception_lists/items", putBody(created, func(b map[string]any) {
		b["tags"] = []string{"policy:all", "ownerSpaceId:default"}
	}), 409) // stale _version
	bad := blockItem("lumuctl-bad")
	bad["entries"].([]map[string]any)[0]["value"] = []string{"abc"}
	must("POST", "/api/exception_lists/items", bad, 400)
	must("DELETE", "/api/exception_lists/items?namespace_type=agnostic&id="+updated.body["id"].(string), nil, 200)
	must("DELETE", "/api/exception_lists/items?namespace_type=agnostic&id="+updated.body["id"].(string), nil, 404)
	must("GET", "/api/exception_lists/summary?list_id=endpoint_blocklists&namespace_type=agnostic", nil, 200)
	must("GET", "/api/fleet/package_policies?kuery=ingest-package-policies.package.name:endpoint", nil, 200)

	for _, v := range c.Violations() {
		t.Errorf("violation: %s", v)
	}
	if diff := cmp.Diff([]int{409}, statuses(c.Gaps())); diff != "" {
		t.Errorf("known gaps (-want +got):\n%s", diff)
	}
	checked := c.Checked()
	for _, op := range c.Operations() {
		if checked[op] == 0 {
			t.Errorf("operation %s never exercised", op)
		}
	}
	skipped := c.Skipped()
	wantSkipped := map[string]int{
		"GET /api/exception_lists/summary": 1,
		"GET /api/fleet/package_policies":  1,
	}
	if diff := cmp.Diff(wantSkipped, skipped); diff != "" {
		t.Errorf("skipped routes (-want +got):\n%s", diff)
	}
}

// TestContractCatchesBadRequests proves the checker can fail: requests the
// schemas forbid are recorded as violations.
func TestContractCatchesBadRequests(t *testing.T) {
	tests := []struct {
		name, method, path string
		body               func() any
		phase, contains    string
	}{
		{"entry without operator", "POST", "/api/exception_lists/items", func() any {
			b := blockItem("lumuctl-x")
			delete(b["entries"].([]map[string]any)[0], "operator")
			return b
		}, "request", "body.entries.0"},
		{"namespace_type not in enum", "GET", agnosticFind("namespace_type", "global"), nil, "request", "namespace_type"},
		{"sort_order not in enum", "GET", agnosticFind("sort_order", "up"), nil, "request", "sort_order"},
		{"find without list_id", "GET", "/api/exception_lists/items/_find?namespace_type=agnostic", nil, "request", "list_id"},
		{"PUT without name", "PUT", "/api/exception_lists/items", func() any {
			b := blockItem("lumuctl-x")
			delete(b, "name")
			b["id"] = "x"
			return b
		}, "request", `"name"`},
		{"unknown OS", "POST", "/api/exception_lists/items", func() any {
			b := blockItem("lumuctl-x")
			b["os_types"] = []string{"bsd"}
			return b
		}, "request", "body.os_types.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, c := newContractTS(t)
			var body any
			if tt.body != nil {
				body = tt.body()
			}
			r := ts.do(tt.method, tt.path, body)
			if r.status != 400 {
				t.Errorf("stand-in answered %d, want 400: %s", r.status, r.raw)
			}
			vs := c.Violations()
			found := false
			for _, v := range vs {
				if v.Phase == tt.phase && strings.Contains(v.Message, tt.contains) {
					found = true
				}
				if v.Phase == "response" {
					t.Errorf("the stand-in's answer violates the schema: %s", v)
				}
			}
			if !found {
				t.Errorf("no %s violation mentioning %q; got %v", tt.phase, tt.contains, vs)
			}
		})
	}
}

// TestContractCatchesBadResponses proves response validation can fail: a
// handler answering with the wrong envelope or shape is recorded.
func TestContractCatchesBadResponses(t *testing.T) {
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{APIKey: testKey, ContainerExists: true})
	// Swap the emulated Kibana for one answering a wrong item shape.
	s.inner = c.Middleware(httpHandlerFunc(func(w responseWriter, r request) {
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": 1}}, "page": 1, "per_page": 20, "total": 1})
	}))
	ts := newTS(t, Options{})
	ts.s = s
	hs := newServer(t, s)
	ts.url = hs
	ts.do("GET", agnosticFind(), nil)
	found := false
	for _, v := range c.Violations() {
		if v.Phase == "response" && v.Status == 200 {
			found = true
		}
	}
	if !found {
		t.Errorf("wrong response shape not caught: %v", c.Violations())
	}
}

func statuses(vs []contract.Violation) []int {
	var out []int
	for _, v := range vs {
		out = append(out, v.Status)
	}
	return out
}
