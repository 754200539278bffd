package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli"
)

// promFamilies parses Prometheus text exposition with expfmt.
func promFamilies(t *testing.T, text []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, text)
	}
	return fams
}

// promValue returns the value of the series of family name whose labels
// are exactly labels ("k=v" pairs); ok is false when there is none.
func promValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	want := map[string]string{}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		want[k] = v
	}
	for _, m := range f.Metric {
		if len(m.Label) != len(want) {
			continue
		}
		match := true
		for _, lp := range m.Label {
			if want[lp.GetName()] != lp.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

func wantProm(t *testing.T, fams map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := promValue(fams, name, labels...)
	if !ok {
		t.Errorf("%s%v: no such series", name, labels)
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// metricsWorld is a sandbox and the sandbox example configuration.
type metricsWorld struct {
	t    *testing.T
	sb   *sandbox.Sandbox
	dir  string
	vars []string
}

func newMetricsWorld(t *testing.T, edits ...configEdit) *metricsWorld {
	t.Helper()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Scenario: "small", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	src, err := os.ReadFile(filepath.Join(examplesDir, "sandbox", "main.lumu.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(src)
	for _, e := range edits {
		if n := strings.Count(cfg, e.old); n != 1 {
			t.Fatalf("examples/sandbox/main.lumu.hcl: %q occurs %d times, want once", e.old, n)
		}
		cfg = strings.Replace(cfg, e.old, e.new, 1)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	info := sb.Info()
	vars := []string{
		"--var", "lumu_url=" + info.LumuURL, "--var", "lumu_key=" + info.LumuKey,
		"--var", "kibana_url=" + info.KibanaURL, "--var", "kibana_key=" + info.KibanaAPIKey,
		"--var", "company_uuid=" + info.CompanyUUID,
	}
	return &metricsWorld{t: t, sb: sb, dir: dir, vars: vars}
}

// run runs lumuctl in-process in the configuration directory; the
// variables follow the command name. --chdir changes the process's working
// directory: it is restored afterwards.
func (w *metricsWorld) run(args ...string) (int, string) {
	wd, err := os.Getwd()
	if err != nil {
		w.t.Fatal(err)
	}
	defer func() {
		if err := os.Chdir(wd); err != nil {
			w.t.Fatal(err)
		}
	}()
	var out bytes.Buffer
	full := append([]string{"--chdir", w.dir, "--no-color", args[0]}, w.vars...)
	full = append(full, args[1:]...)
	code := cli.Run(context.Background(), full, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	return code, out.String()
}

// kibanaByMethodCode counts the Kibana stand-in's log entries from index
// from on, by method and status code.
func kibanaByMethodCode(log []kibanasim.LogEntry) map[[2]string]int {
	out := map[[2]string]int{}
	for _, e := range log {
		code := strconv.Itoa(e.Status)
		if e.Status == 0 {
			code = "error"
		}
		out[[2]string{e.Method, code}]++
	}
	return out
}

// TestMetricsFile checks --metrics-file of apply, plan and a guard trip
// against what the sandbox counted.
func TestMetricsFile(t *testing.T) {
	w := newMetricsWorld(t)
	prom := filepath.Join(w.dir, "textfile", "lumuctl.prom")
	if err := os.MkdirAll(filepath.Dir(prom), 0o755); err != nil {
		t.Fatal(err)
	}
	w.sb.Lumu.ResetCounters()
	w.sb.Kibana.ResetCounters()
	logStart := len(w.sb.Kibana.Log())
	code, out := w.run("apply", "--auto-approve", "--metrics-file", prom)
	if code != 0 {
		t.Fatalf("apply exited %d:\n%s", code, out)
	}
	fi, err := os.Stat(prom)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("metrics file mode %04o, want 0644", fi.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(prom), ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left beside the metrics file: %v", leftovers)
	}
	text, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	info := w.sb.Info()
	for _, secret := range []string{info.LumuKey, info.KibanaAPIKey} {
		if strings.Contains(string(text), secret) {
			t.Fatal("the metrics file holds a key")
		}
	}
	fams := promFamilies(t, text)
	lc := w.sb.Lumu.Counters()
	kc := w.sb.Kibana.Counters()
	wantProm(t, fams, 0, "lumuctl_run_last_exit_code", "command=apply")
	wantProm(t, fams, 1, "lumuctl_run_last_success", "command=apply")
	wantProm(t, fams, float64(lc.List), "lumuctl_lumu_requests_total", "company=acme", "kind=list")
	wantProm(t, fams, float64(lc.Context), "lumuctl_lumu_requests_total", "company=acme", "kind=context")
	wantProm(t, fams, float64(lc.RateLimited), "lumuctl_lumu_throttled_total", "company=acme")
	wantProm(t, fams, 0, "lumuctl_lumu_unread_incidents", "company=acme")
	wantProm(t, fams, float64(kc[kibanasim.KindCreateItem]), "lumuctl_item_writes_total", "blocklist=lumu", "op=create")
	wantProm(t, fams, float64(kc[kibanasim.KindUpdateItem]), "lumuctl_item_writes_total", "blocklist=lumu", "op=update")
	wantProm(t, fams, float64(kc[kibanasim.KindDeleteItem]), "lumuctl_item_writes_total", "blocklist=lumu", "op=delete")
	wantProm(t, fams, 0, "lumuctl_drift_items", "blocklist=lumu")
	if lc.List == 0 || lc.Context == 0 || kc[kibanasim.KindCreateItem] == 0 {
		t.Fatalf("the first apply made no Lumu reads or no creates (%+v, %v): the comparisons prove nothing", lc, kc)
	}
	byMC := kibanaByMethodCode(w.sb.Kibana.Log()[logStart:])
	for k, n := range byMC {
		wantProm(t, fams, float64(n), "lumuctl_kibana_requests_total", "kibana=sandbox", "method="+k[0], "code="+k[1])
	}
	if f := fams["lumuctl_kibana_requests_total"]; f == nil || len(f.Metric) != len(byMC) {
		t.Errorf("lumuctl_kibana_requests_total has series the stand-in did not see (it saw %v)", byMC)
	}
	// Blocked hashes per OS: the values the Kibana stand-in holds.
	blocked := map[string]int{}
	for _, it := range w.sb.Kibana.Items() {
		if strings.HasPrefix(it.ItemID, "lumuctl-demo-lumu-") {
			for _, e := range it.Entries {
				blocked[it.OSTypes[0]] += len(e.Value)
			}
		}
	}
	if len(blocked) != 2 {
		t.Fatalf("want items on two OSes, got %v", blocked)
	}
	for os, n := range blocked {
		wantProm(t, fams, float64(n), "lumuctl_hashes_blocked", "blocklist=lumu", "os="+os)
	}

	// A plan: a fresh file for one run, only GETs, warm cache.
	w.sb.Lumu.ResetCounters()
	code, out = w.run("plan", "--detailed-exitcode", "--metrics-file", prom)
	if code != 0 {
		t.Fatalf("plan exited %d:\n%s", code, out)
	}
	text, _ = os.ReadFile(prom)
	fams = promFamilies(t, text)
	lc = w.sb.Lumu.Counters()
	wantProm(t, fams, 0, "lumuctl_run_last_exit_code", "command=plan")
	wantProm(t, fams, float64(lc.List), "lumuctl_lumu_requests_total", "company=acme", "kind=list")
	wantProm(t, fams, float64(lc.Context), "lumuctl_lumu_requests_total", "company=acme", "kind=context")
	wantProm(t, fams, 0, "lumuctl_item_writes_total", "blocklist=lumu", "op=create")
	if _, ok := promValue(fams, "lumuctl_run_last_exit_code", "command=apply"); ok {
		t.Errorf("a plan's metrics file still holds the apply's run")
	}
	for os, n := range blocked {
		wantProm(t, fams, float64(n), "lumuctl_hashes_blocked", "blocklist=lumu", "os="+os)
	}
}

// TestMetricsFileGuard: a tripped guard is exit 6 and counted.
func TestMetricsFileGuard(t *testing.T) {
	// A label no incident carries: the source yields nothing.
	w := newMetricsWorld(t, configEdit{`statuses        = ["open"]`, `statuses        = ["open"]
  labels          = [987654]`})
	prom := filepath.Join(w.dir, "lumuctl.prom")
	code, out := w.run("apply", "--auto-approve", "--metrics-file", prom)
	if code != 6 {
		t.Fatalf("apply exited %d, want 6 (empty source):\n%s", code, out)
	}
	text, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	fams := promFamilies(t, text)
	wantProm(t, fams, 6, "lumuctl_run_last_exit_code", "command=apply")
	wantProm(t, fams, 0, "lumuctl_run_last_success", "command=apply")
	wantProm(t, fams, 1, "lumuctl_guard_trips_total", "blocklist=lumu", "guard=empty_source")
	wantProm(t, fams, 0, "lumuctl_item_writes_total", "blocklist=lumu", "op=create")
	if w.sb.Kibana.Counters().Writes() != 0 {
		t.Fatal("a guarded apply wrote to Kibana")
	}
}
