package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps the errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }
func (r *recorder) Error(a ...any)            { r.errs = append(r.errs, fmt.Sprint(a...)) }

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	want := map[string][]byte{"seed_a": FuzzFile([]byte("a\n"), 400), "seed_b": FuzzFile([]byte(nil))}
	if got := string(want["seed_a"]); got != "go test fuzz v1\n[]byte(\"a\\n\")\nint(400)\n" {
		t.Fatalf("FuzzFile = %q", got)
	}
	check := func() []string {
		r := &recorder{TB: t}
		CheckFiles(r, dir, "seed_", want)
		return r.errs
	}
	if errs := check(); len(errs) != 2 {
		t.Fatalf("empty directory: errors %v, want two missing", errs)
	}
	*update = true
	check()
	*update = false
	if errs := check(); len(errs) != 0 {
		t.Fatalf("after -update: %v", errs)
	}
	// A changed file, an extra seed and an unrelated file (a fuzz crash).
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("seed_a", "go test fuzz v1\n[]byte(\"b\")\n")
	write("seed_old", "go test fuzz v1\n")
	write("0123abcd", "go test fuzz v1\n")
	if errs := check(); len(errs) != 2 || !strings.Contains(strings.Join(errs, "|"), "not generated any more") {
		t.Fatalf("changed and extra seeds: errors %v", errs)
	}
	*update = true
	check()
	*update = false
	if errs := check(); len(errs) != 0 {
		t.Fatalf("after second -update: %v", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "seed_old")); !os.IsNotExist(err) {
		t.Errorf("-update kept the extra seed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "0123abcd")); err != nil {
		t.Errorf("-update removed a file outside the prefix: %v", err)
	}
}
