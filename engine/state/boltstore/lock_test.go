//go:build unix

package boltstore_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

const helperEnv = "LUMUCTL_STATE_LOCK_HELPER"

// TestHelperProcess is not a test: re-run by lockHolder, it takes the write
// lock on the state file named by helperEnv, prints "locked" and waits to be
// killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	s := boltstore.New(path, boltstore.Options{})
	w, err := s.Lock(context.Background(), state.LockOptions{
		Command: "apply", Who: "helper@box", Now: func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(2)
	}
	if _, err := w.Commit(state.Commit{Put: []state.Item{sampleItem("main", "windows", 7)}}); err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Stdout.WriteString("locked\n")
	select {}
}

// lockHolder starts a subprocess that holds the write lock on path.
func lockHolder(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	return cmd
}

func TestLockHeldBySubprocessAndReleasedOnSIGKILL(t *testing.T) {
	s := statetest.MustOpen(t)
	holder := lockHolder(t, s.Path())

	// A second writer fails at once (timeout 0) and learns who holds it.
	_, err := s.Lock(context.Background(), state.LockOptions{Command: "destroy"})
	var le *state.LockError
	if !errors.As(err, &le) {
		t.Fatalf("Lock while held = %v, want *state.LockError", err)
	}
	want := state.LockInfo{PID: holder.Process.Pid, Who: "helper@box", Command: "apply", Started: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	if diff := cmp.Diff(want, le.Holder); diff != "" {
		t.Errorf("holder mismatch (-want +got):\n%s", diff)
	}
	for _, part := range []string{"pid " + itoa(holder.Process.Pid), "helper@box", `"apply"`, "2025-03-01T12:00:00Z", s.LockPath()} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}

	// Readers are not blocked by the held write lock and see its commit.
	st := mustSnapshot(t, s)
	if _, ok := st.Items[sampleItem("main", "windows", 7).Item.ItemID]; !ok || st.Serial != 1 {
		t.Errorf("reader during lock: serial %d items %v; want the holder's commit", st.Serial, st.Items)
	}
	if _, err := s.History(); err != nil {
		t.Errorf("History during lock: %v", err)
	}
	if _, err := s.Provenance("main", hashN(1, 64)); err != nil {
		t.Errorf("Provenance during lock: %v", err)
	}

	// The holder dies without unlocking: the lock file stays, the lock goes.
	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()
	if _, err := os.Stat(s.LockPath()); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	if err := w.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestLockContentionWithTimeout(t *testing.T) {
	s := statetest.MustOpen(t)
	started := time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC)
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "state rm", PID: 4242, Who: "alice@laptop", Now: func() time.Time { return started }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		timeout time.Duration
	}{
		{"try once", 0},
		{"wait", 120 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Lock(context.Background(), state.LockOptions{Command: "apply", Timeout: tt.timeout})
			var le *state.LockError
			if !errors.As(err, &le) {
				t.Fatalf("Lock = %v, want *state.LockError", err)
			}
			want := state.LockInfo{PID: 4242, Who: "alice@laptop", Command: "state rm", Started: started}
			if diff := cmp.Diff(want, le.Holder); diff != "" {
				t.Errorf("holder mismatch (-want +got):\n%s", diff)
			}
			if le.Waited < tt.timeout {
				t.Errorf("waited %s, less than the timeout %s", le.Waited, tt.timeout)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Lock(ctx, state.LockOptions{Command: "apply", Timeout: time.Hour})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Lock with cancelled ctx = %v, want context.Canceled", err)
		}
	})
	t.Run("acquired once released", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			w2, err := s.Lock(context.Background(), state.LockOptions{Command: "apply", Timeout: time.Minute})
			if err == nil {
				err = w2.Unlock()
			}
			done <- err
		}()
		if err := w.Unlock(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("waiting Lock: %v", err)
		}
	})
	t.Run("writer unusable after unlock", func(t *testing.T) {
		if _, err := w.Commit(state.Commit{}); !errors.Is(err, state.ErrUnlocked) {
			t.Errorf("Commit after Unlock = %v, want ErrUnlocked", err)
		}
		if err := w.Unlock(); !errors.Is(err, state.ErrUnlocked) {
			t.Errorf("second Unlock = %v, want ErrUnlocked", err)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
