package views

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/lumuctl/lumuctl/engine/apply"
	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
	"github.com/lumuctl/lumuctl/engine/state"
)

// The -update flag may be registered by another test file of this package
// (at package-variable initialisation, which runs before init), so it is
// registered here only when missing and read through flag.Lookup.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

var fixedNow = time.Date(2026, 11, 1, 12, 0, 0, 123456789, time.UTC)

func fixedClock() time.Time { return fixedNow }

// testHash returns a distinct sha256-looking hash for tag.
func testHash(tag string) string {
	s := sha256.Sum256([]byte(tag))
	return hex.EncodeToString(s[:])
}

func testItem(itemID string, values ...string) *provider.Item {
	return &provider.Item{ItemID: itemID, Name: itemID, OSTypes: []string{"windows"},
		Entries: []provider.Entry{{Field: "file.hash.sha256", Type: "match_any", Operator: "included", Value: values}}}
}

// smallPlan is a hand-built plan with every kind of content: a container to
// create, drift, a create, an update (with moved hashes and a reason), a
// delete, an orphan blocklist, provenance with several incidents, and a
// warning.
func smallPlan() *plan.Plan {
	h := func(i int) string { return testHash(fmt.Sprintf("h%d", i)) }
	const pre = "lumuctl-default-lumu-windows-sha256-"
	p := &plan.Plan{
		FormatVersion: 1, ToolVersion: "1.2.3", CreatedAt: fixedNow, Mode: plan.ModeNormal,
		Namespace: "default",
		Kibanas: []plan.KibanaPlan{
			{Name: "prod", CreateContainer: true},
			{Name: "stage"},
		},
		Blocklists: []plan.BlocklistPlan{
			{
				Name: "lumu", Kibana: "prod", Sources: []string{"mal"},
				Drift: []plan.Drift{{ItemID: pre + "0002", What: []string{"values", "tags"}, Removed: []string{h(9)}}},
				Changes: []plan.ItemChange{
					{Action: provider.Create, ItemID: pre + "0001", OS: "windows", HashType: provider.SHA256,
						After: testItem(pre+"0001", h(1), h(2)), Added: []string{h(1), h(2)}},
					{Action: provider.Update, ItemID: pre + "0002", OS: "windows", HashType: provider.SHA256, ID: "id-2", ExpectVersion: "WzEsMV0=",
						After: testItem(pre+"0002", h(3), h(4), h(9)), Added: []string{h(3)}, Removed: []string{h(5)},
						MovedIn: []string{h(4)}, Reasons: []string{"restore tags changed outside lumuctl"}},
					{Action: provider.Delete, ItemID: pre + "0003", OS: "windows", HashType: provider.SHA256, ID: "id-3", ExpectVersion: "WzIsMV0=",
						Removed: []string{h(6), h(7)}},
				},
				Provenance: plan.Provenance{
					Incidents: []provider.IncidentRef{
						{ID: "7c40be00-1111-4222-8333-944445555666", Company: "acme", Filter: "mal", AdversaryID: "qakbot.example", AdversaryTypes: []string{"Malware"},
							Description: "QakBot", LastContact: time.Date(2026, 10, 30, 8, 0, 0, 0, time.UTC), Status: "open"},
						{ID: "9d1e2f30-aaaa-4bbb-8ccc-dddddddddddd", Company: "acme", Filter: "mal", AdversaryTypes: []string{"Malware", "C2C"},
							Description: "Emotet loader", LastContact: time.Date(2026, 10, 31, 8, 0, 0, 0, time.UTC), Status: "open"},
					},
					Hashes: map[string][]int{h(1): {0}, h(2): {0, 1}, h(3): {1}, h(4): {0}},
				},
				PriorProvenance: plan.Provenance{
					Incidents: []provider.IncidentRef{{ID: "5e5e5e5e-old", Company: "acme", Filter: "mal", AdversaryTypes: []string{"Phishing"}, Description: "closed one"}},
					Hashes:    map[string][]int{h(5): {0}, h(6): {0}},
				},
				Unchanged: 4, HashesBefore: 10, HashesAdded: 3, HashesRemoved: 3, HashesAfter: 10,
			},
			{
				Name: "old", Kibana: "stage", Orphan: true,
				Changes: []plan.ItemChange{
					{Action: provider.Delete, ItemID: "lumuctl-default-old-linux-md5-0001", OS: "linux", HashType: provider.MD5, ID: "id-4",
						Removed: []string{"0123456789abcdef0123456789abcdef"}},
				},
				HashesBefore: 1, HashesRemoved: 1,
			},
		},
		Summary: plan.Summary{Add: 1, Change: 1, Destroy: 2, HashesAdded: 3, HashesRemoved: 4, BlockedAfter: 10, Containers: 1, Drifted: 1},
		Warnings: []plan.Note{
			{Summary: "Malformed hash skipped", Detail: `incident 7c40be00 reported sha256 "xyz", which is not a hash`},
		},
		Digest: "d1g3st0000000000000000000000000000000000000000000000000000000000",
	}
	return p
}

func TestEventsGolden(t *testing.T) {
	p := smallPlan()
	var buf bytes.Buffer
	ev := NewEvents(&buf, "1.2.3", fixedClock)

	src := []byte("blocklist \"lumu\" {\n  severity = \"urgent\"\n}\n")
	file, _ := hclsyntax.ParseConfig(src, "main.lumu.hcl", hcl.InitialPos)
	rng := hcl.Range{Filename: "main.lumu.hcl", Start: hcl.Pos{Line: 2, Column: 14, Byte: 32}, End: hcl.Pos{Line: 2, Column: 22, Byte: 40}}
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagWarning, Summary: "Targeting is in effect", Detail: "Only blocklist.lumu is planned."},
		{Severity: hcl.DiagError, Summary: "Invalid severity", Detail: `"urgent" is not a severity.`, Subject: &rng},
	}
	if err := ev.Diagnostics(diags, map[string]*hcl.File{"main.lumu.hcl": file}); err != nil {
		t.Fatal(err)
	}
	if err := ev.Plan(p); err != nil {
		t.Fatal(err)
	}
	// Apply, sequentially so that the golden order is fixed.
	if err := ev.ApplyStart(CountWrites(p)); err != nil {
		t.Fatal(err)
	}
	res := &apply.Result{Outcome: state.OutcomePartial}
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			ev.PreApply(bp.Name, c)
			var err error
			if c.Action == provider.Delete && bp.Orphan {
				err = fmt.Errorf("delete %s: %w", c.ItemID, provider.ErrConflict)
				res.Errors = append(res.Errors, err)
			} else {
				res.Writes++
				switch c.Action {
				case provider.Create:
					res.Added++
				case provider.Update:
					res.Changed++
				case provider.Delete:
					res.Destroyed++
				}
				res.HashesAdded += len(c.Added)
				res.HashesRemoved += len(c.Removed)
			}
			ev.PostApply(bp.Name, c, err)
		}
	}
	if err := ev.ApplyComplete(res, p.Digest, false); err != nil {
		t.Fatal(err)
	}
	if err := ev.Err(); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "events_small.jsonl", buf.String())

	// Every line is one JSON object with the common fields; version first;
	// every message type appears.
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	seen := map[string]bool{}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		for _, k := range []string{"@level", "@message", "@timestamp", "type"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d lacks %q: %s", i+1, k, line)
			}
		}
		if m["@timestamp"] != "2026-11-01T12:00:00.123456789Z" {
			t.Errorf("line %d: @timestamp = %v", i+1, m["@timestamp"])
		}
		typ, _ := m["type"].(string)
		if i == 0 && typ != string(MessageVersion) {
			t.Errorf("first message type = %q, want version", typ)
		}
		seen[typ] = true
	}
	for _, typ := range []MessageType{MessageVersion, MessageDiagnostic, MessageContainer, MessageDrift, MessagePlannedChange,
		MessageChangeSummary, MessageApplyStart, MessageApplyProgress, MessageApplyErrored, MessageApplyComplete} {
		if !seen[string(typ)] {
			t.Errorf("no %s message", typ)
		}
	}
}

// TestEventsPlanChanges decodes the planned_change messages and checks that
// every hash of the plan is there with its provenance (no cutting in JSON).
func TestEventsPlanChanges(t *testing.T) {
	p := hugePlan(20000, 3)
	var buf bytes.Buffer
	if err := NewEvents(&buf, "test", fixedClock).Plan(p); err != nil {
		t.Fatal(err)
	}
	var got, want []string // "action item_id +hash" / "-hash"
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			for _, h := range c.Added {
				want = append(want, fmt.Sprintf("%s %s +%s %s", c.Action, c.ItemID, h, bp.Provenance.Lookup(h)[0].ID))
			}
			for _, h := range c.Removed {
				want = append(want, fmt.Sprintf("%s %s -%s", c.Action, c.ItemID, h))
			}
		}
	}
	var summary *ChangeSummaryMessage
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		var head MessageHeader
		if err := json.Unmarshal([]byte(line), &head); err != nil {
			t.Fatal(err)
		}
		switch head.Type {
		case MessagePlannedChange:
			var m PlannedChangeMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			for _, a := range m.Change.Added {
				if len(a.Incidents) != 1 {
					t.Fatalf("hash %s has %d incidents", a.Hash, len(a.Incidents))
				}
				got = append(got, fmt.Sprintf("%s %s +%s %s", m.Change.Action, m.Change.ItemID, a.Hash, a.Incidents[0].ID))
			}
			for _, r := range m.Change.Removed {
				got = append(got, fmt.Sprintf("%s %s -%s", m.Change.Action, m.Change.ItemID, r.Hash))
			}
		case MessageChangeSummary:
			summary = new(ChangeSummaryMessage)
			if err := json.Unmarshal([]byte(line), summary); err != nil {
				t.Fatal(err)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hashes mismatch (-want +got):\n%s", diff)
	}
	if summary == nil {
		t.Fatal("no change_summary")
	}
	wantSum := JSONChangeSummary{Add: p.Summary.Add, Change: p.Summary.Change, Remove: p.Summary.Destroy,
		HashesAdded: p.Summary.HashesAdded, HashesRemoved: p.Summary.HashesRemoved, BlockedAfter: p.Summary.BlockedAfter, Operation: OperationPlan}
	if diff := cmp.Diff(wantSum, summary.Changes); diff != "" {
		t.Errorf("change_summary mismatch (-want +got):\n%s", diff)
	}
	if want := fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", p.Summary.Add, p.Summary.Change, p.Summary.Destroy); summary.Message != want {
		t.Errorf("change_summary @message = %q, want %q", summary.Message, want)
	}
}

func TestEventsSummaryMessages(t *testing.T) {
	cases := []struct {
		name string
		emit func(*Events) error
		want MessageHeader
	}{
		{"no changes", func(e *Events) error { return e.Plan(&plan.Plan{Digest: "d"}) },
			MessageHeader{Level: "info", Type: MessageChangeSummary, Message: "No changes. The blocklists match the configuration."}},
		{"container only is a change", func(e *Events) error {
			return e.Plan(&plan.Plan{Summary: plan.Summary{Containers: 1}})
		}, MessageHeader{Level: "info", Type: MessageChangeSummary, Message: "Plan: 0 to add, 0 to change, 0 to destroy."}},
		{"apply success", func(e *Events) error {
			return e.ApplyComplete(&apply.Result{Added: 2, Changed: 1, Destroyed: 3, Blocked: 99, Writes: 6, Outcome: state.OutcomeSuccess}, "d", false)
		}, MessageHeader{Level: "info", Type: MessageChangeSummary, Message: "Apply complete! Items: 2 added, 1 changed, 3 destroyed. Hashes blocked: 99."}},
		{"destroy success", func(e *Events) error {
			return e.ApplyComplete(&apply.Result{Destroyed: 3, Writes: 3, Outcome: state.OutcomeSuccess}, "d", true)
		}, MessageHeader{Level: "info", Type: MessageChangeSummary, Message: "Destroy complete! Items: 0 added, 0 changed, 3 destroyed. Hashes blocked: 0."}},
		{"partial", func(e *Events) error {
			return e.ApplyComplete(&apply.Result{Added: 1, Writes: 1, Errors: []error{errors.New("x")}, Outcome: state.OutcomePartial}, "d", false)
		}, MessageHeader{Level: "error", Type: MessageChangeSummary, Message: "Apply failed with 1 error after 1 successful write: 1 added, 0 changed, 0 destroyed."}},
		{"interrupted", func(e *Events) error {
			return e.ApplyComplete(&apply.Result{Changed: 2, Writes: 2, Interrupted: true, Outcome: state.OutcomeInterrupted}, "d", false)
		}, MessageHeader{Level: "error", Type: MessageChangeSummary, Message: "Interrupted after 2 writes: 0 added, 2 changed, 0 destroyed."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := NewEvents(&buf, "test", fixedClock)
			if err := tc.emit(e); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			var got MessageHeader
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
				t.Fatal(err)
			}
			tc.want.Timestamp = "2026-11-01T12:00:00.123456789Z"
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("last message mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEventsConcurrentHook calls the hook from many goroutines (run with
// -race): every line must be valid JSON and apply_progress "done" must
// count 1..N in order.
func TestEventsConcurrentHook(t *testing.T) {
	const workers, perWorker = 16, 200
	var buf bytes.Buffer
	e := NewEvents(&buf, "test", time.Now)
	if err := e.ApplyStart(workers * perWorker); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				c := plan.ItemChange{Action: provider.Update, ItemID: fmt.Sprintf("lumuctl-default-lumu-windows-sha256-%02d%04d", w, i), Added: []string{"a"}}
				e.PreApply("lumu", c)
				var err error
				if i%10 == 9 {
					err = errors.New("update: 409 conflict")
				}
				e.PostApply("lumu", c, err)
			}
		}()
	}
	wg.Wait()
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	var progress, errored, done int
	for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		var m ApplyProgressMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%q", i+1, err, line)
		}
		switch m.Type {
		case MessageApplyProgress:
			progress++
			done++
			if m.Done != done || m.Total != workers*perWorker {
				t.Fatalf("line %d: done/total = %d/%d, want %d/%d", i+1, m.Done, m.Total, done, workers*perWorker)
			}
		case MessageApplyErrored:
			errored++
		}
	}
	if want := workers * perWorker / 10; errored != want || progress != workers*perWorker-want {
		t.Errorf("progress = %d, errored = %d; want %d, %d", progress, errored, workers*perWorker-want, want)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(b []byte) (int, error) {
	w.n++
	if w.n > 1 {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

func TestEventsWriteErrorIsKept(t *testing.T) {
	e := NewEvents(&failingWriter{}, "test", fixedClock)
	if e.Err() != nil {
		t.Fatalf("version write failed: %v", e.Err())
	}
	err := e.Plan(&plan.Plan{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Plan error = %v, want the write error", err)
	}
	if e.Plan(nil) == nil {
		t.Error("Plan(nil) returned no error")
	}
	if e.ApplyComplete(nil, "", false) == nil {
		t.Error("ApplyComplete(nil) returned no error")
	}
}

// TestNoSecretInOutput plans from a configuration with distinctive keys and
// checks that neither the events nor the markdown contain them.
func TestNoSecretInOutput(t *testing.T) {
	const lumuKey, kibanaKey = "LUMU-SECRET-7f3a9c1e2d4b", "KIBANA-SECRET-b8e1d2c3a4f5"
	cfgText := fmt.Sprintf(`
company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.lumu_key
}
variable "lumu_key" {
  type      = string
  sensitive = true
  default   = %q
}
kibana "prod" {
  url     = "https://kibana.example.com"
  api_key = %q
}
ioc_filter "mal" {
  company = company.acme
}
blocklist "lumu" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal]
  os_types            = ["windows"]
  max_values_per_item = 10
}
`, lumuKey, kibanaKey)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatalf("config: %s", diags.Error())
	}
	// The keys are really in the configuration the planner sees.
	if cfg.Companies["acme"].DefenderKey.Reveal() != lumuKey || cfg.Kibanas["prod"].APIKey.Reveal() != kibanaKey {
		t.Fatal("the test configuration does not hold the keys")
	}
	src := providertest.NewSource()
	var hs []string
	for i := range 25 {
		hs = append(hs, testHash(fmt.Sprint(i)))
	}
	src.Set("mal", provider.SHA256, hs...)
	p, pdiags := plan.Make(context.Background(), plan.Options{Config: cfg, Source: src,
		Kibanas: map[string]provider.Target{"prod": providertest.NewTarget()}, Now: fixedNow, ToolVersion: "test"})
	if pdiags.HasErrors() {
		t.Fatalf("plan: %s", pdiags.Error())
	}
	if !p.HasChanges() {
		t.Fatal("the plan has no changes; the test would prove nothing")
	}
	var buf bytes.Buffer
	ev := NewEvents(&buf, "test", fixedClock)
	_ = ev.Diagnostics(pdiags, nil)
	if err := ev.Plan(p); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"events":   buf.String(),
		"markdown": RenderMarkdown(p, MarkdownOptions{PlanFile: "plan.out"}),
	}
	for name, out := range outputs {
		if !strings.Contains(out, hs[0]) {
			t.Errorf("%s does not show the planned hashes; the check would prove nothing", name)
		}
		for _, key := range []string{lumuKey, kibanaKey} {
			if strings.Contains(out, key) {
				t.Errorf("%s contains a key", name)
			}
		}
	}
}
