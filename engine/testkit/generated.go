package testkit

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is the -update flag of every test binary that imports testkit; such
// a package must not define its own (flag would panic on the second one).
var update = flag.Bool("update", false, "rewrite generated test data (fuzz seed corpora) instead of checking it")

// Updating reports whether the test binary runs with -update.
func Updating() bool { return *update }

// Seed is one generated input of a fuzz target's seed corpus.
type Seed struct {
	Name string
	Data []byte
}

// FuzzFile encodes values in the "go test fuzz v1" corpus file format.
// Supported: []byte, string, int, bool.
func FuzzFile(values ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%t)\n", v)
		default:
			panic(fmt.Sprintf("testkit.FuzzFile: unsupported %T", v))
		}
	}
	return b.Bytes()
}

// CheckFiles requires the files of dir whose names start with prefix to be
// exactly files (name → content): none missing, none different, none
// extra. With -update it writes them instead and removes the extra ones.
// Generators of committed test data call it, so that the data in the
// repository is always what the generator produces.
func CheckFiles(t testing.TB, dir, prefix string, files map[string][]byte) {
	t.Helper()
	for name := range files {
		if !strings.HasPrefix(name, prefix) {
			t.Fatalf("testkit.CheckFiles: %s does not start with %q", name, prefix)
		}
	}
	var existing []string
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			existing = append(existing, e.Name())
		}
	}
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range existing {
			if _, ok := files[name]; !ok {
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
		}
		return
	}
	const hint = "run the test with -update to regenerate it, and commit the result"
	for _, name := range existing {
		if _, ok := files[name]; !ok {
			t.Errorf("%s is not generated any more: %s", filepath.Join(dir, name), hint)
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case os.IsNotExist(err):
			t.Errorf("%s is missing: %s", filepath.Join(dir, name), hint)
		case err != nil:
			t.Error(err)
		case !bytes.Equal(got, want):
			t.Errorf("%s differs from what the generator produces: %s", filepath.Join(dir, name), hint)
		}
	}
}
