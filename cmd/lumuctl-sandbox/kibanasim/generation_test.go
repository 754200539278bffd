package kibanasim

import (
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want Generation
		err  string
	}{
		{"8.2", GenPreCap, ""}, {"8.17", GenPreCap, ""}, {"8.18.3", GenPreCap, ""},
		{"8.19", GenCapped, ""}, {"9.0", GenCapped, ""}, {"9.0.7", GenCapped, ""},
		{"9.1", GenSpaces, ""}, {"9.4", GenSpaces, ""}, {"10.0", GenSpaces, ""},
		{"8.1", 0, "from 8.2 on"}, {"7.17", 0, "from 8.2 on"}, {"9", 0, "MAJOR.MINOR"}, {"9.x", 0, "not a number"},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseVersion(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for i, v := range Versions {
		if g, err := ParseVersion(v); err != nil || int(g) != i+1 {
			t.Errorf("Versions[%d] = %q is %v, %v", i, v, g, err)
		}
	}
}

// TestGenerationBounds: 2,001 values in one entry are refused from 8.19/9.0
// on and accepted before (only the payload size bounded them).
func TestGenerationBounds(t *testing.T) {
	for _, tt := range []struct {
		version string
		want    int
	}{{"8.17", 200}, {"9.0", 400}, {"9.1", 400}} {
		ts := newTS(t, Options{ContainerExists: true, Version: tt.version})
		b := blockItem("lumuctl-big")
		b["entries"].([]map[string]any)[0]["value"] = sha256s(2001, 1)
		r := ts.do("POST", "/api/exception_lists/items", b)
		if r.status != tt.want {
			t.Errorf("%s: 2,001 values: %d, want %d: %.200s", tt.version, r.status, tt.want, r.raw)
		}
		if tt.want == 400 && !strings.Contains(r.err().Message, "[entries.0.value]: array size is [2001], but cannot be greater than [2000]") {
			t.Errorf("%s: message %q", tt.version, r.err().Message)
		}
	}
}

// TestOwnerSpaceRules pins BaseValidator's 9.1 rules for a user without
// Global Artifact Management: a per-policy item is updated or deleted only
// from one of its owner spaces; create tags the active space; 9.0 has no
// such rule.
func TestOwnerSpaceRules(t *testing.T) {
	perPolicy := func(id string) map[string]any {
		b := blockItem(id)
		b["tags"] = []string{"policy:p-1"}
		return b
	}
	ts := newTS(t, Options{ContainerExists: true, Version: "9.1", PolicyIDs: []string{"p-1"},
		Privileges: Privileges{NoGlobalArtifactManagement: true}})
	c := createOK(t, ts, "/s/secops/api/exception_lists/items", perPolicy("lumuctl-pp"))
	if tags := c.body["tags"].([]any); len(tags) != 2 || tags[1] != "ownerSpaceId:secops" {
		t.Fatalf("create from secops: tags %v", tags)
	}
	want := "EndpointArtifactError: Updates to this shared item can only be done from the following space ID: secops (or by someone having global artifact management privilege)"
	u := ts.do("PUT", "/api/exception_lists/items", putBody(c, func(b map[string]any) {
		b["tags"] = []string{"policy:p-1", "ownerSpaceId:secops"}
	}))
	if u.status != 403 || u.err().Message != want {
		t.Errorf("update from default: %d %s", u.status, u.raw)
	}
	d := ts.do("DELETE", "/api/exception_lists/items?namespace_type=agnostic&id="+c.body["id"].(string), nil)
	if d.status != 403 || d.err().Message != want {
		t.Errorf("delete from default: %d %s", d.status, d.raw)
	}
	u = ts.do("PUT", "/s/secops/api/exception_lists/items", putBody(c, func(b map[string]any) {
		b["tags"] = []string{"policy:p-1", "ownerSpaceId:secops"}
	}))
	if u.status != 200 {
		t.Errorf("update from the owner space: %d %s", u.status, u.raw)
	}
	// _find from another space still returns the per-policy item.
	f := ts.do("GET", agnosticFind(), nil)
	if f.status != 200 || f.body["total"].(float64) != 1 {
		t.Errorf("_find from default: %d %s", f.status, f.raw)
	}

	// 9.0: no ownerSpaceId tag, no space rule.
	old := newTS(t, Options{ContainerExists: true, Version: "9.0", PolicyIDs: []string{"p-1"},
		Privileges: Privileges{NoGlobalArtifactManagement: true}})
	c = createOK(t, old, "/s/secops/api/exception_lists/items", perPolicy("lumuctl-pp"))
	if tags := c.body["tags"].([]any); len(tags) != 1 {
		t.Errorf("9.0 create: tags %v", tags)
	}
	if d := old.do("DELETE", "/api/exception_lists/items?namespace_type=agnostic&id="+c.body["id"].(string), nil); d.status != 200 {
		t.Errorf("9.0 delete from default: %d %s", d.status, d.raw)
	}
}
