package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

const cfgText = `
variable "k" {
  type      = string
  sensitive = true
  default   = "secret"
}
company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.k
}
ioc_filter "mal" {
  company = company.acme
}
kibana "prod" {
  url     = "https://kibana.example.com"
  api_key = var.k
}
blocklist "lumu" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal]
  os_types            = ["windows", "linux"]
  max_values_per_item = 100
}
`

var hashes = providertest.Hashes

type harness struct {
	cfg    *config.Config
	src    *providertest.Source
	target *providertest.Target
	store  *boltstore.Store
}

func newHarness(t *testing.T) *harness {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return &harness{cfg: cfg, src: providertest.NewSource(), target: providertest.NewTarget(), store: statetest.MustOpen(t)}
}

func (h *harness) prior(t *testing.T) (plan.Prior, *state.State) {
	t.Helper()
	st, err := h.store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]provider.Item{}
	for id, it := range st.Items {
		items[id] = it.Item
	}
	return plan.Prior{Lineage: st.Lineage, Serial: st.Serial, Items: items,
		Incidents: func(bl, hash string) []provider.IncidentRef {
			refs, _ := h.store.Provenance(bl, hash)
			return refs
		}}, st
}

func (h *harness) plan(t *testing.T, allowMass bool) *plan.Plan {
	t.Helper()
	prior, _ := h.prior(t)
	p, diags := plan.Make(context.Background(), plan.Options{Config: h.cfg, Prior: prior, Source: h.src,
		Kibanas: map[string]provider.Target{"prod": h.target}, Now: now, AllowMassDelete: allowMass})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return p
}

func (h *harness) apply(t *testing.T, ctx context.Context, p *plan.Plan) *Result {
	t.Helper()
	w, err := h.store.Lock(ctx, state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unlock()
	res, err := Apply(ctx, Options{Plan: p, Kibanas: map[string]provider.Target{"prod": h.target}, Live: LiveFromPlan(p), State: w,
		Parallelism: 3, Who: "tester@host", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestApplyConvergesAndRecords(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 250)...)
	p := h.plan(t, false)
	res := h.apply(t, context.Background(), p)
	// 250 hashes × 2 OSes at 100 per item: 3 items per OS.
	if res.Outcome != state.OutcomeSuccess || res.Added != 6 || res.Writes != 6 || h.target.TotalWrites() != 6 {
		t.Fatalf("result = %+v, writes = %d", res, h.target.TotalWrites())
	}
	_, st := h.prior(t)
	if len(st.Items) != 6 || len(st.Pending()) != 0 {
		t.Fatalf("state items = %d, pending = %d", len(st.Items), len(st.Pending()))
	}
	if _, ok := st.Applied[p.Digest]; !ok {
		t.Fatal("applied digest not recorded")
	}
	refs, err := h.store.Provenance("lumu", hashes("a", 1)[0])
	if err != nil || len(refs) != 1 || refs[0].ID != "inc-mal" {
		t.Fatalf("provenance = %v, %v", refs, err)
	}
	hist, _ := h.store.History()
	if len(hist) != 1 || hist[0].Outcome != state.OutcomeSuccess || hist[0].Counts.ItemsAdded != 6 || hist[0].Who != "tester@host" {
		t.Fatalf("history = %+v", hist)
	}
	if p2 := h.plan(t, false); p2.HasChanges() {
		t.Fatalf("second plan has changes: %+v", p2.Summary)
	}

	// Close some incidents: 10 hashes leave, 5 arrive. Writes touch only the
	// items holding the removed hashes (+ room for the adds).
	all := hashes("a", 250)
	h.src.Set("mal", provider.SHA256, append(all[10:], hashes("b", 5)...)...)
	p3 := h.plan(t, false)
	before := h.target.TotalWrites()
	res = h.apply(t, context.Background(), p3)
	writes := h.target.TotalWrites() - before
	bound := 0
	for _, bp := range p3.Blocklists {
		bound += len(bp.Changes)
	}
	if res.Outcome != state.OutcomeSuccess || writes != bound || writes > 6 {
		t.Fatalf("churn writes = %d (plan %d), result %+v", writes, bound, res)
	}
	if p4 := h.plan(t, false); p4.HasChanges() {
		t.Fatalf("plan after churn has changes: %+v", p4.Summary)
	}
}

func TestConflictIsNeverOverwritten(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 50)...)
	h.apply(t, context.Background(), h.plan(t, false))
	h.src.Set("mal", provider.SHA256, hashes("a", 49)...)
	p := h.plan(t, false)
	// Someone edits the item between plan and apply.
	it := h.target.All()[0]
	it.Name = "edited"
	h.target.Put(it)
	res := h.apply(t, context.Background(), p)
	if len(res.Errors) == 0 || !errors.Is(res.Errors[0], provider.ErrConflict) {
		t.Fatalf("errors = %v", res.Errors)
	}
	if got := h.target.All()[0].Name; got != "edited" {
		t.Fatalf("conflicting edit overwritten: name = %q", got)
	}
	if res.Outcome == state.OutcomeSuccess {
		t.Fatal("outcome success despite conflict")
	}
	_, st := h.prior(t)
	if len(st.Pending()) != 0 {
		t.Fatalf("a refused write left %d pending journal entries", len(st.Pending()))
	}
}

func TestInterruptStopsSchedulingAndRecords(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 1000)...) // 20 creates
	p := h.plan(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	h.target.BeforeWrite = func(kind, itemID string) error {
		if n.Add(1) == 3 {
			cancel() // Ctrl-C while the third write is in flight
		}
		return nil
	}
	res := h.apply(t, ctx, p)
	if !res.Interrupted || res.Outcome != state.OutcomeInterrupted {
		t.Fatalf("result = %+v", res)
	}
	if res.Writes < 3 || res.Writes >= 20 || res.Writes != h.target.TotalWrites() {
		t.Fatalf("writes = %d (target %d): in-flight writes must finish, nothing new may start", res.Writes, h.target.TotalWrites())
	}
	_, st := h.prior(t)
	if len(st.Pending()) != 0 || len(st.Items) != res.Writes {
		t.Fatalf("pending = %d, items = %d, writes = %d", len(st.Pending()), len(st.Items), res.Writes)
	}
	// Re-running converges with no duplicate hash.
	h.target.BeforeWrite = nil
	res = h.apply(t, context.Background(), h.plan(t, false))
	if res.Outcome != state.OutcomeSuccess {
		t.Fatalf("second run: %+v", res)
	}
	seen := map[string]bool{}
	for _, it := range h.target.All() {
		for _, v := range it.Entries[0].Value {
			k := it.OSTypes[0] + v
			if seen[k] {
				t.Fatalf("hash %s twice on %s", v, it.OSTypes[0])
			}
			seen[k] = true
		}
	}
	if len(seen) != 2000 {
		t.Fatalf("blocked %d values, want 2000", len(seen))
	}
}

func TestReconcileAfterCrash(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 10)...)
	p := h.plan(t, false)
	ctx := context.Background()
	// Simulate a crash: journal two creates, send only the first.
	w, err := h.store.Lock(ctx, state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	changes := p.Blocklists[0].Changes
	for i, c := range changes {
		if _, err := w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: c.ItemID,
			Item: &state.Item{Blocklist: "lumu", OS: c.OS, HashType: c.HashType, Item: *c.After}}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := h.target.Create(ctx, *c.After); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.Unlock()

	w, _ = h.store.Lock(ctx, state.LockOptions{Command: "apply"})
	pending, _ := h.store.PendingJournal()
	var slept []time.Duration
	clock := pending[1].Time.Add(2 * time.Second) // the newest entry is 2 s old
	got, err := Reconcile(ctx, w, pending, func(string) provider.Target { return h.target }, ReconcileOptions{
		Settle: 30 * time.Second,
		Now:    func() time.Time { return clock },
		Sleep:  func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
	})
	w.Unlock()
	if fmt.Sprint(slept) != "[28s]" {
		t.Fatalf("Reconcile waited %v, want [28s]: a write may still land within the Kibana timeout", slept)
	}
	// The first create landed and is recorded; the second had not and is
	// sent again (it could otherwise still land after the next plan).
	if err != nil || len(got) != 2 || !got[0].Landed || got[0].Resent || !got[1].Landed || !got[1].Resent {
		t.Fatalf("reconcile = %+v, %v", got, err)
	}
	_, st := h.prior(t)
	if len(st.Pending()) != 0 || len(st.Items) != 2 {
		t.Fatalf("after reconcile: pending %d, items %d", len(st.Pending()), len(st.Items))
	}
	if h.target.TotalWrites() != 2 {
		t.Fatalf("writes %d, want the two creates", h.target.TotalWrites())
	}
	if p := h.plan(t, false); p.HasChanges() {
		t.Fatalf("the plan after reconciling has changes: %+v", p.Summary)
	}
}

func TestVerify(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 10)...)
	p := h.plan(t, false)
	_, st := h.prior(t)
	live := func() map[string]plan.LiveSet {
		resp, _ := h.target.List(context.Background(), provider.ListRequest{Prefix: "lumuctl-default-"})
		return map[string]plan.LiveSet{"prod": plan.NewLiveSet(true, resp.Owned, "default")}
	}
	good := VerifyInput{ConfigDigest: h.cfg.Digest(), Namespace: "default", State: st, Live: live(), Now: now, MaxAge: 24 * time.Hour}
	if err := Verify(p, good); err != nil {
		t.Fatalf("fresh plan refused: %v", err)
	}
	cases := map[string]func(in *VerifyInput){
		"expired":      func(in *VerifyInput) { in.Now = now.Add(25 * time.Hour) },
		"config":       func(in *VerifyInput) { in.ConfigDigest = "other" },
		"namespace":    func(in *VerifyInput) { in.Namespace = "other" },
		"serial":       func(in *VerifyInput) { s := *st; s.Serial++; in.State = &s },
		"lineage":      func(in *VerifyInput) { s := *st; s.Lineage = "x"; in.State = &s },
		"live":         func(in *VerifyInput) { in.Live = map[string]plan.LiveSet{"prod": {ContainerExists: false}} },
		"already done": func(in *VerifyInput) { s := *st; s.Applied = map[string]time.Time{p.Digest: now}; in.State = &s },
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			in := good
			mut(&in)
			var se *StaleError
			if err := Verify(p, in); !errors.As(err, &se) || len(se.Reasons) != 1 {
				t.Fatalf("Verify = %v", err)
			}
		})
	}
	if err := Verify(p, good); err != nil || strings.Contains(fmt.Sprint(p), "secret") {
		t.Fatal("unexpected")
	}

	// A refusal names the items that changed.
	h.apply(t, context.Background(), p)
	p2 := h.plan(t, false)
	_, st2 := h.prior(t)
	it := h.target.All()[0]
	it.Name = "edited"
	h.target.Put(it)
	h.target.Put(provider.Item{ItemID: "lumuctl-default-lumu-windows-sha256-0099"})
	in := VerifyInput{ConfigDigest: h.cfg.Digest(), Namespace: "default", State: st2, Live: live(), Now: now}
	var se *StaleError
	if err := Verify(p2, in); !errors.As(err, &se) || len(se.Reasons) != 2 ||
		!strings.Contains(se.Reasons[0], `kibana "prod" changed since the plan was made: 1 owned item(s) changed: `+it.ItemID) ||
		!strings.Contains(se.Reasons[1], `kibana "prod" changed since the plan was made: 1 owned item(s) created: lumuctl-default-lumu-windows-sha256-0099`) {
		t.Fatalf("Verify = %v", err)
	}
}
