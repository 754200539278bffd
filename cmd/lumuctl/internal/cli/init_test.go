package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/lumuctl/lumuctl/engine/config"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// TestExampleConfig: the starter configuration validates without any
// diagnostic and is in canonical format.
func TestExampleConfig(t *testing.T) {
	if got := hclwrite.Format([]byte(ExampleConfig)); string(got) != ExampleConfig {
		t.Errorf("ExampleConfig is not canonically formatted")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, exampleFile), []byte(ExampleConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Offline: true})
	if len(diags) > 0 {
		t.Fatalf("ExampleConfig has diagnostics: %v", diags)
	}
	if len(cfg.Blocklists) != 1 || len(cfg.Filters) != 1 {
		t.Errorf("ExampleConfig should declare one blocklist fed by one filter")
	}
}

func TestInitCreatesPrivateDirs(t *testing.T) {
	t.Chdir(t.TempDir())
	code, stdout, stderr := runCLI(t, "init", "--example")
	if code != ExitOK {
		t.Fatalf("init --example: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	fi, err := os.Stat(".lumuctl")
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf(".lumuctl mode = %o, want 700", perm)
	}
	before, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "init", "--example"); code != ExitError || !strings.Contains(stderr, "refusing to overwrite") {
		t.Errorf("second init --example: exit %d, stderr %q", code, stderr)
	}
	after, _ := os.ReadFile(exampleFile)
	if !bytes.Equal(before, after) {
		t.Errorf("init --example changed an existing file")
	}
}
