package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

func mustLock(t testing.TB, s state.Locker) state.Writer {
	t.Helper()
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	t.Cleanup(func() { _ = w.Unlock() })
	return w
}

func mustSnapshot(t testing.TB, s state.Reader) *state.State {
	t.Helper()
	st, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return st
}

func sampleItem(bl, os string, n int) state.Item {
	id := fmt.Sprintf("lumuctl-prod-%s-%s-sha256-%04d", bl, os, n)
	return state.Item{Blocklist: bl, OS: os, HashType: provider.SHA256, Item: provider.Item{
		ID: "so-" + id, ItemID: id, Version: "WzEsMV0=", Name: "lumuctl " + id,
		Description: "managed by lumuctl", OSTypes: []string{os}, Tags: []string{"policy:all", "ownerSpaceId:default"},
		Entries: []provider.Entry{{Field: "file.hash.sha256", Type: "match_any", Operator: "included",
			Value: []string{hashN(n, 64), hashN(n+1, 64)}}},
		Type: "simple", UpdatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), UpdatedBy: "elastic",
	}}
}

// hashN returns a distinct lowercase hex digest of length n for i.
func hashN(i, n int) string {
	s := fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)
	return (strings.Repeat(s, 4))[:n]
}

func TestCreatedByFirstWrite(t *testing.T) {
	s := statetest.MustNew(t)
	w := mustLock(t, s)
	if err := w.Backup(); err != nil {
		t.Fatalf("Backup without a state file: %v", err)
	}
	if _, err := os.Stat(s.BackupPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup made without a state file: %v", err)
	}
	serial, err := w.Commit(state.Commit{})
	if err != nil {
		t.Fatal(err)
	}
	st := mustSnapshot(t, s)
	if serial != 1 || st.Serial != 1 || st.Lineage == "" {
		t.Errorf("after first write: serial %d/%d lineage %q; want 1/1 and a lineage", serial, st.Serial, st.Lineage)
	}
	for path, want := range map[string]os.FileMode{s.Path(): 0o600, s.LockPath(): 0o600, filepath.Dir(s.Path()): 0o700 | os.ModeDir} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
}

func TestNamespaceRecorded(t *testing.T) {
	s := statetest.MustNew(t)
	if st := mustSnapshot(t, s); st.Namespace != "" {
		t.Fatalf("new state namespace = %q", st.Namespace)
	}
	w := mustLock(t, s)
	defer w.Unlock()
	if _, err := w.Commit(state.Commit{}); err != nil {
		t.Fatal(err)
	}
	if st := mustSnapshot(t, s); st.Namespace != "" {
		t.Fatalf("a commit without namespace recorded %q", st.Namespace)
	}
	if _, err := w.Commit(state.Commit{Namespace: "prod"}); err != nil {
		t.Fatal(err)
	}
	st := mustSnapshot(t, s)
	if st.Namespace != "prod" {
		t.Fatalf("namespace = %q, want prod", st.Namespace)
	}
	serial := st.Serial
	_, err := w.Commit(state.Commit{Namespace: "dev", Remove: []string{"x"}})
	var ne *state.NamespaceError
	if !errors.As(err, &ne) || ne.Recorded != "prod" || ne.Configured != "dev" || !strings.Contains(err.Error(), "must not share one state file") {
		t.Fatalf("commit for another namespace: %v", err)
	}
	if st := mustSnapshot(t, s); st.Serial != serial || st.Namespace != "prod" {
		t.Fatalf("refused commit changed the state: %+v", st)
	}
	if err := state.CheckNamespace(st, s.Path(), "dev"); !errors.As(err, &ne) {
		t.Fatalf("CheckNamespace = %v", err)
	}
	if err := state.CheckNamespace(st, s.Path(), "prod"); err != nil {
		t.Fatal(err)
	}
}
