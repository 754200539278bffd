package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

const precedenceConfig = `
variable "s" {
  default = "from-default"
}

variable "n" {
  type    = number
  default = 1
}

variable "b" {
  type    = bool
  default = false
}

variable "l" {
  type    = list(string)
  default = []
}

variable "key" {
  sensitive = true
}

variable "req" {
  type = number
}

company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.key
  name         = "ACME ${var.key}"
  contact_name = var.s
}
`

func render(v cty.Value) string {
	switch {
	case !v.IsKnown():
		return "(unknown)"
	case v.Type() == cty.String:
		return v.AsString()
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('g', -1)
	case v.Type() == cty.Bool:
		return fmt.Sprint(v.True())
	default:
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			parts = append(parts, render(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
}

func TestVariablePrecedence(t *testing.T) {
	type result struct{ Value, Source string }
	tests := []struct {
		name    string
		files   map[string]string
		env     map[string]string
		vars    []VarArg
		offline bool
		want    map[string]result // subset of variables to check
		errs    []string          // expected error/warning summaries, in order
	}{
		{
			name: "defaults",
			env:  map[string]string{"LUMUCTL_VAR_key": "k", "LUMUCTL_VAR_req": "1"},
			want: map[string]result{"s": {"from-default", "default"}, "n": {"1", "default"}, "b": {"false", "default"}, "l": {"[]", "default"}},
		},
		{
			name: "environment beats default and parses by type",
			env: map[string]string{"LUMUCTL_VAR_s": `"raw"`, "LUMUCTL_VAR_n": "42", "LUMUCTL_VAR_b": "true",
				"LUMUCTL_VAR_l": `["x", "y"]`, "LUMUCTL_VAR_key": "k", "LUMUCTL_VAR_req": "1.5"},
			want: map[string]result{
				"s": {`"raw"`, "environment variable LUMUCTL_VAR_s"}, "n": {"42", "environment variable LUMUCTL_VAR_n"},
				"b": {"true", "environment variable LUMUCTL_VAR_b"}, "l": {"[x,y]", "environment variable LUMUCTL_VAR_l"},
				"req": {"1.5", "environment variable LUMUCTL_VAR_req"},
			},
		},
		{
			name:  "lumuctl.lumuvars beats environment",
			files: map[string]string{"lumuctl.lumuvars": "s = \"file\"\nn = 7\nkey = \"k\"\nreq = 2\n"},
			env:   map[string]string{"LUMUCTL_VAR_s": "env", "LUMUCTL_VAR_n": "3"},
			want:  map[string]result{"s": {"file", "lumuctl.lumuvars"}, "n": {"7", "lumuctl.lumuvars"}},
		},
		{
			name: "auto files in lexical order beat lumuctl.lumuvars",
			files: map[string]string{
				"lumuctl.lumuvars": "s = \"file\"\nkey = \"k\"\nreq = 2\nb = true\n",
				"b.auto.lumuvars":  "s = \"b-auto\"\n",
				"a.auto.lumuvars":  "s = \"a-auto\"\nn = 5\n",
			},
			want: map[string]result{"s": {"b-auto", "b.auto.lumuvars"}, "n": {"5", "a.auto.lumuvars"}, "b": {"true", "lumuctl.lumuvars"}},
		},
		{
			name:  "command line in order: --var then --var-file",
			files: map[string]string{"x.auto.lumuvars": "s = \"auto\"\nkey = \"k\"\nreq = 2\n", "extra.vars": "s = \"var-file\"\n"},
			vars:  []VarArg{{Assign: "s=flag"}, {File: "extra.vars"}},
			want:  map[string]result{"s": {"var-file", "extra.vars"}},
		},
		{
			name:  "command line in order: --var-file then --var",
			files: map[string]string{"x.auto.lumuvars": "s = \"auto\"\nkey = \"k\"\nreq = 2\n", "extra.vars": "s = \"var-file\"\n"},
			vars:  []VarArg{{File: "extra.vars"}, {Assign: "s=flag=with=equals"}, {Assign: "l=[\"p\"]"}},
			want:  map[string]result{"s": {"flag=with=equals", "--var"}, "l": {"[p]", "--var"}},
		},
		{
			name: "required variable without value",
			env:  map[string]string{"LUMUCTL_VAR_key": "k"},
			errs: []string{"No value for required variable"},
		},
		{
			name:    "offline: unset variables are unknown",
			offline: true,
			want:    map[string]result{"req": {"(unknown)", ""}, "key": {"(unknown)", ""}, "s": {"from-default", "default"}},
		},
		{
			name: "bad values",
			env:  map[string]string{"LUMUCTL_VAR_n": "abc", "LUMUCTL_VAR_key": "k", "LUMUCTL_VAR_req": "1"},
			vars: []VarArg{{Assign: "nope"}, {Assign: "sss=1"}, {Assign: "b=maybe"}, {File: "missing.vars"}},
			errs: []string{"Invalid value for variable", "Invalid --var option", "Value for undeclared variable", "Invalid value for variable", "Cannot read variables file"},
		},
		{
			name:  "undeclared in a file is a warning",
			files: map[string]string{"lumuctl.lumuvars": "key = \"k\"\nreq = 1\nss = \"x\"\n"},
			errs:  []string{"Value for undeclared variable"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"main.lumu.hcl": precedenceConfig}
			for k, v := range tc.files {
				files[k] = v
			}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			vars := append([]VarArg(nil), tc.vars...)
			for i := range vars {
				if vars[i].File != "" {
					vars[i].File = filepath.Join(dir, vars[i].File)
				}
			}
			cfg, diags := NewParser().LoadDir(dir, LoadOptions{
				Vars:    vars,
				Getenv:  func(k string) string { return tc.env[k] },
				Offline: tc.offline,
			})
			var gotErrs []string
			for _, d := range diags {
				gotErrs = append(gotErrs, d.Summary)
			}
			if diff := cmp.Diff(tc.errs, gotErrs); diff != "" {
				t.Fatalf("diagnostics mismatch (-want +got):\n%s\n%v", diff, diags)
			}
			for name, want := range tc.want {
				v := cfg.Variables[name]
				src := v.Source
				if strings.HasPrefix(src, dir) {
					src = filepath.Base(src)
				}
				got := result{render(v.Value), src}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("variable %s mismatch (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

// TestSensitiveFlow checks that a sensitive variable stays unprintable
// wherever it ends up, and that Reveal still gives the value.
func TestSensitiveFlow(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(precedenceConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	const key = "s3cr3t-KEY-value"
	cfg, diags := NewParser().LoadDir(dir, LoadOptions{Vars: []VarArg{{Assign: "key=" + key}, {Assign: "req=1"}}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	co := cfg.Companies["acme"]
	if got := co.DefenderKey.Reveal(); got != key {
		t.Errorf("Reveal() = %q, want the key", got)
	}
	if !co.DisplayName.Sensitive() || co.DisplayName.Reveal() != "ACME "+key {
		t.Errorf("name from a sensitive variable: sensitive=%v", co.DisplayName.Sensitive())
	}
	if co.ContactName.Sensitive() || co.ContactName.String() != "from-default" {
		t.Errorf("contact_name from a plain variable must print: %q", co.ContactName)
	}
	js, err := json.Marshal(co)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{
		fmt.Sprint(co), fmt.Sprintf("%+v", *co), fmt.Sprintf("%#v", *co), fmt.Sprintf("%s|%q|%x", co.DefenderKey, co.DefenderKey, co.DefenderKey),
		fmt.Sprintf("%v %s %q", co.DisplayName, co.DisplayName, co.DisplayName), string(js),
	} {
		if strings.Contains(out, key) || strings.Contains(out, "s3cr3t") {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("no redaction marker in %s", out)
		}
	}
}
