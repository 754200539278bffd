package kibana

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// TestRedirectsAreRefused reproduces issue 10 item 1: a Kibana (or a proxy
// in front of it) answering 3xx must not make the client follow, neither to
// another port of the same host (which would receive Authorization) nor at
// all (a 302 turns a POST into a GET whose answer would be believed). The
// error names the status and the Location host, never the Location query.
func TestRedirectsAreRefused(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the redirect target received Authorization on %s %s", r.Method, r.URL.Path)
		}
		// An empty _find answer, which a client that follows would believe.
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[],"page":1,"per_page":100,"total":0}`))
	}))
	defer other.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")

	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			elsewhere.Store(0)
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				http.Redirect(w, r, other.URL+r.URL.Path+"?token=LEAKME&key=LEAKME2", status)
			}))
			defer srv.Close()
			c, clk := newTestClient(t, srv, nil)

			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error after a %d redirect", what, status)
				}
				msg := err.Error()
				for _, want := range []string{"redirect", otherHost} {
					if !strings.Contains(msg, want) {
						t.Errorf("%s: error %q lacks %q", what, msg, want)
					}
				}
				if !strings.Contains(msg, strconv.Itoa(status)) {
					t.Errorf("%s: error %q does not name status %d", what, msg, status)
				}
				if strings.Contains(msg, "LEAKME") || strings.Contains(msg, testKey) {
					t.Errorf("%s: error %q shows the Location query or the key", what, msg)
				}
			}
			_, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"})
			check("List", err)
			_, err = c.Create(ctx, sampleItem("lumuctl-default-lumu-windows-sha256-1"))
			check("Create", err)
			err = c.Delete(ctx, "so-1", "WzEsMV0=")
			check("Delete", err)

			if n := elsewhere.Load(); n != 0 {
				t.Errorf("the redirect target got %d requests, want 0", n)
			}
			// Not retried: one request per call, no wait.
			if n := hits.Load(); n != 3 {
				t.Errorf("origin got %d requests for 3 calls, want 3", n)
			}
			if s := clk.Sleeps(); len(s) != 0 {
				t.Errorf("client waited %v before giving up on a redirect", s)
			}
		})
	}

	t.Run("no Location", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusFound)
		}))
		defer srv.Close()
		c, _ := newTestClient(t, srv, nil)
		_, err := c.Get(ctx, "so-1")
		if err == nil || !strings.Contains(err.Error(), "302") || !strings.Contains(err.Error(), "without a usable Location") {
			t.Fatalf("Get: %v", err)
		}
	})

	// The production http.Client (built by New, not injected) refuses too.
	t.Run("default client", func(t *testing.T) {
		elsewhere.Store(0)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/api/exception_lists/items/_find", http.StatusTemporaryRedirect)
		}))
		defer srv.Close()
		c, err := New(provider.TargetConfig{Name: "prod", URL: srv.URL, APIKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetByItemID(ctx, "lumuctl-default-x")
		u, _ := url.Parse(other.URL)
		if err == nil || !strings.Contains(err.Error(), u.Host) {
			t.Fatalf("GetByItemID: %v", err)
		}
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("the redirect target got %d requests, want 0", n)
		}
	})
}
