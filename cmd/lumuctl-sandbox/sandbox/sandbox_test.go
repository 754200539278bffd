package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func startT(t *testing.T, opts Options) *Sandbox {
	t.Helper()
	sb, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

func get(t *testing.T, method, u, body string, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestStartInfoAndServe(t *testing.T) {
	sb := startT(t, Options{Seed: 3, Now: func() time.Time { return testNow }, LumuKey: "lumu-test-key", KibanaAPIKey: "kibana-test-key"})
	info := sb.Info()

	// The JSON field names are part of the command's contract.
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	want := []string{"company_uuid", "control_url", "kibana_api_key", "kibana_url", "lumu_key", "lumu_url", "policy_ids"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("Info JSON fields (-want +got):\n%s", diff)
	}
	if info.LumuKey != "lumu-test-key" || info.KibanaAPIKey != "kibana-test-key" {
		t.Errorf("keys given in Options not used")
	}
	if diff := cmp.Diff(PolicyIDs(3), info.PolicyIDs); diff != "" {
		t.Errorf("policy ids (-want +got):\n%s", diff)
	}
	if info.CompanyUUID != sb.Lumu.CompanyUUIDs()[0] {
		t.Errorf("company_uuid %s is not the Lumu company %v", info.CompanyUUID, sb.Lumu.CompanyUUIDs())
	}
	for _, u := range []string{info.LumuURL, info.KibanaURL, info.ControlURL} {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "http" || pu.Hostname() != "127.0.0.1" || pu.Port() == "0" {
			t.Errorf("url %q: want http://127.0.0.1:<port>", u)
		}
	}

	// Lumu answers with the scenario, and counts it.
	st, body := get(t, "POST", info.LumuURL+"/api/incidents/all?items=10&key="+info.LumuKey, "{}", nil)
	var page struct {
		Items          []json.RawMessage `json:"items"`
		PaginationInfo map[string]int    `json:"paginationInfo"`
	}
	if st != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) != 10 || page.PaginationInfo["next"] != 2 {
		t.Fatalf("Lumu list: %d %s", st, body)
	}
	if st, _ := get(t, "POST", info.LumuURL+"/api/incidents/all?key=wrong", "{}", nil); st != 401 {
		t.Errorf("Lumu with a wrong key: %d, want 401", st)
	}
	// Kibana wants its key.
	if st, _ := get(t, "GET", info.KibanaURL+"/api/fleet/package_policies", "", nil); st != 401 {
		t.Errorf("Kibana without a key: %d, want 401", st)
	}
	if st, b := get(t, "GET", info.KibanaURL+"/api/fleet/package_policies", "", map[string]string{"Authorization": "ApiKey " + info.KibanaAPIKey}); st != 200 || !strings.Contains(string(b), info.PolicyIDs[0]) {
		t.Errorf("Kibana fleet policies: %d %s, want policy %s", st, b, info.PolicyIDs[0])
	}
	// The control server reaches both stand-ins.
	st, body = get(t, "GET", info.ControlURL+"/lumu/counters", "", nil)
	var c struct{ List, Unauthorized int }
	if st != 200 || json.Unmarshal(body, &c) != nil || c.List != 1 || c.Unauthorized != 1 {
		t.Errorf("/lumu/counters: %d %s, want list 1 and unauthorized 1", st, body)
	}
	if st, body := get(t, "GET", info.ControlURL+"/kibana/counters", "", nil); st != 200 {
		t.Errorf("/kibana/counters: %d %s", st, body)
	}
	if st, body := get(t, "GET", info.ControlURL+"/info", "", nil); st != 200 || strings.Contains(string(body), info.LumuKey) || !strings.Contains(string(body), info.LumuURL) {
		t.Errorf("/info: %d %s, want the URLs without the keys", st, body)
	}

	if err := sb.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	<-sb.Done()
	if _, err := http.Get(info.ControlURL + "/lumu/counters"); err == nil {
		t.Errorf("control server still answers after Close")
	}
	if err := sb.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRandomKeys(t *testing.T) {
	a, b := startT(t, Options{}).Info(), startT(t, Options{}).Info()
	if a.LumuKey == "" || a.KibanaAPIKey == "" || a.LumuKey == b.LumuKey || a.KibanaAPIKey == b.KibanaAPIKey {
		t.Errorf("keys are not random per start: %q/%q vs %q/%q", a.LumuKey, a.KibanaAPIKey, b.LumuKey, b.KibanaAPIKey)
	}
	if a.CompanyUUID != b.CompanyUUID {
		t.Errorf("same seed, different company uuid")
	}
}

func TestContextCancelCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-sb.Done() // hangs (and the test times out) if cancel does not close
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"all interfaces", Options{LumuAddr: "0.0.0.0:0"}, "loopback"},
		{"empty host", Options{KibanaAddr: ":0"}, "loopback"},
		{"lan address", Options{ControlAddr: "192.168.1.10:8080"}, "loopback"},
		{"host name", Options{LumuAddr: "example.com:80"}, "loopback"},
		{"no port", Options{LumuAddr: "127.0.0.1"}, "host:port"},
		{"bad port", Options{LumuAddr: "127.0.0.1:99999"}, "port"},
		{"unknown scenario", Options{Scenario: "huge"}, "unknown scenario"},
		{"negative rate limit", Options{LumuRateLimit: -1}, "rate limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, err := Start(context.Background(), tt.opts)
			if err == nil {
				sb.Close()
				t.Fatal("Start succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	for _, ok := range []string{"127.0.0.1:0", "localhost:8080", "[::1]:0", "127.1.2.3:65535"} {
		if err := CheckLoopback(ok); err != nil {
			t.Errorf("CheckLoopback(%q) = %v, want nil", ok, err)
		}
	}
}

func TestPolicyIDs(t *testing.T) {
	a, b, c := PolicyIDs(1), PolicyIDs(1), PolicyIDs(2)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed (-a +b):\n%s", diff)
	}
	if len(a) != 3 || a[0] == a[1] || cmp.Equal(a, c) {
		t.Errorf("PolicyIDs(1) = %v, PolicyIDs(2) = %v: want 3 distinct ids per seed, differing by seed", a, c)
	}
}
