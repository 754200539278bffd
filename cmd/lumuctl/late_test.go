package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
)

// TestCrashLateLandingWrite: an apply is SIGKILLed while its first write
// is in flight, and that write lands at Kibana 3 s later (the stand-in keeps
// handling it after the client is gone, as a real server does). The next
// apply does not wait for it: it reconciles the journal entry at once (the
// item is not there yet) by sending the create again, and that create
// reaches Kibana before the killed one lands. Delayed itself, it is
// answered 409 (the killed run's identical item landed meanwhile), and the
// client recognises the live item as exactly what it sends: success, no
// duplicate, and the run converges in one go (SPEC section 8).
func TestCrashLateLandingWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and waits for a 3 s late write; skipped with -short")
	}
	const land = 3 * time.Second // < the sandbox configuration's Kibana timeout (5s)
	e := newE2E(t, buildLumuctl(t))
	k := e.sb.Kibana
	if err := k.AddFault(kibanasim.Fault{Kind: kibanasim.KindCreateItem, DelayMS: int(land / time.Millisecond), LandLate: true}); err != nil {
		t.Fatal(err)
	}
	cmd, stdout, stderr := e.command("apply", "--auto-approve", "--parallelism", "1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for k.Counters()[kibanasim.KindCreateItem] == 0 {
		select {
		case err := <-exited:
			t.Fatalf("apply exited before its first write: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		case <-time.After(2 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	if n, err := e.pendingJournal(); err != nil || n != 1 {
		t.Fatalf("after the kill: %d pending journal entries (%v), want the one in-flight create", n, err)
	}
	// The next run's first create is held 4 s at Kibana, so it is handled
	// after the killed one landed, whenever this run starts.
	if err := k.AddFault(kibanasim.Fault{Kind: kibanasim.KindCreateItem, DelayMS: int((land + time.Second) / time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	out, _ := e.mustRun(0, "apply", "--auto-approve", "--parallelism", "1")
	if !strings.Contains(out, "Reconciled 1 unfinished write(s) of an earlier run with Kibana (0 had landed, 1 sent again).") {
		t.Errorf("the next apply did not reconcile the in-flight create at once:\n%s", out)
	}
	if strings.Contains(out, "waiting") {
		t.Errorf("the next apply waited:\n%s", out)
	}

	var late, next *kibanasim.LogEntry
	conflicts := 0
	log := k.Log()
	for i := range log {
		le := &log[i]
		if le.Kind != kibanasim.KindCreateItem {
			continue
		}
		switch {
		case strings.Contains(le.Fault, "landed late"):
			late = le
		case next == nil && late != nil || next == nil && le.Status == 409:
			next = le
		}
		if le.Status == 409 {
			conflicts++
		}
	}
	switch {
	case late == nil || late.Status != 200:
		t.Fatalf("the killed run's create did not land late: %+v", late)
	case next == nil || next.Status != 409:
		t.Fatalf("the next run's first create was not answered 409: %+v", next)
	case conflicts != 1:
		t.Errorf("%d creates answered 409, want 1", conflicts)
	}
	// The killed write landed only after the next run's create arrived:
	// the next run did not wait for it.
	if landed := late.Time.Add(land); !next.Time.Before(landed) {
		t.Errorf("the next run's first create arrived at %s, after the late write landed at %s: it waited", next.Time.Format(time.StampMilli), landed.Format(time.StampMilli))
	}
	if err := e.checkConverged(100); err != nil {
		t.Fatal(err)
	}
}
