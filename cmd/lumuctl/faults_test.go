package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
)

// faultCase is one row of the fault matrix (docs/reliability.md).
type faultCase struct {
	name string
	// baseline applies once before the fault, so the faulty run has
	// creates, updates and deletes to make; otherwise it is the first sync.
	baseline bool
	// change alters Lumu after the baseline (nil: baselineApply's change,
	// which yields creates, updates and deletes).
	change func(t *testing.T, e *e2e)
	// dropsOnly makes baselineApply's change add no incident, so the
	// faulty run has deletes.
	dropsOnly bool
	// coldCache removes the Lumu cache before the faulty run, so that it
	// reads every context.
	coldCache bool
	// inject installs the fault; during runs concurrently with the faulty
	// apply (for edits made while it runs) and returns when it is done.
	inject func(t *testing.T, e *e2e)
	during func(t *testing.T, e *e2e, stop <-chan struct{})
	// run is the faulty command (default: apply --auto-approve
	// --allow-mass-delete --parallelism 1).
	run      func(t *testing.T, e *e2e) (int, string, string)
	wantExit int
	// check asserts exact request counts: planned holds the plan's
	// add/change/remove before the faulty run, kib and lumu the request
	// counters it caused.
	check func(t *testing.T, e *e2e, planned [3]int, kib kibanasim.Counters, lumu lumusim.Counters)
}

func kfault(f kibanasim.Fault) func(*testing.T, *e2e) {
	return func(t *testing.T, e *e2e) {
		if err := e.sb.Kibana.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
}

func lfault(f lumusim.Fault) func(*testing.T, *e2e) {
	return func(t *testing.T, e *e2e) {
		if err := e.sb.Lumu.SetFault(f); err != nil {
			t.Fatal(err)
		}
	}
}

// wantKind asserts that requests of kind numbered exactly planned+extra.
func wantKind(kind string, which, extra int) func(*testing.T, *e2e, [3]int, kibanasim.Counters, lumusim.Counters) {
	return func(t *testing.T, _ *e2e, planned [3]int, kib kibanasim.Counters, _ lumusim.Counters) {
		if planned[which] == 0 {
			t.Fatalf("the plan has no %s to make: the fault was never exercised", kind)
		}
		if got, want := kib[kind], planned[which]+extra; got != want {
			t.Errorf("%s requests = %d, want %d (%d planned + %d faulted)", kind, got, want, planned[which], extra)
		}
	}
}

// wantLumuFaults asserts how many Lumu requests were answered by the fault.
func wantLumuFaults(n int64) func(*testing.T, *e2e, [3]int, kibanasim.Counters, lumusim.Counters) {
	return func(t *testing.T, _ *e2e, _ [3]int, _ kibanasim.Counters, l lumusim.Counters) {
		if l.Fault != n {
			t.Errorf("Lumu requests answered by the fault = %d, want %d", l.Fault, n)
		}
	}
}

const (
	planAdd = iota
	planChange
	planRemove
)

// faultEdits gives the example configuration short timeouts (SPEC 6
// retries, kept short so the suite stays fast).
var faultEdits = []configEdit{
	{"max_values_per_item = 100", "max_values_per_item = 5"},
	{"  timeout = \"5s\"\n", "  timeout       = \"1s\"\n  retry_timeout = \"3s\"\n"},
	{"  requests_per_minute = 100000\n", "  requests_per_minute = 100000\n  retry_timeout       = \"3s\"\n"},
}

func faultMatrix() []faultCase {
	status := func(code int) faultCase {
		return faultCase{
			name:     fmt.Sprintf("kibana %d on update, twice: retried", code),
			baseline: true,
			inject:   kfault(kibanasim.Fault{Kind: kibanasim.KindUpdateItem, Status: code, Count: 2}),
			check:    wantKind(kibanasim.KindUpdateItem, planChange, 2),
		}
	}
	editOwned := func(t *testing.T, e *e2e) {
		for _, it := range e.ownedItems() {
			d := "edited by someone else"
			if _, err := e.sb.Kibana.EditItem(kibanasim.EditRequest{ID: it.ID, Description: &d}); err != nil {
				t.Fatal(err)
			}
		}
	}
	closeOnly := func(t *testing.T, e *e2e) {
		// Closing incidents only drops hashes: updates and deletes, no
		// creates, so the first write of the run is an update.
		closeContributing(t, e, 3)
	}
	return []faultCase{
		{
			name:     "kibana 429 with Retry-After on create: waits and retries",
			baseline: true,
			inject:   kfault(kibanasim.Fault{Kind: kibanasim.KindCreateItem, Status: 429, RetryAfter: "1", Count: 1}),
			check:    wantKind(kibanasim.KindCreateItem, planAdd, 1),
		},
		status(500), status(502), status(503), status(504),
		{
			name:      "kibana connection reset on delete: retried after a fresh read",
			baseline:  true,
			dropsOnly: true,
			inject:    kfault(kibanasim.Fault{Kind: kibanasim.KindDeleteItem, Reset: true, Count: 1}),
			check:     wantKind(kibanasim.KindDeleteItem, planRemove, 1),
		},
		{
			name:     "kibana reset after a create landed: the retry's 409 is read back and accepted",
			baseline: true,
			inject:   kfault(kibanasim.Fault{Kind: kibanasim.KindCreateItem, ResetAfterSuccess: true, Count: 1}),
			check:    wantKind(kibanasim.KindCreateItem, planAdd, 1),
		},
		{
			name:     "kibana reset after an update landed: the retry's 409 is read back and accepted",
			baseline: true,
			inject:   kfault(kibanasim.Fault{Kind: kibanasim.KindUpdateItem, ResetAfterSuccess: true, Count: 1}),
			check:    wantKind(kibanasim.KindUpdateItem, planChange, 1),
		},
		{
			name:     "kibana create slower than the 1s timeout: retried",
			baseline: true,
			inject:   kfault(kibanasim.Fault{Kind: kibanasim.KindCreateItem, DelayMS: 1500, Count: 1}),
			check:    wantKind(kibanasim.KindCreateItem, planAdd, 1),
		},
		{
			name:     "kibana _find slower than the 1s timeout: read retried",
			baseline: true,
			inject:   kfault(kibanasim.Fault{Kind: kibanasim.KindFind, DelayMS: 1500, Count: 1}),
			check: func(t *testing.T, e *e2e, _ [3]int, kib kibanasim.Counters, _ lumusim.Counters) {
				if left := e.sb.Kibana.Faults(); len(left) != 0 {
					t.Errorf("the slow _find fault was never hit: %v", left)
				}
			},
		},
		{
			name:     "kibana 503 on every create of the first sync, past retry_timeout: exit 1, nothing written",
			inject:   kfault(kibanasim.Fault{Kind: kibanasim.KindCreateItem, Status: 503, Count: 1000}),
			wantExit: 1,
			check: func(t *testing.T, e *e2e, _ [3]int, _ kibanasim.Counters, _ lumusim.Counters) {
				if n := len(e.ownedItems()); n != 0 {
					t.Errorf("%d owned items after a failed first sync, want 0", n)
				}
			},
		},
		{
			name:      "kibana 503 on every delete, past retry_timeout: exit 3, the updates made are kept, the next run converges",
			baseline:  true,
			dropsOnly: true,
			inject:    kfault(kibanasim.Fault{Kind: kibanasim.KindDeleteItem, Status: 503, Count: 1000}),
			wantExit:  3,
		},
		{
			name:     "kibana 409: owned item edited between plan --out and apply PLANFILE: exit 4, nothing written",
			baseline: true,
			run: func(t *testing.T, e *e2e) (int, string, string) {
				e.mustRun(0, "plan", "--allow-mass-delete", "--out", "p.plan")
				editOwned(t, e)
				w := e.writes()
				code, stdout, stderr := e.run("apply", "p.plan")
				if got := e.writes(); got != w {
					t.Errorf("apply of a stale plan made %d item writes, want 0", got-w)
				}
				return code, stdout, stderr
			},
			wantExit: 4,
		},
		{
			name:     "kibana 409: owned items edited while apply runs: exit 1, the conflict is not overwritten",
			baseline: true,
			change:   closeOnly,
			inject: func(t *testing.T, e *e2e) {
				e.sb.Kibana.SetLatency(kibanasim.KindUpdateItem, 300*time.Millisecond)
			},
			during: func(t *testing.T, e *e2e, stop <-chan struct{}) {
				// As soon as the first update reaches Kibana (it waits out
				// the latency there), someone else edits every owned item.
				for e.sb.Kibana.Counters()[kibanasim.KindUpdateItem] == 0 {
					select {
					case <-stop:
						t.Error("the apply ended before sending an update")
						return
					case <-time.After(2 * time.Millisecond):
					}
				}
				editOwned(t, e)
			},
			wantExit: 1,
			check: func(t *testing.T, e *e2e, planned [3]int, kib kibanasim.Counters, _ lumusim.Counters) {
				if planned[planAdd] != 0 || planned[planChange] == 0 {
					t.Fatalf("plan %v: want updates and no creates", planned)
				}
				if got := kib.Writes(); got != 1 {
					t.Errorf("item writes = %d, want 1 (the conflicting update, then stop)", got)
				}
				for _, it := range e.ownedItems() {
					if it.Description != "edited by someone else" {
						t.Errorf("item %s: the concurrent edit was overwritten", it.ItemID)
					}
				}
				e.sb.Kibana.SetLatency(kibanasim.KindUpdateItem, 0)
			},
		},
		{
			name:      "lumu 429 with Retry-After on contexts, twice: waits and retries",
			baseline:  true,
			coldCache: true,
			inject:    lfault(lumusim.Fault{Kind: lumusim.KindContext, Status: 429, RetryAfter: 1, Count: 2}),
			check:     wantLumuFaults(2),
		},
		{
			name:     "lumu 502 on a list page, once: retried",
			baseline: true,
			inject:   lfault(lumusim.Fault{Kind: lumusim.KindList, Status: 502, Count: 1}),
			check:    wantLumuFaults(1),
		},
		{
			name:      "lumu connection reset on a context, once: retried",
			baseline:  true,
			coldCache: true,
			inject:    lfault(lumusim.Fault{Kind: lumusim.KindContext, Reset: true, Count: 1}),
			check:     wantLumuFaults(1),
		},
		{
			name:      "lumu rate limit (RateLimit-* headers) resetting after retry_timeout: context reads stop, nothing unblocked, exit 0",
			baseline:  true,
			coldCache: true,
			inject: func(t *testing.T, e *e2e) {
				rateBefore, rateWant = nil, desiredHashes(e.sb)
				var err error
				if rateBefore, err = blocked(e.ownedItems(), 0); err != nil {
					t.Fatal(err)
				}
				if err := e.sb.Lumu.SetRateLimit(2); err != nil {
					t.Fatal(err)
				}
			},
			// The list is read whole; contexts stop at the 429 (the plan
			// warns how many incidents are unread). The cache is cold, so
			// unread incidents keep their hashes from the state's
			// provenance: nothing still desired is unblocked (SPEC 3), and
			// the next run, without the limit, converges.
			wantExit: 0,
			check: func(t *testing.T, e *e2e, _ [3]int, _ kibanasim.Counters, l lumusim.Counters) {
				if l.RateLimited == 0 {
					t.Error("no Lumu request was rate limited")
				}
				now, err := blocked(e.ownedItems(), 0)
				if err != nil {
					t.Fatal(err)
				}
				for h := range rateBefore {
					if rateWant[h] > 0 && now[h] == 0 {
						t.Errorf("%s was blocked and is still desired, but the rate-limited run unblocked it", h)
					}
				}
				if err := e.sb.Lumu.SetRateLimit(0); err != nil {
					t.Fatal(err)
				}
				e.mustRun(0, "apply", "--auto-approve", "--allow-mass-delete")
			},
		},
		{
			name:     "lumu outage mid-listing (503 from page 2 on): exit 1, desired set never shrinks",
			baseline: true,
			change:   manyIncidents,
			inject:   lfault(lumusim.Fault{Kind: lumusim.KindList, Status: 503, FromPage: 2}),
			wantExit: 1,
			check: func(t *testing.T, e *e2e, _ [3]int, _ kibanasim.Counters, l lumusim.Counters) {
				if l.Fault == 0 {
					t.Error("the listing never reached page 2")
				}
			},
		},
		{
			name:     "lumu outage mid-listing, one 503 on page 2: retried",
			baseline: true,
			change:   manyIncidents,
			inject:   lfault(lumusim.Fault{Kind: lumusim.KindList, Status: 503, FromPage: 2, Count: 1}),
			check:    wantLumuFaults(1),
		},
	}
}

// addIncident adds an open Malware incident with n fresh sha256 and md5
// hashes and returns its id.
func addIncident(t *testing.T, e *e2e, rng *rand.Rand, n int) string {
	t.Helper()
	h := map[lumusim.HashType][]string{}
	for ht, l := range hashLengths {
		for range n {
			h[ht] = append(h[ht], randomHex(rng, l))
		}
	}
	inc, err := e.sb.Lumu.AddIncident(lumusim.NewIncident{AdversaryTypes: []string{"Malware"}, Hashes: h})
	if err != nil {
		t.Fatal(err)
	}
	return inc.ID
}

// closeContributing closes the first n selected incidents that have hashes
// (other than those added by the test, whose ids are in skip).
func closeContributing(t *testing.T, e *e2e, n int, skip ...string) {
	t.Helper()
	for _, inc := range selected(e.sb) {
		if n == 0 {
			return
		}
		if slices.Contains(skip, inc.ID) || len(inc.Files(lumusim.SHA256))+len(inc.Files(lumusim.MD5)) == 0 {
			continue
		}
		if err := e.sb.Lumu.CloseIncident(inc.ID, "fault test"); err != nil {
			t.Fatal(err)
		}
		n--
	}
}

// baselineApply adds an incident X with 12 hashes per type (packed into
// items of their own), applies, then changes Lumu: X closed (deletes, or
// updates when the new hashes reuse its items), two other incidents closed
// (updates), a new incident with 25 hashes per type (creates).
// With dropsOnly, no incident is added: the packer would otherwise reuse
// X's items for the new hashes (updates, not deletes).
func baselineApply(t *testing.T, e *e2e, dropsOnly bool) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := addIncident(t, e, rng, 12)
	e.mustRun(0, "apply", "--auto-approve")
	if err := e.sb.Lumu.CloseIncident(x, "fault test"); err != nil {
		t.Fatal(err)
	}
	closeContributing(t, e, 2, x)
	if !dropsOnly {
		addIncident(t, e, rng, 25)
	}
}

// manyIncidents adds 120 open Malware incidents, so the listing has two
// pages of 100.
func manyIncidents(t *testing.T, e *e2e) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 120 {
		h := map[lumusim.HashType][]string{lumusim.SHA256: {randomHex(rng, 64)}}
		if _, err := e.sb.Lumu.AddIncident(lumusim.NewIncident{AdversaryTypes: []string{"Malware"}, Hashes: h}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFaultMatrix injects each fault the sandbox offers into an apply and
// asserts the documented outcome (SPEC 6, docs/reliability.md): the run
// converges through retries (exit 0, exact request counts), or it fails
// with the documented exit code, nothing desired is unblocked, unowned
// items are untouched, and the next run without the fault converges.
// rateBefore and rateWant carry what was blocked and desired before the
// rate-limited run of the fault matrix (its inject sets them, its check
// reads them).
var rateBefore, rateWant map[osHash]int

func TestFaultMatrix(t *testing.T) { faultMatrixFor(t, "bbolt") }

// TestFaultMatrixPostgres runs the same faults with the state, journal,
// lock and cache in PostgreSQL (SPEC 10). PostgreSQL's own faults (session
// terminated, server restart, statement timeout) are in
// e2e_postgres_faults.txtar and engine/state/pgstore.
func TestFaultMatrixPostgres(t *testing.T) { faultMatrixFor(t, "postgres") }

func faultMatrixFor(t *testing.T, backend string) {
	if testing.Short() {
		t.Skip("fault matrix runs real processes; skipped with -short")
	}
	bin := buildLumuctl(t)
	for _, tc := range faultMatrix() {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, bin, faultEdits...)
			if backend == "postgres" {
				usePostgres(t, e)
			}
			if tc.baseline && tc.change == nil {
				baselineApply(t, e, tc.dropsOnly)
			} else if tc.baseline {
				e.mustRun(0, "apply", "--auto-approve")
				tc.change(t, e)
			}
			a, c, r := e.planSummary()
			if tc.coldCache {
				// The plan above cached every context: start cold so the
				// faulty run reads them again.
				if backend == "postgres" {
					pgClearCache(t, e)
				} else if err := os.Remove(filepath.Join(e.dir, ".lumuctl", "cache.db")); err != nil {
					t.Fatal(err)
				}
			}
			planned := [3]int{a, c, r}
			want := desiredHashes(e.sb)
			before, err := blocked(e.ownedItems(), 0)
			if err != nil {
				t.Fatal(err)
			}
			ownedBefore := e.ownedItems()

			e.sb.Kibana.ResetCounters()
			e.sb.Lumu.ResetCounters()
			if tc.inject != nil {
				tc.inject(t, e)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			if tc.during != nil {
				wg.Go(func() { tc.during(t, e, stop) })
			}
			run := tc.run
			if run == nil {
				run = func(t *testing.T, e *e2e) (int, string, string) {
					return e.run("apply", "--auto-approve", "--allow-mass-delete", "--parallelism", "1")
				}
			}
			code, stdout, stderr := run(t, e)
			close(stop)
			wg.Wait()
			kib, lumu := e.sb.Kibana.Counters(), e.sb.Lumu.Counters()
			if code != tc.wantExit {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantExit, stdout, stderr)
			}
			if tc.check != nil {
				tc.check(t, e, planned, kib, lumu)
			}
			checkNoSecrets(t, e, stdout+stderr)
			if err := e.checkUnowned(); err != nil {
				t.Fatal(err)
			}
			if tc.wantExit != 0 {
				// Nothing lost: every hash blocked before and still desired
				// is still blocked; exit 1 means nothing at all changed.
				now, err := blocked(e.ownedItems(), 0)
				if err != nil {
					t.Fatal(err)
				}
				for h := range before {
					if want[h] > 0 && now[h] == 0 {
						t.Errorf("%s was blocked and is still desired, but the failed run unblocked it", h)
					}
				}
				if tc.wantExit == 1 && tc.during == nil {
					if d := cmp.Diff(ownedBefore, e.ownedItems()); d != "" {
						t.Errorf("exit 1 promises nothing changed, but owned items did (-before +after):\n%s", d)
					}
				}
				e.sb.Kibana.ClearFaults()
				e.sb.Lumu.ClearFaults()
				if err := e.sb.Lumu.SetRateLimit(0); err != nil {
					t.Fatal(err)
				}
				e.mustRun(0, "apply", "--auto-approve", "--allow-mass-delete")
			}
			if err := e.checkConverged(5); err != nil {
				t.Fatal(err)
			}
			for _, it := range e.ownedItems() {
				if it.Description == "edited by someone else" {
					t.Errorf("item %s: the outside edit was not reverted by the converging run", it.ItemID)
				}
			}
			e.mustRun(0, "plan", "--detailed-exitcode")
		})
	}
}

// checkNoSecrets fails when a key of the sandbox appears in the output or
// in a file lumuctl wrote.
func checkNoSecrets(t *testing.T, e *e2e, output string) {
	t.Helper()
	info := e.sb.Info()
	keys := []string{info.LumuKey, info.KibanaAPIKey}
	for _, k := range keys {
		if strings.Contains(output, k) {
			t.Errorf("a sandbox API key appears in lumuctl's output")
		}
	}
	_ = filepath.WalkDir(e.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(string(data), k) }) {
			t.Errorf("a sandbox API key appears in %s", path)
		}
		return nil
	})
}
