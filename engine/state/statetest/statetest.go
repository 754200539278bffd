// Package statetest holds test helpers for code that uses engine/state.
package statetest

import (
	"path/filepath"
	"testing"

	"github.com/lumuctl/lumuctl/engine/state/boltstore"
)

// MustOpen returns an initialised store in a fresh t.TempDir() and registers
// a t.Cleanup that runs an integrity check (bbolt Tx.Check plus decoding
// every record), failing the test if the file is damaged. Like bbolt's
// btesting.MustCreateDB.
func MustOpen(t testing.TB) *boltstore.Store {
	t.Helper()
	s := MustNew(t)
	if _, err := s.Init(); err != nil {
		t.Fatalf("init state: %v", err)
	}
	return s
}

// MustNew is MustOpen without Init: the state file does not exist yet.
func MustNew(t testing.TB) *boltstore.Store {
	t.Helper()
	s := boltstore.New(filepath.Join(t.TempDir(), "state", "lumuctl.state"), boltstore.Options{})
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("state integrity check: %v", err)
		}
	})
	return s
}
