package config

import (
	"testing"
)

// FuzzLoad feeds arbitrary configuration and variables files to the loader:
// it must never panic, and a configuration without errors must digest.
// Seeds live in testdata/fuzz/FuzzLoad; run with go test -fuzz FuzzLoad.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("company \"a\" {\n  uuid = \"x\"\n}\n"), []byte("k = 1\n"), false)
	f.Fuzz(func(t *testing.T, cfgSrc, varsSrc []byte, offline bool) {
		p := NewParser()
		srcs := []source{{name: "main.lumu.hcl", data: cfgSrc}}
		vars := []source{{name: "lumuctl.lumuvars", data: varsSrc}}
		cfg, diags := p.load("fuzz", srcs, vars, LoadOptions{
			Offline: offline,
			Getenv:  func(string) string { return string(varsSrc) },
			Vars:    []VarArg{{Assign: string(varsSrc)}},
		})
		if cfg == nil && !diags.HasErrors() {
			t.Fatal("nil configuration without errors")
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("diagnostic without summary: %#v", d)
			}
		}
		if cfg != nil && !diags.HasErrors() {
			if len(cfg.Digest()) != 64 {
				t.Fatal("bad digest")
			}
		}
	})
}
