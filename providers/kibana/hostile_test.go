package kibana

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// hostileItem is an owned item as Kibana returns it, with extra fields
// spliced in (later keys win in encoding/json).
func hostileItem(n int, extra string) string {
	return fmt.Sprintf(`{"id":"so-%d","item_id":"lumuctl-default-lumu-windows-sha256-%d","_version":"WzEsMV0=","list_id":"endpoint_blocklists",`+
		`"name":"n","description":"d","os_types":["windows"],"tags":["policy:all"],`+
		`"entries":[{"field":"file.hash.sha256","type":"match_any","operator":"included","value":["%064x"]}]%s}`, n, n, n, extra)
}

func findPageJSON(total int, items ...string) string {
	return fmt.Sprintf(`{"data":[%s],"page":1,"per_page":2,"total":%d}`, strings.Join(items, ","), total)
}

// TestHostileFindAnswers lists against servers whose _find answers are
// hostile. Each must end with a clear error or a bounded, checked result,
// with bounded allocation and a bounded number of requests.
func TestHostileFindAnswers(t *testing.T) {
	const prefix = "lumuctl-default-"
	cases := []struct {
		name     string
		handler  func(w http.ResponseWriter, r *http.Request, n int) // n: 1-based request number
		wantErr  string                                              // "" = success
		wantOwn  int
		maxCalls int
		maxAlloc uint64
	}{
		{
			name: "300 MB page",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				testkit.StreamBody(w, `{"data":[`, ' ', 300*testkit.MB, `],"total":0}`)
			},
			wantErr: fmt.Sprintf("response larger than %d bytes", maxPageBody), maxCalls: 1,
			// io.ReadAll keeps the chunks and copies them once: about twice
			// maxPageBody (256 MB), whatever the size of the body.
			maxAlloc: 3 * maxPageBody,
		},
		{
			name: "100,000 levels of [",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				testkit.StreamBody(w, `{"data":`, '[', 100000, ``)
			},
			wantErr: "decode", maxCalls: 1, maxAlloc: 16 * testkit.MB,
		},
		{
			name: "owned item without id",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				fmt.Fprint(w, findPageJSON(1, hostileItem(1, `,"id":""`)))
			},
			wantErr: "has no id", maxCalls: 1, maxAlloc: 16 * testkit.MB,
		},
		{
			name: "owned item without _version",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				fmt.Fprint(w, findPageJSON(1, hostileItem(1, `,"_version":""`)))
			},
			wantErr: "has no _version", maxCalls: 1, maxAlloc: 16 * testkit.MB,
		},
		{
			name: "foreign items without id are counted, not owned",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				fmt.Fprint(w, findPageJSON(2, `{"item_id":"someone-else"}`, `{"name":"no ids at all"}`))
			},
			wantOwn: 0, maxCalls: 1, maxAlloc: 16 * testkit.MB,
		},
		{
			name: "total never ends: a full page of fresh items forever",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				fmt.Fprint(w, findPageJSON(1_000_000_000, hostileItem(2*n, ""), hostileItem(2*n+1, "")))
			},
			// the exact-match query is refused too: no narrowing helps
			wantErr: `1000000000 items have item_id "lumuctl-default-"`, maxCalls: 2, maxAlloc: 16 * testkit.MB,
		},
		{
			name: "total never ends for every prefix, exact matches empty",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				if !strings.HasSuffix(r.URL.Query().Get("filter"), "*") {
					fmt.Fprint(w, findPageJSON(0))
					return
				}
				fmt.Fprint(w, findPageJSON(1_000_000_000, hostileItem(2*n, ""), hostileItem(2*n+1, "")))
			},
			// narrowing goes one character deeper per level and gives up at
			// maxSplitDepth: a prefix and an exact query per level.
			wantErr: "even after narrowing the prefix 8 times", maxCalls: 2*maxSplitDepth + 1, maxAlloc: 16 * testkit.MB,
		},
		{
			name: "total within the window, pages keep coming",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				fmt.Fprint(w, findPageJSON(10, hostileItem(2*n, ""), hostileItem(2*n+1, "")))
			},
			// got >= total stops after 5 pages of 2: what was listed is
			// returned, bounded by the window.
			wantOwn: 10, maxCalls: 5, maxAlloc: 16 * testkit.MB,
		},
		{
			name: "the same page again and again",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				fmt.Fprint(w, findPageJSON(10, hostileItem(1, ""), hostileItem(2, "")))
			},
			wantErr: "repeated only items of earlier pages", maxCalls: 2, maxAlloc: 16 * testkit.MB,
		},
		{
			name: "100 MB description on an owned item",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				head := strings.TrimSuffix(findPageJSON(1, hostileItem(1, `,"description":"`)), `}],"page":1,"per_page":2,"total":1}`)
				testkit.StreamBody(w, head, 'x', 100*testkit.MB, `"}],"total":1}`)
			},
			// Refused: larger than maxPageBody (32 MiB), read no further.
			wantErr: fmt.Sprintf("response larger than %d bytes", maxPageBody), maxCalls: 1, maxAlloc: 3 * maxPageBody,
		},
		{
			name: "control characters in item_id after the prefix",
			handler: func(w http.ResponseWriter, r *http.Request, n int) {
				fmt.Fprint(w, findPageJSON(1, hostileItem(1, `,"item_id":"lumuctl-default-\u001b[2J","name":"\u001b]0;x\u0007"`)))
			},
			// Owned by prefix and returned as data: the views sanitise what
			// they print (cmd/lumuctl/internal/views hostile_test.go).
			wantOwn: 1, maxCalls: 1, maxAlloc: 16 * testkit.MB,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.maxAlloc > testkit.HeavyAlloc && testkit.RaceBuild() {
				t.Skip("reads hundreds of MB; allocation is only measured without -race")
			}
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if r.URL.Path != findPath {
					http.Error(w, "unexpected", http.StatusTeapot)
					return
				}
				tc.handler(w, r, n)
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, nil, WithPageSize(2))
			c.window = 10
			var (
				res provider.ListResponse
				err error
			)
			alloc := testkit.AllocDuring(func() { res, err = c.List(ctx, provider.ListRequest{Prefix: prefix}) })
			t.Logf("%d requests, allocated %.1f MB", calls.Load(), float64(alloc)/testkit.MB)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), testKey) || len(err.Error()) > 1024 {
					t.Errorf("error holds the key or is %d bytes long", len(err.Error()))
				}
			} else {
				if len(res.Owned) != tc.wantOwn {
					t.Errorf("owned = %d, want %d", len(res.Owned), tc.wantOwn)
				}
				for _, it := range res.Owned {
					if !strings.HasPrefix(it.ItemID, prefix) || it.ID == "" || it.Version == "" {
						t.Errorf("owned item lacks prefix, id or _version: %.200v", it)
					}
				}
			}
			if got := int(calls.Load()); got > tc.maxCalls {
				t.Errorf("%d requests, want at most %d", got, tc.maxCalls)
			}
			if alloc > tc.maxAlloc {
				t.Errorf("allocated %d MB, want at most %d MB", alloc/testkit.MB, tc.maxAlloc/testkit.MB)
			}
		})
	}
}

// TestHostileItemAnswers reads one item from hostile servers.
func TestHostileItemAnswers(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    func(w http.ResponseWriter)
		wantErr string
	}{
		{"300 MB item", 200, func(w http.ResponseWriter) { testkit.StreamBody(w, `{"name":"`, 'x', 300*testkit.MB, `"}`) },
			fmt.Sprintf("response larger than %d bytes", maxItemBody)},
		{"item without id", 200, func(w http.ResponseWriter) { fmt.Fprint(w, hostileItem(1, `,"id":""`)) }, "has no id"},
		{"item without _version", 200, func(w http.ResponseWriter) { fmt.Fprint(w, hostileItem(1, `,"_version":""`)) }, "has no _version"},
		{"100,000 levels of {", 200, func(w http.ResponseWriter) { testkit.StreamBody(w, `{"meta":`, '[', 100000, ``) }, "decode item"},
		{"300 MB error body", 400, func(w http.ResponseWriter) { testkit.StreamBody(w, `{"message":"`, 'x', 300*testkit.MB, `"}`) }, "400 Bad Request"},
		{"ANSI escapes in an error message", 400, func(w http.ResponseWriter) {
			fmt.Fprint(w, `{"message":"\u001b[2J\u001b]0;pwned\u0007 bad \u009b31m","status_code":400}`)
		}, "bad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "300 MB item" && testkit.RaceBuild() {
				t.Skip("reads 16 MB; allocation is only measured without -race")
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				tc.body(w)
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, nil)
			var err error
			alloc := testkit.AllocDuring(func() { _, err = c.Get(ctx, "so-1") })
			t.Logf("allocated %.1f MB", float64(alloc)/testkit.MB)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			msg := err.Error()
			if i := strings.IndexFunc(msg, isTerminalControl); i >= 0 {
				t.Errorf("error holds control character %q: %q", msg[i:i+1], msg)
			}
			if len(msg) > maxErrorBody+1024 {
				t.Errorf("error of %d bytes", len(msg))
			}
			if alloc > 3*maxItemBody {
				t.Errorf("allocated %d MB, want at most %d MB", alloc/testkit.MB, 3*maxItemBody/testkit.MB)
			}
		})
	}
}
