package plan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
)

var testNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

const baseConfig = `
company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.lumu_key
}
variable "lumu_key" {
  type      = string
  sensitive = true
  default   = "k"
}
variable "kibana_key" {
  type      = string
  sensitive = true
  default   = "k"
}
ioc_filter "mal" {
  company = company.acme
}
ioc_filter "other" {
  company = company.acme
}
kibana "prod" {
  url     = "https://kibana.example.com"
  api_key = var.kibana_key
}
`

func loadConfig(t *testing.T, blocks string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(baseConfig+blocks), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatalf("config: %s", diags.Error())
	}
	return cfg
}

var hashes = providertest.Hashes

type env struct {
	cfg    *config.Config
	src    *providertest.Source
	target *providertest.Target
	prior  Prior
}

func newEnv(t *testing.T, blocks string) *env {
	return &env{cfg: loadConfig(t, blocks), src: providertest.NewSource(), target: providertest.NewTarget()}
}

func (e *env) plan(t *testing.T, mut ...func(*Options)) (*Plan, hcl.Diagnostics) {
	t.Helper()
	opts := Options{Config: e.cfg, Prior: e.prior, Source: e.src,
		Kibanas: map[string]provider.Target{"prod": e.target}, Now: testNow, ToolVersion: "test"}
	for _, m := range mut {
		m(&opts)
	}
	return Make(context.Background(), opts)
}

func (e *env) mustPlan(t *testing.T, mut ...func(*Options)) *Plan {
	t.Helper()
	p, diags := e.plan(t, mut...)
	if diags.HasErrors() {
		t.Fatalf("plan: %s", diags.Error())
	}
	return p
}

// applyDirect executes a plan on the fake target (no journal; engine/apply
// is tested separately) and records the result as prior state.
func (e *env) applyDirect(t *testing.T, p *Plan) {
	t.Helper()
	ctx := context.Background()
	if e.prior.Items == nil {
		e.prior.Items = map[string]provider.Item{}
	}
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			switch c.Action {
			case provider.Create:
				it, err := e.target.Create(ctx, *c.After)
				if err != nil {
					t.Fatal(err)
				}
				e.prior.Items[it.ItemID] = it
			case provider.Update:
				it, err := e.target.Update(ctx, *c.After)
				if err != nil {
					t.Fatal(err)
				}
				e.prior.Items[it.ItemID] = it
			case provider.Delete:
				if err := e.target.Delete(ctx, c.ID, c.ExpectVersion); err != nil {
					t.Fatal(err)
				}
				delete(e.prior.Items, c.ItemID)
			}
		}
	}
}

const oneBlocklist = `
blocklist "lumu" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal]
  os_types            = ["windows"]
  max_values_per_item = 1000
}
`

func TestInitialSyncThenNoChanges(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	e.src.Set("mal", provider.SHA256, hashes("a", 2500)...)
	p := e.mustPlan(t)
	if got, want := p.Summary, (Summary{Add: 3, HashesAdded: 2500, BlockedAfter: 2500}); got != want {
		t.Fatalf("summary = %+v, want %+v", got, want)
	}
	for _, c := range p.Blocklists[0].Changes {
		if c.After == nil || len(c.After.OSTypes) != 1 || c.After.OSTypes[0] != "windows" ||
			c.After.Tags[0] != "policy:all" || !strings.HasPrefix(c.ItemID, "lumuctl-default-lumu-windows-sha256-") {
			t.Fatalf("bad change %+v", c)
		}
	}
	e.applyDirect(t, p)
	p2 := e.mustPlan(t)
	if p2.HasChanges() || p2.Summary.BlockedAfter != 2500 {
		t.Fatalf("second plan has changes: %+v", p2.Summary)
	}
	if p2.Blocklists[0].Unchanged != 3 {
		t.Fatalf("unchanged = %d, want 3", p2.Blocklists[0].Unchanged)
	}
}

func TestRemovalRewritesOnlyHoldingItems(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	all := hashes("a", 3000)
	e.src.Set("mal", provider.SHA256, all...)
	e.applyDirect(t, e.mustPlan(t))
	// Drop 5 hashes that all sit in one item (items hold sorted values).
	held := e.target.All()[1].Entries[0].Value[:5]
	drop := map[string]bool{}
	for _, h := range held {
		drop[h] = true
	}
	var keep []string
	for _, h := range all {
		if !drop[h] {
			keep = append(keep, h)
		}
	}
	e.src.Set("mal", provider.SHA256, keep...)
	p := e.mustPlan(t)
	if got, want := p.Summary, (Summary{Change: 1, HashesRemoved: 5, BlockedAfter: 2995}); got != want {
		t.Fatalf("summary = %+v, want %+v", got, want)
	}
	if got := p.Blocklists[0].Changes[0].Removed; len(got) != 5 {
		t.Fatalf("removed = %v", got)
	}
	// Provenance of removed hashes comes from the prior state when known.
	e.prior.Incidents = func(bl, h string) []provider.IncidentRef {
		return []provider.IncidentRef{{ID: "old-" + h[:4]}}
	}
	p = e.mustPlan(t)
	if got := p.Blocklists[0].PriorProvenance.Lookup(held[0]); len(got) != 1 || got[0].ID != "old-"+held[0][:4] {
		t.Fatalf("provenance of removed hash = %+v", got)
	}
}

func TestSourceFailureIsAnErrorNeverARemoval(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	e.src.Set("mal", provider.SHA256, hashes("a", 10)...)
	e.applyDirect(t, e.mustPlan(t))
	e.src.Errs["mal"] = errors.New("lumu: 503 after retries")
	p, diags := e.plan(t)
	if p != nil || !diags.HasErrors() || IsGuardTrip(diags) {
		t.Fatalf("plan = %v, diags = %v", p, diags)
	}
	if !strings.Contains(diags.Error(), "503") || !strings.Contains(diags.Error(), `"mal"`) {
		t.Fatalf("diagnostic does not name the source and cause: %s", diags.Error())
	}
}

func TestGuards(t *testing.T) {
	cases := []struct {
		name      string
		blocks    string
		before    int // hashes applied first
		after     int // hashes the source yields then
		allowMass bool
		guard     string // "" = no trip
		at        string // the trip's subject is the first line holding this
	}{
		{"small removal passes", oneBlocklist, 100, 80, false, "", ""},
		{"fraction trips", oneBlocklist, 100, 70, false, "mass_delete", `blocklist "lumu" {`},
		{"flag overrides fraction", oneBlocklist, 100, 70, true, "", ""},
		{"empty source trips", oneBlocklist, 100, 0, true, "empty_source", "sources"},
		{"max_deletes trips", strings.Replace(oneBlocklist, "max_values_per_item = 1000", "max_values_per_item = 1000\n  guard {\n    max_delete_fraction = 1\n    max_deletes = 10\n  }", 1), 100, 89, false, "mass_delete", "guard {"},
		{"allow_empty_sources", strings.Replace(oneBlocklist, "max_values_per_item = 1000", "max_values_per_item = 1000\n  guard {\n    allow_empty_sources = true\n  }", 1), 100, 0, true, "", ""},
		{"prevent_destroy not overridable", strings.Replace(oneBlocklist, "max_values_per_item = 1000", "max_values_per_item = 10\n  prevent_destroy = true\n  guard {\n    allow_empty_sources = true\n  }", 1), 100, 0, true, "prevent_destroy", "prevent_destroy"},
		{"prevent_destroy allows updates", strings.Replace(oneBlocklist, "max_values_per_item = 1000", "max_values_per_item = 10\n  prevent_destroy = true", 1), 100, 85, false, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.blocks)
			e.src.Set("mal", provider.SHA256, hashes("a", tc.before)...)
			e.applyDirect(t, e.mustPlan(t))
			e.src.Set("mal", provider.SHA256, hashes("a", tc.after)...)
			_, diags := e.plan(t, func(o *Options) { o.AllowMassDelete = tc.allowMass })
			var got, at string
			for _, d := range diags {
				if g, ok := d.Extra.(GuardTrip); ok {
					got = g.Guard
					at = fmt.Sprintf("%s:%d", filepath.Base(d.Subject.Filename), d.Subject.Start.Line)
				}
			}
			if got != tc.guard {
				t.Fatalf("guard = %q, want %q (diags: %v)", got, tc.guard, diags)
			}
			if tc.guard == "" {
				return
			}
			if !IsGuardTrip(diags) {
				t.Fatal("IsGuardTrip = false")
			}
			if want := "main.lumu.hcl:" + strconv.Itoa(lineOf(t, baseConfig+tc.blocks, tc.at)); at != want {
				t.Errorf("%s trip points at %s, want %s (the line with %q)", got, at, want, tc.at)
			}
		})
	}
}

// TestEmptySourceTripPointsAtTheSource: of two sources, the empty one is
// the subject of the trip, not the blocklist or the first source.
func TestEmptySourceTripPointsAtTheSource(t *testing.T) {
	blocks := strings.Replace(oneBlocklist, "[ioc_filter.mal]", "[\n    ioc_filter.mal,\n    ioc_filter.other,\n  ]", 1)
	e := newEnv(t, blocks)
	e.src.Set("mal", provider.SHA256, hashes("a", 10)...)
	_, diags := e.plan(t)
	if len(diags) != 1 || !IsGuardTrip(diags) || diags[0].Summary != "Source yielded no hashes" {
		t.Fatalf("diags = %v", diags)
	}
	got := fmt.Sprintf("%s:%d,%d", filepath.Base(diags[0].Subject.Filename), diags[0].Subject.Start.Line, diags[0].Subject.Start.Column)
	if want := fmt.Sprintf("main.lumu.hcl:%d,5", lineOf(t, baseConfig+blocks, "ioc_filter.other,")); got != want {
		t.Errorf("empty_source trip points at %s, want %s", got, want)
	}
}

// lineOf is the 1-based number of the first line of src that contains s.
func lineOf(t *testing.T, src, s string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("no line holds %q", s)
	return 0
}

func TestOrphanBlocklistDeletedBehindGuard(t *testing.T) {
	e := newEnv(t, oneBlocklist+strings.ReplaceAll(oneBlocklist, `"lumu"`, `"second"`))
	e.src.Set("mal", provider.SHA256, hashes("a", 50)...)
	e.applyDirect(t, e.mustPlan(t))
	e.cfg = loadConfig(t, oneBlocklist) // "second" removed from the configuration
	_, diags := e.plan(t)
	if !IsGuardTrip(diags) {
		t.Fatalf("removing a blocklist must need --allow-mass-delete; diags: %v", diags)
	}
	p := e.mustPlan(t, func(o *Options) { o.AllowMassDelete = true })
	if p.Summary.Destroy != 1 || !p.Blocklists[1].Orphan || p.Blocklists[1].Name != "second" {
		t.Fatalf("plan = %+v", p.Summary)
	}
}

func TestUnownedItemsUntouched(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	foreign := []provider.Item{
		{ItemID: "my-own-item", OSTypes: []string{"windows"}, Entries: []provider.Entry{{Field: "file.hash.sha256", Value: hashes("x", 1)}}},
		{ItemID: "lumuctl-defaultx-lumu-windows-sha256-0001"},
		{ItemID: "lumuctl-other-lumu-windows-sha256-0001"},
	}
	for _, it := range foreign {
		e.target.Put(it)
	}
	e.src.Set("mal", provider.SHA256, hashes("a", 10)...)
	p := e.mustPlan(t, func(o *Options) { o.AllowMassDelete = true })
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			if !strings.HasPrefix(c.ItemID, "lumuctl-default-") {
				t.Fatalf("plan touches unowned item %s", c.ItemID)
			}
		}
	}
	if p.Kibanas[0].Unmanaged != 3 {
		t.Fatalf("unmanaged = %d, want 3", p.Kibanas[0].Unmanaged)
	}
}

func TestDriftIsRestored(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	e.src.Set("mal", provider.SHA256, hashes("a", 10)...)
	e.applyDirect(t, e.mustPlan(t))
	it := e.target.All()[0]
	it.Name = "renamed by hand"
	it.Tags = append(it.Tags, "ownerSpaceId:default")
	it.Entries[0].Value = append(it.Entries[0].Value[1:], hashes("z", 1)...)
	e.target.Put(it)
	p := e.mustPlan(t)
	bp := p.Blocklists[0]
	if len(bp.Drift) != 1 || fmt.Sprint(bp.Drift[0].What) != "[values name]" || len(bp.Drift[0].Added) != 1 || len(bp.Drift[0].Removed) != 1 {
		t.Fatalf("drift = %+v", bp.Drift)
	}
	if p.Summary.Change != 1 || len(bp.Changes) != 1 {
		t.Fatalf("changes = %+v", bp.Changes)
	}
	after := bp.Changes[0].After
	if after.Name != ItemName("lumu", "windows", provider.SHA256, 1) || len(after.Entries[0].Value) != 10 {
		t.Fatalf("restored item = %+v", after)
	}
	if tags := fmt.Sprint(after.Tags); tags != "[policy:all ownerSpaceId:default]" {
		t.Fatalf("ownerSpaceId tag not preserved: %s", tags)
	}
	e.applyDirect(t, p)
	if p := e.mustPlan(t); p.HasChanges() {
		t.Fatalf("plan after restore has changes: %+v", p.Summary)
	}
}

func TestPolicyCheck(t *testing.T) {
	e := newEnv(t, strings.Replace(oneBlocklist, `os_types`, `policies = ["2b8cb1a8-7f39-4c7a-9d25-0d1b3c9e1f00"]
  os_types`, 1))
	e.src.Set("mal", provider.SHA256, hashes("a", 1)...)
	_, diags := e.plan(t)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "2b8cb1a8-7f39-4c7a-9d25-0d1b3c9e1f00") {
		t.Fatalf("unknown policy not reported: %v", diags)
	}
	e.target.Policies["2b8cb1a8-7f39-4c7a-9d25-0d1b3c9e1f00"] = true
	p := e.mustPlan(t)
	if tags := fmt.Sprint(p.Blocklists[0].Changes[0].After.Tags); tags != "[policy:2b8cb1a8-7f39-4c7a-9d25-0d1b3c9e1f00]" {
		t.Fatalf("tags = %s", tags)
	}
}

func TestDestroyModeRemovesEverythingOwned(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	e.src.Set("mal", provider.SHA256, hashes("a", 1500)...)
	e.applyDirect(t, e.mustPlan(t))
	p := e.mustPlan(t, func(o *Options) { o.Mode = ModeDestroy })
	if p.Summary.Destroy != 2 || p.Summary.HashesRemoved != 1500 || p.Summary.BlockedAfter != 0 {
		t.Fatalf("summary = %+v", p.Summary)
	}
	if n := e.src.Calls["mal"]; n != 1 {
		t.Fatalf("destroy read the source: %d calls", n)
	}
}

func TestContainerMissing(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	e.target.SetContainer(false)
	e.src.Set("mal", provider.SHA256, hashes("a", 1)...)
	p := e.mustPlan(t)
	if !p.Kibanas[0].CreateContainer || p.Summary.Containers != 1 || p.Summary.Add != 1 {
		t.Fatalf("plan = %+v %+v", p.Kibanas, p.Summary)
	}
}

func TestPlanFileRoundTripAndTamper(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	e.src.Set("mal", provider.SHA256, hashes("a", 20)...)
	p := e.mustPlan(t)
	var buf bytes.Buffer
	if err := Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	again := e.mustPlan(t)
	var buf2 bytes.Buffer
	_ = Encode(&buf2, again)
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Fatal("two plans of the same world encode differently")
	}
	got, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != p.Digest || got.Summary != p.Summary {
		t.Fatalf("round trip changed the plan")
	}
	if _, body := unpackFile(t, buf.Bytes()); bytes.Contains(body, []byte(`"k"`)) {
		t.Fatal("plan file contains a credential")
	}
	head, body := unpackFile(t, buf.Bytes())
	tampered := packFile(t, head, bytes.Replace(body, []byte(`"policy:all"`), []byte(`"policy:xyz"`), 1))
	if _, err := Decode(bytes.NewReader(tampered)); err == nil || !IsDecodeError(err) {
		t.Fatalf("tampered plan accepted: %v", err)
	}
	for name, in := range map[string]string{
		"empty":   "",
		"garbage": "not json",
		"future":  `{"format_version": 99}`,
		"no ver":  `{"mode": "normal"}`,
	} {
		if _, err := Decode(strings.NewReader(in)); err == nil || !IsDecodeError(err) {
			t.Errorf("%s: decode error = %v", name, err)
		}
	}
}

func TestWarningsMerged(t *testing.T) {
	results := map[string]*fetched{"mal": {resp: provider.FetchResponse{}}}
	for i := 0; i < 12; i++ {
		results["mal"].resp.Warnings = append(results["mal"].resp.Warnings, provider.Warning{Summary: "Malformed hash", Detail: fmt.Sprintf("value %d", i)})
	}
	results["mal"].resp.Warnings = append(results["mal"].resp.Warnings, provider.Warning{Summary: "Cache in use", Detail: "x"})
	got := collectWarnings(results)
	if len(got) != 2 || got[0].Summary != "Malformed hash (12 times)" || got[1].Summary != "Cache in use" {
		t.Fatalf("warnings = %+v", got)
	}
	lines := strings.Split(got[0].Detail, "\n")
	if len(lines) != 11 || lines[10] != "... and 2 more" || lines[0] != `ioc_filter "mal": value 0` {
		t.Fatalf("detail = %q", got[0].Detail)
	}
}

// TestInvalidUTF8FromProvidersStillVerifies: text from a provider with
// invalid UTF-8 must not make a sealed plan fail its own digest check.
func TestInvalidUTF8FromProvidersStillVerifies(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	e.src.Set("mal", provider.SHA256, hashes("a", 3)...)
	for _, ind := range e.src.Indicators["mal"] {
		ind.Incidents[0].Description = "bad \x9b byte"
	}
	p := e.mustPlan(t)
	p.Warnings = append(p.Warnings, collectWarnings(map[string]*fetched{"mal": {resp: provider.FetchResponse{
		Warnings: []provider.Warning{{Summary: "odd \xff", Detail: "value \x9b"}}}}})...)
	if err := Seal(p); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(&buf); err != nil {
		t.Fatalf("plan with provider text does not verify: %v", err)
	}
}

// TestContainerGoneWhileStateRecordsItems pins SPEC 5: the state records
// owned items but Kibana says the container is missing (list deleted, or
// url pointing elsewhere). The plan trips the mass-delete guard, naming the
// kibana and the items; with --allow-mass-delete it is a warning and the
// plan re-creates everything.
func TestContainerGoneWhileStateRecordsItems(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	e.src.Set("mal", provider.SHA256, hashes("a", 2500)...)
	e.applyDirect(t, e.mustPlan(t))
	e.target = providertest.NewTarget()
	e.target.SetContainer(false)

	p, diags := e.plan(t)
	if !IsGuardTrip(diags) || p == nil {
		t.Fatalf("no guard trip: %v", diags)
	}
	msg := diags.Error()
	for _, want := range []string{`kibana "prod"`, "records 3 owned item(s)", "lumuctl-default-lumu-windows-sha256-0001", "--allow-mass-delete"} {
		if !strings.Contains(msg, want) {
			t.Errorf("diagnostic %q does not say %q", msg, want)
		}
	}

	p, diags = e.plan(t, func(o *Options) { o.AllowMassDelete = true })
	if diags.HasErrors() || p.Summary.Add != 3 || !p.Kibanas[0].CreateContainer {
		t.Fatalf("with --allow-mass-delete: %v, %+v", diags, p)
	}
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Detail, "does not exist") {
		t.Errorf("want one warning, got %v", diags)
	}

	// A first apply (empty state) needs no flag.
	e.prior = Prior{}
	if _, diags := e.plan(t); diags.HasErrors() || len(diags) != 0 {
		t.Errorf("first plan: %v", diags)
	}
}

// TestOwnedItemOfAnotherSpaceIsRefusedBeforeAnyWrite pins SPEC 5 (Kibana
// 9.1+): a per-policy item tagged ownerSpaceId:<other> cannot be changed
// from this kibana's space; the plan is an error naming the item, its owner
// space and the fix. Global items and items without the tag are planned.
func TestOwnedItemOfAnotherSpaceIsRefusedBeforeAnyWrite(t *testing.T) {
	const pol = "2b8cb1a8-7f39-4c7a-9d25-0d1b3c9e1f00"
	e := newEnv(t, strings.Replace(oneBlocklist, `os_types`, `policies = ["`+pol+`"]
  os_types`, 1))
	e.target.Policies[pol] = true
	e.src.Set("mal", provider.SHA256, hashes("a", 10)...)
	e.applyDirect(t, e.mustPlan(t))
	// Kibana 9.1 tagged the item with the space it was created from.
	it := e.target.All()[0]
	it.Tags = append(it.Tags, "ownerSpaceId:secops")
	e.target.Put(it)
	e.src.Set("mal", provider.SHA256, hashes("a", 11)...)

	_, diags := e.plan(t)
	if !diags.HasErrors() {
		t.Fatal("plan updating an item of another space succeeded")
	}
	msg := diags.Error()
	for _, want := range []string{it.ItemID, `owned by space "secops"`, `space = "secops" in kibana "prod"`, "ownerSpaceId:default", "Nothing was changed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("diagnostic does not say %q:\n%s", want, msg)
		}
	}
	if n := e.target.TotalWrites(); n != 1 {
		t.Errorf("writes = %d, want the 1 of the first apply", n)
	}

	// Owned by this space: planned.
	it.Tags = []string{"policy:" + pol, "ownerSpaceId:default"}
	e.target.Put(it)
	if p := e.mustPlan(t); p.Summary.Change != 1 {
		t.Errorf("own-space item: summary %+v", p.Summary)
	}
	// A global item owned elsewhere: the space never decides (Global
	// Artifact Management is needed from any space).
	e2 := newEnv(t, oneBlocklist)
	e2.src.Set("mal", provider.SHA256, hashes("a", 10)...)
	e2.applyDirect(t, e2.mustPlan(t))
	g := e2.target.All()[0]
	g.Tags = append(g.Tags, "ownerSpaceId:secops")
	e2.target.Put(g)
	e2.src.Set("mal", provider.SHA256, hashes("a", 11)...)
	if p := e2.mustPlan(t); p.Summary.Change != 1 {
		t.Errorf("global item: summary %+v", p.Summary)
	}
}

// TestWarningsOncePerRun: the same warning from two ioc_filters (they read
// the same incident) is listed once, naming both; the summary counts the
// distinct cases and incidents.
func TestWarningsOncePerRun(t *testing.T) {
	w := func(inc, v string) provider.Warning {
		return provider.Warning{Summary: "Malformed hash from Lumu ignored", Detail: "incident " + inc + " lists " + v, Incident: inc}
	}
	results := map[string]*fetched{
		"a": {resp: provider.FetchResponse{Warnings: []provider.Warning{w("i1", "x"), w("i1", "y"), w("i2", "z")}}},
		"b": {resp: provider.FetchResponse{Warnings: []provider.Warning{w("i1", "x"), w("i1", "x")}}},
	}
	got := collectWarnings(results)
	want := []Note{{
		Summary: "Malformed hash from Lumu ignored (3 times, in 2 incidents)",
		Detail:  "ioc_filters \"a\", \"b\": incident i1 lists x\nioc_filter \"a\": incident i1 lists y\nioc_filter \"a\": incident i2 lists z",
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}
