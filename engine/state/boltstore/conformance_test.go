package boltstore_test

import (
	"testing"

	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

// TestConformance runs the behaviour every state backend shares.
func TestConformance(t *testing.T) {
	statetest.Run(t, statetest.Backend{
		New: func(t testing.TB) state.Store { return statetest.MustNew(t) },
		Reopen: func(t testing.TB, s state.Store) state.Store {
			return boltstore.New(s.Path(), boltstore.Options{})
		},
	})
}
