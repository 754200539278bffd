package kibanasim

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func createOK(t *testing.T, ts *tserver, path string, body map[string]any) resp {
	t.Helper()
	r := ts.do("POST", path, body)
	if r.status != 200 {
		t.Fatalf("create %v: %d %s", body["item_id"], r.status, r.raw)
	}
	return r
}

// putBody is a full-overwrite PUT of a created item.
func putBody(created resp, mut func(b map[string]any)) map[string]any {
	b := blockItem(created.body["item_id"].(string))
	delete(b, "list_id")
	b["id"] = created.body["id"]
	b["_version"] = created.body["_version"]
	if mut != nil {
		mut(b)
	}
	return b
}

func TestUpdate(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true, PolicyIDs: []string{"p-1"}})
	c := createOK(t, ts, "/api/exception_lists/items", blockItem("lumuctl-up"))
	v1 := c.body["_version"].(string)
	if seq, ok := decodeVersion(v1); !ok || seq < 1 {
		t.Fatalf("_version %q is not base64 [seq,term]", v1)
	}

	u := ts.do("PUT", "/api/exception_lists/items", putBody(c, func(b map[string]any) {
		delete(b, "tags")
		b["name"] = "renamed"
	}))
	if u.status != 200 {
		t.Fatalf("update: %d %s", u.status, u.raw)
	}
	if u.body["_version"] == v1 {
		t.Errorf("_version not bumped by the update")
	}
	got := ts.s.Items()[0]
	if diff := cmp.Diff([]string{}, got.Tags); diff != "" {
		t.Errorf("omitted tags must become empty (-want +got):\n%s", diff)
	}
	if got.Name != "renamed" {
		t.Errorf("after overwrite: name %q", got.Name)
	}

	stale := ts.do("PUT", "/api/exception_lists/items", putBody(c, nil)) // still carries v1
	if diff := cmp.Diff(errBody{409, false, fmt.Sprintf("Saved object [exception-list-agnostic/%s] conflict", c.body["id"])}, stale.err()); diff != "" {
		t.Errorf("stale _version (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		mut  func(b map[string]any)
		want errBody
	}{
		{"no id nor item_id", func(b map[string]any) { delete(b, "id"); delete(b, "item_id") },
			errBody{404, false, "either id or item_id need to be defined"}},
		{"unknown id", func(b map[string]any) { b["id"] = "nope" },
			errBody{404, false, `exception list item id: "nope" does not exist`}},
		{"default namespace", func(b map[string]any) { delete(b, "namespace_type") },
			errBody{404, false, fmt.Sprintf("exception list item id: %q does not exist", c.body["id"])}},
		{"garbage _version", func(b map[string]any) { b["_version"] = "xyz" },
			errBody{400, false, "Invalid version [xyz]"}},
		{"omitted os_types", func(b map[string]any) { delete(b, "os_types") },
			errBody{400, false, "EndpointArtifactError: [osTypes]: array size is [0], but cannot be smaller than [1]"}},
		{"comments not append-only", func(b map[string]any) {
			b["comments"] = []map[string]any{{"comment": "new"}, {"id": "c1", "comment": "old"}}
		}, errBody{400, false, `[item "comments" are append only]`}},
		{"unknown policy", func(b map[string]any) { b["tags"] = []string{"policy:nope"} },
			errBody{400, false, "EndpointArtifactError: invalid policy ids: nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := putBody(c, tt.mut)
			b["_version"] = u.body["_version"]
			if tt.name == "garbage _version" {
				b["_version"] = "xyz"
			}
			r := ts.do("PUT", "/api/exception_lists/items", b)
			if diff := cmp.Diff(tt.want, r.err()); diff != "" || r.status != tt.want.Status {
				t.Errorf("status %d (-want +got):\n%s", r.status, diff)
			}
		})
	}

	t.Run("by item_id, without _version", func(t *testing.T) {
		b := putBody(c, func(b map[string]any) { delete(b, "id"); delete(b, "_version") })
		if r := ts.do("PUT", "/api/exception_lists/items", b); r.status != 200 || r.body["id"] != c.body["id"] {
			t.Errorf("PUT by item_id: %d %s", r.status, r.raw)
		}
	})
}

func TestSpace91OwnerSpaceID(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true, Space91: true})
	c := createOK(t, ts, "/api/exception_lists/items", blockItem("lumuctl-owner"))
	if diff := cmp.Diff([]any{"policy:all", "ownerSpaceId:default"}, c.body["tags"]); diff != "" {
		t.Errorf("create tags (-want +got):\n%s", diff)
	}
	cs := createOK(t, ts, "/s/sec-ops/api/exception_lists/items", blockItem("lumuctl-owner-sec"))
	if diff := cmp.Diff([]any{"policy:all", "ownerSpaceId:sec-ops"}, cs.body["tags"]); diff != "" {
		t.Errorf("create tags in space sec-ops (-want +got):\n%s", diff)
	}

	drop := ts.do("PUT", "/api/exception_lists/items", putBody(c, nil)) // tags: policy:all only
	want := errBody{403, false, `EndpointArtifactError: Endpoint authorization failure. Management of "ownerSpaceId" tag requires global artifact management privilege`}
	if diff := cmp.Diff(want, drop.err()); diff != "" {
		t.Errorf("update dropping ownerSpaceId (-want +got):\n%s", diff)
	}
	keep := ts.do("PUT", "/api/exception_lists/items", putBody(c, func(b map[string]any) {
		b["tags"] = []string{"policy:all", "ownerSpaceId:default"}
	}))
	if keep.status != 200 {
		t.Errorf("update keeping ownerSpaceId: %d %s", keep.status, keep.raw)
	}

	t.Run("legacy item gets the tag on update", func(t *testing.T) {
		ts.s.mu.Lock()
		rec := ts.s.lookupItem(nsAgnostic, "", "lumuctl-owner")
		rec.item.Tags = []string{"policy:all"}
		ts.s.bumpLocked(rec)
		v := rec.item.Version
		ts.s.mu.Unlock()
		r := ts.do("PUT", "/api/exception_lists/items", putBody(c, func(b map[string]any) { b["_version"] = v }))
		if diff := cmp.Diff([]any{"policy:all", "ownerSpaceId:default"}, r.body["tags"]); diff != "" {
			t.Errorf("status %d; tags (-want +got):\n%s", r.status, diff)
		}
	})

	t.Run("global artifact privilege", func(t *testing.T) {
		ts.s.SetPrivileges(Privileges{NoGlobalArtifactManagement: true})
		defer ts.s.SetPrivileges(Privileges{})
		r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-owner-2"))
		want := errBody{403, false, "EndpointArtifactError: Endpoint authorization failure. Management of global artifacts requires additional privilege (global artifact management)"}
		if diff := cmp.Diff(want, r.err()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("without 9.1 no tag", func(t *testing.T) {
		ts := newTS(t, Options{ContainerExists: true})
		c := createOK(t, ts, "/api/exception_lists/items", blockItem("lumuctl-old"))
		if diff := cmp.Diff([]any{"policy:all"}, c.body["tags"]); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestPrivilegeErrors(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true, PolicyIDs: []string{"p-1"}})
	perPolicy := blockItem("lumuctl-pp")
	perPolicy["tags"] = []string{"policy:p-1"}
	tests := []struct {
		name string
		priv Privileges
		body map[string]any
		want errBody
	}{
		{"lists-all missing", Privileges{NoListsAll: true}, blockItem("lumuctl-a"),
			errBody{403, true, "API [POST /api/exception_lists/items] is unauthorized for user, this action is granted by the Kibana privileges [lists-all]"}},
		{"blocklist all missing", Privileges{NoBlocklistWrite: true}, blockItem("lumuctl-a"),
			errBody{403, false, "EndpointArtifactError: Endpoint authorization failure"}},
		{"basic license per-policy", Privileges{BasicLicense: true}, perPolicy,
			errBody{403, false, "EndpointArtifactError: Your license level does not allow create/update of by policy artifacts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.s.SetPrivileges(tt.priv)
			r := ts.do("POST", "/api/exception_lists/items", tt.body)
			if diff := cmp.Diff(tt.want, r.err()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
