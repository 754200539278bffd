package config_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
)

func ExampleParser_LoadDir() {
	dir, err := os.MkdirTemp("", "lumuctl-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	src := `
variable "lumu_key" {
  sensitive = true
}

company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.lumu_key
}

ioc_filter "malware" {
  company = company.acme
  days    = 45
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(src), 0o600); err != nil {
		panic(err)
	}

	p := config.NewParser()
	cfg, diags := p.LoadDir(dir, config.LoadOptions{
		Vars: []config.VarArg{{Assign: "lumu_key=not-for-your-eyes"}},
	})
	for _, d := range diags {
		fmt.Printf("error=%v: %s (line %d)\n", d.Severity == hcl.DiagError, d.Summary, d.Subject.Start.Line)
	}
	acme := cfg.Companies["acme"]
	fmt.Println(acme.UUID, acme.DefenderKey, acme.RequestsPerMinute)
	fmt.Println(cfg.Filters["malware"].Company.Name, cfg.Filters["malware"].HashTypes)
	// Output:
	// error=true: Invalid value (line 13)
	// 10228d9c-ff18-4251-ac19-514185e00f17 (sensitive value) 50
	// acme [sha256]
}
