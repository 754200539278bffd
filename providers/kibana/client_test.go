package kibana

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// newClock is the kibana tests' clock.
func newClock() *testkit.Clock { return testkit.NewClock(time.Date(2026, 8, 10, 9, 0, 0, 0, time.UTC)) }

// newTestClient returns a client for srv with a fake clock and no jitter
// (rand returns 0, so the backoff is exactly half its base).
func newTestClient(t *testing.T, srv *httptest.Server, mod func(*provider.TargetConfig), opts ...Option) (*Client, *testkit.Clock) {
	t.Helper()
	clk := newClock()
	cfg := provider.TargetConfig{Name: "prod", URL: srv.URL, APIKey: testKey, RetryTimeout: time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	opts = append([]Option{WithHTTPClient(srv.Client()), WithClock(clk.Now), WithSleeper(clk.Sleep), WithRand(func() float64 { return 0 })}, opts...)
	c, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

var ctx = context.Background()

func hashes(n int, seed string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%064x", i) // 64 hex chars
		out[i] = seed + out[i][len(seed):]
	}
	return out
}

func sampleItem(itemID string) provider.Item {
	return provider.Item{
		ItemID:      itemID,
		Name:        "lumuctl lumu windows sha256 1",
		Description: "Managed by lumuctl; manual edits are reverted",
		OSTypes:     []string{"windows"},
		Tags:        []string{"policy:all"},
		Entries:     []provider.Entry{{Field: "file.hash.sha256", Type: "match_any", Operator: "included", Value: hashes(3, "ab")}},
	}
}

func TestEnsureContainer(t *testing.T) {
	tests := []struct {
		name      string
		exists    bool
		race      bool // GET says 404, but someone creates it before our POST
		wantPosts int
	}{
		{name: "exists", exists: true, wantPosts: 0},
		{name: "missing", exists: false, wantPosts: 1},
		{name: "creation race answers 409", exists: false, race: true, wantPosts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRecSim(t, kibanasim.Options{}, !tt.exists)
			if tt.race {
				f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
					if r.Method == http.MethodGet {
						siemJSON(w, 404, `exception list list_id: "endpoint_blocklists" does not exist`)
						return true
					}
					f.createList(t, ListID)
					return false
				}
			}
			c := f.client(t, nil)
			ok, err := c.ContainerExists(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tt.exists && !tt.race) {
				t.Errorf("ContainerExists = %v", ok)
			}
			if err := c.EnsureContainer(ctx); err != nil {
				t.Fatalf("EnsureContainer: %v", err)
			}
			if got := f.calls("POST /api/exception_lists"); got != tt.wantPosts {
				t.Errorf("POSTs = %d, want %d", got, tt.wantPosts)
			}
			if !f.containerExists(t) {
				t.Error("list does not exist afterwards")
			}
		})
	}
}

func TestEnsureContainerBody(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, true)
	c := f.client(t, nil)
	if err := c.EnsureContainer(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"list_id": "endpoint_blocklists", "name": "Endpoint Security Blocklists List",
		"description": "Endpoint Security Blocklists List", "type": "endpoint_blocklists", "namespace_type": "agnostic",
	}
	if d := cmp.Diff(want, f.sentBodies(t)[0]); d != "" {
		t.Errorf("container body mismatch (-want +got):\n%s", d)
	}
}

func TestCRUD(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	c := f.client(t, nil)

	in := sampleItem("lumuctl-default-lumu-windows-sha256-0001")
	in.Entries[0].Value = append(in.Entries[0].Value, in.Entries[0].Value[0]) // Kibana dedupes
	created, err := c.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Version == "" || created.UpdatedAt.IsZero() || created.UpdatedBy != "key-owner" {
		t.Errorf("created item lacks server fields: %+v", created)
	}
	wantCreate := map[string]any{
		"list_id": "endpoint_blocklists", "item_id": in.ItemID, "namespace_type": "agnostic", "type": "simple",
		"name": in.Name, "description": in.Description, "os_types": []any{"windows"}, "tags": []any{"policy:all"},
		"entries": []any{map[string]any{"field": "file.hash.sha256", "type": "match_any", "operator": "included",
			"value": []any{in.Entries[0].Value[0], in.Entries[0].Value[1], in.Entries[0].Value[2], in.Entries[0].Value[0]}}},
		"comments": []any{},
	}
	if d := cmp.Diff(wantCreate, f.sentBodies(t)[0]); d != "" {
		t.Errorf("create body mismatch (-want +got):\n%s", d)
	}

	byID, err := c.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(created, byID); d != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", d)
	}
	byItemID, err := c.GetByItemID(ctx, in.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(created, byItemID); d != "" {
		t.Errorf("GetByItemID mismatch (-want +got):\n%s", d)
	}

	upd := created
	upd.Entries = []provider.Entry{{Field: "file.hash.sha256", Type: "match_any", Operator: "included", Value: hashes(1, "cd")}}
	updated, err := c.Update(ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Version == created.Version {
		t.Error("update did not change _version")
	}
	wantUpdate := map[string]any{
		"id": created.ID, "_version": created.Version, "item_id": in.ItemID, "namespace_type": "agnostic", "type": "simple",
		"name": in.Name, "description": in.Description, "os_types": []any{"windows"}, "tags": []any{"policy:all"},
		"entries": []any{map[string]any{"field": "file.hash.sha256", "type": "match_any", "operator": "included",
			"value": []any{upd.Entries[0].Value[0]}}},
		"comments": []any{},
	}
	if d := cmp.Diff(wantUpdate, f.sentBodies(t)[1]); d != "" {
		t.Errorf("update body mismatch (-want +got):\n%s", d)
	}

	if err := c.Delete(ctx, updated.ID, updated.Version); err != nil {
		t.Fatal(err)
	}
	if f.get(updated.ID) != nil {
		t.Error("item still exists after Delete")
	}
	if _, err := c.Get(ctx, updated.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Get after delete = %v, want ErrNotFound", err)
	}
	if err := c.Delete(ctx, updated.ID, updated.Version); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	// Every request carried namespace_type=agnostic.
	for _, r := range f.requests() {
		if !strings.Contains(r, "namespace_type=agnostic") && !strings.HasPrefix(r, "POST ") && !strings.HasPrefix(r, "PUT ") {
			t.Errorf("request without namespace_type=agnostic: %s", r)
		}
	}
}

func TestCreateDuplicateItemID(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	f.add(t, "lumuctl-default-lumu-windows-sha256-0001")
	c := f.client(t, nil)
	_, err := c.Create(ctx, sampleItem("lumuctl-default-lumu-windows-sha256-0001"))
	if !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if got := f.calls("POST /api/exception_lists/items"); got != 1 {
		t.Errorf("POSTs = %d, want 1 (a first-attempt 409 is not retried)", got)
	}
}

func TestList(t *testing.T) {
	const prefix = "lumuctl-default-"
	lookalikes := []string{"lumuctl-defaultx-lumu-0001", "xlumuctl-default-lumu-0001", "lumuctl-other-lumu-0001", "LUMUCTL-default-x", "foreign-uuid"}
	tests := []struct {
		name          string
		owned         int
		ignoreFilter  bool
		pageSize      int
		wantFinds     int
		wantUnmanaged int
	}{
		{name: "paging over 1000 items", owned: 2345, pageSize: 1000, wantFinds: 3},
		{name: "exact page multiple", owned: 2000, pageSize: 1000, wantFinds: 2},
		{name: "empty", owned: 0, pageSize: 1000, wantFinds: 1},
		{name: "server ignores the filter", owned: 30, ignoreFilter: true, pageSize: 10, wantFinds: 4, wantUnmanaged: len(lookalikes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRecSim(t, kibanasim.Options{}, false)
			if tt.ignoreFilter {
				f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
					q := r.URL.Query()
					q.Del("filter")
					r.URL.RawQuery = q.Encode()
					return false
				}
			}
			var want []string
			for i := range tt.owned {
				id := fmt.Sprintf("%slumu-windows-sha256-%04d", prefix, i)
				f.add(t, id)
				want = append(want, id)
			}
			for _, id := range lookalikes {
				f.add(t, id)
			}
			c := f.client(t, nil, WithPageSize(tt.pageSize))
			resp, err := c.List(ctx, provider.ListRequest{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range resp.Owned {
				got = append(got, it.ItemID)
				if it.ID == "" || it.Version == "" {
					t.Fatalf("owned item without id/_version: %+v", it)
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("owned mismatch (-want +got):\n%s", d)
			}
			if resp.Unmanaged != tt.wantUnmanaged {
				t.Errorf("Unmanaged = %d, want %d", resp.Unmanaged, tt.wantUnmanaged)
			}
			if n := f.calls("GET /api/exception_lists/items/_find"); n != tt.wantFinds {
				t.Errorf("_find calls = %d, want %d", n, tt.wantFinds)
			}
		})
	}
}

func TestListQuery(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	c := f.client(t, nil)
	if _, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %q", reqs)
	}
	u, _ := http.NewRequest("GET", "http://x"+strings.TrimPrefix(reqs[0], "GET "), nil)
	got := map[string]string{}
	for k, v := range u.URL.Query() {
		got[k] = strings.Join(v, "|")
	}
	want := map[string]string{
		"list_id": "endpoint_blocklists", "namespace_type": "agnostic", "page": "1", "per_page": "100",
		"sort_field": "tie_breaker_id", "sort_order": "asc",
		"filter": "exception-list-agnostic.attributes.item_id:lumuctl-default-*",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("_find query mismatch (-want +got):\n%s", d)
	}
}

func TestEscapeKQL(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "lumuctl-default-", want: "lumuctl-default-"},
		{in: `a:b(c)d"e*f\g<h>i j{k}`, want: `a\:b\(c\)d\"e\*f\\g\<h\>i\ j\{k\}`},
		{in: "a,b", err: "comma"},
		{in: "a\x00b", err: "control"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := escapeKQL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("escapeKQL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestListWindowSplit(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	var want []string
	for i := range 45 {
		// item_ids continue with 'a', 'b' or a digit after the prefix
		id := fmt.Sprintf("lumuctl-default-%c%03d", "ab1"[i%3], i)
		f.add(t, id)
		want = append(want, id)
	}
	f.add(t, "lumuctl-default-") // exact prefix
	want = append([]string{"lumuctl-default-"}, want...)
	slices.Sort(want)
	c := f.client(t, nil, WithPageSize(10))
	c.window = 20 // 2 pages of 10
	resp, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range resp.Owned {
		got = append(got, it.ItemID)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("owned mismatch (-want +got):\n%s", d)
	}
	for _, r := range f.requests() {
		if strings.Contains(r, "page=3") {
			t.Errorf("request beyond the window: %s", r)
		}
	}

	// An item continuing with a character outside [-0-9_a-z] cannot be
	// reached by narrowing: List must fail, not skip it.
	for i := range 25 {
		f.add(t, fmt.Sprintf("lumuctl-default-X%02d", i))
	}
	_, err = c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"})
	if err == nil || !strings.Contains(err.Error(), "outside [-0-9_a-z]") {
		t.Errorf("err = %v, want an error about characters outside the split set", err)
	}
}

func TestListBadPages(t *testing.T) {
	item := func(id, itemID string) string {
		return fmt.Sprintf(`{"id":%q,"item_id":%q,"_version":"WzEsMV0=","list_id":"endpoint_blocklists","entries":[]}`, id, itemID)
	}
	page := func(total int, items ...string) string {
		return fmt.Sprintf(`{"data":[%s],"page":1,"per_page":2,"total":%d}`, strings.Join(items, ","), total)
	}
	tests := []struct {
		name      string
		body      func(n int) string
		wantErr   string
		wantOwned int
		wantUnman int
	}{
		{name: "same page forever", body: func(int) string {
			return page(10, item("a", "lumuctl-default-1"), item("b", "lumuctl-default-2"))
		}, wantErr: "repeated"},
		{name: "owned item without id", body: func(int) string { return page(1, item("", "lumuctl-default-1")) }, wantErr: "has no id"},
		{name: "owned item with a non-string value", body: func(int) string {
			return page(1, `{"id":"a","item_id":"lumuctl-default-1","_version":"v","entries":[{"field":"f","type":"match_any","value":[1]}]}`)
		}, wantErr: "not a list of strings"},
		{name: "owned item of another list", body: func(int) string {
			return page(1, `{"id":"a","item_id":"lumuctl-default-1","_version":"v","list_id":"endpoint_trusted_apps"}`)
		}, wantErr: "belongs to list"},
		{name: "no total", body: func(int) string { return `{"data":[]}` }, wantErr: "no total"},
		{name: "not JSON", body: func(int) string { return `{"data":[` }, wantErr: "decode"},
		{name: "HTML", body: func(int) string { return `<html>` }, wantErr: "did not come from Kibana's exception-list API: an HTML page"},
		{name: "foreign items of odd shape are only counted", body: func(int) string {
			return page(3, `{"id":"x","entries":"weird","meta":5}`, `{"item_id":"other"}`, item("c", "lumuctl-default-1"))
		}, wantOwned: 1, wantUnman: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(tt.body(0)))
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, nil, WithPageSize(2))
			resp, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Owned) != tt.wantOwned || resp.Unmanaged != tt.wantUnman {
				t.Errorf("owned %d unmanaged %d, want %d %d", len(resp.Owned), resp.Unmanaged, tt.wantOwned, tt.wantUnman)
			}
		})
	}
}

func TestListEmptyPrefix(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	c := f.client(t, nil)
	if _, err := c.List(ctx, provider.ListRequest{}); err == nil {
		t.Fatal("List with empty prefix succeeded")
	}
	if len(f.requests()) != 0 {
		t.Errorf("requests sent: %q", f.requests())
	}
}
