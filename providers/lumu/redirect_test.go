package lumu

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRedirectsAreRefused reproduces issue 10 item 1: a Lumu answer
// "302 Location: http://other-host/..." made Go follow it, sending the key
// (a query parameter) to the other host in Referer, and turned the POST of
// a listing into a GET whose answer was believed. The client must not
// follow: a 3xx is an error naming the status and the Location host, never
// the Location query or the key, and it is not retried.
func TestRedirectsAreRefused(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		assertNoKey(t, r.Header.Get("Referer"))
		assertNoKey(t, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[],"paginationInfo":{"page":1,"items":100}}`))
	}))
	defer other.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")

	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			elsewhere.Store(0)
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				// Echo the request query (key included) into Location, as
				// a careless proxy would.
				http.Redirect(w, r, other.URL+r.URL.Path+"?"+r.URL.RawQuery+"&token=LEAKME", status)
			}))
			defer srv.Close()
			clk := newFakeClock()
			c := testClient(t, srv, clk, nil)

			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error after a %d redirect", what, status)
				}
				msg := err.Error()
				for _, want := range []string{strconv.Itoa(status), "redirect", otherHost} {
					if !strings.Contains(msg, want) {
						t.Errorf("%s: error %q lacks %q", what, msg, want)
					}
				}
				if strings.Contains(msg, "LEAKME") {
					t.Errorf("%s: error %q shows the Location query", what, msg)
				}
				assertNoKey(t, msg)
				var ae *APIError
				if !errors.As(err, &ae) || ae.StatusCode != status {
					t.Errorf("%s: error %T is not an APIError with status %d", what, err, status)
				}
			}
			_, err := c.ListIncidents(context.Background(), ListQuery{}, nil)
			check("ListIncidents", err)
			_, err = c.Context(context.Background(), "7c40be6f-9d10-4f8c-9e16-7a3c5b0e2d11", "sha256")
			check("Context", err)

			if n := elsewhere.Load(); n != 0 {
				t.Errorf("the redirect target got %d requests, want 0", n)
			}
			if n := hits.Load(); n != 2 {
				t.Errorf("origin got %d requests for 2 calls, want 2 (a redirect is not retried)", n)
			}
			if s := clk.Sleeps(); len(s) != 0 {
				t.Errorf("client waited %v before giving up on a redirect", s)
			}
		})
	}

	// The production http.Client (built by NewClient) refuses too.
	t.Run("default client", func(t *testing.T) {
		elsewhere.Store(0)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
		}))
		defer srv.Close()
		c, err := NewClient(ClientConfig{BaseURL: srv.URL, Key: testKey, Company: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListIncidents(context.Background(), ListQuery{}, nil)
		if err == nil || !strings.Contains(err.Error(), otherHost) {
			t.Fatalf("ListIncidents: %v", err)
		}
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("the redirect target got %d requests, want 0", n)
		}
	})
}
