package convert

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"go.yaml.in/yaml/v3"

	"github.com/lumuctl/lumuctl/engine/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden converts each testdata/<case>/{companies,integrations}.yml and
// compares with the golden files beside them: diagnostics.txt always, and
// main.lumu.hcl and lumuctl.lumuvars.example when the conversion succeeds
// (their absence is part of the expectation when it fails). Every converted
// configuration must load without errors or warnings, and no key of the
// input may appear in any output.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "*", "companies.yml"))
	if err != nil || len(cases) < 10 {
		t.Fatalf("want at least 10 golden cases, found %d (%v)", len(cases), err)
	}
	for _, c := range cases {
		dir := filepath.Dir(c)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readInput(t, dir)
			out, diags := Convert(in)
			if diags.HasErrors() != (out == nil) {
				t.Fatalf("errors %v but output %v", diags.HasErrors(), out != nil)
			}
			got := map[string]string{"diagnostics.txt": renderDiags(diags)}
			if out != nil {
				got[MainFile] = string(out.Main)
				got[VarsExampleFile] = string(out.VarsExample)
			}
			keys := inputKeys(t, in)
			for name, text := range got {
				for _, k := range keys {
					if strings.Contains(text, k) {
						t.Errorf("%s holds a key of the input", name)
					}
				}
			}
			if out != nil {
				checkLoads(t, out.Main)
				checkFormatted(t, out)
			}
			for _, name := range []string{"diagnostics.txt", MainFile, VarsExampleFile} {
				path := filepath.Join(dir, name)
				text, ok := got[name]
				if *update {
					if ok {
						if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
							t.Fatal(err)
						}
					} else {
						os.Remove(path)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if !ok {
					if err == nil {
						t.Errorf("%s: golden file exists but convert wrote nothing", name)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), text); diff != "" {
					t.Errorf("%s differs (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

func readInput(t *testing.T, dir string) Input {
	t.Helper()
	c, err := os.ReadFile(filepath.Join(dir, "companies.yml"))
	if err != nil {
		t.Fatal(err)
	}
	i, err := os.ReadFile(filepath.Join(dir, "integrations.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return Input{CompaniesFile: "companies.yml", Companies: c, IntegrationsFile: "integrations.yml", Integrations: i}
}

// renderDiags prints one line per diagnostic: severity, file:line:column,
// summary and detail.
func renderDiags(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		at := "-"
		if d.Subject != nil {
			at = fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		fmt.Fprintf(&b, "%s %s: %s: %s\n", sev, at, d.Summary, d.Detail)
	}
	return b.String()
}

// inputKeys returns every defender_key and ApiKey value of the input files
// (parsed leniently, so broken files still give what they can).
func inputKeys(t *testing.T, in Input) []string {
	var keys []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				if (k == "defender_key" || k == "ApiKey") && v.Kind == yaml.ScalarNode && len(v.Value) >= 6 {
					keys = append(keys, v.Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, data := range [][]byte{in.Companies, in.Integrations} {
		var doc yaml.Node
		_ = yaml.Unmarshal(data, &doc)
		walk(&doc)
	}
	// Broken files: also take anything that looks like the test keys.
	for _, m := range regexp.MustCompile(`SECRET[A-Z0-9_]*`).FindAll(append(in.Companies, in.Integrations...), -1) {
		keys = append(keys, string(m))
	}
	return keys
}

// checkLoads loads main.lumu.hcl offline, as validate does: no error and
// no warning.
func checkLoads(t *testing.T, main []byte) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, MainFile), main, 0o600); err != nil {
		t.Fatal(err)
	}
	p := config.NewParser()
	_, diags := p.LoadDir(dir, config.LoadOptions{Offline: true})
	// An original integration that reached Kibana over http:// converts to
	// a kibana block with that url, which the loader rightly warns about
	// ("API key sent in clear"); anything else must load without a word.
	var rest hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning && d.Summary == "API key sent in clear" {
			continue
		}
		rest = append(rest, d)
	}
	diags = rest
	if len(diags) > 0 {
		var b strings.Builder
		hcl.NewDiagnosticTextWriter(&b, p.Files(), 100, false).WriteDiagnostics(diags)
		t.Errorf("converted configuration does not load cleanly:\n%s", b.String())
	}
}

// checkFormatted: both files are in canonical hclwrite format.
func checkFormatted(t *testing.T, out *Output) {
	t.Helper()
	for name, data := range map[string][]byte{MainFile: out.Main, VarsExampleFile: out.VarsExample} {
		if f := hclwrite.Format(data); !bytes.Equal(f, data) {
			t.Errorf("%s is not formatted", name)
		}
	}
}

// TestNoInputKeyInDiagnostics feeds keys in every position a diagnostic
// can point at (wrong type, unknown field next to it) and checks no message
// quotes them.
func TestNoInputKeyInDiagnostics(t *testing.T) {
	companies := []byte(`- lumu:
    uuid: SECRETNOTAUUID
    defender_key: [SECRETINALIST]
    hash_type: SECRETHASHTYPE
    ioc_types: [SECRETIOC]
    adversary: [SECRETADV]
    days: SECRETDAYS
`)
	integrations := []byte(`- lumu:
    uuid: SECRETUUID2
  app:
    api:
      KibanaUrl: "https://SECRETUSER:SECRETPASS@kb.example.com"
      ApiKey: {SECRETMAP: 1}
      Policies: ["policy:SECRET bad id"]
`)
	in := Input{CompaniesFile: "c.yml", Companies: companies, IntegrationsFile: "i.yml", Integrations: integrations}
	out, diags := Convert(in)
	if out != nil || !diags.HasErrors() {
		t.Fatal("want errors")
	}
	if text := renderDiags(diags); strings.Contains(text, "SECRET") {
		t.Errorf("a diagnostic quotes input values:\n%s", text)
	}
}
