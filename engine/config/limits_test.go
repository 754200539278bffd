package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// hostile are inputs that crashed or exhausted `lumuctl validate` before
// the bounds (issue 10, item 11): 200,000 nested parentheses in a 400 KB
// file overflowed Go's stack, 50,000 levels took 941 MB; each shape below
// makes the HCL parser (or the evaluation of what it built) recurse once
// per level.
func hostile(n int) map[string]string {
	return map[string]string{
		"parentheses":   "x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + "\n",
		"brackets":      "x = " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n",
		"objects":       "x = " + strings.Repeat("{a=", n) + "1" + strings.Repeat("}", n) + "\n",
		"blocks":        strings.Repeat("b {\n", n) + strings.Repeat("}\n", n),
		"unary not":     "x = " + strings.Repeat("!", n) + "true\n",
		"unary minus":   "x = " + strings.Repeat("-", n) + "1\n",
		"conditionals":  "x = " + strings.Repeat("true ? 1 : ", n) + "2\n",
		"binary chain":  "x = 1" + strings.Repeat(" + 1", n) + "\n",
		"interpolation": "x = " + strings.Repeat(`"${`, n) + "1" + strings.Repeat(`}"`, n) + "\n",
		"directives":    "x = <<EOT\n" + strings.Repeat("%{ if true }", n) + strings.Repeat("%{ endif }", n) + "\nEOT\n",
		"unclosed":      "x = " + strings.Repeat("(", n) + "\n",
	}
}

func TestHostileNestingIsRefusedBeforeParsing(t *testing.T) {
	cases := hostile(40_000)
	// The exact case: 200,000 parentheses, 400 KB.
	cases["parentheses, 200,000"] = hostile(200_000)["parentheses"]
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			p := NewParser()
			cfg, diags := p.load("x", []source{{name: "main.lumu.hcl", data: []byte(src)}}, nil, LoadOptions{Offline: true})
			if cfg != nil || !diags.HasErrors() {
				t.Fatalf("accepted: %v", diags)
			}
			d := diags[0]
			if d.Summary != "Nesting too deep" && d.Summary != "Expression too complex" {
				t.Fatalf("summary = %q (%s)", d.Summary, d.Detail)
			}
			if d.Subject == nil || d.Subject.Filename != "main.lumu.hcl" || d.Subject.Start.Line < 1 || d.Subject.Start.Column < 1 {
				t.Fatalf("no file:line: %#v", d.Subject)
			}
		})
	}
}

func TestNestingBoundIsExact(t *testing.T) {
	// One level is taken by the outermost construct (the bracket), so
	// MaxNesting brackets pass and one more is refused.
	ok := "x = " + strings.Repeat("[", MaxNesting) + strings.Repeat("]", MaxNesting) + "\n"
	if d := CheckSource("f", []byte(ok)); d.HasErrors() {
		t.Fatalf("%d levels refused: %v", MaxNesting, d)
	}
	bad := "x = " + strings.Repeat("[", MaxNesting+1) + strings.Repeat("]", MaxNesting+1) + "\n"
	d := CheckSource("f", []byte(bad))
	if !d.HasErrors() || d[0].Subject.Start.Line != 1 || d[0].Subject.Start.Column != 5+MaxNesting {
		t.Fatalf("diags = %v", d)
	}
	// Many siblings at a shallow depth are fine; so are up to MaxOperators
	// operators.
	many := strings.Repeat("x = [[1], [2], {a = \"${1 + 2}\"}]\n", 2000)
	if d := CheckSource("f", []byte(many)); d.HasErrors() {
		t.Fatalf("siblings refused: %v", d)
	}
	ops := "x = 1" + strings.Repeat(" + 1", MaxOperators) + "\n"
	if d := CheckSource("f", []byte(ops)); d.HasErrors() {
		t.Fatalf("%d operators refused: %v", MaxOperators, d)
	}
	if d := CheckSource("f", []byte(ops+"y = -1\n")); !d.HasErrors() || d[0].Summary != "Expression too complex" || d[0].Subject.Start.Line != 2 {
		t.Fatalf("one operator more: %v", d)
	}
}

// The scanner must not see nesting or operators where HCL has none: in
// strings, comments, heredoc text, escapes, identifiers with dashes and
// numbers with exponents.
func TestCheckSourceIgnoresLiterals(t *testing.T) {
	deep := strings.Repeat("(", 200)
	srcs := []string{
		"x = \"" + deep + "\"\n",
		"# " + deep + "\n// " + deep + "\n/* " + deep + "\n*/\n",
		"x = <<EOT\n" + deep + "\n  EOT\n",
		"x = <<-EOT\n  " + deep + "\n  EOT\ny = 1\n",
		"x = \"$${" + deep + "\"\n",
		"x = \"\\\"" + deep + "\"\n",
		"x = \"%%{" + deep + "\"\n",
		"x = \"" + strings.Repeat("-!?+", 5000) + "\"\n",
		"x = " + strings.Repeat("a-b-c ", 5000) + "\n",
		"x = [" + strings.Repeat("1e-5, ", 5000) + "]\n",
	}
	for _, src := range srcs {
		if d := CheckSource("f", []byte(src)); d.HasErrors() {
			t.Errorf("refused %.60q...: %v", src, d)
		}
	}
	// Closing a quoted string or heredoc really pops its level.
	var b strings.Builder
	for range MaxNesting * 4 {
		b.WriteString("x = \"${\"a\"}\"\ny = <<EOT\n${1}\nEOT\n")
	}
	if d := CheckSource("f", []byte(b.String())); d.HasErrors() {
		t.Fatalf("sequential strings counted as nesting: %v", d)
	}
}

func TestTokenBound(t *testing.T) {
	ok := "x = [" + strings.Repeat("1,", MaxTokens/2-3) + "]\n"
	if d := CheckSource("f", []byte(ok)); d.HasErrors() {
		t.Fatalf("refused: %v", d)
	}
	bad := "x = [" + strings.Repeat("1,", MaxTokens/2) + "]\n"
	if d := CheckSource("f", []byte(bad)); !d.HasErrors() || d[0].Summary != "Configuration too large" {
		t.Fatalf("accepted: %v", d)
	}
	hashes := strings.Repeat("  \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\n", 14_000)
	if d := CheckSource("f", []byte("x = [\n"+hashes+"]\n")); d.HasErrors() {
		t.Fatalf("an exclude list of 14,000 hashes refused: %v", d)
	}
}

func TestSourceSizeBound(t *testing.T) {
	dir := t.TempDir()
	big := []byte("# " + strings.Repeat("x", MaxSourceBytes) + "\n")
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	_, diags := NewParser().LoadDir(dir, LoadOptions{Offline: true})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "larger than 1048576 bytes") || !strings.Contains(diags.Error(), "main.lumu.hcl") {
		t.Fatalf("diags = %v", diags)
	}
	d := CheckSource("g.lumuvars", big)
	if !d.HasErrors() || d[0].Summary != "File too large" || d[0].Subject.Filename != "g.lumuvars" {
		t.Fatalf("diags = %v", d)
	}
}

// Variables are parsed from files, --var and the environment: each is
// bounded the same way.
func TestHostileVariableValues(t *testing.T) {
	cfg := []source{{name: "main.lumu.hcl", data: []byte("variable \"n\" {\n  type = list(string)\n}\n")}}
	deep := strings.Repeat("[", 200_000)
	p := NewParser()
	_, diags := p.load("x", cfg, []source{{name: VarsFile, data: []byte("n = " + deep + "\n")}}, LoadOptions{})
	if !diags.HasErrors() || diags[0].Summary != "Nesting too deep" || diags[0].Subject.Filename != VarsFile {
		t.Fatalf("vars file: %v", diags)
	}
	p = NewParser()
	_, diags = p.load("x", cfg, nil, LoadOptions{Vars: []VarArg{{Assign: "n=" + deep}}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Nesting too deep") {
		t.Fatalf("--var: %v", diags)
	}
	p = NewParser()
	_, diags = p.load("x", cfg, nil, LoadOptions{Getenv: func(k string) string {
		if k == EnvVarPrefix+"n" {
			return deep
		}
		return ""
	}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Nesting too deep") {
		t.Fatalf("environment: %v", diags)
	}
	_ = hcl.Diagnostics{}
}
