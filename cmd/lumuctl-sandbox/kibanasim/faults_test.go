package kibanasim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFaults(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	if err := ts.s.AddFault(Fault{Kind: KindFind, Count: 2, Status: 429, RetryAfter: "0"}); err != nil {
		t.Fatal(err)
	}
	if err := ts.s.AddFault(Fault{Kind: "*", Status: 503}); err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 4 {
		got = append(got, ts.do("GET", agnosticFind(), nil).status)
	}
	if diff := cmp.Diff([]int{429, 429, 503, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if r := ts.do("GET", agnosticFind(), nil); r.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After on a normal answer")
	}

	t.Run("429 carries Retry-After", func(t *testing.T) {
		ts.s.AddFault(Fault{Kind: KindCreateItem, Status: 429, RetryAfter: "3"})
		r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-429"))
		if r.status != 429 || r.header.Get("Retry-After") != "3" {
			t.Errorf("status %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
	})

	t.Run("reset", func(t *testing.T) {
		ts.s.AddFault(Fault{Kind: KindFind, Reset: true})
		req, _ := http.NewRequest("GET", ts.url+agnosticFind(), nil)
		req.Header.Set("Authorization", "ApiKey "+testKey)
		// A fresh connection: net/http silently retries idempotent requests
		// that fail on a reused one.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("request succeeded with %d through a reset", res.StatusCode)
		}
	})

	t.Run("succeed server-side, then reset", func(t *testing.T) {
		ts.s.AddFault(Fault{Kind: KindCreateItem, ResetAfterSuccess: true})
		body, _ := json.Marshal(blockItem("lumuctl-ghost"))
		req, _ := http.NewRequest("POST", ts.url+"/api/exception_lists/items", bytes.NewReader(body))
		req.Header.Set("Authorization", "ApiKey "+testKey)
		req.Header.Set("kbn-xsrf", "true")
		req.Header.Set("Content-Type", "application/json")
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("request succeeded with %d through a reset", res.StatusCode)
		}
		r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-ghost"))
		if r.status != 409 {
			t.Errorf("retried create: %d, want 409 (the first one was stored)", r.status)
		}
	})

	t.Run("bad faults", func(t *testing.T) {
		for _, f := range []Fault{{}, {Kind: "*"}, {Kind: "*", Status: 404}, {Kind: "*", Status: 500, Reset: true}, {Kind: "*", Status: 429, RetryAfter: "soon"}} {
			if err := ts.s.AddFault(f); err == nil {
				t.Errorf("AddFault(%+v) accepted", f)
			}
		}
	})

	t.Run("counters and log", func(t *testing.T) {
		c := ts.s.Counters()
		if c[KindFind] != 6 || c[KindCreateItem] != 3 || c.Writes() != 3 {
			t.Errorf("counters %v, writes %d", c, c.Writes())
		}
		for _, e := range ts.s.Log() {
			if strings.Contains(e.Query+e.Path, testKey) {
				t.Errorf("log entry carries the key: %+v", e)
			}
		}
		ts.s.ResetCounters()
		if c := ts.s.Counters(); len(c) != 0 {
			t.Errorf("after reset: %v", c)
		}
	})
}

func control(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, path, strings.NewReader(body))
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	return rec.status, rec.body.String()
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(c int)   { r.status = c }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}

func TestControlAPI(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	c := createOK(t, ts, "/api/exception_lists/items", blockItem("lumuctl-drift"))
	h := ts.s.Control()

	status, out := control(t, h, "POST", "/kibana/items/edit", `{"item_id":"lumuctl-drift","name":"edited by hand","add_values":["`+hexOf(64, 99)+`"],"remove_values":["`+hexOf(64, 1)+`"]}`)
	if status != 200 {
		t.Fatalf("edit: %d %s", status, out)
	}
	it := ts.s.Items()[0]
	if it.Name != "edited by hand" || it.Version == c.body["_version"] || it.UpdatedBy != "someone-else" {
		t.Errorf("after edit: %+v", it)
	}
	if diff := cmp.Diff([]string{hexOf(64, 2), hexOf(64, 99)}, it.Entries[0].Value); diff != "" {
		t.Errorf("values after edit (-want +got):\n%s", diff)
	}
	// The client's PUT with the old _version now conflicts.
	if r := ts.do("PUT", "/api/exception_lists/items", putBody(c, nil)); r.status != 409 {
		t.Errorf("PUT after drift: %d", r.status)
	}

	tests := []struct {
		method, path, body string
		status             int
		contains           string
	}{
		{"GET", "/kibana/items", "", 200, `"item_id":"lumuctl-drift"`},
		{"POST", "/kibana/faults", `{"kind":"PUT items","count":2,"status":502}`, 200, `"status":502`},
		{"GET", "/kibana/faults", "", 200, `"count":2`},
		{"POST", "/kibana/faults", `{"clear":true}`, 200, `[]`},
		{"POST", "/kibana/faults", `{"kind":"PUT items","status":418}`, 400, "not supported"},
		{"POST", "/kibana/faults", `{"kind":"PUT items","stauts":500}`, 400, "unknown field"},
		{"POST", "/kibana/latency", `{"kind":"*","ms":0}`, 200, `"ms":0`},
		{"POST", "/kibana/latency", `{"ms":5}`, 400, "kind"},
		{"POST", "/kibana/privileges", `{"no_blocklist_write":true}`, 200, `"no_blocklist_write":true`},
		{"POST", "/kibana/privileges", `{}`, 200, `"no_blocklist_write":false`},
		{"GET", "/kibana/counters", "", 200, `"writes":2`},
		{"GET", "/kibana/log", "", 200, `"kind":"PUT items"`},
		{"POST", "/kibana/counters/reset", "", 200, `"writes":0`},
		{"POST", "/kibana/items/edit", `{"item_id":"nope"}`, 404, "no item"},
		{"POST", "/kibana/items/delete", `{"item_id":"lumuctl-drift"}`, 200, `"item_id":"lumuctl-drift"`},
		{"GET", "/kibana/items", "", 200, `[]`},
	}
	for _, tt := range tests {
		status, out := control(t, h, tt.method, tt.path, tt.body)
		if status != tt.status || !strings.Contains(out, tt.contains) {
			t.Errorf("%s %s %s: %d %s (want %d containing %s)", tt.method, tt.path, tt.body, status, out, tt.status, tt.contains)
		}
	}
}

// TestHoldRelease: a Hold fault keeps a create until its gate opens, and
// handles it even though its client gave up; a Release fault on a find
// reads the store first, then lets the held create land before answering.
func TestHoldRelease(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	t.Cleanup(ts.s.ReleaseAll)
	if err := ts.s.AddFault(Fault{Kind: KindCreateItem, Hold: "killed"}); err != nil {
		t.Fatal(err)
	}
	if err := ts.s.AddFault(Fault{Kind: KindFind, Release: "killed"}); err != nil {
		t.Fatal(err)
	}
	if err := ts.s.AddFault(Fault{Kind: KindFind, Hold: "x", Release: "x"}); err == nil {
		t.Error("a fault waiting at the gate it opens was accepted")
	}
	body, _ := json.Marshal(blockItem("lumuctl-held"))
	req, _ := http.NewRequest("POST", ts.url+"/api/exception_lists/items", bytes.NewReader(body))
	req.Header.Set("Authorization", "ApiKey "+testKey)
	req.Header.Set("kbn-xsrf", "true")
	req.Header.Set("Content-Type", "application/json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	for waiting, _ := ts.s.Gate("killed"); waiting != 1; waiting, _ = ts.s.Gate("killed") {
		time.Sleep(time.Millisecond)
	}
	cancel() // the client is killed
	if err := <-done; err == nil {
		t.Fatal("the held create was answered")
	}
	if n := len(ts.s.Items()); n != 0 {
		t.Fatalf("%d items before the gate opened", n)
	}
	r := ts.do("GET", agnosticFind(), nil)
	if r.status != 200 || r.body["total"] != float64(0) {
		t.Fatalf("the releasing find answered %d %v: it must read the store before the held create lands", r.status, r.body["total"])
	}
	if waiting, landed := ts.s.Gate("killed"); waiting != 0 || landed != 1 {
		t.Fatalf("after the release: %d waiting, %d landed", waiting, landed)
	}
	if items := ts.s.Items(); len(items) != 1 || items[0].ItemID != "lumuctl-held" {
		t.Fatalf("items after the release: %+v", items)
	}
	var faults []string
	for _, le := range ts.s.Log() {
		faults = append(faults, le.Fault)
	}
	// Entries are logged when handled: the create landed before the find
	// was answered.
	if want := []string{"held at killed, landed late", "released killed"}; !cmp.Equal(want, faults) {
		t.Errorf("log faults %q, want %q", faults, want)
	}
}

// TestFaultMatch: a fault with Match fires only for a request whose body
// or query holds it, whatever came first.
func TestFaultMatch(t *testing.T) {
	ts := newTS(t, Options{ContainerExists: true})
	if err := ts.s.AddFault(Fault{Kind: KindCreateItem, Match: "lumuctl-second", Status: 503}); err != nil {
		t.Fatal(err)
	}
	if r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-first")); r.status != 200 {
		t.Fatalf("the create the fault does not match answered %d: %s", r.status, r.raw)
	}
	if r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-second")); r.status != 503 {
		t.Fatalf("the matching create answered %d, want the fault's 503", r.status)
	}
	if r := ts.do("POST", "/api/exception_lists/items", blockItem("lumuctl-second")); r.status != 200 {
		t.Fatalf("the create after the fault was used up answered %d: %s", r.status, r.raw)
	}
}
