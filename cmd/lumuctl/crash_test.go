package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
)

// This file holds the crash-consistency test and the harness it shares with
// faults_test.go: a sandbox started in-process, the sandbox example
// configuration in a temporary directory, and lumuctl built with `go build`
// and run as a real child process, so that it can be killed with SIGKILL.
// (The test binary itself is on $PATH as "lumuctl" through testscript.Main,
// but under -race every start of it costs seconds.)

// buildLumuctl builds cmd/lumuctl into a temporary directory of t.
func buildLumuctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lumuctl")
	// `go test` puts its own go command first on $PATH.
	out, err := exec.Command("go", "build", "-o", bin, "github.com/lumuctl/lumuctl/cmd/lumuctl").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/lumuctl: %v\n%s", err, out)
	}
	return bin
}

const (
	crashNamespacePrefix = "lumuctl-demo-"      // owned items of the example configuration
	crashBlocklistPrefix = "lumuctl-demo-lumu-" // its only blocklist
)

// e2e is one sandbox plus one configuration directory.
type e2e struct {
	t   *testing.T
	sb  *sandbox.Sandbox
	dir string
	env []string
	bin string
	// unowned is Kibana's unowned items when the harness started: no run
	// may change them.
	unowned []kibanasim.Item
}

// configEdit rewrites one line of the example configuration; the line must
// occur exactly once, so a changed example fails loudly instead of testing
// something else.
type configEdit struct{ old, new string }

// newE2E starts a sandbox (small scenario, seed 1, 5 unowned items) and
// writes examples/sandbox/main.lumu.hcl, edited, into a fresh directory;
// bin is the lumuctl binary to run.
func newE2E(t *testing.T, bin string, edits ...configEdit) *e2e {
	t.Helper()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Scenario: "small", Seed: 1, KibanaSeedUnowned: 5})
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
	env := append(os.Environ(),
		"NO_COLOR=1",
		"LUMUCTL_VAR_lumu_url="+info.LumuURL,
		"LUMUCTL_VAR_lumu_key="+info.LumuKey,
		"LUMUCTL_VAR_kibana_url="+info.KibanaURL,
		"LUMUCTL_VAR_kibana_key="+info.KibanaAPIKey,
		"LUMUCTL_VAR_company_uuid="+info.CompanyUUID,
	)
	e := &e2e{t: t, sb: sb, dir: dir, env: env, bin: bin}
	e.unowned = e.unownedItems()
	if len(e.unowned) == 0 {
		t.Fatal("the sandbox seeded no unowned item: the 'unowned items unchanged' check would prove nothing")
	}
	return e
}

// command builds a lumuctl child process in the configuration directory.
func (e *e2e) command(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(e.bin, args...)
	cmd.Dir = e.dir
	cmd.Env = e.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// run runs lumuctl to completion and returns its exit code and output.
func (e *e2e) run(args ...string) (int, string, string) {
	e.t.Helper()
	cmd, stdout, stderr := e.command(args...)
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	e.t.Fatalf("lumuctl %s: %v", strings.Join(args, " "), err)
	return 0, "", ""
}

// mustRun runs lumuctl and fails the test unless it exits with want.
func (e *e2e) mustRun(want int, args ...string) (string, string) {
	e.t.Helper()
	code, stdout, stderr := e.run(args...)
	if code != want {
		e.t.Fatalf("lumuctl %s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout, stderr
}

func (e *e2e) unownedItems() []kibanasim.Item {
	var out []kibanasim.Item
	for _, it := range e.sb.Kibana.Items() {
		if !strings.HasPrefix(it.ItemID, crashNamespacePrefix) {
			out = append(out, it)
		}
	}
	return out
}

func (e *e2e) ownedItems() []kibanasim.Item {
	var out []kibanasim.Item
	for _, it := range e.sb.Kibana.Items() {
		if strings.HasPrefix(it.ItemID, crashNamespacePrefix) {
			out = append(out, it)
		}
	}
	return out
}

func (e *e2e) writes() int { return e.sb.Kibana.Counters().Writes() }

// checkUnowned fails when an unowned item was added, changed or removed.
func (e *e2e) checkUnowned() error {
	if d := cmp.Diff(e.unowned, e.unownedItems()); d != "" {
		return fmt.Errorf("unowned items changed (-start +now):\n%s", d)
	}
	return nil
}

// osHash is one blocked value on one OS ("windows/file.hash.md5/<hash>").
type osHash struct{ OS, Field, Hash string }

func (h osHash) String() string { return h.OS + "/" + h.Field + "/" + h.Hash }

// blocked counts, for every OS and hash, the owned items holding it, after
// checking the shape of each owned item (one OS, match_any entries, at most
// maxValues values, no value twice in an item).
func blocked(items []kibanasim.Item, maxValues int) (map[osHash]int, error) {
	out := map[osHash]int{}
	for _, it := range items {
		if !strings.HasPrefix(it.ItemID, crashBlocklistPrefix) {
			return nil, fmt.Errorf("owned item %s belongs to no configured blocklist", it.ItemID)
		}
		if len(it.OSTypes) != 1 {
			return nil, fmt.Errorf("item %s has os_types %v, want exactly one", it.ItemID, it.OSTypes)
		}
		for _, en := range it.Entries {
			if en.Type != "match_any" || !strings.HasPrefix(en.Field, "file.hash.") {
				return nil, fmt.Errorf("item %s: entry %s %s is not a match_any hash entry", it.ItemID, en.Field, en.Type)
			}
			if maxValues > 0 && len(en.Value) > maxValues {
				return nil, fmt.Errorf("item %s: entry %s has %d values, max_values_per_item is %d", it.ItemID, en.Field, len(en.Value), maxValues)
			}
			seen := map[string]bool{}
			for _, v := range en.Value {
				if seen[v] {
					return nil, fmt.Errorf("item %s: value %s twice in entry %s", it.ItemID, v, en.Field)
				}
				seen[v] = true
				out[osHash{it.OSTypes[0], en.Field, v}]++
			}
		}
	}
	return out, nil
}

// desiredHashes computes the blocklist's desired set from the Lumu
// stand-in's incidents, independently of lumuctl: open incidents whose
// lastContact lies in the last 30 days, with one of the filter's adversary
// types, currently active (only_active defaults to true), their sha256 and
// md5 related files trimmed, lowercased, of the right length and hex, minus
// the empty-file hashes; the same set on windows and linux.
func desiredHashes(sb *sandbox.Sandbox) map[osHash]int {
	never := map[string]bool{
		"d41d8cd98f00b204e9800998ecf8427e":                                 true,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": true,
	}
	out := map[osHash]int{}
	for _, inc := range selected(sb) {
		for ht, n := range hashLengths {
			for _, v := range inc.Files(ht) {
				v = strings.ToLower(strings.TrimSpace(v))
				if len(v) != n || strings.Trim(v, "0123456789abcdef") != "" || never[v] {
					continue
				}
				for _, os := range []string{"windows", "linux"} {
					out[osHash{os, "file.hash." + string(ht), v}] = 1
				}
			}
		}
	}
	return out
}

var hashLengths = map[lumusim.HashType]int{lumusim.SHA256: 64, lumusim.MD5: 32}

// selected returns the incidents the example's ioc_filter keeps: open,
// lastContact in the last 30 days, one of its adversary types, currently
// active.
func selected(sb *sandbox.Sandbox) []*lumusim.Incident {
	types := []string{"C2C", "Malware", "Mining"}
	from := time.Now().Add(-30 * 24 * time.Hour)
	var out []*lumusim.Incident
	for _, inc := range sb.Lumu.Incidents(lumusim.StatusOpen) {
		if inc.LastContact.Before(from) || !inc.CurrentlyActive {
			continue
		}
		if !slices.ContainsFunc(inc.AdversaryTypes, func(a string) bool { return slices.Contains(types, a) }) {
			continue
		}
		out = append(out, inc)
	}
	return out
}

// planSummary runs `plan --json` and returns the change_summary totals.
func (e *e2e) planSummary() (add, change, remove int) {
	e.t.Helper()
	stdout, _ := e.mustRun(0, "plan", "--json", "--allow-mass-delete")
	found := false
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev struct {
			Type    string `json:"type"`
			Changes struct {
				Add, Change, Remove int
			} `json:"changes"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			e.t.Fatalf("plan --json: bad line %q: %v", sc.Text(), err)
		}
		if ev.Type == "change_summary" {
			add, change, remove, found = ev.Changes.Add, ev.Changes.Change, ev.Changes.Remove, true
		}
	}
	if !found {
		e.t.Fatalf("plan --json printed no change_summary:\n%s", stdout)
	}
	return add, change, remove
}

// pendingJournal runs `show --json` (the state file must open) and returns
// the number of unfinished journal entries.
func (e *e2e) pendingJournal() (int, error) {
	code, stdout, stderr := e.run("show", "--json")
	if code != 0 {
		return 0, fmt.Errorf("show --json exited %d: the state file does not open:\n%s", code, stderr)
	}
	var doc struct {
		Lineage string            `json:"lineage"`
		Pending []json.RawMessage `json:"pending_journal"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		return 0, fmt.Errorf("show --json: %v", err)
	}
	return len(doc.Pending), nil
}

// checkConverged checks the invariants that hold after a successful apply:
// owned items cover exactly the desired set per OS, each hash in exactly
// one item, unowned items unchanged, no pending journal entry, and a plan
// with no changes.
func (e *e2e) checkConverged(maxValues int) error {
	got, err := blocked(e.ownedItems(), maxValues)
	if err != nil {
		return err
	}
	if d := cmp.Diff(desiredHashes(e.sb), got); d != "" {
		return fmt.Errorf("owned items do not hold each desired hash exactly once per OS (-want +got):\n%s", d)
	}
	if err := e.checkUnowned(); err != nil {
		return err
	}
	n, err := e.pendingJournal()
	if err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("the journal has %d pending entries after a successful apply", n)
	}
	if a, c, r := e.planSummary(); a+c+r != 0 {
		return fmt.Errorf("plan after a successful apply: %d to add, %d to change, %d to destroy, want none", a, c, r)
	}
	return nil
}

// envInt reads a positive integer from the environment, or def.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// Kill points of the crash test.
const (
	killBefore    = "before writes" // killed before its first item write reached Kibana
	killAmong     = "among writes"  // some but not all planned writes reached Kibana
	killAfter     = "after writes"  // every planned write had reached Kibana
	killNone      = "no writes"     // nothing was planned
	killCompleted = "completed"     // the run finished before the kill
)

// TestCrashConsistency runs apply as a real process against the sandbox
// with write latency, kills it with SIGKILL at seeded random moments,
// re-runs it until it succeeds, and checks the invariants after every kill
// and after every round. LUMUCTL_CRASH_ROUNDS sets the number of rounds
// (default 5; `make soak` runs 200), LUMUCTL_CRASH_SEED the seed (default:
// the current time, logged, so a failing run can be replayed).
func TestCrashConsistency(t *testing.T) { crashConsistency(t, "bbolt") }

// TestCrashConsistencyPostgres is the same loop with the state, journal,
// lock and cache in PostgreSQL (SPEC 10): a SIGKILLed apply's session ends,
// PostgreSQL releases its lock, and the next run reconciles.
func TestCrashConsistencyPostgres(t *testing.T) { crashConsistency(t, "postgres") }

func crashConsistency(t *testing.T, backend string) {
	if testing.Short() {
		t.Skip("crash loop runs real processes; skipped with -short")
	}
	rounds := envInt(t, "LUMUCTL_CRASH_ROUNDS", 5)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("LUMUCTL_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("LUMUCTL_CRASH_SEED=%q: %v", v, err)
		}
	}
	t.Logf("seed %d (replay with LUMUCTL_CRASH_SEED=%d), %d rounds", seed, seed, rounds)
	rng := rand.New(rand.NewPCG(seed, 0x6c756d75))

	const maxValues = 5
	e := newE2E(t, buildLumuctl(t), configEdit{"max_values_per_item = 100", fmt.Sprintf("max_values_per_item = %d", maxValues)})
	if backend == "postgres" {
		usePostgres(t, e)
	}
	e.sb.Kibana.SetLatency(kibanasim.KindCreateItem, 40*time.Millisecond)
	e.sb.Kibana.SetLatency(kibanasim.KindUpdateItem, 40*time.Millisecond)
	e.sb.Kibana.SetLatency(kibanasim.KindDeleteItem, 30*time.Millisecond)

	const maxAttempts = 8 // then one run without a kill
	// Kill delays are drawn from [0, 1.3 × the expected run time], the
	// expected run time being the overhead (start, plan, commit) measured
	// on the last uninterrupted run plus 10 ms per planned write (40 ms
	// latency, 4 in parallel), so kills land before, among and after the
	// writes whatever the machine's speed;
	// LUMUCTL_CRASH_MAX_DELAY_MS fixes the bound instead.
	const perWrite = 10 * time.Millisecond
	overhead := 100 * time.Millisecond
	fixedDelay := time.Duration(envInt(t, "LUMUCTL_CRASH_MAX_DELAY_MS", 0)) * time.Millisecond
	hits := map[string]int{}
	attempts := 0
	for round := 1; round <= rounds; round++ {
		if round > 1 {
			changeWorld(t, e.sb, rng)
		}
		want := desiredHashes(e.sb)
		before, err := blocked(e.ownedItems(), 0)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// Nothing lost: a hash blocked before the round and still desired
		// stays blocked at every kill point (adds are written before drops).
		var keep []osHash
		for h := range before {
			if want[h] > 0 {
				keep = append(keep, h)
			}
		}
		var roundHits []string
		diag := []string{"round start items:\n" + itemSummary(e.ownedItems())} // per attempt: output and where the kept hashes are
		log0 := len(e.sb.Kibana.Log())
		for attempt := 1; ; attempt++ {
			attempts++
			add, change, remove := e.planSummary()
			planned := add + change + remove
			kill := attempt <= maxAttempts
			bound := time.Duration(1.3 * float64(overhead+time.Duration(planned)*perWrite))
			if fixedDelay > 0 {
				bound = fixedDelay
			}
			delay := time.Duration(rng.Float64() * float64(bound))
			w0 := e.writes()
			cmd, stdout, stderr := e.command("apply", "--auto-approve", "--allow-mass-delete")
			started := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			var werr error
			killed := false
			if kill {
				select {
				case werr = <-exited:
				case <-time.After(delay):
					_ = cmd.Process.Signal(syscall.SIGKILL)
					werr = <-exited
					killed = cmd.ProcessState != nil && !cmd.ProcessState.Exited()
				}
			} else {
				werr = <-exited
			}
			w := e.writes() - w0
			point := killCompleted
			switch {
			case !killed:
			case planned == 0:
				point = killNone
			case w == 0:
				point = killBefore
			case w < planned:
				point = killAmong
			default:
				point = killAfter
			}
			// A run that was not killed must succeed: in particular a write
			// the killed run had in flight must not surface as a 409 here
			// (its own write of the same item recognises it by its content).
			hits[point]++
			roundHits = append(roundHits, fmt.Sprintf("%s(%d/%d writes, %s)", point, w, planned, delay.Round(time.Millisecond)))
			if !killed {
				if werr != nil {
					t.Fatalf("round %d attempt %d: apply failed without being killed: %v\nstdout:\n%s\nstderr:\n%s", round, attempt, werr, stdout, stderr)
				}
				overhead = max(20*time.Millisecond, time.Since(started)-time.Duration(planned)*perWrite)
				break
			}
			// After a kill: unowned items untouched, the state file opens,
			// nothing desired and blocked before is unblocked.
			if err := e.checkUnowned(); err != nil {
				t.Fatalf("round %d attempt %d (%s): %v", round, attempt, point, err)
			}
			if _, err := e.pendingJournal(); err != nil {
				t.Fatalf("round %d attempt %d (%s): %v", round, attempt, point, err)
			}
			now, err := blocked(e.ownedItems(), maxValues)
			if err != nil {
				t.Fatalf("round %d attempt %d (%s): %v", round, attempt, point, err)
			}
			var lost []string
			for _, h := range keep {
				if now[h] == 0 {
					lost = append(lost, h.String())
				}
			}
			diag = append(diag, fmt.Sprintf("attempt %d (%s, %d/%d writes):\nstdout:\n%s\nstderr:\n%s\nitems:\n%s", attempt, point, w, planned, stdout, stderr, itemSummary(e.ownedItems())))
			if len(lost) > 0 {
				slices.Sort(lost)
				for _, d := range diag {
					t.Log(d)
				}
				lg := e.sb.Kibana.Log()
				if log0 < len(lg) {
					for _, l := range lg[log0:] {
						t.Logf("kibana log: %s %s %s %s %d %s", l.Time.Format("15:04:05.000000"), l.Method, l.Path, l.Query, l.Status, l.Fault)
					}
				}
				t.Fatalf("round %d attempt %d (%s): %d hash(es) blocked before the round and still desired were unblocked: %v", round, attempt, point, len(lost), lost)
			}
		}
		if err := e.checkConverged(maxValues); err != nil {
			t.Fatalf("round %d (seed %d) after %v: %v", round, seed, roundHits, err)
		}
		t.Logf("round %d: %s", round, strings.Join(roundHits, ", "))
	}
	e.mustRun(0, "plan", "--detailed-exitcode")
	t.Logf("%d rounds, %d apply runs; kill points: %d %s, %d %s, %d %s, %d %s; %d runs completed; failures: 0",
		rounds, attempts, hits[killBefore], killBefore, hits[killAmong], killAmong, hits[killAfter], killAfter,
		hits[killNone], killNone, hits[killCompleted])
}

// itemSummary lists owned items with their versions and values (diagnostics).
func itemSummary(items []kibanasim.Item) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "  %s id=%s v=%s", it.ItemID, it.ID, it.Version)
		for _, en := range it.Entries {
			var short []string
			for _, v := range en.Value {
				short = append(short, v[:min(8, len(v))])
			}
			fmt.Fprintf(&b, " %s=%v", en.Field, short)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// changeWorld closes two open incidents, reopens a closed one and adds a
// new one with fresh hashes, so that the next apply has creates, updates
// and deletes.
func changeWorld(t *testing.T, sb *sandbox.Sandbox, rng *rand.Rand) {
	t.Helper()
	open := sb.Lumu.Incidents(lumusim.StatusOpen)
	for range 2 {
		if len(open) == 0 {
			break
		}
		i := rng.IntN(len(open))
		if err := sb.Lumu.CloseIncident(open[i].ID, "crash test"); err != nil {
			t.Fatal(err)
		}
		open = slices.Delete(open, i, i+1)
	}
	if closed := sb.Lumu.Incidents(lumusim.StatusClosed); len(closed) > 0 {
		if err := sb.Lumu.ReopenIncident(closed[rng.IntN(len(closed))].ID, "crash test"); err != nil {
			t.Fatal(err)
		}
	}
	hashes := map[lumusim.HashType][]string{}
	for ht, n := range map[lumusim.HashType]int{lumusim.SHA256: 64, lumusim.MD5: 32} {
		for range 1 + rng.IntN(8) {
			hashes[ht] = append(hashes[ht], randomHex(rng, n))
		}
	}
	if _, err := sb.Lumu.AddIncident(lumusim.NewIncident{AdversaryTypes: []string{"Malware"}, Hashes: hashes}); err != nil {
		t.Fatal(err)
	}
}

func randomHex(rng *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[rng.IntN(16)]
	}
	return string(b)
}
