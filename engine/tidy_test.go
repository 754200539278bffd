package engine_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestGoModTidy fails when `go mod tidy` would change go.mod or go.sum: a
// dependency the code imports must be required directly (not `// indirect`),
// and nothing unused may linger. It lives here, beside the dependency rule,
// because the engine tests run on every landing as well as in `make test`.
// Fix a failure by running `go mod tidy` and committing the result.
func TestGoModTidy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goTool, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	cmd := exec.Command(goTool, "mod", "tidy", "-diff")
	cmd.Dir = ".." // the module root; tests run in the package directory
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && strings.Contains(string(out), "@@") {
		t.Fatalf("go.mod or go.sum is not tidy; run `go mod tidy` and commit the result:\n%s", out)
	}
	t.Fatalf("go mod tidy -diff: %v\n%s", err, out)
}
