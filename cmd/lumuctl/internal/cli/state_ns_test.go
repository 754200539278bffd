package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
)

func writeNamespaceConfig(t *testing.T, ns string) {
	t.Helper()
	if err := os.WriteFile("main.lumu.hcl", []byte("settings {\n  namespace = \""+ns+"\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Issue 10, item 9: two configurations sharing one state_path mixed their
// items silently, and state rm forgot another namespace's item.
func TestStateRecordsNamespace(t *testing.T) {
	t.Chdir(t.TempDir())
	// A state written before lumuctl recorded namespaces, holding items of
	// two namespaces.
	s := boltstore.New(".lumuctl/state.db", boltstore.Options{})
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "test"})
	if err != nil {
		t.Fatal(err)
	}
	item := func(id string) state.Item {
		return state.Item{Blocklist: "lumu", OS: "linux", HashType: provider.MD5, Item: provider.Item{ItemID: id}}
	}
	if _, err := w.Commit(state.Commit{Put: []state.Item{item("lumuctl-a-lumu-linux-md5-0001"), item("lumuctl-b-lumu-linux-md5-0001")}}); err != nil {
		t.Fatal(err)
	}
	w.Unlock()

	writeNamespaceConfig(t, "b")
	code, _, stderr := run(t, "state", "rm", "lumuctl-a-lumu-linux-md5-0001")
	if code != ExitError || !strings.Contains(stderr, `refusing to forget lumuctl-a-lumu-linux-md5-0001: not of namespace "b"`) {
		t.Fatalf("state rm of another namespace's item: exit %d\n%s", code, stderr)
	}
	code, _, stderr = run(t, "state", "rm", "blocklist.lumu")
	if code != ExitError || !strings.Contains(stderr, "refusing to forget lumuctl-a-lumu-linux-md5-0001") {
		t.Fatalf("state rm blocklist.lumu spanning namespaces: exit %d\n%s", code, stderr)
	}
	st, err := s.Snapshot()
	if err != nil || len(st.Items) != 2 || st.Namespace != "" {
		t.Fatalf("the refusals changed the state: %+v %v", st, err)
	}
	code, stdout, stderr := run(t, "state", "rm", "lumuctl-b-lumu-linux-md5-0001")
	if code != 0 || !strings.Contains(stdout, "Removed 1 item(s)") {
		t.Fatalf("state rm of an own item: exit %d\n%s%s", code, stdout, stderr)
	}
	if st, _ := s.Snapshot(); st.Namespace != "b" {
		t.Fatalf("namespace recorded = %q, want b", st.Namespace)
	}

	// The state now belongs to "b": a configuration with namespace "a" is
	// refused, whatever it asks.
	writeNamespaceConfig(t, "a")
	code, _, stderr = run(t, "state", "rm", "lumuctl-a-lumu-linux-md5-0001")
	if code != ExitError || !strings.Contains(stderr, `belongs to namespace "b", but this configuration has namespace "a"`) {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if st, _ := s.Snapshot(); len(st.Items) != 1 {
		t.Fatalf("items = %d, want 1", len(st.Items))
	}
}

func TestOwnedEntries(t *testing.T) {
	in := []state.JournalEntry{{ItemID: "lumuctl-a-x-linux-md5-0001"}, {ItemID: "lumuctl-ab-x-linux-md5-0001"}, {ItemID: "team-b-1"}, {ItemID: "lumuctl-a-y-linux-md5-0002"}}
	owned, foreign := operation.OwnedEntries(in, "lumuctl-a-")
	if len(owned) != 2 || owned[0].ItemID != in[0].ItemID || owned[1].ItemID != in[3].ItemID {
		t.Fatalf("owned = %+v", owned)
	}
	if strings.Join(foreign, ",") != "lumuctl-ab-x-linux-md5-0001,team-b-1" {
		t.Fatalf("foreign = %v", foreign)
	}
}
