package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/lumuctl/lumuctl/engine/testkit"
)

// varsFuzzConfig declares a variable of every supported type, used by a
// configuration that is valid once they have values; FuzzVarsFile varies
// only the variables files.
const varsFuzzConfig = `
variable "lumu_key" {
  type      = string
  sensitive = true
}
variable "kibana_key" {
  type      = string
  sensitive = true
  default   = "k"
}
variable "days" {
  type    = number
  default = 30
}
variable "only_active" {
  type    = bool
  default = true
}
variable "policies" {
  type    = list(string)
  default = []
}
company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.lumu_key
}
ioc_filter "mal" {
  company = company.acme
  days    = var.days
}
kibana "prod" {
  url     = "https://kibana.example.com"
  api_key = var.kibana_key
}
`

// FuzzVarsFile feeds arbitrary .lumuvars content to the variables-file
// parser (the path of lumuctl.lumuvars, *.auto.lumuvars and --var-file)
// against a fixed configuration that declares a variable of each type. It
// must not panic, every diagnostic must have a summary, and an error-free
// load must give every variable a known value of its declared type.
// Seeds: testdata/fuzz/FuzzVarsFile (real files, truncated ones, type
// errors); run with go test -fuzz FuzzVarsFile.
func FuzzVarsFile(f *testing.F) {
	for _, s := range varsSeeds() {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := NewParser()
		srcs := []source{{name: "main.lumu.hcl", data: []byte(varsFuzzConfig)}}
		vars := []source{{name: VarsFile, data: data}, {name: "x" + AutoVarsSuffix, data: data}}
		cfg, diags := p.load("fuzz", srcs, vars, LoadOptions{Getenv: func(string) string { return "" }})
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("diagnostic without summary: %#v", d)
			}
		}
		if cfg == nil {
			t.Fatal("nil configuration for a valid main file")
		}
		if diags.HasErrors() {
			return
		}
		want := map[string]cty.Type{"lumu_key": cty.String, "kibana_key": cty.String, "days": cty.Number,
			"only_active": cty.Bool, "policies": cty.List(cty.String)}
		for name, ty := range want {
			v := cfg.Variables[name]
			if v == nil {
				t.Fatalf("variable %q lost", name)
			}
			if !v.Value.IsWhollyKnown() || v.Value.IsNull() || !v.Value.Type().Equals(ty) {
				t.Fatalf("variable %q = %#v without an error, want a known %s", name, v.Value, ty.FriendlyName())
			}
		}
		if len(cfg.Digest()) != 64 {
			t.Fatal("bad digest")
		}
	})
}

func varsSeeds() []seed {
	full := "# lumuctl.lumuvars: keep out of version control\nlumu_key    = \"s3cr3t\"\nkibana_key  = \"a2V5OnZhbHVl\"\ndays        = 7\nonly_active = false\npolicies    = [\"p-1\", \"p-2\"]\n"
	return []seed{
		{"full", []byte(full)},
		{"key_only", []byte("lumu_key = \"k\"\n")},
		{"truncated", []byte(full[:len(full)/2])},
		{"truncated_string", []byte("lumu_key = \"abc")},
		{"empty", nil},
		{"comments_only", []byte("# nothing\n// nothing\n/* nothing */\n")},
		{"undeclared", []byte("lumu_key = \"k\"\ndayz = 4\n")},
		{"wrong_type", []byte("lumu_key = \"k\"\ndays = \"three\"\n")},
		{"number_as_string", []byte("lumu_key = \"k\"\ndays = \"7\"\n")},
		{"bool_as_number", []byte("lumu_key = \"k\"\nonly_active = 1\n")},
		{"list_of_numbers", []byte("lumu_key = \"k\"\npolicies = [1, 2]\n")},
		{"null", []byte("lumu_key = null\n")},
		{"reference", []byte("lumu_key = var.kibana_key\n")},
		{"function_call", []byte("lumu_key = upper(\"k\")\n")},
		{"template", []byte("lumu_key = \"${1 + 1}\"\n")},
		{"heredoc", []byte("lumu_key = <<EOT\nk\nEOT\n")},
		{"block", []byte("lumu_key = \"k\"\nvariable \"x\" {}\n")},
		{"duplicate", []byte("lumu_key = \"a\"\nlumu_key = \"b\"\n")},
		{"huge_number", []byte("lumu_key = \"k\"\ndays = 1e999999\n")},
		{"control_chars", []byte("lumu_key = \"\x1b[31m\\u0000\"\n")},
		{"invalid_utf8", []byte("lumu_key = \"\xff\xfe\"\n")},
		{"deep_nesting", []byte("policies = " + strings.Repeat("[", 5000))},
		{"json", []byte(`{"lumu_key": "k"}`)},
	}
}

type seed struct {
	name string
	data []byte
}

// TestVarsSeedCorpus requires testdata/fuzz/FuzzVarsFile to hold exactly
// the seeds varsSeeds generates; -update rewrites them.
func TestVarsSeedCorpus(t *testing.T) {
	files := map[string][]byte{}
	for _, s := range varsSeeds() {
		files["seed_"+s.name] = testkit.FuzzFile(s.data)
	}
	testkit.CheckFiles(t, filepath.Join("testdata", "fuzz", "FuzzVarsFile"), "seed_", files)
}

// TestVarsSeedVerdicts pins which seeds load without errors, so that the
// corpus keeps exercising both paths.
func TestVarsSeedVerdicts(t *testing.T) {
	ok := map[string]bool{"full": true, "key_only": true, "undeclared": true, "number_as_string": true,
		"template": true, "heredoc": true, "list_of_numbers": true, "control_chars": true, "invalid_utf8": false, "function_call": false}
	for _, s := range varsSeeds() {
		want, pinned := ok[s.name]
		if !pinned {
			want = false
		}
		t.Run(s.name, func(t *testing.T) {
			p := NewParser()
			_, diags := p.load("fuzz", []source{{name: "main.lumu.hcl", data: []byte(varsFuzzConfig)}},
				[]source{{name: VarsFile, data: s.data}}, LoadOptions{Getenv: func(string) string { return "" }})
			if got := !diags.HasErrors(); got != want {
				t.Fatalf("loads cleanly = %v, want %v: %s", got, want, diags.Error())
			}
		})
	}
}
