package kibana

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim/contract"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// These tests run the client against the strict stand-in with the OpenAPI
// contract check on: every request the client sends and every answer the
// stand-in gives is validated against Kibana's published schemas, and any
// violation fails the test.

const simKey = "c2ltLWtleTpzaW0tc2VjcmV0LXZhbHVl"

type simEnv struct {
	sim     *kibanasim.Server
	checker *contract.Checker
	srv     *httptest.Server
	key     string
}

func newSim(t *testing.T, opts kibanasim.Options) *simEnv {
	t.Helper()
	return newSimWith(t, opts, simKey, nil)
}

// newSimWith starts the stand-in with API key key, its handler wrapped by
// wrap when not nil (see recSim).
func newSimWith(t *testing.T, opts kibanasim.Options, key string, wrap func(http.Handler) http.Handler) *simEnv {
	t.Helper()
	opts.APIKey = key
	// Every request the client sends and every response the stand-in
	// returns is checked against Kibana's published schemas.
	checker, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	opts.ContractCheck = checker
	sim := kibanasim.New(opts)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if checker == nil {
			return
		}
		for _, v := range checker.Violations() {
			// What the client sends, and the success answers it decodes,
			// must match Kibana's schemas. Error answers are logged only:
			// real Kibana itself answers outside its schemas there (SIEM
			// 403 bodies where the schema says Boom, 409 on PUT undeclared;
			// reference/kibana-blocklist-api.md 1.7).
			if v.Phase == "request" || v.Status < 300 {
				t.Errorf("contract violation: %v", v)
			} else {
				t.Logf("schema gap in an error answer (not the client's): %v", v)
			}
		}
	})
	return &simEnv{sim: sim, checker: checker, srv: srv, key: key}
}

func (e *simEnv) client(t *testing.T, mod func(*provider.TargetConfig), opts ...Option) *Client {
	t.Helper()
	c, _ := e.clientClock(t, mod, opts...)
	return c
}

// clientClock is client with the fake clock its retries sleep on.
func (e *simEnv) clientClock(t *testing.T, mod func(*provider.TargetConfig), opts ...Option) (*Client, *testkit.Clock) {
	t.Helper()
	return newTestClient(t, e.srv, func(cfg *provider.TargetConfig) {
		cfg.APIKey = e.key
		if mod != nil {
			mod(cfg)
		}
	}, opts...)
}

func TestSimOperations(t *testing.T) {
	env := newSim(t, kibanasim.Options{Seed: 1})
	c := env.client(t, nil)
	if err := c.EnsureContainer(ctx); err != nil {
		t.Fatal(err)
	}
	in := sampleItem("lumuctl-default-lumu-windows-sha256-0001")
	created, err := c.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(created, got); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}
	if got, err = c.GetByItemID(ctx, in.ItemID); err != nil || got.ID != created.ID {
		t.Fatalf("GetByItemID = %+v, %v", got, err)
	}
	resp, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Owned) != 1 || resp.Owned[0].ID != created.ID {
		t.Errorf("List = %+v", resp)
	}
	upd := created
	upd.Entries[0].Value = hashes(2, "ef")
	updated, err := c.Update(ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(hashes(2, "ef"), updated.Entries[0].Value); d != "" {
		t.Errorf("updated values (-want +got):\n%s", d)
	}
	if err := c.Delete(ctx, updated.ID, updated.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, updated.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Get after Delete = %v", err)
	}
	ch, ok := any(env.checker).(interface{ Checked() map[string]int })
	if env.checker == nil || !ok {
		return
	}
	checked := ch.Checked()
	for _, op := range []string{"post /api/exception_lists", "post /api/exception_lists/items", "put /api/exception_lists/items",
		"delete /api/exception_lists/items", "get /api/exception_lists/items/_find", "get /api/exception_lists/items"} {
		found := false
		for k, n := range checked {
			if strings.EqualFold(k, op) && n > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("operation %s not contract-checked (checked: %v)", op, checked)
		}
	}
}

func TestSimListPagingAndLookalikes(t *testing.T) {
	env := newSim(t, kibanasim.Options{Seed: 2, SeedUnowned: 20, ContainerExists: true})
	c := env.client(t, nil)
	var want []string
	for i := range 1050 {
		it := sampleItem(fmt.Sprintf("lumuctl-default-lumu-windows-sha256-%04d", i))
		it.Entries[0].Value = hashes(1, fmt.Sprintf("%04x", i))
		if _, err := c.Create(ctx, it); err != nil {
			t.Fatal(err)
		}
		want = append(want, it.ItemID)
	}
	for _, id := range []string{"lumuctl-defaultx-lumu-0001", "xlumuctl-default-lumu-0001", "lumuctl-other-lumu-0001"} {
		if _, err := c.Create(ctx, sampleItem(id)); err != nil {
			t.Fatal(err)
		}
	}
	env.sim.ResetCounters()
	resp, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range resp.Owned {
		got = append(got, it.ItemID)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("owned (-want +got):\n%s", d)
	}
	// 1,050 owned items plus look-alikes, at DefaultPageSize (100) a page.
	if n := env.sim.Counters()[kibanasim.KindFind]; n != 11 {
		t.Errorf("_find requests = %d, want 11", n)
	}
}

func TestSimOwnerSpaceTags(t *testing.T) {
	env := newSim(t, kibanasim.Options{Seed: 3, Space91: true, ContainerExists: true})
	c := env.client(t, nil)
	created, err := c.Create(ctx, sampleItem("lumuctl-default-a"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(created.Tags, ","), "ownerSpaceId:default") {
		t.Fatalf("stand-in did not tag the item: %v", created.Tags)
	}
	fresh := env.client(t, nil) // has not read the item: nothing to recall
	upd := created              // the engine renders the owner tag it read
	upd.Name = "renamed"
	got, err := fresh.Update(ctx, upd)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if d := cmp.Diff([]string{"policy:all", "ownerSpaceId:default"}, got.Tags); d != "" {
		t.Errorf("tags (-want +got):\n%s", d)
	}
}

func TestSimConflicts(t *testing.T) {
	env := newSim(t, kibanasim.Options{Seed: 4, ContainerExists: true})
	c := env.client(t, nil)
	a, err := c.Create(ctx, sampleItem("lumuctl-default-a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Create(ctx, sampleItem("lumuctl-default-b"))
	if err != nil {
		t.Fatal(err)
	}
	name := "edited by hand"
	for _, it := range []provider.Item{a, b} {
		if _, err := env.sim.EditItem(kibanasim.EditRequest{ID: it.ID, Name: &name}); err != nil {
			t.Fatal(err)
		}
	}
	a.Name = "mine"
	if _, err := c.Update(ctx, a); !errors.Is(err, provider.ErrConflict) {
		t.Errorf("Update with stale _version = %v, want ErrConflict", err)
	}
	if err := c.Delete(ctx, b.ID, b.Version); !errors.Is(err, provider.ErrConflict) {
		t.Errorf("Delete after a concurrent change = %v, want ErrConflict", err)
	}
	if _, err := c.Create(ctx, sampleItem("lumuctl-default-a")); !errors.Is(err, provider.ErrConflict) {
		t.Errorf("duplicate Create = %v, want ErrConflict", err)
	}
	for _, it := range env.sim.Items() {
		if it.Name != name {
			t.Errorf("item %s overwritten: %q", it.ItemID, it.Name)
		}
	}
}

func TestSimContainerRace(t *testing.T) {
	env := newSim(t, kibanasim.Options{Seed: 5})
	c := env.client(t, nil)
	if ok, err := c.ContainerExists(ctx); err != nil || ok {
		t.Fatalf("ContainerExists = %v, %v", ok, err)
	}
	// Another client (the Kibana UI) creates the list between our GET and POST.
	other := env.client(t, nil)
	if err := other.EnsureContainer(ctx); err != nil {
		t.Fatal(err)
	}
	body := `{"list_id":"endpoint_blocklists","name":"n","description":"d","type":"endpoint_blocklists","namespace_type":"agnostic"}`
	res, err := c.do(ctx, call{method: http.MethodPost, path: listPath, body: []byte(body), limit: maxItemBody})
	if err != nil || res.status != http.StatusConflict {
		t.Fatalf("second container create = %d, %v; want 409", res.status, err)
	}
	if err := c.EnsureContainer(ctx); err != nil {
		t.Errorf("EnsureContainer = %v", err)
	}
}

func TestSimErrors(t *testing.T) {
	tests := []struct {
		name string
		priv kibanasim.Privileges
		opts kibanasim.Options
		item func() provider.Item
		is   error
		want string
	}{
		{name: "invalid hash", item: func() provider.Item {
			it := sampleItem("lumuctl-default-a")
			it.Entries[0].Value = []string{"1"}
			return it
		}, want: "invalid hash value [1]"},
		{name: "unknown policy", item: func() provider.Item {
			it := sampleItem("lumuctl-default-a")
			it.Tags = []string{"policy:nope"}
			return it
		}, want: "invalid policy ids"},
		{name: "no blocklist write", priv: kibanasim.Privileges{NoBlocklistWrite: true}, is: provider.ErrForbidden, want: "Blocklist: All"},
		{name: "no lists-all", priv: kibanasim.Privileges{NoListsAll: true}, is: provider.ErrForbidden, want: "Blocklist: All"},
		{name: "basic license", priv: kibanasim.Privileges{BasicLicense: true}, opts: kibanasim.Options{PolicyIDs: []string{"p1"}},
			item: func() provider.Item {
				it := sampleItem("lumuctl-default-a")
				it.Tags = []string{"policy:p1"}
				return it
			}, is: provider.ErrForbidden, want: "Platinum"},
		{name: "no global artifact management", priv: kibanasim.Privileges{NoGlobalArtifactManagement: true},
			opts: kibanasim.Options{Space91: true}, is: provider.ErrForbidden, want: "Global Artifact Management"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Seed, opts.ContainerExists, opts.Privileges = 6, true, tt.priv
			env := newSim(t, opts)
			c := env.client(t, nil)
			it := sampleItem("lumuctl-default-a")
			if tt.item != nil {
				it = tt.item()
			}
			_, err := c.Create(ctx, it)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.is, tt.want)
			}
			if strings.Contains(err.Error(), simKey) {
				t.Errorf("error shows the key")
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		env := newSim(t, kibanasim.Options{Seed: 7})
		c := env.client(t, func(cfg *provider.TargetConfig) { cfg.APIKey = "d3Jvbmc6a2V5LXZhbHVl" })
		_, err := c.ContainerExists(ctx)
		if !errors.Is(err, provider.ErrUnauthorized) || !strings.Contains(err.Error(), `Kibana rejected the API key of kibana "prod"`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("read-only sends nothing", func(t *testing.T) {
		env := newSim(t, kibanasim.Options{Seed: 8, ContainerExists: true})
		c := env.client(t, func(cfg *provider.TargetConfig) { cfg.ReadOnly = true })
		if _, err := c.Create(ctx, sampleItem("lumuctl-default-a")); !errors.Is(err, provider.ErrReadOnly) {
			t.Fatalf("err = %v", err)
		}
		if n := len(env.sim.Log()); n != 0 {
			t.Errorf("stand-in saw %d requests", n)
		}
	})
}

func TestSimRetries(t *testing.T) {
	t.Run("502 then success", func(t *testing.T) {
		env := newSim(t, kibanasim.Options{Seed: 9, ContainerExists: true})
		env.sim.AddFault(kibanasim.Fault{Kind: kibanasim.KindFind, Status: 502})
		c := env.client(t, nil)
		if _, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"}); err != nil {
			t.Fatal(err)
		}
		if n := env.sim.Counters()[kibanasim.KindFind]; n != 2 {
			t.Errorf("_find requests = %d, want 2", n)
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		env := newSim(t, kibanasim.Options{Seed: 10, ContainerExists: true})
		env.sim.AddFault(kibanasim.Fault{Kind: kibanasim.KindReadList, Status: 429, RetryAfter: "4"})
		c, clk := newTestClient(t, env.srv, func(cfg *provider.TargetConfig) { cfg.APIKey = simKey })
		if ok, err := c.ContainerExists(ctx); err != nil || !ok {
			t.Fatalf("ContainerExists = %v, %v", ok, err)
		}
		if got := clk.Sleeps(); len(got) != 1 || got[0].Seconds() != 4 {
			t.Errorf("sleeps = %v, want [4s]", got)
		}
	})
	t.Run("create applied, connection reset", func(t *testing.T) {
		env := newSim(t, kibanasim.Options{Seed: 11, ContainerExists: true})
		env.sim.AddFault(kibanasim.Fault{Kind: kibanasim.KindCreateItem, ResetAfterSuccess: true})
		c := env.client(t, nil)
		got, err := c.Create(ctx, sampleItem("lumuctl-default-a"))
		if err != nil {
			t.Fatal(err)
		}
		if got.ItemID != "lumuctl-default-a" {
			t.Errorf("got %+v", got)
		}
		if n := env.sim.Counters()[kibanasim.KindCreateItem]; n != 2 {
			t.Errorf("creates = %d, want 2", n)
		}
		if n := len(env.sim.Items()); n != 1 {
			t.Errorf("items = %d, want 1", n)
		}
	})
}

func TestSimCheckPolicies(t *testing.T) {
	env := newSim(t, kibanasim.Options{Seed: 12, PolicyIDs: []string{"pol-a", "pol-b"}})
	c := env.client(t, nil)
	pc, err := c.CheckPolicies(ctx, []string{"pol-b", "pol-x"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(provider.PolicyCheck{Missing: []string{"pol-x"}}, pc); d != "" {
		t.Errorf("PolicyCheck (-want +got):\n%s", d)
	}
	env.sim.SetPrivileges(kibanasim.Privileges{NoFleetRead: true})
	pc, err = c.CheckPolicies(ctx, []string{"pol-b"})
	if err != nil || pc.Warning == "" || len(pc.Missing) != 0 {
		t.Errorf("without Fleet read: %+v, %v", pc, err)
	}
}

// TestSimCountUnmanaged: with CountUnmanaged the client counts every item
// without the prefix, including those the prefix filter never returns, at
// the cost of exactly one more _find.
func TestSimCountUnmanaged(t *testing.T) {
	env := newSim(t, kibanasim.Options{SeedUnowned: 7, Seed: 3})
	c := env.client(t, nil)
	ctx := context.Background()
	if err := c.EnsureContainer(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := c.Create(ctx, sampleItem(fmt.Sprintf("lumuctl-default-lumu-windows-sha256-%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	env.sim.ResetCounters()
	plain, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"})
	if err != nil {
		t.Fatal(err)
	}
	finds := env.sim.Counters()[kibanasim.KindFind]
	counted, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-", CountUnmanaged: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Owned) != 3 || len(counted.Owned) != 3 {
		t.Fatalf("owned = %d / %d, want 3", len(plain.Owned), len(counted.Owned))
	}
	if counted.Unmanaged != 7 {
		t.Fatalf("Unmanaged = %d, want the 7 seeded items", counted.Unmanaged)
	}
	if extra := env.sim.Counters()[kibanasim.KindFind] - 2*finds; extra != 1 {
		t.Fatalf("CountUnmanaged cost %d extra _find requests, want 1", extra)
	}
}

// TestSimLateLandingWrite: an interrupted run's write may land after the
// next run read the item. The next run's identical write is then answered
// 409 (create: the item_id exists; update: _version moved on); the client
// reads the item back and, since it holds exactly what would be sent,
// reports success. Different content stays a conflict.
func TestSimLateLandingWrite(t *testing.T) {
	env := newSim(t, kibanasim.Options{Seed: 13, ContainerExists: true})
	late := env.client(t, nil) // the interrupted run
	c := env.client(t, nil)    // the next run
	want := sampleItem("lumuctl-default-a")
	if _, err := late.Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	env.sim.ResetCounters()
	got, err := c.Create(ctx, want)
	if err != nil {
		t.Fatalf("identical create after a late landing: %v", err)
	}
	if n := env.sim.Counters()[kibanasim.KindCreateItem]; n != 1 {
		t.Errorf("creates = %d, want 1 (no retry)", n)
	}
	other := want
	other.Entries = []provider.Entry{{Field: "file.hash.sha256", Type: "match_any", Operator: "included", Value: hashes(2, "cd")}}
	if _, err := c.Create(ctx, other); !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("create with other content: err = %v, want a conflict", err)
	}

	// Update: the next run read the item at got.Version; the late update
	// moves it on with the same content the next run sends.
	upd := want
	upd.ID, upd.Version = got.ID, got.Version
	upd.Entries = other.Entries
	if _, err := late.Update(ctx, upd); err != nil {
		t.Fatal(err)
	}
	res, err := c.Update(ctx, upd)
	if err != nil {
		t.Fatalf("identical update after a late landing: %v", err)
	}
	if res.Version == got.Version {
		t.Errorf("update returned the old _version %s", res.Version)
	}
	stale := upd
	stale.Entries = want.Entries
	if _, err := c.Update(ctx, stale); !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("update with other content at a stale _version: err = %v, want a conflict", err)
	}
	if n := len(env.sim.Items()); n != 1 {
		t.Errorf("items = %d, want 1", n)
	}
}
