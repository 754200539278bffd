package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
)

// TestInterruptedPlanExits130: Ctrl-C while plan waits to retry a Lumu
// request ends it at once with exit 130 and writes nothing (docs/ci.md and
// docs/commands.md promise 130 for an interrupted plan).
func TestInterruptedPlanExits130(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes; skipped with -short")
	}
	bin := buildLumuctl(t)
	e := newE2E(t, bin, configEdit{"  requests_per_minute = 100000\n", "  requests_per_minute = 100000\n  retry_timeout       = \"40s\"\n"})
	if err := e.sb.Lumu.SetFault(lumusim.Fault{Kind: lumusim.KindList, Status: 503, Count: 1000}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(e.bin, "plan", "--out", "p.plan", "--markdown", "p.md")
	cmd.Dir, cmd.Env = e.dir, e.env
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The visible retry line says plan is waiting to retry.
	waitFor(t, "the first retry line", func() bool { return strings.Contains(stderr.String(), "; retry 1 in ") })
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 130 {
		t.Errorf("exit %d, want 130\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "plan interrupted; nothing was written") {
		t.Errorf("stderr does not say the plan was interrupted:\n%s", stderr.String())
	}
	for _, f := range []string{"p.plan", "p.md"} {
		if _, err := os.Stat(filepath.Join(e.dir, f)); err == nil {
			t.Errorf("%s was written by an interrupted plan", f)
		}
	}
}
