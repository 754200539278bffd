package config

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// wantDiag is one expected diagnostic, as marked inline in a fixture:
//
//	days = 45 # ERROR: Invalid value
type wantDiag struct {
	File     string
	Line     int
	Severity string
	Summary  string
}

var markRE = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*([^#]*[^#\s])`)

// TestFixtures loads every fixture under testdata/fixtures (a single
// *.lumu.hcl file, or a directory holding several files) in offline mode
// and requires exactly the diagnostics its comments announce.
func TestFixtures(t *testing.T) {
	entries, err := os.ReadDir("testdata/fixtures")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 50 {
		t.Fatalf("only %d fixtures found", len(entries))
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ConfigSuffix)
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata/fixtures", e.Name())
			if !e.IsDir() {
				dir = t.TempDir()
				data, err := os.ReadFile(filepath.Join("testdata/fixtures", e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "main"+ConfigSuffix), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want := expectedDiags(t, dir)
			p := NewParser()
			_, diags := p.LoadDir(dir, LoadOptions{Offline: true})
			got := gotDiags(diags)
			if diff := cmp.Diff(want, got); diff != "" {
				var b strings.Builder
				hcl.NewDiagnosticTextWriter(&b, p.Files(), 100, false).WriteDiagnostics(diags)
				t.Errorf("diagnostics mismatch (-want +got):\n%s\nall diagnostics:\n%s", diff, b.String())
			}
			for _, d := range diags {
				if strings.TrimSpace(d.Detail) == "" || !strings.HasSuffix(strings.TrimSpace(d.Detail), ".") && !strings.HasSuffix(d.Detail, "?") {
					t.Errorf("%q: detail should be full sentences: %q", d.Summary, d.Detail)
				}
				if strings.HasSuffix(d.Summary, ".") || d.Summary != capitalise(d.Summary) {
					t.Errorf("summary %q: capitalised, no trailing period", d.Summary)
				}
			}
		})
	}
}

func expectedDiags(t *testing.T, dir string) []wantDiag {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []wantDiag{}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range markRE.FindAllStringSubmatch(line, -1) {
				want = append(want, wantDiag{File: f.Name(), Line: i + 1, Severity: strings.ToLower(m[1]), Summary: m[2]})
			}
		}
	}
	sortDiags(want)
	return want
}

func gotDiags(diags hcl.Diagnostics) []wantDiag {
	got := []wantDiag{}
	for _, d := range diags {
		w := wantDiag{Severity: "error", Summary: d.Summary}
		if d.Severity == hcl.DiagWarning {
			w.Severity = "warning"
		}
		if d.Subject != nil {
			w.File = filepath.Base(d.Subject.Filename)
			w.Line = d.Subject.Start.Line
		}
		got = append(got, w)
	}
	sortDiags(got)
	return got
}

func sortDiags(ds []wantDiag) {
	sort.Slice(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Summary < b.Summary
	})
}
