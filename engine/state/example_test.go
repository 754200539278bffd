package state_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
)

// An apply: take the lock, back up, journal each Kibana write around the
// call, then commit provenance, the digest and the history entry.
func Example() {
	dir, _ := os.MkdirTemp("", "state-example")
	defer os.RemoveAll(dir)
	var store state.Store = boltstore.New(filepath.Join(dir, "lumuctl.state"), boltstore.Options{})

	// plan: a missing file reads as empty and is not created.
	st, _ := store.Snapshot()
	fmt.Printf("lineage %q, serial %d, %d items\n", st.Lineage, st.Serial, len(st.Items))

	w, err := store.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		fmt.Println(err) // a *state.LockError names the holder: exit 5
		return
	}
	defer w.Unlock()
	_ = w.Backup()

	body := provider.Item{ItemID: "lumuctl-prod-main-windows-sha256-0001", Name: "lumuctl main windows sha256 1"}
	seq, _ := w.JournalBegin(state.JournalEntry{
		Op: provider.Create, ItemID: body.ItemID, PlanDigest: "d1",
		Item: &state.Item{Blocklist: "main", OS: "windows", HashType: provider.SHA256, Item: body},
	})
	// ... send the create to Kibana; it answers with the stored item ...
	created := body
	created.ID, created.Version = "so-1", "WzEsMV0="
	_ = w.JournalDone(seq, created)

	hash := "3f2a000000000000000000000000000000000000000000000000000000c9e1"
	serial, _ := w.Commit(state.Commit{
		Provenance: map[string]state.HashIncidents{
			"main": {hash + "00": {{ID: "7c40be00", Company: "acme", Filter: "malware"}}},
		},
		AppliedDigest: "d1",
		History:       &state.HistoryEntry{Who: "ci@runner", Command: "apply", PlanDigest: "d1", Outcome: state.OutcomeSuccess},
		ClearDone:     true,
	})
	fmt.Println("serial after apply:", serial)

	st, _ = store.Snapshot()
	fmt.Println("item version:", st.Items[body.ItemID].Item.Version, "pending:", len(st.Pending()))
	refs, _ := store.Provenance("main", hash+"00")
	fmt.Println("why:", refs[0].ID, refs[0].Filter)
	// Output:
	// lineage "", serial 0, 0 items
	// serial after apply: 3
	// item version: WzEsMV0= pending: 0
	// why: 7c40be00 malware
}
