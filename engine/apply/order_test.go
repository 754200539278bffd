package apply

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
	"github.com/lumuctl/lumuctl/engine/state"
)

// receiverFails is a Target whose updates of the receivers (items taking
// hashes over from another item) fail like a killed run's write that never
// reached Kibana, after letting a giver's write (an item giving hashes to a
// receiver) start if the apply sends one meanwhile; everything else lands.
type receiverFails struct {
	*providertest.Target
	receivers, givers map[string]bool
	once              sync.Once
	giverSent         chan struct{}

	mu   sync.Mutex
	sent []string // update item_ids in the order they reached the target
}

func (r *receiverFails) Update(ctx context.Context, it provider.Item) (provider.Item, error) {
	r.mu.Lock()
	r.sent = append(r.sent, it.ItemID)
	r.mu.Unlock()
	if r.givers[it.ItemID] {
		r.once.Do(func() { close(r.giverSent) })
	}
	if r.receivers[it.ItemID] {
		// The bound only ends the wait when the apply (correctly) sends
		// no giver while a receiver is in flight; the outcome checked
		// below does not depend on it.
		select {
		case <-r.giverSent:
		case <-time.After(300 * time.Millisecond):
		}
		return provider.Item{}, errors.New("connection reset by peer")
	}
	return r.Target.Update(ctx, it)
}

// TestMovedHashesNeverUnblocked is the crash soak's round 94 (seed
// 1796589627935925055: "1 hash(es) blocked before the round and still
// desired were unblocked"), made deterministic. Both items of a group
// shrink and the newest receives additions: the packer refills the tail
// run, so the older item takes hashes over from the newer one (MovedIn)
// while the newer one drops them and takes the additions. Both writes add
// hashes, so apply sent them together; when the receiver's write did not
// land (the run was killed, or the write failed) and the giver's did, the
// moved hashes were in no item. The giver must wait for the receiver.
func TestMovedHashesNeverUnblocked(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 200)...)
	if res := h.apply(t, context.Background(), h.plan(t, false)); res.Outcome != state.OutcomeSuccess {
		t.Fatalf("first apply: %+v", res)
	}
	blockedNow := func() map[string]map[string]int { // os → hash → items holding it
		out := map[string]map[string]int{}
		for _, it := range h.target.All() {
			for _, os := range it.OSTypes {
				if out[os] == nil {
					out[os] = map[string]int{}
				}
				for _, v := range plan.ItemValues(it) {
					out[os][v]++
				}
			}
		}
		return out
	}
	// Take 10 hashes out of each of the two items (they are the same on
	// both OSes) and add 15 new ones.
	items := h.target.All()
	if len(items) != 4 {
		t.Fatalf("first apply made %d items, want 2 per OS", len(items))
	}
	gone := map[string]bool{}
	for _, it := range items {
		vs := slices.Sorted(slices.Values(plan.ItemValues(it)))
		for _, v := range vs[:10] {
			gone[v] = true
		}
	}
	var desired []string
	for _, v := range hashes("a", 200) {
		if !gone[v] {
			desired = append(desired, v)
		}
	}
	desired = append(desired, hashes("b", 15)...)
	h.src.Set("mal", provider.SHA256, desired...)
	before := blockedNow()

	p := h.plan(t, false)
	// The plan must hold the move this test is about: an update that adds
	// hashes and gives hashes to another item that takes them in.
	ft := &receiverFails{Target: h.target, receivers: map[string]bool{}, givers: map[string]bool{}, giverSent: make(chan struct{})}
	for _, bp := range p.Blocklists {
		movedIn := map[string]bool{}
		for _, c := range bp.Changes {
			for _, v := range c.MovedIn {
				movedIn[c.OS+"/"+v] = true
			}
			if len(c.MovedIn) > 0 {
				ft.receivers[c.ItemID] = true
			}
		}
		for _, c := range bp.Changes {
			if c.Action != provider.Update || len(c.Added)+len(c.MovedIn) == 0 || c.Diff == nil {
				continue
			}
			for _, v := range c.Diff.Drop {
				if movedIn[c.OS+"/"+v] {
					ft.givers[c.ItemID] = true
				}
			}
		}
	}
	if len(ft.receivers) == 0 || len(ft.givers) == 0 {
		t.Fatalf("the plan moves no hash from an item that also adds hashes (receivers %v, givers %v): the scenario no longer tests anything", ft.receivers, ft.givers)
	}

	w, err := h.store.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), Options{Plan: p, Kibanas: map[string]provider.Target{"prod": ft}, Live: LiveFromPlan(p), State: w,
		Parallelism: 4, Who: "tester@host", Now: func() time.Time { return now }})
	w.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome == state.OutcomeSuccess {
		t.Fatalf("apply succeeded although every receiver's write failed: %+v", res)
	}
	after := blockedNow()
	var lost []string
	for os, hs := range before {
		for v := range hs {
			if !gone[v] && after[os][v] == 0 {
				lost = append(lost, os+"/"+v)
			}
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		t.Errorf("%d desired hash(es) blocked before the apply are blocked nowhere after it (updates sent: %v): %v", len(lost), ft.sent, lost)
	}
	for _, id := range ft.sent {
		if ft.givers[id] {
			t.Errorf("the giver %s was sent although the receiver's write had failed (updates sent: %v)", id, ft.sent)
		}
	}

	// The next apply, with Kibana answering, converges.
	if res := h.apply(t, context.Background(), h.plan(t, false)); res.Outcome != state.OutcomeSuccess {
		t.Fatalf("next apply: %+v", res)
	}
	final := blockedNow()
	for _, os := range []string{"windows", "linux"} {
		if len(final[os]) != len(desired) {
			t.Errorf("%s: %d hashes blocked after the next apply, want %d", os, len(final[os]), len(desired))
		}
		for _, v := range desired {
			if final[os][v] != 1 {
				t.Errorf("%s: %s held by %d items, want 1", os, v, final[os][v])
			}
		}
	}
	if p := h.plan(t, false); p.Summary.BlockedAfter == 0 || countChanges(p) != 0 {
		t.Errorf("plan after convergence has %d changes", countChanges(p))
	}
}

func countChanges(p *plan.Plan) int {
	n := 0
	for _, bp := range p.Blocklists {
		n += len(bp.Changes)
	}
	return n
}

// TestMoveWavesChain: moves chain through the tail run (the newest item
// gives to the one before it, which gives to the one before that), so the
// writes go in as many waves, receivers first; writes without moves go in
// the first wave; an update saved without a Diff waits for every receiver
// of its group.
func TestMoveWavesChain(t *testing.T) {
	mk := func(id string, action provider.Action, movedIn []string, drop []string, diff bool) op {
		c := plan.ItemChange{Action: action, ItemID: id, OS: "windows", HashType: provider.SHA256, MovedIn: movedIn, Added: []string{"n-" + id}}
		if diff {
			c.Diff = &plan.ValueDiff{Drop: drop}
		}
		return op{blocklist: "x", kibana: "prod", change: c}
	}
	ops := []op{
		mk("c", provider.Update, nil, []string{"h2"}, true),            // gives h2 to b
		mk("b", provider.Update, []string{"h2"}, []string{"H1"}, true), // takes h2, gives h1 (read in capitals) to a
		mk("a", provider.Update, []string{"h1"}, nil, true),            // takes h1
		mk("n", provider.Create, nil, nil, false),                      // unrelated
		mk("u", provider.Update, nil, nil, false),                      // no Diff: after every receiver
	}
	var got [][]string
	for _, w := range moveWaves(ops) {
		var ids []string
		for _, o := range w {
			ids = append(ids, o.change.ItemID)
		}
		got = append(got, ids)
	}
	want := [][]string{{"a", "n"}, {"b"}, {"c", "u"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("waves %v, want %v", got, want)
	}
	// A cycle (never made by the packer) is sent as one last wave.
	cyc := []op{mk("a", provider.Update, []string{"h1"}, []string{"h2"}, true), mk("b", provider.Update, []string{"h2"}, []string{"h1"}, true)}
	if w := moveWaves(cyc); len(w) != 1 || len(w[0]) != 2 {
		t.Errorf("cycle: %d waves, want 1 of 2", len(w))
	}
}
