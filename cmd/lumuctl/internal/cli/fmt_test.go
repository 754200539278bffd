package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnifiedDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{name: "equal", a: "x = 1\n", b: "x = 1\n", want: ""},
		{
			name: "one line",
			a:    "x=1\n",
			b:    "x = 1\n",
			want: "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x=1\n+x = 1\n",
		},
		{
			name: "context is three lines",
			a:    "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			b:    "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			want: "--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-five\n+5\n 6\n 7\n 8\n",
		},
		{
			name: "changes six lines apart share a hunk",
			a:    "A\n1\n2\n3\n4\n5\n6\nB\n",
			b:    "a\n1\n2\n3\n4\n5\n6\nb\n",
			want: "--- a/f\n+++ b/f\n@@ -1,8 +1,8 @@\n-A\n+a\n 1\n 2\n 3\n 4\n 5\n 6\n-B\n+b\n",
		},
		{
			name: "changes seven lines apart get two hunks",
			a:    "A\n1\n2\n3\n4\n5\n6\n7\nB\n",
			b:    "a\n1\n2\n3\n4\n5\n6\n7\nb\n",
			want: "--- a/f\n+++ b/f\n@@ -1,4 +1,4 @@\n-A\n+a\n 1\n 2\n 3\n@@ -6,4 +6,4 @@\n 5\n 6\n 7\n-B\n+b\n",
		},
		{
			name: "pure insertion",
			a:    "1\n2\n",
			b:    "1\n2\n3\n",
			want: "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n 1\n 2\n+3\n",
		},
		{
			name: "from empty",
			a:    "",
			b:    "x = 1\n",
			want: "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x = 1\n",
		},
		{
			name: "to empty",
			a:    "x\ny\n",
			b:    "",
			want: "--- a/f\n+++ b/f\n@@ -1,2 +0,0 @@\n-x\n-y\n",
		},
		{
			name: "missing final newline",
			a:    "x = 1\ny=2",
			b:    "x = 1\ny = 2",
			want: "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n x = 1\n-y=2\n\\ No newline at end of file\n+y = 2\n\\ No newline at end of file\n",
		},
		{
			name: "final newline added",
			a:    "x",
			b:    "x\n",
			want: "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unifiedDiff("f", tt.a, tt.b)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("unifiedDiff mismatch (-want +got):\n%s", diff)
			}
			if tt.want != "" {
				if back := applyUnified(t, tt.a, got); back != tt.b {
					t.Errorf("applying the diff gives %q, want %q", back, tt.b)
				}
			}
		})
	}
}

// TestUnifiedDiffApplies diffs larger generated texts and checks that the
// hunks, applied to the old text, give the new one.
func TestUnifiedDiffApplies(t *testing.T) {
	var a, b strings.Builder
	for i := range 400 {
		line := fmt.Sprintf("line %d\n", i)
		switch {
		case i%37 == 0:
			a.WriteString(line)
		case i%23 == 0:
			b.WriteString(line)
		case i%11 == 0:
			a.WriteString(line)
			b.WriteString("changed " + line)
		default:
			a.WriteString(line)
			b.WriteString(line)
		}
	}
	d := unifiedDiff("f", a.String(), b.String())
	if got := applyUnified(t, a.String(), d); got != b.String() {
		t.Errorf("applying the diff does not give the new text; diff was:\n%s", d)
	}
}

var hunkRE = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$`)

// applyUnified applies a unified diff to a, checking hunk headers and
// context lines as it goes.
func applyUnified(t *testing.T, a, diff string) string {
	t.Helper()
	old := strings.SplitAfter(a, "\n")
	if old[len(old)-1] == "" {
		old = old[:len(old)-1]
	}
	lines := strings.SplitAfter(diff, "\n")
	if len(lines) < 3 || lines[0] != "--- a/f\n" || lines[1] != "+++ b/f\n" {
		t.Fatalf("bad diff header:\n%s", diff)
	}
	var out []string
	pos := 0 // next old line to copy
	var cur *string
	for _, l := range lines[2:] {
		if l == "" {
			continue
		}
		if m := hunkRE.FindStringSubmatch(strings.TrimSuffix(l, "\n")); m != nil {
			start, _ := strconv.Atoi(m[1])
			count := 1
			if m[2] != "" {
				count, _ = strconv.Atoi(m[2])
			}
			if count > 0 {
				start--
			}
			if start < pos {
				t.Fatalf("hunk %q overlaps the previous one", l)
			}
			out = append(out, old[pos:start]...)
			pos = start
			cur = nil
			continue
		}
		switch l[0] {
		case ' ', '-':
			if pos >= len(old) || old[pos] != l[1:] && old[pos]+"\n" != l[1:] {
				t.Fatalf("line %q does not match old line %d %q", l, pos+1, old[pos:])
			}
			if l[0] == ' ' {
				out = append(out, old[pos])
				cur = &out[len(out)-1]
			} else {
				cur = nil
			}
			pos++
		case '+':
			out = append(out, l[1:])
			cur = &out[len(out)-1]
		case '\\':
			if cur != nil {
				*cur = strings.TrimSuffix(*cur, "\n")
			}
		default:
			t.Fatalf("unexpected diff line %q", l)
		}
	}
	out = append(out, old[pos:]...)
	return strings.Join(out, "")
}

// TestFmtKeepsMode checks that a rewritten file keeps its permissions.
func TestFmtKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "main.lumu.hcl")
	if err := os.WriteFile(p, []byte("x=1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil { // whatever the umask
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"fmt", p}, Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr})
	if code != 0 {
		t.Fatalf("fmt exit %d, stderr:\n%s", code, stderr.String())
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "x = 1\n" {
		t.Errorf("file = %q, want it formatted", got)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}
	if stdout.String() != p+"\n" {
		t.Errorf("stdout = %q, want the file name", stdout.String())
	}
}
