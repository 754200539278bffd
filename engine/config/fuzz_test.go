package config

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
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

// FuzzNesting repeats a fuzzed fragment many times, so that the fuzzer
// explores deep nesting of every construct the HCL parser recurses on
// (brackets, strings, interpolations, heredocs, directives, unary and
// conditional operators) and mixtures of them. The loader must never crash
// (a Go stack overflow cannot be recovered and kills the process), and
// whatever CheckSource lets through must parse within the bounds.
func FuzzNesting(f *testing.F) {
	for _, frag := range []string{"(", "[", "{a=", "!", "-", "true ? 1 : ", `"${`, "%{ if true }", "b {\n", "[(", `"${[`, "<<EOT\n${", "x + ", "/*", "\"\\", "$${"} {
		f.Add("x = ", frag, uint32(100_000))
		f.Add("x = ", frag, uint32(MaxNesting+1))
		f.Add("", frag, uint32(MaxNesting))
	}
	f.Fuzz(func(t *testing.T, prefix, frag string, reps uint32) {
		if frag == "" {
			return
		}
		reps %= 200_000
		if int(reps)*len(frag)+len(prefix) > MaxSourceBytes+16 {
			reps = uint32((MaxSourceBytes + 16 - len(prefix)) / len(frag))
		}
		src := []byte(prefix + strings.Repeat(frag, int(reps)) + "\n")
		p := NewParser()
		cfg, diags := p.load("fuzz", []source{{name: "main.lumu.hcl", data: src}}, []source{{name: VarsFile, data: src}}, LoadOptions{Offline: true})
		if cfg == nil && !diags.HasErrors() {
			t.Fatal("nil configuration without errors")
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("diagnostic without summary: %#v", d)
			}
		}
		if d := CheckSource("f", src); !d.HasErrors() {
			_, _ = hclsyntax.ParseConfig(src, "f", hcl.InitialPos)
		}
	})
}
