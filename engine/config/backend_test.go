package config

import (
	"fmt"
	"testing"
)

func TestBackend(t *testing.T) {
	tests := []struct {
		name, body string
		opts       LoadOptions
		want       string
	}{
		{"none", ``, LoadOptions{Offline: true}, "<nil>"},
		{"url from a variable, default schema", `backend "postgres" {
    url = var.db
  }`, LoadOptions{Vars: []VarArg{{Assign: "db=postgres://db.example/lumu"}}}, "postgres lumuctl true postgres://db.example/lumu"},
		{"schema set", `backend "postgres" {
    url    = "host=db.example dbname=lumu"
    schema = "ci_state"
  }`, LoadOptions{Offline: true}, "postgres ci_state true host=db.example dbname=lumu"},
		{"unset variable offline", `backend "postgres" {
    url = var.db
  }`, LoadOptions{Offline: true}, "postgres lumuctl false "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := loadString(t, `
variable "db" {
  sensitive = true
}
settings {
  `+tt.body+`
}
`, tt.opts)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got := "<nil>"
			if b := cfg.Settings.Backend; b != nil {
				got = fmt.Sprintf("%s %s %v %s", b.Type, b.Schema, b.URL.Known(), b.URL.Reveal())
				if s := fmt.Sprint(b.URL); s != "(sensitive value)" {
					t.Errorf("the URL prints as %q", s)
				}
			}
			if got != tt.want {
				t.Errorf("backend = %q, want %q", got, tt.want)
			}
		})
	}
}
