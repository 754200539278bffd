package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/sergi/go-diff/diffmatchpatch"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/safefile"
)

// fmtSuffixes are the file names fmt formats.
var fmtSuffixes = []string{".lumu.hcl", ".lumuvars"}

// stdinName names standard input in listings, diffs and diagnostics.
const stdinName = "<stdin>"

// fmtFlags are the flags of `lumuctl fmt`.
type fmtFlags struct {
	check     bool // change nothing; exit ExitNotFormatted if a file needs formatting
	diff      bool // print a unified diff of each change
	recursive bool // descend into subdirectories (hidden ones excepted)
}

func (f *fmtFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.check, "check", false, "change nothing; exit 3 if any file needs formatting")
	fs.BoolVar(&f.diff, "diff", false, "print a unified diff of the changes")
	fs.BoolVar(&f.recursive, "recursive", false, "also process subdirectories")
}

func newFmtCommand(g *globals) *cobra.Command {
	var flags fmtFlags
	cmd := &cobra.Command{
		Use:   "fmt [flags] [PATH...]",
		Short: "Rewrite configuration files to canonical format",
		Long: `Rewrite *.lumu.hcl and *.lumuvars files to the canonical HCL format and
list the files that changed. Each PATH is a file or a directory (default: the
working directory, after --chdir); "-" formats standard input to standard
output. A file with a syntax error is reported and left alone.

Exit status: 0 on success, 1 on an error (syntax error, missing PATH), and
with --check 3 when some file is not in canonical format.`,
		Example: `  lumuctl fmt                        # format the working directory
  lumuctl fmt --check --diff --recursive examples
  cat main.lumu.hcl | lumuctl fmt -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFmt(g, flags, args)
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"hcl", "lumuvars"}, cobra.ShellCompDirectiveFilterFileExt
		},
	}
	flags.register(cmd.Flags())
	return cmd
}

// runFmt formats paths (the working directory when empty). Every PATH is
// checked before any file is touched.
func runFmt(g *globals, flags fmtFlags, paths []string) error {
	f := &formatter{g: g, flags: flags, files: map[string]*hcl.File{}}
	switch {
	case len(paths) == 0:
		paths = []string{"."}
	case len(paths) > 1 && slices.Contains(paths, "-"):
		return withCode(ExitError, errors.New(`fmt: "-" (standard input) cannot be combined with other paths`))
	}
	if paths[0] == "-" {
		if err := f.stdin(); err != nil {
			return err
		}
		return f.finish()
	}

	isDir := make([]bool, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("fmt: %s: no such file or directory", p)
		case err != nil:
			return fmt.Errorf("fmt: %s: %w", p, pathErr(err))
		case fi.IsDir():
			isDir[i] = true
		case !isFmtFile(filepath.Base(p)):
			return fmt.Errorf("fmt: %s: only *.lumu.hcl and *.lumuvars files can be formatted", p)
		}
	}
	for i, p := range paths {
		var err error
		if isDir[i] {
			err = f.dir(p)
		} else {
			err = f.file(filepath.Clean(p))
		}
		if err != nil {
			return err
		}
	}
	return f.finish()
}

// formatter holds the state of one fmt run.
type formatter struct {
	g     *globals
	flags fmtFlags
	// files are the parsed files with syntax errors, for diagnostic snippets.
	files map[string]*hcl.File
	diags hcl.Diagnostics
	// unformatted counts the files that were (or, with --check, would be)
	// rewritten.
	unformatted int
}

// dir formats the matching files of dir, and with --recursive those of its
// subdirectories that are not hidden. Hidden files, editor leftovers
// ("#...") and anything but regular files are skipped.
func (f *formatter) dir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("fmt: %s: %w", dir, pathErr(err))
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") {
			continue
		}
		p := filepath.Join(dir, name)
		switch {
		case e.IsDir():
			if f.flags.recursive {
				if err := f.dir(p); err != nil {
					return err
				}
			}
		case isFmtFile(name):
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("fmt: %s: %w", p, pathErr(err))
			}
			if !fi.Mode().IsRegular() {
				f.g.logger.Debug("fmt: skipping non-regular file", "file", p)
				continue
			}
			if err := f.file(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// file formats one file in place (not with --check), listing it on stdout
// when it changes.
func (f *formatter) file(path string) error {
	src, err := config.ReadSource(path)
	if err != nil {
		return fmt.Errorf("fmt: %s: %w", path, pathErr(err))
	}
	out, ok := f.format(path, src)
	if !ok || bytes.Equal(src, out) {
		return nil
	}
	f.unformatted++
	if !f.flags.check {
		// Rewritten in place, so its mode is kept; never through a link.
		if err := safefile.Rewrite(path, out); err != nil {
			return fmt.Errorf("fmt: %s: %w", path, pathErr(err))
		}
		f.g.logger.Debug("fmt: rewrote file", "file", path)
	}
	w := f.g.streams.Out
	fmt.Fprintln(w, path)
	if f.flags.diff {
		io.WriteString(w, fmtDiff(filepath.ToSlash(path), string(src), string(out)))
	}
	return nil
}

// stdin formats standard input. Without --check or --diff the result goes to
// stdout; with them only the diff, if any, is printed.
func (f *formatter) stdin() error {
	src, err := io.ReadAll(io.LimitReader(f.g.streams.In, config.MaxSourceBytes+1))
	if err != nil {
		return fmt.Errorf("fmt: reading standard input: %w", err)
	}
	out, ok := f.format(stdinName, src)
	if !ok {
		return nil
	}
	w := f.g.streams.Out
	if !bytes.Equal(src, out) {
		f.unformatted++
		if f.flags.diff {
			io.WriteString(w, fmtDiff(stdinName, string(src), string(out)))
		}
	}
	if !f.flags.check && !f.flags.diff {
		w.Write(out)
	}
	return nil
}

// format checks that src parses as HCL native syntax and returns it in
// canonical format. On a syntax error it records the diagnostics and
// returns false.
func (f *formatter) format(name string, src []byte) ([]byte, bool) {
	if diags := config.CheckSource(name, src); diags.HasErrors() {
		f.diags = append(f.diags, diags...)
		return nil, false
	}
	file, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		f.files[name] = file
		f.diags = append(f.diags, diags...)
		return nil, false
	}
	return hclwrite.Format(src), true
}

// finish reports syntax errors (exit 1) and, with --check, unformatted files
// (exit 3).
func (f *formatter) finish() error {
	if len(f.diags) > 0 {
		errw := f.g.streams.Err
		width := uint(0)
		color := f.g.color(errw)
		if isTerminal(errw) {
			width = 78
		}
		// views hides the source lines that set or may set a secret.
		if err := views.WriteDiagnosticsWidth(errw, errw, f.files, f.diags, color, width); err != nil {
			return err
		}
		return silentExit(ExitError)
	}
	if f.flags.check && f.unformatted > 0 {
		return silentExit(ExitNotFormatted)
	}
	return nil
}

func isFmtFile(name string) bool {
	for _, s := range fmtSuffixes {
		if strings.HasSuffix(name, s) && len(name) > len(s) {
			return true
		}
	}
	return false
}

// diffContext is the number of unchanged lines around each change.
const diffContext = 3

// diffLine is one line of a line diff; text keeps its "\n" unless it is
// the last line of a file that does not end in one.
type diffLine struct {
	op   diffmatchpatch.Operation
	text string
}

// lineDiff diffs a and b line by line with diffmatchpatch's line mode.
func lineDiff(a, b string) []diffLine {
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var out []diffLine
	for _, d := range diffs {
		for _, l := range strings.SplitAfter(d.Text, "\n") {
			if l != "" {
				out = append(out, diffLine{d.Type, l})
			}
		}
	}
	return out
}

// unifiedDiff returns the unified diff (`diff -u` format, labels a/name and
// b/name, diffContext lines of context) that turns a into b, or "" when
// they are equal.
//
// Secrets never reach the diff: in a variables file (*.lumuvars) every line
// is cut to the variable's name ("lumu_key = …"), since any value may be
// sensitive; in a configuration file a line that may hold a literal secret
// (config.MayHoldSecret with a quoted value) is cut the same way.
func fmtDiff(name, a, b string) string {
	redact := redactConfigLine
	if !strings.HasSuffix(name, config.ConfigSuffix) && name != stdinName {
		redact = redactVarsLine
	}
	return diffWith(name, a, b, redact)
}

func unifiedDiff(name, a, b string) string {
	return diffWith(name, a, b, func(s string) string { return s })
}

func diffWith(name, a, b string, redact func(string) string) string {
	lines := lineDiff(a, b)
	// oldN[i] and newN[i] count the old and new lines before lines[i].
	oldN := make([]int, len(lines)+1)
	newN := make([]int, len(lines)+1)
	var changes []int
	for i, l := range lines {
		oldN[i+1], newN[i+1] = oldN[i], newN[i]
		if l.op != diffmatchpatch.DiffInsert {
			oldN[i+1]++
		}
		if l.op != diffmatchpatch.DiffDelete {
			newN[i+1]++
		}
		if l.op != diffmatchpatch.DiffEqual {
			changes = append(changes, i)
		}
	}
	if len(changes) == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- a/%s\n+++ b/%s\n", name, name)
	for i := 0; i < len(changes); {
		// A hunk runs from diffContext lines before its first change to
		// diffContext lines after its last; changes closer than
		// 2*diffContext lines share one hunk.
		j := i
		for j+1 < len(changes) && changes[j+1]-changes[j] <= 2*diffContext+1 {
			j++
		}
		start := max(changes[i]-diffContext, 0)
		end := min(changes[j]+1+diffContext, len(lines))
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n",
			hunkRange(oldN[start], oldN[end]-oldN[start]),
			hunkRange(newN[start], newN[end]-newN[start]))
		for _, l := range lines[start:end] {
			switch l.op {
			case diffmatchpatch.DiffEqual:
				sb.WriteByte(' ')
			case diffmatchpatch.DiffDelete:
				sb.WriteByte('-')
			case diffmatchpatch.DiffInsert:
				sb.WriteByte('+')
			}
			sb.WriteString(redact(l.text))
			if !strings.HasSuffix(l.text, "\n") {
				sb.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = j + 1
	}
	return sb.String()
}

// hunkRange formats one side of a hunk header the way GNU diff does: the
// count is omitted when it is 1, and an empty range names the line before.
func hunkRange(before, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprintf("%d", before+1)
	default:
		return fmt.Sprintf("%d,%d", before+1, count)
	}
}

// assignRE matches the start of an attribute line: indentation and name.
var assignRE = regexp.MustCompile(`^[ \t]*[A-Za-z_][A-Za-z0-9_-]*[ \t]*=`)

// redactVarsLine keeps only the name of a variables-file line (text keeps
// its newline).
func redactVarsLine(text string) string {
	body, nl := strings.CutSuffix(text, "\n")
	nlStr := ""
	if nl {
		nlStr = "\n"
	}
	if strings.TrimSpace(body) == "" {
		return text
	}
	if m := assignRE.FindString(body); m != "" {
		return strings.TrimRight(m[:len(m)-1], " \t") + " = …" + nlStr
	}
	return "…" + nlStr
}

// redactConfigLine cuts a configuration line that may hold a literal
// secret to its attribute name.
func redactConfigLine(text string) string {
	if !config.MayHoldSecret([]byte(text)) || !strings.ContainsAny(text, "\"<") {
		return text
	}
	return redactVarsLine(text)
}
