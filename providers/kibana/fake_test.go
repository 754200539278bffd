package kibana

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake is a small in-memory Kibana for the client's unit tests: the
// exception-list routes the client uses, with _version concurrency, a KQL
// subset on item_id (prefix wildcard or exact), the result window, optional
// ownerSpaceId tagging and Fleet package policies. Hook intercepts requests
// to inject faults. The strict stand-in is kibanasim; see sim_test.go.
type fake struct {
	mu           sync.Mutex
	key          string
	listExists   bool
	items        map[string]*fakeItem
	seq          int
	nextID       int
	ignoreFilter bool   // answer _find as if filter were absent
	ownerSpace   string // when set: tag creates, 403 on updates dropping the tag
	policies     []fakePolicy
	// hook runs first; returning true means it answered the request.
	hook   func(w http.ResponseWriter, r *http.Request, n int) bool
	reqs   []string // "METHOD /path?query"
	bodies [][]byte // request bodies, in order
	header []http.Header
	count  map[string]int // by "METHOD /path" (space prefix stripped)
}

type fakePolicy struct{ id, pkg string }

type fakeItem struct {
	ID            string      `json:"id"`
	ItemID        string      `json:"item_id"`
	ListID        string      `json:"list_id"`
	Version       string      `json:"_version"`
	NamespaceType string      `json:"namespace_type"`
	Type          string      `json:"type"`
	Name          string      `json:"name"`
	Description   string      `json:"description"`
	OSTypes       []string    `json:"os_types"`
	Tags          []string    `json:"tags"`
	Entries       []entryBody `json:"entries"`
	Comments      []any       `json:"comments"`
	TieBreaker    string      `json:"tie_breaker_id"`
	CreatedAt     string      `json:"created_at"`
	CreatedBy     string      `json:"created_by"`
	UpdatedAt     string      `json:"updated_at"`
	UpdatedBy     string      `json:"updated_by"`
}

const fakeKey = "dGVzdGtleTpzZWNyZXQtdmFsdWUtMTIz"

func newFake() *fake {
	return &fake{key: fakeKey, listExists: true, items: map[string]*fakeItem{}, count: map[string]int{}}
}

func (f *fake) start(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fake) version() string {
	f.seq++
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("[%d,1]", f.seq)))
}

// add stores an item directly (seeding); it returns the stored copy.
func (f *fake) add(itemID string, tags ...string) *fakeItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	it := &fakeItem{
		ID: fmt.Sprintf("so-%05d", f.nextID), ItemID: itemID, ListID: ListID, Version: f.version(),
		NamespaceType: NamespaceType, Type: "simple", Name: "seed " + itemID, Description: "",
		OSTypes: []string{"windows"}, Tags: nonNil(tags),
		Entries:    []entryBody{{Field: "file.hash.md5", Type: "match_any", Operator: "included", Value: []string{strings.Repeat("a", 32)}}},
		Comments:   []any{},
		TieBreaker: fmt.Sprintf("tb-%08d", (f.nextID*7919)%100000), CreatedAt: "2026-01-01T00:00:00.000Z",
		CreatedBy: "seed", UpdatedAt: "2026-01-01T00:00:00.000Z", UpdatedBy: "seed",
	}
	f.items[it.ID] = it
	return it
}

// touch changes an item behind the client's back (drift).
func (f *fake) touch(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[id]
	it.Name += " (edited)"
	it.Version = f.version()
	it.UpdatedAt = "2026-02-02T02:02:02.000Z"
	it.UpdatedBy = "alice"
}

func (f *fake) get(id string) *fakeItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	if it, ok := f.items[id]; ok {
		c := *it
		return &c
	}
	return nil
}

func (f *fake) byItemID(itemID string) *fakeItem {
	for _, it := range f.items {
		if it.ItemID == itemID {
			return it
		}
	}
	return nil
}

func (f *fake) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func (f *fake) calls(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count[key]
}

func siemJSON(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"message": msg, "status_code": status})
}

func boomJSON(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "error": http.StatusText(status), "message": msg})
}

func okJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/s/"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			path = rest[i:]
		}
	}
	raw, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	f.mu.Lock()
	if len(raw) > 0 {
		f.bodies = append(f.bodies, raw)
	}
	f.reqs = append(f.reqs, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.header = append(f.header, r.Header.Clone())
	f.count[r.Method+" "+path]++
	n := f.count[r.Method+" "+path]
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r, n) {
		return
	}
	f.core(w, r)
}

// core answers r like Kibana, without counting or hooks.
func (f *fake) core(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/s/"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			path = rest[i:]
		}
	}
	if r.Header.Get("Authorization") != "ApiKey "+f.key {
		boomJSON(w, 401, "Unauthorized")
		return
	}
	if r.Method != http.MethodGet && r.Header.Get("kbn-xsrf") == "" {
		boomJSON(w, 400, "Request must contain a kbn-xsrf header.")
		return
	}
	body, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasPrefix(path, "/api/exception_lists") && path != "/api/exception_lists" && (r.Method == http.MethodGet || r.Method == http.MethodDelete) && q.Get("namespace_type") != NamespaceType {
		siemJSON(w, 404, "exception list item does not exist (namespace single)")
		return
	}
	switch r.Method + " " + path {
	case "GET /api/exception_lists":
		if !f.listExists || q.Get("list_id") != ListID || q.Get("namespace_type") != NamespaceType {
			siemJSON(w, 404, `exception list list_id: "endpoint_blocklists" does not exist`)
			return
		}
		okJSON(w, map[string]any{"id": "list-1", "list_id": ListID, "type": "endpoint_blocklists"})
	case "POST /api/exception_lists":
		if f.listExists {
			siemJSON(w, 409, `exception list id: "endpoint_blocklists" already exists`)
			return
		}
		f.listExists = true
		okJSON(w, map[string]any{"id": "list-1", "list_id": ListID, "type": "endpoint_blocklists"})
	case "POST /api/exception_lists/items":
		var b itemBody
		if err := json.Unmarshal(body, &b); err != nil {
			boomJSON(w, 400, "[request body]: "+err.Error())
			return
		}
		if !f.listExists {
			siemJSON(w, 404, `exception list id: "endpoint_blocklists" does not exist`)
			return
		}
		if f.byItemID(b.ItemID) != nil {
			siemJSON(w, 409, fmt.Sprintf("exception list item id: %q already exists", b.ItemID))
			return
		}
		f.nextID++
		it := &fakeItem{ID: fmt.Sprintf("so-%05d", f.nextID), ListID: ListID, CreatedAt: "2026-03-03T03:03:03.000Z",
			CreatedBy: "key-owner", TieBreaker: fmt.Sprintf("tb-%08d", f.nextID)}
		f.fill(it, b)
		if f.ownerSpace != "" {
			it.Tags = append(it.Tags, ownerSpacePrefix+f.ownerSpace)
		}
		f.items[it.ID] = it
		okJSON(w, it)
	case "PUT /api/exception_lists/items":
		var b itemBody
		if err := json.Unmarshal(body, &b); err != nil {
			boomJSON(w, 400, "[request body]: "+err.Error())
			return
		}
		it, ok := f.items[b.ID]
		if !ok {
			siemJSON(w, 404, fmt.Sprintf("exception list item id: %q does not exist", b.ID))
			return
		}
		if f.ownerSpace != "" {
			for _, t := range it.Tags {
				if strings.HasPrefix(t, ownerSpacePrefix) && !slices.Contains(b.Tags, t) {
					siemJSON(w, 403, `EndpointArtifactError: Endpoint authorization failure. Management of "ownerSpaceId" tag requires global artifact management privilege`)
					return
				}
			}
		}
		if b.Version != "" && b.Version != it.Version {
			siemJSON(w, 409, "version conflict")
			return
		}
		f.fill(it, b)
		okJSON(w, it)
	case "GET /api/exception_lists/items", "DELETE /api/exception_lists/items":
		var it *fakeItem
		if id := q.Get("id"); id != "" {
			it = f.items[id]
		} else {
			it = f.byItemID(q.Get("item_id"))
		}
		if it == nil {
			siemJSON(w, 404, fmt.Sprintf("exception list item id: %q does not exist", q.Get("id")+q.Get("item_id")))
			return
		}
		if r.Method == http.MethodDelete {
			delete(f.items, it.ID)
		}
		okJSON(w, it)
	case "GET /api/exception_lists/items/_find":
		f.find(w, q)
	case "GET /api/fleet/package_policies":
		page, _ := strconv.Atoi(q.Get("page"))
		per, _ := strconv.Atoi(q.Get("perPage"))
		var items []any
		var matching []fakePolicy
		for _, p := range f.policies {
			if q.Get("kuery") != endpointKuery || p.pkg == "endpoint" {
				matching = append(matching, p)
			}
		}
		for i := (page - 1) * per; i < len(matching) && i < page*per; i++ {
			items = append(items, map[string]any{"id": matching[i].id, "package": map[string]any{"name": matching[i].pkg}})
		}
		okJSON(w, map[string]any{"items": nonNilAny(items), "total": len(matching), "page": page, "perPage": per})
	default:
		boomJSON(w, 404, "Not Found")
	}
}

func nonNilAny(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

func (f *fake) fill(it *fakeItem, b itemBody) {
	it.ItemID, it.Name, it.Description = b.ItemID, b.Name, b.Description
	it.NamespaceType, it.Type = b.NamespaceType, b.Type
	it.OSTypes, it.Tags, it.Comments = b.OSTypes, b.Tags, []any{}
	it.Entries = nil
	for _, e := range b.Entries {
		e.Value = dedupe(e.Value)
		it.Entries = append(it.Entries, e)
	}
	it.Version = f.version()
	it.UpdatedAt = time.Date(2026, 3, 3, 3, 3, 3, 0, time.UTC).Format(time.RFC3339Nano)
	it.UpdatedBy = "key-owner"
}

// find implements _find with a KQL subset: item_id:<escaped>[*].
func (f *fake) find(w http.ResponseWriter, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if !f.listExists {
		siemJSON(w, 404, `exception list id: "endpoint_blocklists" does not exist`)
		return
	}
	page, _ := strconv.Atoi(get("page"))
	per, _ := strconv.Atoi(get("per_page"))
	if page*per > ResultWindow {
		siemJSON(w, 500, "Result window is too large, from + size must be less than or equal to: [10000]")
		return
	}
	match := func(string) bool { return true }
	if flt := get("filter"); flt != "" && !f.ignoreFilter {
		val, ok := strings.CutPrefix(flt, itemIDField+":")
		if !ok {
			siemJSON(w, 400, "unsupported filter "+flt)
			return
		}
		wild := strings.HasSuffix(val, "*") && !strings.HasSuffix(val, `\*`)
		val = strings.TrimSuffix(val, "*")
		var lit strings.Builder
		for i := 0; i < len(val); i++ {
			if val[i] == '\\' && i+1 < len(val) {
				i++
			}
			lit.WriteByte(val[i])
		}
		want := lit.String()
		match = func(id string) bool {
			if wild {
				return strings.HasPrefix(id, want)
			}
			return id == want
		}
	}
	var all []*fakeItem
	for _, it := range f.items {
		if match(it.ItemID) {
			all = append(all, it)
		}
	}
	slices.SortFunc(all, func(a, b *fakeItem) int { return strings.Compare(a.TieBreaker, b.TieBreaker) })
	data := []*fakeItem{}
	for i := (page - 1) * per; i >= 0 && i < len(all) && i < page*per; i++ {
		data = append(data, all[i])
	}
	okJSON(w, map[string]any{"data": data, "page": page, "per_page": per, "total": len(all)})
}

// sentBodies decodes the request bodies received so far.
func (f *fake) sentBodies(t *testing.T) []map[string]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, b := range f.bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("request body %s: %v", b, err)
		}
		out = append(out, m)
	}
	return out
}
