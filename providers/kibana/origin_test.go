package kibana

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// TestWrongBasePathIsNotAMissingList pins SPEC 5: the stand-in Kibana
// mounted at the root, the client pointed at "<url>/wrongbase". Kibana's
// router answers every route with a generic 404, which must be an error
// naming the URL, never "the list does not exist".
func TestWrongBasePathIsNotAMissingList(t *testing.T) {
	env := newSim(t, kibanasim.Options{Seed: 1, ContainerExists: true})
	env.checker = nil // requests to unknown routes are not the contract's business
	c := env.client(t, func(cfg *provider.TargetConfig) { cfg.URL += "/wrongbase" })

	exists, err := c.ContainerExists(ctx)
	var nk *NotKibanaError
	if !errors.As(err, &nk) || exists {
		t.Fatalf("ContainerExists = %v, %v; want a *NotKibanaError", exists, err)
	}
	if errors.Is(err, provider.ErrNotFound) {
		t.Errorf("a generic 404 unwraps to ErrNotFound: %v", err)
	}
	for _, want := range []string{env.srv.URL + "/wrongbase", `generic 404 "Not Found"`, "/wrongbase/api/exception_lists"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := c.Get(ctx, "so-1"); !errors.As(err, &nk) || errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Get through a wrong base path = %v; want a *NotKibanaError, not ErrNotFound", err)
	}
	if err := c.EnsureContainer(ctx); !errors.As(err, &nk) {
		t.Errorf("EnsureContainer through a wrong base path = %v", err)
	}
	if n := env.sim.Counters().Writes(); n != 0 {
		t.Errorf("%d writes reached the stand-in", n)
	}
}

// TestNotKibanaAnswers covers what else may answer at a wrong url: an HTML
// page (a UI or a proxy's page) with 200 or 404, a proxy's 404 in its own
// JSON, and a proxy's 502 page (an error naming the page, after retries).
func TestNotKibanaAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   string
		notKib bool
	}{
		{"UI page with 200", 200, "text/html; charset=utf-8", "<!DOCTYPE html><html><head><title>Elastic</title></head></html>", `an HTML page titled "Elastic"`, true},
		{"HTML 404", 404, "text/html", "<html><head><title>404 Not Found</title></head><body>nginx</body></html>", `an HTML page titled "404 Not Found"`, true},
		{"proxy JSON 404", 404, "application/json", `{"error":"route not found"}`, `a generic 404 "route not found"`, true},
		{"Kibana's Boom 404", 404, "application/json", `{"statusCode":404,"error":"Not Found","message":"Not Found"}`, `a generic 404 "Not Found"`, true},
		{"plain text 404", 404, "text/plain", "404 page not found", `a body that is not JSON (text/plain): "404 page not found"`, true},
		{"another list", 200, "application/json", `{"list_id":"endpoint_trusted_apps","namespace_type":"agnostic"}`, "a 200 answer that is not the endpoint_blocklists list", true},
		{"proxy 502 page", 502, "text/html", "<html><head><title>502 Bad Gateway</title></head></html>", `502 Bad Gateway): an HTML page titled "502 Bad Gateway" (a proxy's error page?), not Kibana's API (check url = `, false},
		{"Kibana's own 404", 404, "application/json", `{"message":"exception list list_id: \"endpoint_blocklists\" does not exist","status_code":404}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, func(cfg *provider.TargetConfig) { cfg.URL = srv.URL + "/kibana" })
			exists, err := c.ContainerExists(ctx)
			if tt.want == "" {
				if err != nil || exists {
					t.Fatalf("ContainerExists = %v, %v; want false, nil", exists, err)
				}
				return
			}
			var nk *NotKibanaError
			if got := errors.As(err, &nk); got != tt.notKib {
				t.Fatalf("ContainerExists = %v, %v; NotKibanaError %v, want %v", exists, err, got, tt.notKib)
			}
			if exists || err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), srv.URL+"/kibana") {
				t.Fatalf("error %v\nwant it to contain %q and the url", err, tt.want)
			}
		})
	}
}
