package pgstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/pgstore"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

const helperEnv = "LUMUCTL_PGSTORE_LOCK_HELPER"

// TestHelperProcess is not a test: re-run by lockHolder, it takes the write
// lock on the schema named by helperEnv (URL taken from the next variable),
// prints "locked" and waits to be killed.
func TestHelperProcess(t *testing.T) {
	schema := os.Getenv(helperEnv)
	if schema == "" {
		t.Skip("helper process only")
	}
	s, err := pgstore.New(pgstore.Options{URL: os.Getenv(helperEnv + "_URL"), Schema: schema, Namespace: "prod"})
	if err == nil {
		var w state.Writer
		w, err = s.Lock(context.Background(), state.LockOptions{
			Command: "apply", Who: "helper@box", Now: func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) },
		})
		if err == nil {
			_, err = w.Commit(state.Commit{Put: []state.Item{statetest.SampleItem("main", "windows", 7)}})
		}
	}
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Stdout.WriteString("locked\n")
	select {}
}

func lockHolder(t *testing.T, schema string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+schema, helperEnv+"_URL="+cluster.URL())
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

// The holder is another process; when it is SIGKILLed, PostgreSQL ends its
// session and the lock is free at once.
func TestLockHeldBySubprocessAndReleasedOnSIGKILL(t *testing.T) {
	schema := cluster.FreshSchema(t)
	s := newStore(t, schema, "prod")
	holder := lockHolder(t, schema)
	_, err := s.Lock(context.Background(), state.LockOptions{Command: "destroy"})
	var le *state.LockError
	if !errors.As(err, &le) {
		t.Fatalf("Lock while held = %v, want *state.LockError", err)
	}
	want := state.LockInfo{PID: holder.Process.Pid, Who: "helper@box", Command: "apply", Started: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	if diff := cmp.Diff(want, le.Holder); diff != "" {
		t.Errorf("holder mismatch (-want +got):\n%s", diff)
	}
	for _, part := range []string{"state is locked", "pid " + strconv.Itoa(holder.Process.Pid), "helper@box", `"apply"`, "2025-03-01T12:00:00Z", "schema " + schema, "namespace prod"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
	// Another namespace in the same schema is not locked.
	w, err := newStore(t, schema, "staging").Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatalf("Lock of another namespace: %v", err)
	}
	_ = w.Unlock()

	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()
	// PostgreSQL notices the closed socket; allow it a moment.
	w, err = s.Lock(context.Background(), state.LockOptions{Command: "apply", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	if st := statetest.MustSnapshot(t, s); st.Serial != 1 || len(st.Items) != 1 {
		t.Errorf("state after the holder died: serial %d, %d items", st.Serial, len(st.Items))
	}
	if err := w.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// A writer whose session is terminated (pg_terminate_backend) loses the
// lock: its next write fails with ErrConnection and another writer can
// take the lock.
func TestTerminatedWriterSession(t *testing.T) {
	schema := cluster.FreshSchema(t)
	s := newStore(t, schema, "prod")
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	it := statetest.SampleItem("main", "linux", 1)
	if _, err := w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: it.Item.ItemID, Item: &it}); err != nil {
		t.Fatal(err)
	}
	cluster.Exec(t, fmt.Sprintf(`SELECT pg_terminate_backend(backend_pid, 10000) FROM %s.locks WHERE namespace = 'prod'`, schema))
	_, err = w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: it.Item.ItemID, Item: &it})
	if !errors.Is(err, pgstore.ErrConnection) {
		t.Fatalf("JournalBegin after the session was terminated = %v, want ErrConnection", err)
	}
	if strings.Contains(err.Error(), cluster.URL()) {
		t.Errorf("error shows the URL: %v", err)
	}
	w2, err := newStore(t, schema, "prod").Lock(context.Background(), state.LockOptions{Command: "apply", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Lock after the holder's session ended: %v", err)
	}
	defer w2.Unlock()
	if p, err := s.PendingJournal(); err != nil || len(p) != 1 {
		t.Errorf("pending journal = %v, %v; want the one committed entry", p, err)
	}
	_ = w.Unlock()
}

// A restarted server cuts every session: readers reconnect, the writer's
// lock is gone.
func TestServerRestart(t *testing.T) {
	schema := cluster.FreshSchema(t)
	s := newStore(t, schema, "prod")
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(state.Commit{}); err != nil {
		t.Fatal(err)
	}
	statetest.MustSnapshot(t, s)
	if err := cluster.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(state.Commit{}); !errors.Is(err, pgstore.ErrConnection) {
		t.Errorf("Commit after restart = %v, want ErrConnection", err)
	}
	// The first read may find its session dead; the next reconnects.
	_, _ = s.Snapshot()
	if st := statetest.MustSnapshot(t, s); st.Serial != 1 {
		t.Errorf("serial after restart = %d, want 1", st.Serial)
	}
	_ = w.Unlock()
}

func TestNewerSchemaRefused(t *testing.T) {
	schema := cluster.FreshSchema(t)
	s := newStore(t, schema, "prod")
	if _, err := s.Init(); err != nil {
		t.Fatal(err)
	}
	cluster.Exec(t, fmt.Sprintf(`UPDATE %s.schema_version SET version = 99`, schema))
	for name, op := range map[string]func() error{
		"init":     func() error { _, err := s.Init(); return err },
		"lock":     func() error { _, err := s.Lock(context.Background(), state.LockOptions{}); return err },
		"snapshot": func() error { _, err := s.Snapshot(); return err },
	} {
		err := op()
		var ve *pgstore.SchemaVersionError
		if !errors.As(err, &ve) || ve.Found != 99 || ve.Supported != pgstore.SchemaVersion() {
			t.Errorf("%s = %v, want a SchemaVersionError 99 > %d", name, err, pgstore.SchemaVersion())
			continue
		}
		for _, part := range []string{"version 99", fmt.Sprintf("at most version %d", pgstore.SchemaVersion()), "upgrade lumuctl", schema} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("%s: error %q does not mention %q", name, err, part)
			}
		}
	}
}

// The URL and its password never appear in an error; host, port and
// database do.
func TestURLScrubbed(t *testing.T) {
	port := cluster.Port()
	tests := []struct {
		name, url string
		want      []string
	}{
		{"refused", "postgres://bob:s3cretpw@127.0.0.1:1/lumu?sslmode=disable&connect_timeout=2", []string{"127.0.0.1:1", "database lumu"}},
		{"bad password", fmt.Sprintf("postgres://nosuchuser:s3cretpw@127.0.0.1:%d/postgres?sslmode=disable", port), []string{fmt.Sprintf("127.0.0.1:%d", port), "database postgres"}},
		{"unparsable", "postgres://bob:s3cretpw@[::1/x", []string{"not a valid postgres:// URL"}},
		{"key=value", "host=127.0.0.1 port=1 dbname=lumu user=bob password=s3cretpw sslmode=disable connect_timeout=2", []string{"127.0.0.1:1", "database lumu"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := pgstore.New(pgstore.Options{URL: tt.url, Namespace: "prod"})
			if err == nil {
				_, err = s.Snapshot()
			}
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "s3cretpw") || strings.Contains(err.Error(), tt.url) {
				t.Errorf("error shows the URL or password: %v", err)
			}
			for _, part := range tt.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not mention %q", err, part)
				}
			}
		})
	}
}

// A statement that exceeds the server's statement_timeout (here: the journal
// table locked by another session) fails that write with a clear error;
// the writer keeps its session and its lock, and writes again once the
// obstacle is gone.
func TestStatementTimeout(t *testing.T) {
	schema := cluster.FreshSchema(t)
	url := cluster.URL() + "&options=-c%20statement_timeout%3D300"
	s, err := pgstore.New(pgstore.Options{URL: url, Schema: schema, Namespace: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unlock()
	it := statetest.SampleItem("main", "linux", 1)
	entry := state.JournalEntry{Op: provider.Create, ItemID: it.Item.ItemID, Item: &it}
	if _, err := w.JournalBegin(entry); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	blocker, err := pgx.Connect(ctx, cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close(ctx)
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("LOCK TABLE %s.journal IN ACCESS EXCLUSIVE MODE", schema)); err != nil {
		t.Fatal(err)
	}
	_, err = w.JournalBegin(entry)
	if err == nil || !strings.Contains(err.Error(), "statement timeout") || !strings.Contains(err.Error(), "database postgres") {
		t.Errorf("JournalBegin while the journal is locked = %v, want a statement timeout naming the database", err)
	}
	if errors.Is(err, pgstore.ErrConnection) || strings.Contains(err.Error(), "statement_timeout%3D") {
		t.Errorf("statement timeout reported as a lost connection, or with the URL: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Still the holder: another writer cannot take the lock, and writes work.
	if _, err := newStore(t, schema, "prod").Lock(ctx, state.LockOptions{Command: "apply"}); err == nil {
		t.Error("the lock was lost after a statement timeout")
	}
	if _, err := w.JournalBegin(entry); err != nil {
		t.Errorf("JournalBegin after the obstacle went: %v", err)
	}
	if p, err := s.PendingJournal(); err != nil || len(p) != 2 {
		t.Errorf("pending = %d entries, %v; want 2", len(p), err)
	}
}
