package pgstore_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCache(t *testing.T) {
	schema := cluster.FreshSchema(t)
	c := newStore(t, schema, "prod").Cache()
	defer c.Close()
	// Nothing there yet, and reading creates nothing.
	if got, err := c.Load("acme", []string{"i1"}); err != nil || len(got) != 0 {
		t.Fatalf("Load before any write = %v, %v", got, err)
	}
	if n, err := c.QuotaUsed("k", "2026-12-06"); err != nil || n != 0 {
		t.Fatalf("QuotaUsed before any write = %d, %v", n, err)
	}
	if err := c.Store("acme", map[string][]byte{"i1": []byte(`{"a":1}`), "i2": []byte(`{"b":2}`)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Store("acme", map[string][]byte{"i2": []byte(`{"b":3}`)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Store("other", map[string][]byte{"i1": []byte(`{"z":0}`)}); err != nil {
		t.Fatal(err)
	}
	// Another runner (another store in another namespace) shares it.
	c2 := newStore(t, schema, "staging").Cache()
	defer c2.Close()
	got, err := c2.Load("acme", []string{"i1", "i2", "i3"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"i1": []byte(`{"a":1}`), "i2": []byte(`{"b":3}`)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	for _, step := range []struct {
		day  string
		set  int
		want map[string]int
	}{
		{"2026-12-06", 40, map[string]int{"2026-12-06": 40, "2026-12-07": 0}},
		{"2026-12-06", 60, map[string]int{"2026-12-06": 60}},
		{"2026-12-07", 20, map[string]int{"2026-12-06": 0, "2026-12-07": 20}},
	} {
		if err := c.SetQuotaUsed("k", step.day, step.set); err != nil {
			t.Fatal(err)
		}
		for day, n := range step.want {
			if got, err := c2.QuotaUsed("k", day); err != nil || got != n {
				t.Errorf("after %s=%d: QuotaUsed(%s) = %d, %v; want %d", step.day, step.set, day, got, err, n)
			}
		}
	}
}

// A schema of version 1 (no cache tables) reads as an empty cache, and the
// first cache write migrates it to the current version.
func TestCacheMigratesVersion1(t *testing.T) {
	schema := cluster.FreshSchema(t)
	s := newStore(t, schema, "prod")
	if _, err := s.Init(); err != nil {
		t.Fatal(err)
	}
	cluster.Exec(t, fmt.Sprintf(`DROP TABLE %[1]s.cache; DROP TABLE %[1]s.quota; UPDATE %[1]s.schema_version SET version = 1`, schema))
	c := s.Cache()
	defer c.Close()
	if got, err := c.Load("acme", []string{"i1"}); err != nil || len(got) != 0 {
		t.Fatalf("Load on a version 1 schema = %v, %v", got, err)
	}
	if st, err := s.Snapshot(); err != nil || st.Lineage == "" {
		t.Fatalf("Snapshot on a version 1 schema = %+v, %v", st, err)
	}
	if err := c.Store("acme", map[string][]byte{"i1": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Load("acme", []string{"i1"}); err != nil || string(got["i1"]) != "x" {
		t.Fatalf("Load after the migration = %v, %v", got, err)
	}
}
