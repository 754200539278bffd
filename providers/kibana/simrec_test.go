package kibana

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
)

// testKey is the API key of the stand-ins in this package's tests.
const testKey = "dGVzdGtleTpzZWNyZXQtdmFsdWUtMTIz"

// recSim is the strict stand-in (kibanasim, contract-checked; see newSim)
// behind a recorder: every request the client sends is logged, counted and
// can be answered instead by hook, to inject faults the stand-in does not
// model. Kibana's behaviour itself comes only from kibanasim.
type recSim struct {
	*simEnv
	mu  sync.Mutex
	now time.Time // the stand-in's clock
	// hook runs first; returning true means it answered the request. n is
	// the 1-based number of the request with this method and path.
	hook   func(w http.ResponseWriter, r *http.Request, n int) bool
	reqs   []string // "METHOD /path?query"
	bodies [][]byte // request bodies, in order
	header []http.Header
	count  map[string]int
}

// newRecSim starts a recorded stand-in with the container created (unless
// noContainer), reporting "key-owner" as the user, on a fixed clock.
func newRecSim(t *testing.T, opts kibanasim.Options, noContainer bool) *recSim {
	t.Helper()
	rs := &recSim{now: time.Date(2026, 3, 3, 3, 3, 3, 0, time.UTC), count: map[string]int{}}
	opts.ContainerExists = !noContainer
	if opts.User == "" {
		opts.User = "key-owner"
	}
	opts.Now = rs.clock
	rs.simEnv = newSimWith(t, opts, testKey, func(h http.Handler) http.Handler { return rs.recorder(h) })
	return rs
}

func (rs *recSim) clock() time.Time {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.now
}

func (rs *recSim) recorder(sim http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		key := r.Method + " " + spacelessPath(r.URL.Path)
		rs.mu.Lock()
		if len(raw) > 0 {
			rs.bodies = append(rs.bodies, raw)
		}
		rs.reqs = append(rs.reqs, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		rs.header = append(rs.header, r.Header.Clone())
		rs.count[key]++
		n := rs.count[key]
		hook := rs.hook
		rs.mu.Unlock()
		if hook != nil && hook(w, r, n) {
			return
		}
		sim.ServeHTTP(w, r)
	})
}

// spacelessPath strips a /s/<space> prefix.
func spacelessPath(path string) string {
	if rest, ok := strings.CutPrefix(path, "/s/"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i:]
		}
	}
	return path
}

// requests returns "METHOD /path?query" of every request so far.
func (rs *recSim) requests() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.reqs)
}

// forget drops the requests recorded so far (not the counts).
func (rs *recSim) forget() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.reqs = nil
}

// headers returns the headers of every request so far.
func (rs *recSim) headers() []http.Header {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.header)
}

// lastBody returns the last request body received.
func (rs *recSim) lastBody() []byte {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.bodies) == 0 {
		return nil
	}
	return rs.bodies[len(rs.bodies)-1]
}

// calls returns how many requests "METHOD /path" (space prefix stripped) got.
func (rs *recSim) calls(key string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.count[key]
}

// sentBodies decodes the request bodies received so far.
func (rs *recSim) sentBodies(t *testing.T) []map[string]any {
	t.Helper()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []map[string]any
	for _, b := range rs.bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("request body %s: %v", b, err)
		}
		out = append(out, m)
	}
	return out
}

// direct sends a request to the stand-in itself, not recorded nor hooked.
func (rs *recSim) direct(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	r := httptest.NewRequest(method, path, rd)
	r.Header.Set("Authorization", "ApiKey "+testKey)
	r.Header.Set("kbn-xsrf", "true")
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	rs.sim.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// containerExists asks the stand-in whether endpoint_blocklists exists.
func (rs *recSim) containerExists(t testing.TB) bool {
	t.Helper()
	code, _ := rs.direct(t, http.MethodGet, "/api/exception_lists?list_id="+ListID+"&namespace_type="+NamespaceType, nil)
	return code == http.StatusOK
}

// createList creates a list of the agnostic namespace in the stand-in.
func (rs *recSim) createList(t testing.TB, listID string) {
	t.Helper()
	code, body := rs.direct(t, http.MethodPost, "/api/exception_lists", map[string]any{
		"list_id": listID, "name": listID, "description": listID, "type": listID, "namespace_type": NamespaceType,
	})
	if code != http.StatusOK && code != http.StatusConflict {
		t.Fatalf("create list %s: %d %s", listID, code, body)
	}
}

// add stores a blocklist item (tags policy:all unless given) as another
// Kibana user would, and returns it.
func (rs *recSim) add(t testing.TB, itemID string, tags ...string) kibanasim.Item {
	t.Helper()
	return rs.addTo(t, ListID, itemID, tags...)
}

// addTo is add for any list of the agnostic namespace (created if needed).
func (rs *recSim) addTo(t testing.TB, listID, itemID string, tags ...string) kibanasim.Item {
	t.Helper()
	if listID != ListID || !rs.containerExists(t) {
		rs.createList(t, listID)
	}
	code, body := rs.direct(t, http.MethodPost, "/api/exception_lists/items", map[string]any{
		"list_id": listID, "item_id": itemID, "namespace_type": NamespaceType, "type": "simple",
		"name": "seed " + itemID, "description": "", "os_types": []string{"windows"}, "tags": []string{"policy:all"},
		"entries": []any{map[string]any{"field": "file.hash.md5", "type": "match_any", "operator": "included", "value": []string{strings.Repeat("a", 32)}}},
	})
	var it kibanasim.Item
	if code != http.StatusOK || json.Unmarshal(body, &it) != nil {
		t.Fatalf("seed item %s: %d %s", itemID, code, body)
	}
	if tags != nil && !slices.Equal(tags, it.Tags) {
		// Tags the blocklist rules refuse (an unknown policy): set behind
		// the API's back, as another writer could have.
		var err error
		if it, err = rs.sim.EditItem(kibanasim.EditRequest{ID: it.ID, Tags: &tags, User: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	return it
}

// touch changes an item behind the client's back (drift): alice renames it
// at 2026-02-02T02:02:02Z.
func (rs *recSim) touch(t testing.TB, id string) kibanasim.Item {
	t.Helper()
	rs.mu.Lock()
	saved := rs.now
	rs.now = time.Date(2026, 2, 2, 2, 2, 2, 0, time.UTC)
	rs.mu.Unlock()
	defer func() {
		rs.mu.Lock()
		rs.now = saved
		rs.mu.Unlock()
	}()
	it := rs.get(id)
	if it == nil {
		t.Fatalf("touch: no item %s", id)
	}
	name := it.Name + " (edited)"
	edited, err := rs.sim.EditItem(kibanasim.EditRequest{ID: id, Name: &name, User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return edited
}

// get returns the stored item with saved-object id, or nil.
func (rs *recSim) get(id string) *kibanasim.Item {
	for _, it := range rs.sim.Items() {
		if it.ID == id {
			return &it
		}
	}
	return nil
}

// siemJSON answers with Kibana's SIEM error envelope.
func siemJSON(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": msg, "status_code": status})
}

// boomJSON answers with Kibana's platform (Boom) error envelope.
func boomJSON(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "error": http.StatusText(status), "message": msg})
}

// okJSON answers 200 with v as JSON.
func okJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
