package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
)

// The tests of this file make the race of issue 15 (deliverable 4)
// deterministic: a write of a SIGKILLed apply lands at Kibana after the next
// apply has listed the items it plans from. The Kibana stand-in holds the
// killed run's write at a gate (Fault.Hold, picked by item with
// Fault.Match, whatever order parallel writes arrive in) and opens it from
// the next run's item listing (Fault.Release on GET _find): the listing
// reads the store, the held write lands, then the listing is answered. So
// the next run plans from a Kibana without that write, and the write is
// there for everything it does afterwards. Every test then checks that the
// next apply succeeds and leaves each desired hash in exactly one item per
// OS (no duplicate, none missing), that no journal entry is left, and that
// a plan finds nothing to do. Before the fix (the next run checked the
// journal's writes, dropped those not yet landed and planned), each of
// them failed: duplicates in the first three, an update meeting a deleted
// item (exit 3, the new hashes unblocked) in the last.

// Gates of the stand-in used here.
const (
	gateKilled = "killed" // the killed run's write that lands after the next run listed
	gateNever  = "never"  // the killed run's other writes: held until the test ends
)

// raceE2E is newE2E with max_values_per_item = 5 (several items per group)
// and the stand-in's gates opened when the test ends, so that a held
// request never keeps the sandbox from closing.
func raceE2E(t *testing.T) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real processes; skipped with -short")
	}
	e := newE2E(t, buildLumuctl(t), configEdit{"max_values_per_item = 100", "max_values_per_item = 5"})
	t.Cleanup(e.sb.Kibana.ReleaseAll) // runs before the sandbox closes
	return e
}

// addFaults schedules fs at the Kibana stand-in.
func (e *e2e) addFaults(fs ...kibanasim.Fault) {
	e.t.Helper()
	for _, f := range fs {
		if err := e.sb.Kibana.AddFault(f); err != nil {
			e.t.Fatal(err)
		}
	}
}

// killHeld runs `apply --auto-approve --parallelism par` until one request
// waits at gate "killed" and, when others is set, one at gate "never" (the
// run went on past the write that lands late), then SIGKILLs it. The
// faults left are cleared.
func (e *e2e) killHeld(par int, others bool) {
	e.t.Helper()
	cmd, stdout, stderr := e.command("apply", "--auto-approve", "--allow-mass-delete", "--parallelism", fmt.Sprint(par))
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	k := e.sb.Kibana
	deadline := time.After(2 * time.Minute)
	for {
		killed, _ := k.Gate(gateKilled)
		never, _ := k.Gate(gateNever)
		if killed == 1 && (!others || never > 0) {
			break
		}
		select {
		case err := <-exited:
			e.t.Fatalf("the apply to kill exited before its writes were held: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		case <-deadline:
			_ = cmd.Process.Kill()
			e.t.Fatalf("the apply to kill was not held in 2 minutes\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
		case <-time.After(2 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	k.ClearFaults()
	if n, err := e.pendingJournal(); err != nil || n == 0 {
		e.t.Fatalf("after the kill: %d pending journal entries (%v), want the held writes", n, err)
	}
}

// nextApplyAfterLateWrite runs the next apply with its first item listing
// opening gate "killed": the held write lands after that listing read
// Kibana. It checks the write did reach Kibana then, that the apply
// succeeded, and that the blocklist converged with no duplicate. refused
// is the status Kibana answered the late write with (409 for a create or
// an update, 404 for a delete), once the next run sent it again first.
func (e *e2e) nextApplyAfterLateWrite(refused int) string {
	e.t.Helper()
	e.addFaults(kibanasim.Fault{Kind: kibanasim.KindFind, Release: gateKilled})
	code, stdout, stderr := e.run("apply", "--auto-approve", "--allow-mass-delete")
	if _, landed := e.sb.Kibana.Gate(gateKilled); landed != 1 {
		e.t.Fatalf("the held write of the killed run did not land during the next apply (%d landed)", landed)
	}
	late := -1
	for _, le := range e.sb.Kibana.Log() {
		if le.Fault == "held at "+gateKilled+", landed late" {
			late = le.Status
		}
	}
	if late != refused {
		e.t.Errorf("Kibana answered the killed run's late write %d, want %d: the next run did not settle it before planning", late, refused)
	}
	if !strings.Contains(stdout, "sent again).") {
		e.t.Errorf("the next apply did not say it sent the unfinished writes again:\n%s", stdout)
	}
	if code != 0 {
		e.t.Errorf("the next apply exited %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if err := e.checkConverged(5); err != nil {
		e.t.Errorf("after the next apply: %v\nits output:\n%s%s", err, stdout, stderr)
	}
	return stdout
}

// groupItems returns the owned items of one group ("linux", "md5"), by
// item_id (so by seq).
func (e *e2e) groupItems(os, ht string) []kibanasim.Item {
	prefix := crashBlocklistPrefix + os + "-" + ht + "-"
	var out []kibanasim.Item
	for _, it := range e.ownedItems() {
		if strings.HasPrefix(it.ItemID, prefix) {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b kibanasim.Item) int { return strings.Compare(a.ItemID, b.ItemID) })
	return out
}

func itemValues(it kibanasim.Item) []string {
	var out []string
	for _, en := range it.Entries {
		out = append(out, en.Value...)
	}
	return out
}

// TestLateCreateAfterListing: the first sync is killed while its first
// create is in flight; the create lands after the next apply listed the
// items. That apply must not put the same hashes into other items: it
// used to take the landed item for one of another list (it was not in the
// listing, yet its item_id was taken when the planner checked the ids of
// its creates) and create all its items under the next numbers, a
// duplicate of every value of the landed item (the 4,000 duplicates seen
// under load in make bench).
func TestLateCreateAfterListing(t *testing.T) {
	e := raceE2E(t)
	first := crashBlocklistPrefix + "linux-md5-0001"
	e.addFaults(kibanasim.Fault{Kind: kibanasim.KindCreateItem, Match: first, Hold: gateKilled})
	e.killHeld(1, false)
	e.nextApplyAfterLateWrite(409)
}

// TestLateCreateOutOfOrder: of two creates of one group in flight, the
// later lands and the earlier is held: the next apply sees item 0002 but
// not 0001, so it numbers its new items after 0002 and puts the hashes of
// 0001 into 0003; then 0001 lands, holding them too.
func TestLateCreateOutOfOrder(t *testing.T) {
	e := raceE2E(t)
	e.addFaults(
		kibanasim.Fault{Kind: kibanasim.KindCreateItem, Match: crashBlocklistPrefix + "linux-md5-0001", Hold: gateKilled},
		kibanasim.Fault{Kind: kibanasim.KindCreateItem, Match: crashBlocklistPrefix + "linux-md5-0002", DelayMS: 1},
		kibanasim.Fault{Kind: kibanasim.KindCreateItem, Count: 1000, Hold: gateNever},
	)
	e.killHeld(2, true)
	if got := e.groupItems("linux", "md5"); len(got) != 1 || !strings.HasSuffix(got[0].ItemID, "-0002") {
		t.Fatalf("after the kill, linux/md5 holds %d items, want only 0002", len(got))
	}
	e.nextApplyAfterLateWrite(409)
}

// TestLateUpdateOutOfOrder: a killed run fills the newest item A of a group
// (an update) and creates N for the rest; N lands, the update of A is held
// and lands after the next apply listed. That apply sees A without the
// new hashes and N with room: it adds them to N, and A's late update
// holds them too.
func TestLateUpdateOutOfOrder(t *testing.T) {
	e := raceE2E(t)
	rng := rand.New(rand.NewPCG(15, 4))
	e.mustRun(0, "apply", "--auto-approve")
	items := e.groupItems("linux", "md5")
	newest := items[len(items)-1]
	room := 5 - len(itemValues(newest))
	if room == 0 {
		// Make room: one more hash starts a new newest item with 4 free.
		addIncident(t, e, rng, 1)
		e.mustRun(0, "apply", "--auto-approve")
		items = e.groupItems("linux", "md5")
		newest, room = items[len(items)-1], 4
	}
	next := fmt.Sprintf("%s%04d", crashBlocklistPrefix+"linux-md5-", len(items)+1)
	if !strings.HasSuffix(newest.ItemID, fmt.Sprintf("-%04d", len(items))) {
		t.Fatalf("linux/md5 items are not numbered 1..%d: newest %s", len(items), newest.ItemID)
	}
	// room+1 new hashes per type: room fill the newest item, one goes to
	// a new item (on every OS and type; only linux/md5 matters here).
	addIncident(t, e, rng, room+1)
	e.addFaults(
		kibanasim.Fault{Kind: kibanasim.KindUpdateItem, Match: newest.ItemID, Hold: gateKilled},
		kibanasim.Fault{Kind: kibanasim.KindCreateItem, Match: next, DelayMS: 1},
		kibanasim.Fault{Kind: kibanasim.KindCreateItem, Count: 1000, Hold: gateNever},
		kibanasim.Fault{Kind: kibanasim.KindUpdateItem, Count: 1000, Hold: gateNever},
	)
	e.killHeld(2, true)
	if got := e.groupItems("linux", "md5"); got[len(got)-1].ItemID != next || len(itemValues(got[len(got)-2])) != 5-room {
		t.Fatalf("after the kill, linux/md5 is not: %s unchanged, %s created", newest.ItemID, next)
	}
	e.nextApplyAfterLateWrite(409)
}

// TestLateDeleteOfItemUpdated: a killed run deletes the items of a closed
// incident; the delete of the first of them is held and lands after the
// next apply listed. Meanwhile new hashes arrived, and the next apply puts
// them into that item, which it still sees (an update): the update meets
// a deleted item (404) and the new hashes stay unblocked; had the update
// come first, the late delete would have removed them silently.
func TestLateDeleteOfItemUpdated(t *testing.T) {
	e := raceE2E(t)
	rng := rand.New(rand.NewPCG(15, 5))
	x := addIncident(t, e, rng, 12) // 12 md5 per OS: items of its own
	e.mustRun(0, "apply", "--auto-approve")
	own := map[string]bool{}
	for _, inc := range e.sb.Lumu.Incidents(lumusim.StatusOpen) {
		if inc.ID == x {
			for _, h := range inc.Files(lumusim.MD5) {
				own[h] = true
			}
		}
	}
	var target kibanasim.Item
	for _, it := range e.groupItems("linux", "md5") {
		if vals := itemValues(it); len(vals) > 0 && !slices.ContainsFunc(vals, func(v string) bool { return !own[v] }) {
			target = it // the first item holding only X's hashes
			break
		}
	}
	if target.ID == "" {
		t.Fatal("no linux/md5 item holds only the new incident's hashes")
	}
	if err := e.sb.Lumu.CloseIncident(x, "late delete test"); err != nil {
		t.Fatal(err)
	}
	e.addFaults(
		kibanasim.Fault{Kind: kibanasim.KindDeleteItem, Match: target.ID, Hold: gateKilled},
		kibanasim.Fault{Kind: kibanasim.KindDeleteItem, Count: 1000, Hold: gateNever},
	)
	e.killHeld(2, true)
	addIncident(t, e, rng, 3)
	e.nextApplyAfterLateWrite(404)
}

// plannedChanges runs `plan --json` and returns its planned changes.
func (e *e2e) plannedChanges() []views.JSONChange {
	e.t.Helper()
	stdout, _ := e.mustRun(0, "plan", "--json", "--allow-mass-delete")
	var out []views.JSONChange
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev struct {
			Type   string           `json:"type"`
			Change views.JSONChange `json:"change"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			e.t.Fatalf("plan --json: bad line %q: %v", sc.Text(), err)
		}
		if ev.Type == "planned_change" {
			out = append(out, ev.Change)
		}
	}
	return out
}

// TestKilledBetweenMoveWrites is the crash soak's failure on 8145c9d (seed
// 1796589627935925055, round 94: "1 hash(es) blocked before the round and
// still desired were unblocked"), made deterministic. The two newest items
// of linux/md5 each lose hashes and new ones arrive: the packer refills the
// tail run, so the older item R takes the newer item G's remaining hashes
// (moved_in) and G takes the arrivals. Both writes add hashes; they went
// out together, and a run killed after G's write landed and before R's
// left the moved hashes in no item. The stand-in holds R's update; the run
// is killed once G's update landed, or (as now) after a while in which the
// apply sent G no write: G waits for R.
func TestKilledBetweenMoveWrites(t *testing.T) {
	e := raceE2E(t)
	rng := rand.New(rand.NewPCG(15, 6))
	e.mustRun(0, "apply", "--auto-approve")
	// V holds 5 hashes per type, W those and 5 more, added after V: the
	// 10 are ranked by W's lastContact, then by value, so W's own hashes
	// interleave with V's in the newest items. Closing W takes hashes out
	// of each of them; Z's arrive.
	shared, own := map[lumusim.HashType][]string{}, map[lumusim.HashType][]string{}
	for ht, l := range hashLengths {
		for range 5 {
			shared[ht] = append(shared[ht], randomHex(rng, l))
			own[ht] = append(own[ht], randomHex(rng, l))
		}
	}
	if _, err := e.sb.Lumu.AddIncident(lumusim.NewIncident{AdversaryTypes: []string{"Malware"}, Hashes: shared}); err != nil {
		t.Fatal(err)
	}
	both := map[lumusim.HashType][]string{}
	for ht := range shared {
		both[ht] = append(slices.Clone(shared[ht]), own[ht]...)
	}
	w, err := e.sb.Lumu.AddIncident(lumusim.NewIncident{AdversaryTypes: []string{"Malware"}, Hashes: both})
	if err != nil {
		t.Fatal(err)
	}
	e.mustRun(0, "apply", "--auto-approve")
	if err := e.sb.Lumu.CloseIncident(w.ID, "move test"); err != nil {
		t.Fatal(err)
	}
	addIncident(t, e, rng, 2)

	// The plan must hold the move: R takes over hashes G holds now, and G
	// adds hashes.
	live := map[string][]string{}
	for _, it := range e.groupItems("linux", "md5") {
		live[it.ItemID] = itemValues(it)
	}
	var receiver, giver string
	changes := e.plannedChanges()
	for _, r := range changes {
		if r.OS != "linux" || r.HashType != "md5" || len(r.MovedIn) == 0 {
			continue
		}
		for _, g := range changes {
			if g.ItemID != r.ItemID && g.Action == "update" && len(g.Added) > 0 &&
				slices.ContainsFunc(live[g.ItemID], func(v string) bool { return slices.Contains(r.MovedIn, v) }) {
				receiver, giver = r.ItemID, g.ItemID
			}
		}
	}
	if receiver == "" {
		t.Fatalf("the plan moves no linux/md5 hash out of an item that adds hashes: the scenario tests nothing\n%+v", changes)
	}
	before, err := blocked(e.ownedItems(), 5)
	if err != nil {
		t.Fatal(err)
	}
	want := desiredHashes(e.sb)

	e.addFaults(kibanasim.Fault{Kind: kibanasim.KindUpdateItem, Match: receiver, Hold: gateKilled})
	cmd, stdout, stderr := e.command("apply", "--auto-approve", "--allow-mass-delete", "--parallelism", "4")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	k := e.sb.Kibana
	giverLanded := func() bool {
		for _, it := range e.groupItems("linux", "md5") {
			if it.ItemID == giver {
				return !slices.Equal(itemValues(it), live[giver])
			}
		}
		return false
	}
	deadline := time.After(2 * time.Minute)
	var grace <-chan time.Time // once R is held: how long G may take to land
wait:
	for {
		if held, _ := k.Gate(gateKilled); held == 1 && grace == nil {
			grace = time.After(500 * time.Millisecond)
		}
		if grace != nil && giverLanded() {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the apply exited before it was killed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the receiver's update was not held in 2 minutes\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
		case <-grace:
			break wait
		case <-time.After(2 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	k.ClearFaults()
	now, err := blocked(e.ownedItems(), 5)
	if err != nil {
		t.Fatal(err)
	}
	var lost []string
	for h := range before {
		if want[h] > 0 && now[h] == 0 {
			lost = append(lost, h.String())
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		t.Fatalf("killed while %s's update (taking hashes over from %s) was held: %d desired hash(es) blocked before are blocked nowhere (%s sent anyway: %v): %v",
			receiver, giver, len(lost), giver, giverLanded(), lost)
	}
	if giverLanded() {
		t.Errorf("%s was written while %s, which takes its hashes, was not", giver, receiver)
	}
	e.nextApplyAfterLateWrite(409)
}
