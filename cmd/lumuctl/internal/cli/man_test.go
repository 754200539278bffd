package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestGenManPages: `make man` writes one page per visible command, each
// naming its command and synopsis, and the same bytes for the same
// SOURCE_DATE_EPOCH.
func TestGenManPages(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1764979200") // 2025-12-06
	dir1, dir2 := t.TempDir(), t.TempDir()
	if err := GenManPages(dir1); err != nil {
		t.Fatal(err)
	}
	if err := GenManPages(dir2); err != nil {
		t.Fatal(err)
	}
	g := &globals{getenv: func(string) string { return "" }, logger: discardLogger}
	g.factories = defaultFactories(g)
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c.HasParent() {
			return
		}
		n++
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		page, err := os.ReadFile(filepath.Join(dir1, name))
		if err != nil {
			t.Errorf("no page for %q: %v", c.CommandPath(), err)
			return
		}
		for _, want := range []string{`.TH "LUMUCTL" "1" "Dec 2025"`, `\fB` + c.CommandPath(), ".SH OPTIONS"} {
			if !bytes.Contains(page, []byte(want)) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		if bytes.Contains(page, []byte("Auto generated")) {
			t.Errorf("%s carries cobra's dated auto-generated footer", name)
		}
		again, err := os.ReadFile(filepath.Join(dir2, name))
		if err != nil || !bytes.Equal(page, again) {
			t.Errorf("%s differs between two runs with one SOURCE_DATE_EPOCH", name)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCommand(g))
	entries, err := os.ReadDir(dir1)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n || n < 15 {
		t.Errorf("%d pages for %d commands", len(entries), n)
	}
}
