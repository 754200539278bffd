package apply

import (
	"context"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

func TestSyncOwnedScope(t *testing.T) {
	ctx := context.Background()
	store := statetest.MustOpen(t)
	w, err := store.Lock(ctx, state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unlock()
	rec := func(bl, id string) state.Item {
		return state.Item{Blocklist: bl, OS: "linux", HashType: provider.MD5, Item: provider.Item{ItemID: id}}
	}
	// The state knows: a live item, an item deleted outside lumuctl, an
	// item of a blocklist this plan did not cover (--target), an item this
	// run created (not in the read made before it).
	if _, err := w.Commit(state.Commit{Put: []state.Item{
		rec("a", "lumuctl-ns-a-linux-md5-0001"),
		rec("a", "lumuctl-ns-a-linux-md5-0002"),
		rec("b", "lumuctl-ns-b-linux-md5-0001"),
		rec("a", "lumuctl-ns-a-linux-md5-0009"),
	}}); err != nil {
		t.Fatal(err)
	}
	target := providertest.NewTarget()
	for _, id := range []string{"lumuctl-ns-a-linux-md5-0001", "lumuctl-ns-a-linux-md5-0003", "lumuctl-ns-a-linux-md5-0004", "lumuctl-ns-b-linux-md5-0002", "lumuctl-ns-a-odd"} {
		target.Put(provider.Item{ItemID: id, OSTypes: []string{"linux"}, Entries: []provider.Entry{{Field: "file.hash.md5", Value: hashes(id, 1)}}})
	}
	p := &plan.Plan{Namespace: "ns", Blocklists: []plan.BlocklistPlan{{Name: "a", Kibana: "k", Changes: []plan.ItemChange{
		{Action: provider.Create, ItemID: "lumuctl-ns-a-linux-md5-0009"},
		{Action: provider.Delete, ItemID: "lumuctl-ns-a-linux-md5-0004"},
	}}}}
	live := map[string]plan.LiveSet{"k": {ContainerExists: true, Items: []plan.LiveItem{
		{ItemID: "lumuctl-ns-a-linux-md5-0001"}, {ItemID: "lumuctl-ns-a-linux-md5-0003"}, {ItemID: "lumuctl-ns-a-linux-md5-0004"},
		{ItemID: "lumuctl-ns-b-linux-md5-0002"}, {ItemID: "lumuctl-ns-a-odd"},
	}}}
	st, err := store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, err := SyncOwned(ctx, w, SyncInput{Plan: p, Live: live, State: st, Kibanas: map[string]provider.Target{"k": target}, Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Forgotten, ","); got != "lumuctl-ns-a-linux-md5-0002" {
		t.Errorf("forgotten = %s", got)
	}
	if got := strings.Join(r.Adopted, ","); got != "lumuctl-ns-a-linux-md5-0003" {
		t.Errorf("adopted = %s", got)
	}
	st, _ = store.Snapshot()
	if _, ok := st.Items["lumuctl-ns-a-linux-md5-0003"]; !ok || st.Items["lumuctl-ns-a-linux-md5-0003"].Item.Entries == nil {
		t.Error("adopted item not recorded with its body")
	}
	for _, id := range []string{"lumuctl-ns-b-linux-md5-0001", "lumuctl-ns-a-linux-md5-0009", "lumuctl-ns-a-linux-md5-0001"} {
		if _, ok := st.Items[id]; !ok {
			t.Errorf("%s was forgotten", id)
		}
	}
	if st.Namespace != "ns" {
		t.Errorf("namespace = %q", st.Namespace)
	}
	if target.TotalWrites() != 0 {
		t.Error("SyncOwned wrote to Kibana")
	}
	// Nothing left to do: no commit, no read.
	r, err = SyncOwned(ctx, w, SyncInput{Plan: p, Live: live, State: st, Kibanas: map[string]provider.Target{"k": nil}, Namespace: "ns"})
	if err != nil || len(r.Adopted)+len(r.Forgotten) != 0 {
		t.Fatalf("second sync: %+v %v", r, err)
	}
}
