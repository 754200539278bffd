package operation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
	"github.com/lumuctl/lumuctl/engine/state"
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

// events is the one ordered record of what the state store and the hook
// saw, shared by both so that their interleaving is asserted.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.log = append(e.log, s)
	e.mu.Unlock()
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// recordingStore is a real bbolt store that records the calls the
// operation sequence is made of; lockErr, when set, refuses the lock.
type recordingStore struct {
	state.Store
	ev      *events
	lockErr error
}

func (s *recordingStore) Snapshot() (*state.State, error) {
	s.ev.add("snapshot")
	return s.Store.Snapshot()
}

func (s *recordingStore) PendingJournal() ([]state.JournalEntry, error) {
	s.ev.add("pending")
	return s.Store.PendingJournal()
}

func (s *recordingStore) Lock(ctx context.Context, o state.LockOptions) (state.Writer, error) {
	s.ev.add("lock " + o.Command)
	if s.lockErr != nil {
		return nil, s.lockErr
	}
	w, err := s.Store.Lock(ctx, o)
	if err != nil {
		return nil, err
	}
	return &recordingWriter{Writer: w, ev: s.ev}, nil
}

type recordingWriter struct {
	state.Writer
	ev *events
}

func (w *recordingWriter) Backup() error { w.ev.add("backup"); return w.Writer.Backup() }
func (w *recordingWriter) JournalBegin(e state.JournalEntry) (uint64, error) {
	w.ev.add("journal")
	return w.Writer.JournalBegin(e)
}
func (w *recordingWriter) Commit(c state.Commit) (uint64, error) {
	what := "commit"
	if c.History != nil {
		what += " " + string(c.History.Outcome)
	}
	w.ev.add(what)
	return w.Writer.Commit(c)
}
func (w *recordingWriter) Unlock() error { w.ev.add("unlock"); return w.Writer.Unlock() }

// recordingHook records the milestones of the hook (not each fetch event).
type recordingHook struct {
	NopHook
	ev      *events
	notices []string
	onWrite func()
	planned []*plan.Plan
}

func (h *recordingHook) Notice(msg string) { h.ev.add("notice"); h.notices = append(h.notices, msg) }
func (h *recordingHook) Planned(p *plan.Plan, diags hcl.Diagnostics) error {
	what := "planned"
	if p == nil {
		what = "diagnostics"
	}
	if diags.HasErrors() {
		what += " with errors"
	}
	h.ev.add(what)
	h.planned = append(h.planned, p)
	return nil
}
func (h *recordingHook) ApplyStart(int) { h.ev.add("apply start") }
func (h *recordingHook) PostApply(string, plan.ItemChange, error) {
	h.ev.add("write")
	if h.onWrite != nil {
		h.onWrite()
	}
}
func (h *recordingHook) ApplyEnd() { h.ev.add("apply end") }

type fixture struct {
	ev     *events
	cfg    *config.Config
	src    *providertest.Source
	target *providertest.Target
	store  *recordingStore
	hook   *recordingHook
	loads  int
	dir    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ev := &events{}
	f := &fixture{ev: ev, cfg: cfg, src: providertest.NewSource(), target: providertest.NewTarget(),
		store: &recordingStore{Store: statetest.MustOpen(t), ev: ev}, hook: &recordingHook{ev: ev}, dir: dir}
	f.src.Set("mal", provider.SHA256, providertest.Hashes("a", 150)...)
	return f
}

// op is an apply (or plan) of the fixture, confirmed, one write at a time.
func (f *fixture) op() *Operation {
	return &Operation{
		Mode: plan.ModeNormal,
		Load: func() (*config.Config, state.Store, hcl.Diagnostics) {
			f.loads++
			f.ev.add("load")
			return f.cfg, f.store, nil
		},
		Factories: provider.Factories{
			Source: func(provider.SourceOptions) (provider.Source, hcl.Diagnostics) { return f.src, nil },
			Target: func(provider.TargetConfig) (provider.Target, error) { return f.target, nil },
		},
		Parallelism: 1,
		Confirm:     func(command string) error { f.ev.add("confirm " + command); return nil },
		ToolVersion: "test",
		Who:         "tester@host",
		Now:         func() time.Time { return now },
		Hook:        f.hook,
	}
}

// compact drops consecutive repeats ("write", "write" → "write").
func compact(log []string) []string { return slices.Compact(slices.Clone(log)) }

func wantLog(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(compact(got), want) {
		t.Fatalf("sequence:\n got  %s\n want %s", strings.Join(compact(got), " → "), strings.Join(want, " → "))
	}
}

func TestApplyOrder(t *testing.T) {
	f := newFixture(t)
	r, err := Apply(context.Background(), f.op())
	if err != nil {
		t.Fatal(err)
	}
	wantLog(t, f.ev.list(),
		"load", "lock apply", "backup", "pending", "snapshot", "planned", "confirm apply",
		"apply start", "journal", "write", "journal", "write", "journal", "write", "journal", "write", "commit success", "apply end",
		"snapshot", "unlock")
	if r.Command != "apply" || r.Plan == nil || r.Saved || r.Apply == nil || r.Apply.Added != 4 || r.Apply.Writes != 4 {
		t.Fatalf("result %+v apply %+v", r, r.Apply)
	}
	if got := f.target.TotalWrites(); got != 4 {
		t.Fatalf("kibana writes = %d, want 4", got)
	}

	// Nothing to do: no confirmation, no write, the lock still released.
	f.ev.log = nil
	if _, err := Apply(context.Background(), f.op()); err != nil {
		t.Fatal(err)
	}
	wantLog(t, f.ev.list(), "load", "lock apply", "backup", "pending", "snapshot", "planned", "snapshot", "unlock")
}

func TestPlanNeverLocksAndSaves(t *testing.T) {
	f := newFixture(t)
	op := f.op()
	op.PlanOut = filepath.Join(f.dir, "out.plan")
	r, err := Plan(context.Background(), op)
	if err != nil {
		t.Fatal(err)
	}
	wantLog(t, f.ev.list(), "load", "snapshot", "planned", "notice")
	if !strings.Contains(f.hook.notices[0], "Saved the plan to "+op.PlanOut) {
		t.Fatalf("notice %q", f.hook.notices[0])
	}
	if r.Plan == nil || !r.Plan.HasChanges() || f.target.TotalWrites() != 0 {
		t.Fatalf("plan %+v, writes %d", r.Plan, f.target.TotalWrites())
	}

	// The saved plan: decoded first, verified under the lock, applied
	// without confirmation; applying it again is refused.
	f.ev.log = nil
	apply := f.op()
	apply.PlanFile = op.PlanOut
	r, err = Apply(context.Background(), apply)
	if err != nil {
		t.Fatal(err)
	}
	wantLog(t, f.ev.list(),
		"load", "lock apply", "backup", "pending", "diagnostics", "snapshot", "planned",
		"apply start", "journal", "write", "journal", "write", "journal", "write", "journal", "write", "commit success", "apply end",
		"snapshot", "unlock")
	if !r.Saved || r.Apply.Added != 4 {
		t.Fatalf("result %+v", r)
	}
	f.ev.log = nil
	_, err = Apply(context.Background(), apply)
	if KindOf(err) != Refused || !strings.Contains(err.Error(), "was already applied") {
		t.Fatalf("second apply of the saved plan: %v", err)
	}
	wantLog(t, f.ev.list(), "load", "lock apply", "backup", "pending", "diagnostics", "snapshot", "unlock")
}

func TestDecodeRefusedBeforeAnything(t *testing.T) {
	f := newFixture(t)
	op := f.op()
	op.PlanFile = filepath.Join(f.dir, "bad.plan")
	if err := os.WriteFile(op.PlanFile, []byte("not a plan"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(context.Background(), op)
	if KindOf(err) != Refused || !strings.Contains(err.Error(), op.PlanFile) {
		t.Fatalf("err = %v (kind %d)", err, KindOf(err))
	}
	if log := f.ev.list(); len(log) != 0 || f.loads != 0 {
		t.Fatalf("a bad plan file must be refused before loading or locking anything: %v", log)
	}
}

func TestUnsignedPlanRefusedWhenKeySet(t *testing.T) {
	f := newFixture(t)
	op := f.op()
	op.PlanOut = filepath.Join(f.dir, "out.plan")
	if _, err := Plan(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	f.ev.log = nil
	apply := f.op()
	apply.PlanFile, apply.PlanKey = op.PlanOut, "0123456789abcdef0123456789abcdef"
	_, err := Apply(context.Background(), apply)
	if KindOf(err) != Refused || !strings.Contains(err.Error(), PlanKeyEnv+" is set") {
		t.Fatalf("err = %v", err)
	}
	if log := f.ev.list(); len(log) != 0 {
		t.Fatalf("refused before loading: %v", log)
	}
}

func TestLockRefused(t *testing.T) {
	f := newFixture(t)
	f.store.lockErr = &state.LockError{Path: "state.lock"}
	r, err := Apply(context.Background(), f.op())
	if KindOf(err) != Locked {
		t.Fatalf("err = %v (kind %d), want Locked", err, KindOf(err))
	}
	wantLog(t, f.ev.list(), "load", "lock apply")
	if r.Plan != nil || f.src.Calls["mal"] != 0 || f.target.TotalWrites() != 0 {
		t.Fatalf("nothing may run without the lock: plan %v, fetches %v", r.Plan, f.src.Calls)
	}
}

func TestUnknownTargetRefusedBeforeLock(t *testing.T) {
	f := newFixture(t)
	op := f.op()
	op.Targets = []string{"lumo"}
	r, err := Apply(context.Background(), op)
	if KindOf(err) != Failed || !r.Diags.HasErrors() || !strings.Contains(r.Diags.Error(), "Did you mean --target blocklist.lumu?") {
		t.Fatalf("err = %v, diags %v", err, r.Diags)
	}
	// The state snapshot and Kibana were read to look for an orphan of
	// that name; nothing was locked, backed up or reconciled.
	wantLog(t, f.ev.list(), "load", "snapshot", "diagnostics with errors")
	for _, e := range f.ev.list() {
		if strings.HasPrefix(e, "lock") || e == "backup" || e == "pending" {
			t.Fatalf("%q before the target was refused", e)
		}
	}

	// A target the state knows (an orphan) is planned as before.
	f.ev.log = nil
	if _, err := Apply(context.Background(), f.op()); err != nil {
		t.Fatal(err)
	}
	f.cfg.Blocklists["other"] = f.cfg.Blocklists["lumu"]
	delete(f.cfg.Blocklists, "lumu")
	f.ev.log = nil
	op = f.op()
	op.Targets, op.AllowMassDelete = []string{"lumu"}, true
	r, err = Apply(context.Background(), op)
	if err != nil {
		t.Fatalf("orphan target: %v %v", err, r.Diags)
	}
	if r.Apply == nil || r.Apply.Destroyed == 0 {
		t.Fatalf("orphan target destroyed nothing: %+v", r.Apply)
	}
}

func TestConfirmRefusedWritesNothing(t *testing.T) {
	f := newFixture(t)
	op := f.op()
	op.Confirm = func(string) error { f.ev.add("confirm"); return errors.New("apply cancelled; nothing was changed") }
	_, err := Apply(context.Background(), op)
	if KindOf(err) != Failed || err.Error() != "apply cancelled; nothing was changed" {
		t.Fatalf("err = %v", err)
	}
	wantLog(t, f.ev.list(), "load", "lock apply", "backup", "pending", "snapshot", "planned", "confirm", "unlock")
	if f.target.TotalWrites() != 0 {
		t.Fatalf("writes = %d", f.target.TotalWrites())
	}
}

func TestInterruptDuringWrites(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.hook.onWrite = cancel // Ctrl-C once the first write is made
	r, err := Apply(ctx, f.op())
	if KindOf(err) != Partial || !strings.Contains(err.Error(), "Apply interrupted: 1 item write(s) were made and recorded") {
		t.Fatalf("err = %v (kind %d)", err, KindOf(err))
	}
	wantLog(t, f.ev.list(),
		"load", "lock apply", "backup", "pending", "snapshot", "planned", "confirm apply",
		"apply start", "journal", "write", "commit interrupted", "apply end", "unlock")
	if r.Apply == nil || !r.Apply.Interrupted || r.Apply.Writes != 1 {
		t.Fatalf("result %+v", r.Apply)
	}
}

func TestInterruptBeforeWrites(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.src.Errs["mal"] = context.Canceled
	_, err := Apply(ctx, f.op())
	if KindOf(err) != Interrupted || err.Error() != "apply interrupted while planning; nothing was written" {
		t.Fatalf("err = %v (kind %d)", err, KindOf(err))
	}
	log := f.ev.list()
	if slices.Contains(log, "journal") || slices.Contains(log, "planned") || log[len(log)-1] != "unlock" {
		t.Fatalf("sequence %v", log)
	}
}

func TestGuardTripStopsBeforeConfirm(t *testing.T) {
	f := newFixture(t)
	if _, err := Apply(context.Background(), f.op()); err != nil {
		t.Fatal(err)
	}
	f.src.Set("mal", provider.SHA256) // every hash gone: the mass-delete guard
	f.ev.log = nil
	r, err := Apply(context.Background(), f.op())
	if KindOf(err) != GuardTripped || !plan.IsGuardTrip(r.Diags) {
		t.Fatalf("err = %v, diags %v", err, r.Diags)
	}
	wantLog(t, f.ev.list(), "load", "lock apply", "backup", "pending", "snapshot", "planned with errors", "unlock")
}

func TestEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var runs []int
	n, err := Every(ctx, time.Millisecond, nil, func(_ context.Context, n int) error {
		runs = append(runs, n)
		if n == 3 {
			cancel()
		}
		return nil
	})
	if err != nil || n != 3 || !slices.Equal(runs, []int{1, 2, 3}) {
		t.Fatalf("n %d err %v runs %v", n, err, runs)
	}
	stop := errors.New("interrupted in a cycle")
	n, err = Every(context.Background(), time.Hour, nil, func(context.Context, int) error { return stop })
	if n != 1 || !errors.Is(err, stop) {
		t.Fatalf("n %d err %v", n, err)
	}
}

// TestPlanExplainsRemovalsBesideAHandTypedValue: an owned item holding a
// value typed by hand in Kibana (not a hash) loses it in the next plan,
// beside a hash whose incident closed. The removed hash is still explained
// by its recorded incident: the planner reads the recorded provenance of
// every removed value in one state read, which refused the whole batch for
// the one value that is not a hash.
func TestPlanExplainsRemovalsBesideAHandTypedValue(t *testing.T) {
	f := newFixture(t)
	if _, err := Apply(context.Background(), f.op()); err != nil {
		t.Fatal(err)
	}
	a := providertest.Hashes("a", 150)
	var held provider.Item
	for _, it := range f.target.All() {
		if slices.Contains(it.Entries[0].Value, a[0]) {
			held = it
		}
	}
	if held.ID == "" {
		t.Fatal("no item holds a[0]")
	}
	held.Entries[0].Value = append(held.Entries[0].Value, "typed-by-hand")
	f.target.Put(held)
	f.src.Set("mal", provider.SHA256, a[1:]...)
	r, err := Plan(context.Background(), f.op())
	if err != nil {
		t.Fatal(err)
	}
	bp := r.Plan.Blocklists[0]
	removed := false
	for _, c := range bp.Changes {
		removed = removed || slices.Contains(c.Removed, "typed-by-hand")
	}
	if !removed {
		t.Fatalf("the hand-typed value is not removed: %+v", bp.Changes)
	}
	if refs := bp.PriorProvenance.Lookup(a[0]); len(refs) != 1 || refs[0].ID != "inc-mal" {
		t.Errorf("prior provenance of the removed hash = %v, want its recorded incident inc-mal", refs)
	}
}

// provenanceFailingStore is a store whose provenance reads fail (a lost
// PostgreSQL connection, a corrupt record).
type provenanceFailingStore struct{ *recordingStore }

var errProvenanceRead = errors.New("read provenance: connection lost")

func (s provenanceFailingStore) Provenance(string, string) ([]provider.IncidentRef, error) {
	return nil, errProvenanceRead
}

func (s provenanceFailingStore) ProvenanceOf(string, []string) (state.HashIncidents, error) {
	return nil, errProvenanceRead
}

// TestUnreadIncidentsNeverUnblockedWhenProvenanceCannotBeRead: the hashes
// of an incident the fetch could not read (daily quota) are kept by what
// the state recorded for them. When that record cannot be read, the plan
// must fail, not plan their removal as if nothing were recorded.
func TestUnreadIncidentsNeverUnblockedWhenProvenanceCannotBeRead(t *testing.T) {
	f := newFixture(t)
	if _, err := Apply(context.Background(), f.op()); err != nil {
		t.Fatal(err)
	}
	// The incident is listed but its context is not read this run.
	f.src.Indicators["mal"] = map[string]*provider.Indicator{}
	f.src.Unread["mal"] = []string{"inc-mal"}
	op := f.op()
	op.AllowMassDelete = true // only the unread incident keeps them
	load := op.Load
	op.Load = func() (*config.Config, state.Store, hcl.Diagnostics) {
		cfg, _, d := load()
		return cfg, provenanceFailingStore{f.store}, d
	}
	r, err := Plan(context.Background(), op)
	if err == nil {
		t.Fatalf("plan succeeded with %d hashes to remove although the state's provenance could not be read", r.Plan.Summary.HashesRemoved)
	}
	if !errors.Is(err, errProvenanceRead) {
		t.Fatalf("error %v, want the provenance read error", err)
	}
	// With the state readable, the unread incident's hashes are kept.
	op = f.op()
	op.AllowMassDelete = true
	r, err = Plan(context.Background(), op)
	if err != nil {
		t.Fatal(err)
	}
	if r.Plan.HasChanges() {
		t.Fatalf("plan removes the hashes of an unread incident: %+v", r.Plan.Summary)
	}
}

// TestCrashedDeletesLeaveNoProvenance: a run killed after its deletes
// landed (journaled, never recorded done): the next apply reconciles them,
// and the hashes they unblocked must not keep their provenance (no later
// plan sees them to remove again; a plan carries provenance only for what
// it changes).
func TestCrashedDeletesLeaveNoProvenance(t *testing.T) {
	f := newFixture(t)
	if _, err := Apply(context.Background(), f.op()); err != nil {
		t.Fatal(err)
	}
	st, err := f.store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// The killed run: every item deleted, journaled, never marked done.
	w, err := f.store.Store.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	for id, it := range st.Items {
		e := state.JournalEntry{Op: provider.Delete, ItemID: id, ID: it.Item.ID, ExpectVersion: it.Item.Version,
			Time: now.Add(-time.Hour), Item: &state.Item{Blocklist: it.Blocklist, OS: it.OS, HashType: it.HashType, Item: it.Item}}
		if _, err := w.JournalBegin(e); err != nil {
			t.Fatal(err)
		}
		if err := f.target.Delete(context.Background(), it.Item.ID, it.Item.Version); err != nil {
			t.Fatal(err)
		}
	}
	w.Unlock()

	f.src.Set("mal", provider.SHA256, providertest.Hashes("b", 1)...)
	op := f.op()
	op.AllowMassDelete = true
	if _, err := Apply(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	stale := 0
	for _, h := range providertest.Hashes("a", 150) {
		refs, err := f.store.Provenance("lumu", h)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) > 0 {
			stale++
		}
	}
	if stale > 0 {
		t.Errorf("%d of 150 hashes unblocked by the crashed run's deletes still have provenance", stale)
	}
}
