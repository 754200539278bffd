package kibana

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/engine/provider"
)

func TestErrorMapping(t *testing.T) {
	type op func(c *Client) error
	create := func(tags ...string) op {
		return func(c *Client) error {
			it := sampleItem("lumuctl-default-a")
			it.Tags = tags
			_, err := c.Create(ctx, it)
			return err
		}
	}
	get := func(c *Client) error { _, err := c.Get(ctx, "so-1"); return err }
	list := func(c *Client) error {
		_, err := c.List(ctx, provider.ListRequest{Prefix: "lumuctl-default-"})
		return err
	}
	tests := []struct {
		name   string
		status int
		body   string
		op     op
		is     error
		want   []string // substrings of the error text
	}{
		{name: "401", status: 401, body: `{"statusCode":401,"error":"Unauthorized","message":"Unauthorized"}`, op: get,
			is: provider.ErrUnauthorized, want: []string{`Kibana rejected the API key of kibana "prod"`, "GET /api/exception_lists/items"}},
		{name: "403 route privilege on write", status: 403,
			body: `{"statusCode":403,"error":"Forbidden","message":"API [POST /api/exception_lists/items] is unauthorized for user, this action is granted by the Kibana privileges [lists-all]"}`,
			op:   create("policy:abc"), is: provider.ErrForbidden, want: []string{"Blocklist: All", "lists-all"}},
		{name: "403 endpoint authz on global write", status: 403,
			body: `{"message":"EndpointArtifactError: Endpoint authorization failure","status_code":403}`,
			op:   create("policy:all"), is: provider.ErrForbidden, want: []string{"Blocklist: All", "Global Artifact Management"}},
		{name: "403 global artifact management", status: 403,
			body: `{"message":"EndpointArtifactError: Endpoint authorization failure. Management of global artifacts requires additional privilege (global artifact management)","status_code":403}`,
			op:   create("policy:all"), is: provider.ErrForbidden, want: []string{`"Global Artifact Management"`, "9.1"}},
		{name: "403 license", status: 403,
			body: `{"message":"EndpointArtifactError: Your license level does not allow create/update of by policy artifacts","status_code":403}`,
			op:   create("policy:p1"), is: provider.ErrForbidden, want: []string{"Platinum"}},
		{name: "403 on read", status: 403, body: `{"message":"EndpointArtifactError: Endpoint authorization failure","status_code":403}`,
			op: list, is: provider.ErrForbidden, want: []string{"Blocklist: Read"}},
		{name: "400 validation", status: 400,
			body: `{"message":"EndpointArtifactError: [entries.0.value.0]: invalid hash value [1]","status_code":400}`,
			op:   create("policy:all"), want: []string{"400 Bad Request", "invalid hash value [1]", "blocklist validation"}},
		{name: "400 message array", status: 400, body: `{"message":["item \"comments\" are append only","x"],"status_code":400}`,
			op: create("policy:all"), want: []string{`item "comments" are append only; x`}},
		{name: "400 missing xsrf", status: 400, body: `{"statusCode":400,"error":"Bad Request","message":"Request must contain a kbn-xsrf header."}`,
			op: create("policy:all"), want: []string{"kbn-xsrf header", "proxy"}},
		{name: "404 item", status: 404, body: `{"message":"exception list item id: \"so-1\" does not exist","status_code":404}`,
			op: get, is: provider.ErrNotFound, want: []string{`"so-1" does not exist`}},
		{name: "404 list on find", status: 404, body: `{"message":"exception list id: \"endpoint_blocklists\" does not exist","status_code":404}`,
			op: list, is: provider.ErrNotFound, want: []string{"apply creates it"}},
		{name: "409", status: 409, body: `{"message":"exception list item id: \"lumuctl-default-a\" already exists","status_code":409}`,
			op: create("policy:all"), is: provider.ErrConflict, want: []string{"already exists"}},
		{name: "413", status: 413, body: `{"statusCode":413,"error":"Request Entity Too Large","message":"Payload content length greater than maximum allowed: 1048576"}`,
			op: create("policy:all"), want: []string{"413", "max_values_per_item"}},
		{name: "5xx after retries", status: 503, body: `<html>Service Unavailable</html>`,
			op: get, want: []string{`kibana "prod" (http://127.0.0.1:`, `, GET /api/exception_lists/items: 503 Service Unavailable): `, "attempts"}},
		{name: "501 not retried", status: 501, body: ``, op: get, want: []string{"501 Not Implemented"}},
		{name: "key echoed by a proxy is scrubbed", status: 502, body: `{"statusCode":502,"error":"Bad Gateway","message":"upstream said: Authorization: ApiKey ` + testKey + `"}`,
			op: get, want: []string{"[REDACTED]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, nil)
			err := tt.op(c)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range []error{provider.ErrUnauthorized, provider.ErrForbidden, provider.ErrNotFound, provider.ErrConflict, provider.ErrReadOnly} {
				if errors.Is(err, s) != (s == tt.is) {
					t.Errorf("errors.Is(err, %v) = %v", s, !(s == tt.is))
				}
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != tt.status {
				t.Errorf("err is not an *APIError with status %d: %#v", tt.status, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error contains the API key: %q", err)
			}
		})
	}
}

func TestErrorBodyBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.Write([]byte(`{"id":"x","item_id":"lumuctl-a","_version":"v","name":"`))
		chunk := []byte(strings.Repeat("a", 1<<20))
		for range (maxItemBody >> 20) + 2 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, nil)
	_, err := c.Get(ctx, "x")
	if err == nil || !strings.Contains(err.Error(), "response larger than") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

func TestRetries(t *testing.T) {
	type answer struct {
		status int
		header map[string]string
		body   string
	}
	item := `{"id":"so-1","item_id":"lumuctl-default-a","_version":"WzEsMV0=","list_id":"endpoint_blocklists"}`
	tests := []struct {
		name       string
		answers    []answer // per attempt; the last one repeats
		wantCalls  int
		wantSleeps []time.Duration
		wantErr    string
	}{
		{name: "502 then success", answers: []answer{{status: 502}, {status: 200, body: item}},
			wantCalls: 2, wantSleeps: []time.Duration{250 * time.Millisecond}},
		{name: "429 with Retry-After seconds", answers: []answer{{status: 429, header: map[string]string{"Retry-After": "7"}}, {status: 200, body: item}},
			wantCalls: 2, wantSleeps: []time.Duration{7 * time.Second}},
		{name: "503 with Retry-After date", answers: []answer{{status: 503, header: map[string]string{"Retry-After": "Mon, 10 Aug 2026 09:00:03 GMT"}}, {status: 200, body: item}},
			wantCalls: 2, wantSleeps: []time.Duration{3 * time.Second}},
		{name: "backoff grows", answers: []answer{{status: 500}, {status: 504}, {status: 503}, {status: 200, body: item}},
			wantCalls: 4, wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}},
		{name: "400 tried once", answers: []answer{{status: 400, body: `{"statusCode":400,"error":"Bad Request","message":"bad"}`}},
			wantCalls: 1, wantErr: "400 Bad Request): bad"},
		{name: "Retry-After beyond the budget gives up", answers: []answer{{status: 429, header: map[string]string{"Retry-After": "3600"}}},
			wantCalls: 1, wantErr: "429 Too Many Requests"},
		// Budget 1m at rand=0: waits 0.25+0.5+1+2+4+8+16 = 31.75s, the next (30s capped → 15s) still fits, then 15s would end at 61.75s.
		{name: "budget exhausted", answers: []answer{{status: 502}},
			wantCalls: 9, wantErr: "after 9 attempts",
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
				8 * time.Second, 15 * time.Second, 15 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRecSim(t, kibanasim.Options{}, false)
			f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
				a := tt.answers[min(n, len(tt.answers))-1]
				for k, v := range a.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(a.status)
				w.Write([]byte(a.body))
				return true
			}
			c, clk := f.clientClock(t, nil)
			_, err := c.Get(ctx, "so-1")
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if n := f.calls("GET /api/exception_lists/items"); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			if d := cmp.Diff(tt.wantSleeps, clk.Sleeps()); d != "" {
				t.Errorf("sleeps (-want +got):\n%s", d)
			}
		})
	}
}

// resetAfter answers r with the stand-in, then drops the connection
// without sending the answer: the server did the work, the client saw a
// connection error.
func resetAfter(f *recSim, w http.ResponseWriter, r *http.Request) {
	f.sim.ServeHTTP(httptest.NewRecorder(), r)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // RST
	}
	conn.Close()
}

func TestRetriedWrites(t *testing.T) {
	t.Run("create applied, answer lost", func(t *testing.T) {
		f := newRecSim(t, kibanasim.Options{}, false)
		f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if r.Method == http.MethodPost && n == 1 {
				resetAfter(f, w, r)
				return true
			}
			return false
		}
		c := f.client(t, nil)
		in := sampleItem("lumuctl-default-a")
		got, err := c.Create(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.ItemID != in.ItemID || got.ID == "" {
			t.Errorf("got %+v", got)
		}
		if n := f.calls("POST /api/exception_lists/items"); n != 2 {
			t.Errorf("POSTs = %d, want 2", n)
		}
		if n := len(f.sim.Items()); n != 1 {
			t.Errorf("items stored = %d, want 1 (no duplicate)", n)
		}
	})
	t.Run("create retried, 409 with other content", func(t *testing.T) {
		f := newRecSim(t, kibanasim.Options{}, false)
		f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if r.Method == http.MethodPost && n == 1 {
				f.add(t, "lumuctl-default-a", "policy:other") // someone else got there
				w.WriteHeader(502)
				return true
			}
			return false
		}
		c := f.client(t, nil)
		_, err := c.Create(ctx, sampleItem("lumuctl-default-a"))
		if !errors.Is(err, provider.ErrConflict) || !strings.Contains(err.Error(), "other content") {
			t.Fatalf("err = %v, want ErrConflict about other content", err)
		}
	})
	t.Run("update applied, answer lost", func(t *testing.T) {
		f := newRecSim(t, kibanasim.Options{}, false)
		seed := f.add(t, "lumuctl-default-a")
		f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if r.Method == http.MethodPut && n == 1 {
				resetAfter(f, w, r)
				return true
			}
			return false
		}
		c := f.client(t, nil)
		it, err := c.Get(ctx, seed.ID)
		if err != nil {
			t.Fatal(err)
		}
		it.Name = "new name"
		got, err := c.Update(ctx, it)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if got.Name != "new name" || got.Version == it.Version {
			t.Errorf("got %+v", got)
		}
		if n := f.calls("PUT /api/exception_lists/items"); n != 2 {
			t.Errorf("PUTs = %d, want 2", n)
		}
	})
	t.Run("delete applied, answer lost", func(t *testing.T) {
		f := newRecSim(t, kibanasim.Options{}, false)
		seed := f.add(t, "lumuctl-default-a")
		f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if r.Method == http.MethodDelete && n == 1 {
				resetAfter(f, w, r)
				return true
			}
			return false
		}
		c := f.client(t, nil)
		if err := c.Delete(ctx, seed.ID, seed.Version); err != nil {
			t.Fatal(err)
		}
		if n := f.calls("DELETE /api/exception_lists/items"); n != 2 {
			t.Errorf("DELETEs = %d, want 2", n)
		}
		if f.get(seed.ID) != nil {
			t.Error("item still there")
		}
	})
}

func TestCancelStopsWaiting(t *testing.T) {
	f := newRecSim(t, kibanasim.Options{}, false)
	f.hook = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(429)
		return true
	}
	srv := f.srv
	cctx, cancel := context.WithCancel(context.Background())
	c, err := New(provider.TargetConfig{Name: "prod", URL: srv.URL, APIKey: testKey}, WithHTTPClient(srv.Client()),
		WithSleeper(func(ctx context.Context, d time.Duration) error {
			cancel()
			return provider.Sleep(ctx, d) // real sleeper: must return at once
		}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(cctx, "x")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := f.calls("GET /api/exception_lists/items"); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(kibanasim.New(kibanasim.Options{APIKey: testKey}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	tests := []struct {
		name    string
		cfg     func(*provider.TargetConfig)
		wantErr string // from New or from the request
	}{
		{name: "unknown CA fails", cfg: func(*provider.TargetConfig) {}, wantErr: "certificate"},
		{name: "ca_file trusts it", cfg: func(c *provider.TargetConfig) { c.CAFile = caFile }},
		{name: "insecure_skip_verify", cfg: func(c *provider.TargetConfig) { c.InsecureSkipVerify = true }},
		{name: "ca_file without PEM", cfg: func(c *provider.TargetConfig) { c.CAFile = notPEM }, wantErr: "no PEM certificate"},
		{name: "missing ca_file", cfg: func(c *provider.TargetConfig) { c.CAFile = notPEM + ".missing" }, wantErr: "ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := provider.TargetConfig{Name: "prod", URL: srv.URL, APIKey: testKey, RetryTimeout: time.Nanosecond, Timeout: 5 * time.Second}
			tt.cfg(&cfg)
			c, err := New(cfg)
			if err == nil {
				_, err = c.ContainerExists(ctx)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	// The built transport keeps TLS 1.2 as a floor.
	c, err := New(provider.TargetConfig{URL: srv.URL, APIKey: testKey, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	if v := c.hc.Transport.(*http.Transport).TLSClientConfig.MinVersion; v != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", v)
	}
	if c.hc.Timeout != provider.DefaultKibanaTimeout {
		t.Errorf("Timeout = %v, want default %v", c.hc.Timeout, provider.DefaultKibanaTimeout)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  provider.TargetConfig
		want string
	}{
		{name: "scheme", cfg: provider.TargetConfig{URL: "ftp://kibana", APIKey: "k"}, want: "http:// or https://"},
		{name: "no host", cfg: provider.TargetConfig{URL: "https://", APIKey: "k"}, want: "no host"},
		{name: "user info", cfg: provider.TargetConfig{URL: "https://elastic:" + testKey + "@kibana", APIKey: "k"}, want: "user info"},
		{name: "query", cfg: provider.TargetConfig{URL: "https://kibana/?x=1", APIKey: "k"}, want: "query"},
		{name: "no key", cfg: provider.TargetConfig{URL: "https://kibana"}, want: "api_key is empty"},
		{name: "bad space", cfg: provider.TargetConfig{URL: "https://kibana", APIKey: "k", Space: "a/b"}, want: "invalid space"},
		{name: "unparsable", cfg: provider.TargetConfig{URL: "https://elastic:" + testKey + "@kib ana:x", APIKey: "k"}, want: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name = "prod"
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
	if _, err := Factory(provider.TargetConfig{URL: "x"}); err == nil {
		t.Error("Factory accepted a bad config")
	}
	tg, err := Factory(provider.TargetConfig{URL: "https://kibana.example", APIKey: "k"})
	if err != nil || tg == nil {
		t.Errorf("Factory = %v, %v", tg, err)
	}
}
