package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// docSections splits docs/commands.md into its "## " sections, by title.
func docSections(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var title string
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "## "); ok {
			out[title] = b.String()
			title = rest
			b.Reset()
			continue
		}
		b.WriteString(line + "\n")
	}
	out[title] = b.String()
	return out
}

var docFlagRE = regexp.MustCompile("(?:^|[\\s`\\[(|])--([a-z][a-z0-9-]+)")

// flagsOf lists the long flags c accepts (its own, inherited and those of
// its subcommands, for group sections such as "state").
func flagsOf(c *cobra.Command) map[string]bool {
	out := map[string]bool{"help": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		c.Flags().VisitAll(func(f *pflag.Flag) { out[f.Name] = true })
		c.InheritedFlags().VisitAll(func(f *pflag.Flag) { out[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(c)
	return out
}

// otherCommandFlag reports whether line shows flag as a flag of another
// command it names before it ("use lumuctl plan --destroy --out FILE").
func otherCommandFlag(root *cobra.Command, line, flag string) bool {
	at := strings.Index(line, "--"+flag)
	for _, c := range root.Commands() {
		if i := strings.Index(line, c.Name()+" "); i >= 0 && i < at && flagsOf(c)[flag] {
			return true
		}
	}
	return false
}

// TestDocumentedFlagsExist keeps docs/commands.md honest: every --flag its
// section of a command names exists on that command (or, for a group such
// as "state", on one of its subcommands), the global flags exist on every
// command, and every flag of a command is documented in its section or in
// the shared "Plan and apply flags" table.
func TestDocumentedFlagsExist(t *testing.T) {
	g := &globals{getenv: func(string) string { return "" }, logger: discardLogger}
	g.factories = defaultFactories(g)
	root := NewRootCommand(g)
	sections := docSections(t)
	shared := sections["Plan and apply flags"]
	checked := 0
	for title, text := range sections {
		var c *cobra.Command
		switch title {
		case "Global flags", "Plan and apply flags":
			c = root
		default:
			found, _, err := root.Find(strings.Fields(title))
			if err != nil || found == root || found.Name() != strings.Fields(title)[0] {
				continue // not a command section ("Exit codes", "Reading a plan", ...)
			}
			c = found
		}
		checked++
		have := flagsOf(c)
		if title == "Plan and apply flags" {
			have = map[string]bool{}
			for _, n := range []string{"plan", "apply", "destroy"} {
				cmd, _, _ := root.Find([]string{n})
				for f := range flagsOf(cmd) {
					have[f] = true
				}
			}
		}
		var missing []string
		for _, line := range strings.Split(text, "\n") {
			for _, m := range docFlagRE.FindAllStringSubmatch(line, -1) {
				if have[m[1]] || slices.Contains(missing, m[1]) || otherCommandFlag(root, line, m[1]) {
					continue
				}
				missing = append(missing, m[1])
			}
		}
		sort.Strings(missing)
		for _, f := range missing {
			t.Errorf("docs/commands.md section %q names --%s, which %q does not have", title, f, c.CommandPath())
		}
		if c == root || c.HasSubCommands() {
			continue
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			if !docFlagRE.MatchString(" --"+f.Name) || !(strings.Contains(text, "--"+f.Name) || strings.Contains(shared, "--"+f.Name)) {
				t.Errorf("--%s of %q is not documented in docs/commands.md", f.Name, c.CommandPath())
			}
		})
	}
	if checked < 10 {
		t.Fatalf("only %d sections of docs/commands.md matched a command", checked)
	}
}
