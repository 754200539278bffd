package pgstore_test

import (
	"os"
	"testing"

	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/pgstore"
	"github.com/lumuctl/lumuctl/engine/state/pgstore/pgtest"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		// A lock-holder subprocess (TestHelperProcess) uses its parent's
		// server: it starts none.
		os.Exit(m.Run())
	}
	os.Exit(pgtest.Main(m, &cluster))
}

// newStore returns a store in a schema of its own.
func newStore(t testing.TB, schema, namespace string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(pgstore.Options{URL: cluster.URL(), Schema: schema, Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	statetest.Run(t, statetest.Backend{
		New: func(t testing.TB) state.Store { return newStore(t, cluster.FreshSchema(t), "prod") },
		Reopen: func(t testing.TB, s state.Store) state.Store {
			ps := s.(*pgstore.Store)
			return newStore(t, ps.Schema(), ps.Namespace())
		},
	})
}
