package metrics

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func value(t *testing.T, s *Set, name string, labels map[string]string) float64 {
	t.Helper()
	text, err := s.Text()
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s in\n%s", name, text)
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		if m.Counter != nil {
			return m.Counter.GetValue()
		}
		return m.Gauge.GetValue()
	}
	t.Fatalf("no series %s%v in\n%s", name, labels, text)
	return 0
}

func TestTransports(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/incidents/all":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/api/incidents/x/context":
		case "/api/exception_lists":
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	s := New(false)
	s.Configure(map[string]string{"k1": "acme", "k2": "globex"}, []string{"prod"}, []string{"lumu"})
	lumu := &http.Client{Transport: s.LumuTransport(nil)}
	kib := &http.Client{Transport: s.KibanaTransport("prod", nil)}
	for _, u := range []string{"/api/incidents/all?key=k1", "/api/incidents/all?key=k1", "/api/incidents/x/context?key=k2&hash=md5", "/api/incidents/x/context?key=other"} {
		resp, err := lumu.Post(srv.URL+u, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := kib.Get(srv.URL + "/api/exception_lists")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := kib.Get("http://127.0.0.1:1/"); err == nil {
		t.Fatal("want a connection error")
	}
	want := []struct {
		name   string
		labels map[string]string
		v      float64
	}{
		{"lumuctl_lumu_requests_total", map[string]string{"company": "acme", "kind": "list"}, 2},
		{"lumuctl_lumu_requests_total", map[string]string{"company": "acme", "kind": "context"}, 0},
		{"lumuctl_lumu_requests_total", map[string]string{"company": "globex", "kind": "context"}, 1},
		{"lumuctl_lumu_requests_total", map[string]string{"company": "unknown", "kind": "context"}, 1},
		{"lumuctl_lumu_throttled_total", map[string]string{"company": "acme"}, 2},
		{"lumuctl_lumu_throttled_total", map[string]string{"company": "globex"}, 0},
		{"lumuctl_kibana_requests_total", map[string]string{"kibana": "prod", "method": "GET", "code": "401"}, 1},
		{"lumuctl_kibana_requests_total", map[string]string{"kibana": "prod", "method": "GET", "code": "error"}, 1},
		{"lumuctl_item_writes_total", map[string]string{"blocklist": "lumu", "op": "delete"}, 0},
		{"lumuctl_guard_trips_total", map[string]string{"blocklist": "lumu", "guard": "mass_delete"}, 0},
	}
	for _, w := range want {
		if got := value(t, s, w.name, w.labels); got != w.v {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.v)
		}
	}
	text, _ := s.Text()
	if bytes.Contains(text, []byte("k1")) || bytes.Contains(text, []byte("k2")) {
		t.Error("a key reached the metrics")
	}
}

func TestRunAndFile(t *testing.T) {
	s := New(true)
	start := time.Unix(1700000000, 0)
	s.Run("plan", start, start.Add(1500*time.Millisecond), 2)
	s.Run("apply", start, start.Add(time.Second), 6)
	s.Cycle(OutcomeGuard)
	s.SetBlocked(map[BlockedKey]int{{"lumu", "linux"}: 7})
	s.SetBlocked(map[BlockedKey]int{{"lumu", "windows"}: 9}) // replaces
	path := filepath.Join(t.TempDir(), "lumuctl.prom")
	if err := s.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("metrics file: %v, mode %v", err, fi.Mode().Perm())
	}
	if got := value(t, s, "lumuctl_run_last_success", map[string]string{"command": "plan"}); got != 1 {
		t.Errorf("plan exit 2 (changes): success %v, want 1", got)
	}
	if got := value(t, s, "lumuctl_run_last_success", map[string]string{"command": "apply"}); got != 0 {
		t.Errorf("apply exit 6: success %v, want 0", got)
	}
	if got := value(t, s, "lumuctl_run_last_duration_seconds", map[string]string{"command": "plan"}); got != 1.5 {
		t.Errorf("duration %v, want 1.5", got)
	}
	if got := value(t, s, "lumuctl_cycles_total", map[string]string{"outcome": "guard"}); got != 1 {
		t.Errorf("guard cycles %v, want 1", got)
	}
	if got := value(t, s, "lumuctl_cycles_total", map[string]string{"outcome": "locked"}); got != 0 {
		t.Errorf("locked cycles %v, want 0", got)
	}
	if got := value(t, s, "lumuctl_hashes_blocked", map[string]string{"blocklist": "lumu", "os": "windows"}); got != 9 {
		t.Errorf("blocked %v, want 9", got)
	}
	if text, _ := s.Text(); bytes.Contains(text, []byte(`os="linux"`)) {
		t.Error("SetBlocked kept a series that is gone")
	}
}
