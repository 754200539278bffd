package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
)

// lockedBuffer is a bytes.Buffer safe to read while a child process writes
// to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond every 5 ms for up to 30 s (a bound on a broken run,
// not a measurement) and fails the test with what when it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: still waiting for %s", what)
		}
	}
}

// startApply starts "lumuctl apply --auto-approve --parallelism 1" and
// returns a function that waits for it and returns its exit code.
func startApply(t *testing.T, e *e2e) (*exec.Cmd, *lockedBuffer, *lockedBuffer, func() int) {
	t.Helper()
	cmd := exec.Command(e.bin, "apply", "--auto-approve", "--parallelism", "1")
	cmd.Dir, cmd.Env = e.dir, e.env
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wait := func() int {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitCode()
		}
		t.Fatalf("apply: %v", err)
		return -1
	}
	return cmd, &stdout, &stderr, wait
}

func countLog(sb []kibanasim.LogEntry, kind, fault string) int {
	n := 0
	for _, e := range sb {
		if e.Kind == kind && (fault == "" || e.Fault == fault) {
			n++
		}
	}
	return n
}

// TestInterrupt reproduces issue 10 item 3 against the real binary: the
// first Ctrl-C must stop scheduling and cancel retry waits (with Kibana
// answering 429/503 the process used to run on for the whole
// retry_timeout), and a second one must exit at once (it used to be
// swallowed), with output that does not contradict itself.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes; skipped with -short")
	}
	bin := buildLumuctl(t)
	edits := []configEdit{{"  timeout = \"5s\"\n", "  timeout       = \"1s\"\n  retry_timeout = \"40s\"\n"}}

	t.Run("first Ctrl-C cancels the retry wait", func(t *testing.T) {
		e := newE2E(t, bin, edits...)
		// Every create is answered 429 "retry in 30 s": without the fix the
		// interrupted run sends a second attempt 30 s later.
		if err := e.sb.Kibana.AddFault(kibanasim.Fault{Kind: "POST items", Status: 429, RetryAfter: "30", Count: 100}); err != nil {
			t.Fatal(err)
		}
		cmd, stdout, stderr, wait := startApply(t, e)
		waitFor(t, "the first create to be answered", func() bool { return countLog(e.sb.Kibana.Log(), "POST items", "") >= 1 })
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		code := wait()
		out := stdout.String() + stderr.String()
		if code != 130 {
			t.Errorf("exit %d, want 130 (no write was made)\n%s", code, out)
		}
		if n := e.sb.Kibana.Counters()["POST items"]; n != 1 {
			t.Errorf("Kibana saw %d creates, want 1: the retry wait was not cancelled", n)
		}
		for _, want := range []string{
			"Apply interrupted: 0 item write(s) were made and recorded, nothing more was started. " +
				"1 write(s) waiting to be retried were abandoned: the next run checks whether an earlier attempt landed.",
		} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "Apply complete") || strings.Contains(out, "writes done") {
			t.Errorf("contradictory output:\n%s", out)
		}
		if err := e.checkUnowned(); err != nil {
			t.Error(err)
		}

		// The abandoned create stays in the journal; the next run settles it
		// (it had not landed: it is sent again before planning) and
		// converges.
		e.sb.Kibana.ClearFaults()
		stdoutNext, _ := e.mustRun(0, "apply", "--auto-approve")
		if !strings.Contains(stdoutNext, "Reconciled 1 unfinished write(s) of an earlier run with Kibana (0 had landed, 1 sent again).") ||
			!strings.Contains(stdoutNext, "Apply complete! Items: 3 added") {
			t.Errorf("next apply:\n%s", stdoutNext)
		}
	})

	t.Run("second Ctrl-C exits at once", func(t *testing.T) {
		e := newE2E(t, bin, edits...)
		// The first create is quick, the second takes 5 s (and, the client
		// gone, still lands: Go's server notices a vanished client only
		// once it has read the request body).
		for _, f := range []kibanasim.Fault{{Kind: "POST items", DelayMS: 1}, {Kind: "POST items", DelayMS: 5000}} {
			if err := e.sb.Kibana.AddFault(f); err != nil {
				t.Fatal(err)
			}
		}
		cmd, stdout, stderr, wait := startApply(t, e)
		// The second create has reached Kibana, so the first is recorded
		// (with --parallelism 1 the next write starts after the hook saw the
		// last one finish).
		waitFor(t, "the second create to reach Kibana", func() bool { return e.sb.Kibana.Counters()["POST items"] >= 2 })
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first interrupt to be acknowledged", func() bool {
			return strings.Contains(stderr.String(), "Interrupted: starting no more item writes (1 in flight")
		})
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		code := wait()
		out := stdout.String() + stderr.String()
		if code != 3 {
			t.Errorf("exit %d, want 3 (a write was made)\n%s", code, out)
		}
		want := "Interrupted again: exiting at once. 1 item write(s) were made and recorded. " +
			"1 write(s) were in flight: the next apply checks whether they landed. Run apply again to converge."
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
		if strings.Contains(out, "Apply interrupted") || strings.Contains(out, "Apply complete") {
			t.Errorf("the process did not exit at once:\n%s", out)
		}
		// It exited while the second create was on the wire: Kibana had
		// answered only the first.
		if n := countLog(e.sb.Kibana.Log(), "POST items", ""); n != 1 {
			t.Errorf("Kibana had answered %d creates when the process exited, want 1", n)
		}
		// The create in flight lands after the exit; the next apply finds
		// it in the journal and records it.
		waitFor(t, "the create in flight to land", func() bool { return countLog(e.sb.Kibana.Log(), "POST items", "") == 2 })
		e.sb.Kibana.ClearFaults()
		stdoutNext, _ := e.mustRun(0, "apply", "--auto-approve")
		if !strings.Contains(stdoutNext, "Reconciled 1 unfinished write(s) of an earlier run with Kibana (1 had landed).") ||
			!strings.Contains(stdoutNext, "Apply complete! Items: 2 added") {
			t.Errorf("next apply:\n%s", stdoutNext)
		}
		if err := e.checkUnowned(); err != nil {
			t.Error(err)
		}
	})
}

// TestInterruptWhileWaitingForTheLock: Ctrl-C during a wait before any
// write (here the state lock, held by someone else) exits 130 "interrupted",
// not 1 "context canceled" (issue 10 item 7).
func TestInterruptWhileWaitingForTheLock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("finds the waiting process's lock file descriptor in /proc (Linux only)")
	}
	bin := buildLumuctl(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"apply", []string{"apply", "--auto-approve", "--lock-timeout", "10m"}},
		{"state rm", []string{"state", "rm", "blocklist.lumu", "--lock-timeout", "10m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, bin)
			lockPath := filepath.Join(e.dir, ".lumuctl", "state.db.lock")
			held, err := boltstore.New(filepath.Join(e.dir, ".lumuctl", "state.db"), boltstore.Options{}).
				Lock(context.Background(), state.LockOptions{Command: "apply"})
			if err != nil {
				t.Fatal(err)
			}
			defer held.Unlock()

			cmd := exec.Command(e.bin, tc.args...)
			cmd.Dir, cmd.Env = e.dir, e.env
			var stdout, stderr lockedBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Waiting means it has the lock file open (and polls the flock).
			waitFor(t, tc.name+" to wait for the lock", func() bool {
				fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid))
				for _, fd := range fds {
					if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", cmd.Process.Pid, fd.Name())); err == nil && target == lockPath {
						return true
					}
				}
				return false
			})
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Errorf("%s: %v, want exit 130\n%s%s", tc.name, err, stdout.String(), stderr.String())
			}
			if want := "Error: " + tc.name + " interrupted while waiting for the state lock; nothing was written"; !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
			}
			if strings.Contains(stderr.String(), "context canceled") {
				t.Errorf("stderr shows the context error:\n%s", stderr.String())
			}
			if n := e.writes(); n != 0 {
				t.Errorf("%d Kibana writes", n)
			}
		})
	}
}
