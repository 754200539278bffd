package kibanasim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlatformChecks(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	big := blockItem("lumuctl-big")
	big["description"] = strings.Repeat("x", MaxPayloadBytes)
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		drop   []string
		want   errBody
	}{
		{"no authorization", "GET", agnosticFind(), nil, []string{"Authorization"},
			errBody{401, true, "Unauthorized"}},
		{"missing kbn-xsrf", "POST", "/api/exception_lists/items", blockItem("lumuctl-a"), []string{"kbn-xsrf"},
			errBody{400, true, "Request must contain a kbn-xsrf header."}},
		{"missing kbn-xsrf on delete", "DELETE", "/api/exception_lists/items?id=x&namespace_type=agnostic", nil, []string{"kbn-xsrf"},
			errBody{400, true, "Request must contain a kbn-xsrf header."}},
		{"not json", "POST", "/api/exception_lists/items", "{}", []string{"Content-Type"},
			errBody{415, true, "Unsupported Media Type"}},
		{"payload over 1 MiB", "POST", "/api/exception_lists/items", big, nil,
			errBody{413, true, "Payload content length greater than maximum allowed: 1048576"}},
		{"no body", "POST", "/api/exception_lists/items", nil, nil,
			errBody{400, true, "[request body]: Expected object, received null"}},
		{"unknown route", "GET", "/api/exception_lists/nope", nil, nil,
			errBody{404, true, "Not Found"}},
		{"malformed space", "GET", "/s/BAD!/api/exception_lists/items/_find", nil, nil,
			errBody{404, true, "Not Found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(tt.method, tt.path, tt.body, tt.drop...)
			if r.status != tt.want.Status {
				t.Errorf("status %d, want %d (%s)", r.status, tt.want.Status, r.raw)
			}
			if diff := cmp.Diff(tt.want, r.err()); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		ts2 := newTS(t, Options{APIKey: "other"})
		if r := ts2.do("GET", agnosticFind(), nil); r.status != 401 {
			t.Errorf("status %d, want 401", r.status)
		}
	})
}

func TestCreateRejects(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true, PolicyIDs: []string{"p-1"}})
	entry := func(mut func(e map[string]any)) func(b map[string]any) {
		return func(b map[string]any) { mut(b["entries"].([]map[string]any)[0]) }
	}
	tests := []struct {
		name string
		mut  func(b map[string]any)
		want errBody
	}{
		{"two OS", func(b map[string]any) { b["os_types"] = []string{"windows", "linux"} },
			errBody{400, false, "EndpointArtifactError: [osTypes]: array size is [2], but cannot be greater than [1]"}},
		{"no OS", func(b map[string]any) { delete(b, "os_types") },
			errBody{400, false, "EndpointArtifactError: [osTypes]: array size is [0], but cannot be smaller than [1]"}},
		{"unknown OS", func(b map[string]any) { b["os_types"] = []string{"bsd"} },
			errBody{400, true, "[request body]: os_types.0: Invalid enum value. Expected 'linux' | 'macos' | 'windows', received 'bsd'"}},
		{"wrong hash length", entry(func(e map[string]any) { e["value"] = []string{"abc123"} }),
			errBody{400, false, "EndpointArtifactError: [entries.0.value.0]: invalid hash value [abc123]"}},
		{"non-hex hash", entry(func(e map[string]any) { e["value"] = []string{strings.Repeat("g", 32)} }),
			errBody{400, false, "EndpointArtifactError: [entries.0.value.0]: invalid hash value [" + strings.Repeat("g", 32) + "]"}},
		{"field not allowed", entry(func(e map[string]any) { e["field"] = "process.name" }),
			errBody{400, false, "EndpointArtifactError: [entries.0.field]: expected one of [file.hash.md5, file.hash.sha1, file.hash.sha256, file.path, file.path.caseless, file.Ext.code_signature] but got [process.name]"}},
		{"type match", entry(func(e map[string]any) { e["type"] = "match"; e["value"] = hexOf(64, 1) }),
			errBody{400, false, "EndpointArtifactError: [entries.0.type]: expected value to equal [match_any]"}},
		{"operator excluded", entry(func(e map[string]any) { e["operator"] = "excluded" }),
			errBody{400, false, "EndpointArtifactError: [entries.0.operator]: expected value to equal [included]"}},
		{"operator missing", entry(func(e map[string]any) { delete(e, "operator") }),
			errBody{400, true, "[request body]: entries.0.operator: Required"}},
		{"empty values", entry(func(e map[string]any) { e["value"] = []string{} }),
			errBody{400, true, "[request body]: entries.0.value: Array must contain at least 1 element(s)"}},
		{"2001 values", entry(func(e map[string]any) { e["value"] = sha256s(2001, 0) }),
			errBody{400, false, "EndpointArtifactError: [entries.0.value]: array size is [2001], but cannot be greater than [2000]"}},
		{"four hash entries", func(b map[string]any) {
			e := b["entries"].([]map[string]any)[0]
			b["entries"] = []map[string]any{e, e, e, e}
		}, errBody{400, false, "EndpointArtifactError: [entries]: There are more hash types than allowed [md5,sha1,sha256]"}},
		{"hash then path", func(b map[string]any) {
			e := b["entries"].([]map[string]any)[0]
			p := map[string]any{"field": "file.path", "type": "match_any", "operator": "included", "value": []string{"C:\\x.exe"}}
			b["entries"] = []map[string]any{e, p}
		}, errBody{400, false, "EndpointArtifactError: [entries]: There are some invalid fields for hash type: file.path"}},
		{"empty name", func(b map[string]any) { b["name"] = "" },
			errBody{400, true, "[request body]: name: String must contain at least 1 character(s)"}},
		{"name 257", func(b map[string]any) { b["name"] = strings.Repeat("n", 257) },
			errBody{400, false, "EndpointArtifactError: [name]: value has length [257] but it must have a maximum length of [256]."}},
		{"description 257", func(b map[string]any) { b["description"] = strings.Repeat("d", 257) },
			errBody{400, false, "EndpointArtifactError: [description]: value has length [257] but it must have a maximum length of [256]."}},
		{"unknown policy", func(b map[string]any) { b["tags"] = []string{"policy:p-1", "policy:nope", "policy:gone"} },
			errBody{400, false, "EndpointArtifactError: invalid policy ids: nope, gone"}},
		{"empty tag", func(b map[string]any) { b["tags"] = []string{""} },
			errBody{400, true, "[request body]: tags.0: String must contain at least 1 character(s)"}},
		{"bad namespace_type", func(b map[string]any) { b["namespace_type"] = "global" },
			errBody{400, true, "[request body]: namespace_type: Invalid enum value. Expected 'agnostic' | 'single', received 'global'"}},
		{"wrong item type", func(b map[string]any) { b["type"] = "complex" },
			errBody{400, true, `[request body]: type: Invalid literal value, expected "simple"`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := blockItem(fmt.Sprintf("lumuctl-reject-%d", i))
			tt.mut(b)
			r := ts.do("POST", "/api/exception_lists/items", b)
			if r.status != tt.want.Status {
				t.Errorf("status %d, want %d (%s)", r.status, tt.want.Status, r.raw)
			}
			if diff := cmp.Diff(tt.want, r.err()); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
		})
	}
	if n := len(ts.s.Items()); n != 0 {
		t.Errorf("%d items stored after only rejected creates", n)
	}
	t.Run("valid variants pass", func(t *testing.T) {
		for i, mut := range []func(b map[string]any){
			func(b map[string]any) {},
			func(b map[string]any) { b["tags"] = []string{"policy:p-1"} },
			func(b map[string]any) {
				e := b["entries"].([]map[string]any)[0]
				md5 := map[string]any{"field": "file.hash.md5", "type": "match_any", "operator": "included", "value": []string{hexOf(32, 9)}}
				// a 64-char value under md5 passes: the length is not checked against the field
				md5x := map[string]any{"field": "file.hash.md5", "type": "match_any", "operator": "included", "value": []string{hexOf(64, 9)}}
				b["entries"] = []map[string]any{e, md5, md5x}
			},
			entry(func(e map[string]any) { e["value"] = sha256s(2000, 0) }),
		} {
			b := blockItem(fmt.Sprintf("lumuctl-ok-%d", i))
			mut(b)
			if r := ts.do("POST", "/api/exception_lists/items", b); r.status != 200 {
				t.Errorf("variant %d: status %d: %s", i, r.status, r.raw)
			}
		}
	})
}

func TestDuplicateValuesSilentlyRemoved(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	a, b, c := hexOf(64, 1), hexOf(64, 2), hexOf(64, 3)
	body := blockItem("lumuctl-dupes")
	// 2,001 values that dedupe to 3: the dedupe runs before the 2,000 bound.
	vals := []string{b, a, b}
	for range 1998 {
		vals = append(vals, a)
	}
	vals = append(vals, c)
	body["entries"].([]map[string]any)[0]["value"] = vals
	r := ts.do("POST", "/api/exception_lists/items", body)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	items := ts.s.Items()
	if diff := cmp.Diff([]string{b, a, c}, items[0].Entries[0].Value); diff != "" {
		t.Errorf("stored values (-want +got):\n%s", diff)
	}
	got := r.body["entries"].([]any)[0].(map[string]any)["value"].([]any)
	if len(got) != 3 {
		t.Errorf("response carries %d values, want the 3 normalised ones", len(got))
	}
}

func TestDuplicateItemID(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	if r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-x")); r.status != 200 {
		t.Fatalf("first create: %d %s", r.status, r.raw)
	}
	r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-x"))
	want := errBody{409, false, `exception list item id: "lumuctl-x" already exists`}
	if diff := cmp.Diff(want, r.err()); diff != "" || r.status != 409 {
		t.Errorf("status %d; (-want +got):\n%s", r.status, diff)
	}
}

func TestContainer(t *testing.T) {
	ts := newTS(t, Options{})
	notExist := errBody{404, false, `exception list id: "endpoint_blocklists" does not exist`}
	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/exception_lists/items"},
		{"GET", agnosticFind()},
	} {
		var body any
		if tc.method == "POST" {
			body = blockItem("lumuctl-early")
		}
		r := ts.do(tc.method, tc.path, body)
		if diff := cmp.Diff(notExist, r.err()); diff != "" || r.status != 404 {
			t.Errorf("%s %s before the container: status %d (-want +got):\n%s", tc.method, tc.path, r.status, diff)
		}
	}
	if r := ts.do("GET", "/api/exception_lists?list_id=endpoint_blocklists&namespace_type=agnostic", nil); r.status != 404 {
		t.Errorf("read container before create: %d", r.status)
	}
	container := map[string]any{
		"list_id": BlocklistListID, "name": "Endpoint Security Blocklists List",
		"description": "Endpoint Security Blocklists List", "type": "endpoint_blocklists", "namespace_type": "agnostic",
	}
	if r := ts.do("POST", "/api/exception_lists", container); r.status != 200 || r.body["list_id"] != BlocklistListID {
		t.Fatalf("create container: %d %s", r.status, r.raw)
	}
	r := ts.do("POST", "/api/exception_lists", container)
	want := errBody{409, false, `exception list id: "endpoint_blocklists" already exists`}
	if diff := cmp.Diff(want, r.err()); diff != "" {
		t.Errorf("second create (-want +got):\n%s", diff)
	}
	if r := ts.do("GET", "/api/exception_lists?list_id=endpoint_blocklists&namespace_type=agnostic", nil); r.status != 200 {
		t.Errorf("read container: %d %s", r.status, r.raw)
	}
	if r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-late")); r.status != 200 {
		t.Errorf("create item after container: %d %s", r.status, r.raw)
	}
}

func TestNamespaceSingleHidesBlocklistItems(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-hidden"))
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"find default namespace", "GET", "/api/exception_lists/items/_find?list_id=endpoint_blocklists", 404},
		{"find agnostic", "GET", agnosticFind(), 200},
		{"read default namespace", "GET", "/api/exception_lists/items?id=" + id, 404},
		{"read agnostic", "GET", "/api/exception_lists/items?namespace_type=agnostic&id=" + id, 200},
		{"read by item_id", "GET", "/api/exception_lists/items?namespace_type=agnostic&item_id=lumuctl-hidden", 200},
		{"delete default namespace", "DELETE", "/api/exception_lists/items?id=" + id, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := ts.do(tt.method, tt.path, nil); r.status != tt.want {
				t.Errorf("status %d, want %d: %s", r.status, tt.want, r.raw)
			}
		})
	}
	t.Run("validator does not run for single", func(t *testing.T) {
		list := map[string]any{"list_id": BlocklistListID, "name": "n", "description": "d", "type": "endpoint_blocklists"}
		if r := ts.do("POST", "/api/exception_lists", list); r.status != 200 {
			t.Fatalf("single list: %d %s", r.status, r.raw)
		}
		b := blockItem("lumuctl-single")
		delete(b, "namespace_type")
		b["os_types"] = []string{"windows", "linux"}
		b["entries"].([]map[string]any)[0]["value"] = []string{"not-a-hash"}
		if r := ts.do("POST", "/api/exception_lists/items", b); r.status != 200 {
			t.Errorf("single-namespace item with two OS and a bad hash: %d %s", r.status, r.raw)
		}
	})
}

func TestListCap(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	ts.s.mu.Lock()
	for i := range MaxListSize - 1 {
		it := Item{ID: fmt.Sprintf("id-%d", i), ItemID: fmt.Sprintf("filler-%d", i), ListID: BlocklistListID, NamespaceType: nsAgnostic}
		ts.s.insertLocked(it, nsAgnostic)
	}
	ts.s.mu.Unlock()
	if r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-10000")); r.status != 200 {
		t.Fatalf("item 10,000: %d %s", r.status, r.raw)
	}
	r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-10001"))
	want := errBody{400, false, "Failed to add exception item, exception list would exceed max size of 10000"}
	if diff := cmp.Diff(want, r.err()); diff != "" {
		t.Errorf("item 10,001 (-want +got):\n%s", diff)
	}
	if n := len(ts.s.Items()); n != MaxListSize {
		t.Errorf("%d items stored, want %d (the rejected one is deleted again)", n, MaxListSize)
	}
	if r := ts.do("GET", "/api/exception_lists/items?namespace_type=agnostic&item_id=lumuctl-10001", nil); r.status != 404 {
		t.Errorf("rejected item readable: %d", r.status)
	}
}

func TestDelete(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-del"))
	id := r.body["id"].(string)
	d := ts.do("DELETE", "/api/exception_lists/items?namespace_type=agnostic&id="+id, nil)
	if d.status != 200 || d.body["item_id"] != "lumuctl-del" {
		t.Fatalf("delete: %d %s", d.status, d.raw)
	}
	tests := []struct {
		path string
		want errBody
	}{
		{"/api/exception_lists/items?namespace_type=agnostic&id=" + id, errBody{404, false, fmt.Sprintf("exception list item id: %q does not exist", id)}},
		{"/api/exception_lists/items?namespace_type=agnostic&item_id=lumuctl-del", errBody{404, false, `exception list item item_id: "lumuctl-del" does not exist`}},
		{"/api/exception_lists/items?namespace_type=agnostic", errBody{400, false, `Either "item_id" or "id" needs to be defined in the request`}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ts.do("DELETE", tt.path, nil).err()); diff != "" {
			t.Errorf("DELETE %s (-want +got):\n%s", tt.path, diff)
		}
	}
}
