package kibanasim

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func findIDs(t *testing.T, ts *tserver, path string) []string {
	t.Helper()
	r := ts.do("GET", path, nil)
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.status, r.raw)
	}
	var ids []string
	for _, d := range r.body["data"].([]any) {
		ids = append(ids, d.(map[string]any)["item_id"].(string))
	}
	slices.Sort(ids)
	return ids
}

func TestFindFilter(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true, PolicyIDs: []string{"p-1"}})
	for _, c := range []struct {
		id, os string
		tags   []string
	}{
		{"lumuctl-default-ops-1", "windows", []string{"policy:all"}},
		{"lumuctl-default-ops-2", "linux", []string{"policy:p-1"}},
		{"lumuctl-default*weird", "macos", []string{"policy:all"}},
		{"lumuctlx-default-ops-3", "windows", []string{"policy:all"}},
		{"my-lumuctl-default-ops-4", "windows", []string{"policy:*"}},
	} {
		b := blockItem(c.id)
		b["os_types"] = []string{c.os}
		b["tags"] = c.tags
		if c.tags[0] == "policy:*" {
			b["tags"] = []string{"team:*"}
		}
		createOK(t, ts, "/api/exception_lists/items", b)
	}
	const f = "exception-list-agnostic.attributes."
	tests := []struct {
		filter string
		want   []string
	}{
		{f + "item_id:lumuctl-default-*", []string{"lumuctl-default-ops-1", "lumuctl-default-ops-2"}},
		{f + "item_id:lumuctl-default*", []string{"lumuctl-default*weird", "lumuctl-default-ops-1", "lumuctl-default-ops-2"}},
		{f + `item_id:"lumuctl-default-*"`, nil}, // quoted * is literal
		{f + `item_id:lumuctl-default\*weird`, []string{"lumuctl-default*weird"}},
		{f + `item_id:"lumuctl-default*weird"`, []string{"lumuctl-default*weird"}},
		{f + `tags:"policy:all"`, []string{"lumuctl-default*weird", "lumuctl-default-ops-1", "lumuctlx-default-ops-3"}},
		{f + `tags:"team:*"`, []string{"my-lumuctl-default-ops-4"}},
		{f + `tags:("policy:all" OR "policy:p-1") and ` + f + `os_types:windows`, []string{"lumuctl-default-ops-1", "lumuctlx-default-ops-3"}},
		{`NOT ` + f + `os_types:windows`, []string{"lumuctl-default*weird", "lumuctl-default-ops-2"}},
		{`(` + f + `os_types:linux or ` + f + `os_types:macos) and not ` + f + `tags:"policy:p-1"`, []string{"lumuctl-default*weird"}},
		{f + `name:*`, []string{"lumuctl-default*weird", "lumuctl-default-ops-1", "lumuctl-default-ops-2", "lumuctlx-default-ops-3", "my-lumuctl-default-ops-4"}},
		{f + `entries.value:"` + hexOf(64, 1) + `"`, []string{"lumuctl-default*weird", "lumuctl-default-ops-1", "lumuctl-default-ops-2", "lumuctlx-default-ops-3", "my-lumuctl-default-ops-4"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			got := findIDs(t, ts, agnosticFind("filter", tt.filter, "per_page", "100"))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	bad := []string{
		"lumuctl-default-*",                   // field-less
		f + "item_id:a b",                     // two words
		f + "nope:x",                          // unknown attribute
		"exception-list.attributes.item_id:x", // wrong saved-object type for agnostic
		f + `item_id:"unterminated`,           // quote
		f + "item_id >= a",                    // range
		f + "item_id:(a or",                   // parenthesis
		f + "tags:policy:all",                 // unescaped ':' in an unquoted value
		"(" + f + "item_id:a",                 // parenthesis
		f + "item_id:{ x }",                   // nested
	}
	for _, filter := range bad {
		t.Run("rejects "+filter, func(t *testing.T) {
			r := ts.do("GET", agnosticFind("filter", filter), nil)
			if r.status != 400 || !strings.HasPrefix(r.err().Message, "KQLSyntaxError: ") {
				t.Errorf("status %d: %s", r.status, r.raw)
			}
		})
	}
	t.Run("rejects search", func(t *testing.T) {
		if r := ts.do("GET", agnosticFind("search", "lumuctl"), nil); r.status != 400 {
			t.Errorf("search: %d %s", r.status, r.raw)
		}
	})
}

func TestFindPaging(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true, SeedUnowned: 37, Seed: 7})
	var all []string
	for page := 1; ; page++ {
		r := ts.do("GET", agnosticFind("page", fmt.Sprint(page), "per_page", "10", "sort_field", "item_id", "sort_order", "asc"), nil)
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", page, r.status, r.raw)
		}
		if total := r.body["total"].(float64); total != 37 {
			t.Fatalf("total %v, want 37", total)
		}
		data := r.body["data"].([]any)
		if len(data) == 0 {
			break
		}
		for _, d := range data {
			all = append(all, d.(map[string]any)["item_id"].(string))
		}
	}
	want := make([]string, 0, 37)
	for _, it := range ts.s.Items() {
		want = append(want, it.ItemID)
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("items over all pages, in item_id order (-want +got):\n%s", diff)
	}

	tests := []struct {
		page, perPage string
		want          int
	}{
		{"1", "10000", 200},
		{"2", "5000", 200},
		{"10001", "1", 400},
		{"3", "5000", 400},
		{"1", "10001", 400},
		{"x", "10", 400},
		{"1", "-1", 400},
	}
	for _, tt := range tests {
		t.Run("page "+tt.page+" per_page "+tt.perPage, func(t *testing.T) {
			r := ts.do("GET", agnosticFind("page", tt.page, "per_page", tt.perPage), nil)
			if r.status != tt.want {
				t.Errorf("status %d, want %d: %s", r.status, tt.want, r.raw)
			}
		})
	}
	t.Run("defaults", func(t *testing.T) {
		r := ts.do("GET", agnosticFind(), nil)
		if got := []any{r.body["page"], r.body["per_page"], float64(len(r.body["data"].([]any)))}; !cmp.Equal(got, []any{1.0, 20.0, 20.0}) {
			t.Errorf("page, per_page, len(data) = %v", got)
		}
	})
	t.Run("list and namespace counts must match", func(t *testing.T) {
		q := url.Values{"list_id": {BlocklistListID + ",other"}, "namespace_type": {"agnostic"}}
		if r := ts.do("GET", findPath(q), nil); r.status != 400 {
			t.Errorf("status %d: %s", r.status, r.raw)
		}
	})
}

func TestSeedUnowned(t *testing.T) {
	a := New(Options{APIKey: "k", SeedUnowned: 12, Seed: 3, PolicyIDs: []string{"p-1"}}).Items()
	b := New(Options{APIKey: "k", SeedUnowned: 12, Seed: 3, PolicyIDs: []string{"p-1"}}).Items()
	if diff := cmp.Diff(a, b, cmp.FilterPath(func(p cmp.Path) bool {
		n := p.Last().String()
		return n == ".CreatedAt" || n == ".UpdatedAt"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("same seed, different items (-a +b):\n%s", diff)
	}
	lookalikes := 0
	for _, it := range a {
		if strings.HasPrefix(it.ItemID, "lumuctl-") {
			t.Errorf("seeded item %q looks owned", it.ItemID)
		}
		if strings.Contains(strings.ToLower(it.ItemID), "lumuctl") {
			lookalikes++
		}
		if msg := blocklistDataError(&it, true); msg != "" {
			t.Errorf("seeded item %q breaks a blocklist rule: %s", it.ItemID, msg)
		}
	}
	if len(a) != 12 || lookalikes < 4 {
		t.Errorf("%d items, %d look-alikes", len(a), lookalikes)
	}
}

func TestFleet(t *testing.T) {
	ts := newTS(t, Options{PolicyIDs: []string{"p-1", "p-2"}})
	ids := func(path string) (int, []string) {
		r := ts.do("GET", path, nil)
		var out []string
		if items, ok := r.body["items"].([]any); ok {
			for _, it := range items {
				out = append(out, it.(map[string]any)["id"].(string))
			}
		}
		return r.status, out
	}
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/api/fleet/package_policies?kuery=ingest-package-policies.package.name:endpoint&perPage=100&page=1", 200, []string{"p-1", "p-2"}},
		{"/s/sec/api/fleet/package_policies?kuery=" + url.QueryEscape(`fleet-package-policies.package.name: "endpoint"`), 200, []string{"p-1", "p-2"}},
		{"/api/fleet/package_policies", 200, []string{"p-1", "p-2", SystemPolicyID}},
		{"/api/fleet/package_policies?kuery=ingest-package-policies.package.name:endpoint&perPage=1&page=2", 200, []string{"p-2"}},
		{"/api/fleet/package_policies?kuery=package.name:endpoint", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, got := ids(tt.path)
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if r := ts.do("GET", "/api/fleet/package_policies/nope", nil); r.status != 404 || r.err().Message != "Package policy nope not found" {
		t.Errorf("unknown policy: %d %s", r.status, r.raw)
	}
}
