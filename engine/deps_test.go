// Package engine_test guards the dependency rule of STYLE.md section 1: the
// engine packages never import cobra, the CLI (cmd/...) or a provider
// implementation (providers/...). It holds only this test.
package engine_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/lumuctl/lumuctl"

// forbidden reports whether an engine package may not depend on pkg.
func forbidden(pkg string) bool {
	for _, root := range []string{"github.com/spf13/cobra", module + "/providers", module + "/cmd"} {
		if pkg == root || strings.HasPrefix(pkg, root+"/") {
			return true
		}
	}
	return false
}

// violations parses `go list -f '{{.ImportPath}}{{range .Deps}} {{.}}{{end}}'`
// output and returns "pkg -> dep" for every forbidden dependency.
func violations(goList string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(goList), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		for _, dep := range fields[1:] {
			if forbidden(dep) {
				out = append(out, fields[0]+" -> "+dep)
			}
		}
	}
	return out
}

func TestViolations(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"clean", module + "/engine/config github.com/hashicorp/hcl/v2 fmt\n" + module + "/engine/plan " + module + "/engine/config", nil},
		{"cobra", module + "/engine/plan fmt github.com/spf13/cobra", []string{module + "/engine/plan -> github.com/spf13/cobra"}},
		{"cobra subpackage", module + "/engine/plan github.com/spf13/cobra/doc", []string{module + "/engine/plan -> github.com/spf13/cobra/doc"}},
		{"provider", module + "/engine/apply " + module + "/providers/kibana", []string{module + "/engine/apply -> " + module + "/providers/kibana"}},
		{"cli", module + "/engine/x " + module + "/cmd/lumuctl/internal/cli", []string{module + "/engine/x -> " + module + "/cmd/lumuctl/internal/cli"}},
		{"look-alike names are fine", module + "/engine/x github.com/spf13/cobrax " + module + "/providersx " + module + "/engine/provider", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, violations(tt.in)); diff != "" {
				t.Errorf("violations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEngineDependencies runs `go list` over ./engine/... from the module
// root and fails if any engine package depends, directly or not, on cobra,
// the CLI or a provider. Test-only imports are not counted.
func TestEngineDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goTool, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./engine/...")
	cmd.Dir = ".." // the module root; tests run in the package directory
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list ./engine/...: %v\n%s", err, stderr)
	}
	if !strings.Contains(string(out), module+"/engine/") {
		t.Fatalf("go list found no engine package:\n%s", out)
	}
	for _, v := range violations(string(out)) {
		t.Errorf("forbidden dependency: %s", v)
	}
}

// TestTestkitOnlyInTests fails if a package of the module other than
// engine/testkit itself depends on engine/testkit outside its tests: the
// shared test helpers must never reach a program.
func TestTestkitOnlyInTests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	const testkit = module + "/engine/testkit"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] == testkit {
			continue
		}
		for _, dep := range fields[1:] {
			if dep == testkit {
				t.Errorf("%s depends on %s, which is for tests only", fields[0], testkit)
			}
		}
	}
}
