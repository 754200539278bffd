package kibana

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// TestUpdateSendsExactlyTheItem: the client keeps no item state. Whatever
// it read before, an update is one PUT of exactly the item given, with its
// _version: ownerSpaceId tags are sent when the engine rendered them (it
// keeps them, engine/plan) and not added when it did not (this Kibana then
// refuses the write, as 9.1+ does).
func TestUpdateSendsExactlyTheItem(t *testing.T) {
	for _, readFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("read first %v", readFirst), func(t *testing.T) {
			f := newRecSim(t, kibanasim.Options{Version: "9.1"}, false)
			inSpace := func(cfg *provider.TargetConfig) { cfg.Space = "security" }
			creator := f.client(t, inSpace)
			created, err := creator.Create(ctx, sampleItem("lumuctl-default-lumu-windows-sha256-0001"))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]string{"policy:all", "ownerSpaceId:security"}, created.Tags); d != "" {
				t.Fatalf("created tags (-want +got):\n%s", d)
			}
			c := f.client(t, inSpace)
			if readFirst {
				if _, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"}); err != nil {
					t.Fatal(err)
				}
			}
			before := len(f.requests())
			upd := created
			upd.Name = "renamed"
			got, err := c.Update(ctx, upd)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if d := cmp.Diff([]string{"PUT /s/security/api/exception_lists/items?"}, f.requests()[before:]); d != "" {
				t.Errorf("requests of Update (-want +got):\n%s", d)
			}
			var sent itemBody
			if err := json.Unmarshal(f.lastBody(), &sent); err != nil {
				t.Fatal(err)
			}
			want := newItemBody(upd)
			want.ID, want.Version = upd.ID, upd.Version
			if d := cmp.Diff(want, sent); d != "" {
				t.Errorf("body sent (-want +got):\n%s", d)
			}
			if got.Name != "renamed" || got.Version == created.Version {
				t.Errorf("updated item = %+v", got)
			}

			// Without the tag the client adds nothing: Kibana refuses.
			drop := got
			drop.Tags = []string{"policy:all"}
			before = len(f.requests())
			if _, err := c.Update(ctx, drop); !errors.Is(err, provider.ErrForbidden) {
				t.Fatalf("update without the ownerSpaceId tag: err = %v, want ErrForbidden", err)
			}
			if d := cmp.Diff([]string{"PUT /s/security/api/exception_lists/items?"}, f.requests()[before:]); d != "" {
				t.Errorf("requests of the refused Update (-want +got):\n%s", d)
			}
		})
	}
}

func TestUpdateRequiresVersion(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	c := f.client(t, nil)
	it := sampleItem("lumuctl-default-x")
	it.ID = "so-1"
	if _, err := c.Update(ctx, it); err == nil || !strings.Contains(err.Error(), "_version") {
		t.Fatalf("err = %v, want an error about the missing _version", err)
	}
	if len(f.requests()) != 0 {
		t.Errorf("requests sent: %q", f.requests())
	}
}

// TestUpdateStaleVersion: an item changed since it was read is a conflict
// found by Kibana's _version check (one PUT, answered 409), never a
// last-writer-wins overwrite; the error says what changed.
func TestUpdateStaleVersion(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	seed := f.add(t, "lumuctl-default-a")
	c := f.client(t, nil)
	it, err := c.Get(ctx, seed.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.touch(t, seed.ID)
	it.Name = "mine"
	_, err = c.Update(ctx, it)
	if !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	for _, want := range []string{it.Version, f.get(seed.ID).Version, `"alice"`, "2026-02-02T02:02:02Z"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := f.calls("PUT /api/exception_lists/items"); n != 1 {
		t.Errorf("PUTs = %d, want 1", n)
	}
	if got := f.get(seed.ID); got.Name != "seed lumuctl-default-a (edited)" {
		t.Errorf("concurrent change overwritten: name %q", got.Name)
	}
}

func TestDeleteAfterConcurrentChange(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	seed := f.add(t, "lumuctl-default-a")
	c := f.client(t, nil)
	it, err := c.Get(ctx, seed.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.touch(t, seed.ID)
	err = c.Delete(ctx, it.ID, it.Version)
	if !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	for _, want := range []string{it.Version, f.get(seed.ID).Version, `"alice"`, "2026-02-02T02:02:02Z"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if f.calls("DELETE /api/exception_lists/items") != 0 || f.get(seed.ID) == nil {
		t.Error("item deleted despite the conflict")
	}
}

func TestDeleteRefusesOtherList(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	seed := f.addTo(t, "endpoint_trusted_apps", "lumuctl-default-a")
	c := f.client(t, nil)
	err := c.Delete(ctx, seed.ID, seed.Version)
	if err == nil || !strings.Contains(err.Error(), "belongs to list") {
		t.Fatalf("err = %v", err)
	}
	if f.calls("DELETE /api/exception_lists/items") != 0 {
		t.Error("DELETE sent")
	}
}

func TestReadOnly(t *testing.T) {
	readOnly := func(cfg *provider.TargetConfig) { cfg.ReadOnly = true }
	f := newRecSim(t, kibanasim.Options{}, false)
	seed := f.add(t, "lumuctl-default-a")
	c := f.client(t, readOnly)
	writes := []struct {
		name string
		do   func() error
	}{
		{"create", func() error { _, err := c.Create(ctx, sampleItem("lumuctl-default-b")); return err }},
		{"update", func() error {
			it := sampleItem("lumuctl-default-a")
			it.ID, it.Version = seed.ID, seed.Version
			_, err := c.Update(ctx, it)
			return err
		}},
		{"delete via transport", func() error {
			_, err := c.do(ctx, call{method: http.MethodDelete, path: itemsPath})
			return err
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			before := len(f.requests())
			err := w.do()
			if !errors.Is(err, provider.ErrReadOnly) {
				t.Fatalf("err = %v, want ErrReadOnly", err)
			}
			for _, r := range f.requests()[before:] {
				if !strings.HasPrefix(r, "GET ") {
					t.Errorf("server saw a write: %s", r)
				}
			}
		})
	}
	t.Run("container", func(t *testing.T) {
		f := newRecSim(t, kibanasim.Options{}, true)
		err := f.client(t, readOnly).EnsureContainer(ctx)
		if !errors.Is(err, provider.ErrReadOnly) {
			t.Fatalf("err = %v, want ErrReadOnly", err)
		}
		if d := cmp.Diff([]string{"GET /api/exception_lists?list_id=endpoint_blocklists&namespace_type=agnostic"}, f.requests()); d != "" {
			t.Errorf("requests (-want +got):\n%s", d)
		}
	})
	t.Run("zero requests", func(t *testing.T) {
		f.forget()
		if _, err := c.Create(ctx, sampleItem("lumuctl-default-c")); !errors.Is(err, provider.ErrReadOnly) {
			t.Fatalf("err = %v", err)
		}
		if got := f.requests(); len(got) != 0 {
			t.Errorf("server saw %q", got)
		}
	})
	t.Run("reads still work", func(t *testing.T) {
		if _, err := c.Get(ctx, seed.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSpaceAndBasePath(t *testing.T) {
	tests := []struct {
		name, base, space, want string
	}{
		{name: "default space", space: "default", want: "/api/exception_lists/items"},
		{name: "empty space", space: "", want: "/api/exception_lists/items"},
		{name: "named space", space: "sec_ops", want: "/s/sec_ops/api/exception_lists/items"},
		{name: "base path and space", base: "/kibana/", space: "soc", want: "/kibana/s/soc/api/exception_lists/items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			f := newRecSim(t, kibanasim.Options{}, false)
			f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
				got = r.URL.Path
				okJSON(w, map[string]any{"id": "x", "item_id": "lumuctl-default-a", "_version": "v"})
				return true
			}
			c := f.client(t, func(cfg *provider.TargetConfig) {
				cfg.URL = f.srv.URL + tt.base
				cfg.Space = tt.space
			})
			if _, err := c.Get(ctx, "x"); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("path = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	c := f.client(t, nil)
	created, err := c.Create(ctx, sampleItem("lumuctl-default-a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckPolicies(ctx, []string{"p"}); err != nil {
		t.Fatal(err)
	}
	type hdr struct{ Auth, XSRF, CT, APIVersion string }
	var got []hdr
	for _, h := range f.headers() {
		got = append(got, hdr{h.Get("Authorization"), h.Get("kbn-xsrf"), h.Get("Content-Type"), h.Get("elastic-api-version")})
	}
	want := []hdr{
		{"ApiKey " + testKey, "true", "application/json", "2023-10-31"}, // POST item
		{"ApiKey " + testKey, "", "", "2023-10-31"},                     // GET item
		{"ApiKey " + testKey, "", "", ""},                               // Fleet
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("headers (-want +got):\n%s", d)
	}
}

func TestCheckPolicies(t *testing.T) {
	var ids []string
	for i := range 150 {
		ids = append(ids, "defend-"+string(rune('a'+i%26))+strings.Repeat("x", i/26))
	}
	// kibanasim also has kibanasim.SystemPolicyID, of another package.
	f := newRecSim(t, kibanasim.Options{PolicyIDs: ids}, false)
	c := f.client(t, nil)
	pc, err := c.CheckPolicies(ctx, []string{"defend-a", "defend-zxxxx", kibanasim.SystemPolicyID, "nope"})
	if err != nil {
		t.Fatal(err)
	}
	// defend-zxxxx is policy 25+26*4 = 129: on page 2.
	if d := cmp.Diff(provider.PolicyCheck{Missing: []string{kibanasim.SystemPolicyID, "nope"}}, pc); d != "" {
		t.Errorf("PolicyCheck (-want +got):\n%s", d)
	}
	if n := f.calls("GET /api/fleet/package_policies"); n != 2 {
		t.Errorf("Fleet pages = %d, want 2", n)
	}
	if !slices.ContainsFunc(f.requests(), func(r string) bool {
		return strings.Contains(r, "kuery=ingest-package-policies.package.name%3Aendpoint") && strings.Contains(r, "perPage=100")
	}) {
		t.Errorf("no request with the endpoint kuery: %q", f.requests())
	}

	t.Run("forbidden is a warning", func(t *testing.T) {
		f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
			boomJSON(w, 403, "API [GET /api/fleet/package_policies] is unauthorized for user, this action is granted by the Kibana privileges [fleet-read]")
			return true
		}
		pc, err := c.CheckPolicies(ctx, []string{"defend-a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pc.Missing) != 0 || !strings.Contains(pc.Warning, "Fleet read privilege") {
			t.Errorf("PolicyCheck = %+v", pc)
		}
	})
	t.Run("no ids, no request", func(t *testing.T) {
		before := len(f.requests())
		if _, err := c.CheckPolicies(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if len(f.requests()) != before {
			t.Error("request sent")
		}
	})
}
