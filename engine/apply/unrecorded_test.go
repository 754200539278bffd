package apply

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// lostStore is a state writer whose session is lost after JournalBegin: the
// Kibana write is sent, but nothing after it can be recorded (as with a
// PostgreSQL connection cut mid-apply).
type lostStore struct {
	state.Writer
}

var errLost = errors.New("conn closed")

func (l lostStore) JournalDone(uint64, provider.Item) error { return errLost }
func (l lostStore) JournalClear(...uint64) error            { return errLost }
func (l lostStore) Commit(state.Commit) (uint64, error)     { return 0, errLost }

// A write Kibana accepted but the store could not record counts as made
// (so the CLI exits 3, not 1 "nothing changed"), and its journal entry
// stays for the next run to reconcile.
func TestUnrecordedWriteCounts(t *testing.T) {
	h := newHarness(t)
	h.src.Set("mal", provider.SHA256, hashes("a", 50)...)
	p := h.plan(t, false)
	w, err := h.store.Lock(context.Background(), state.LockOptions{Command: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Unlock()
	res, err := Apply(context.Background(), Options{Plan: p, Kibanas: map[string]provider.Target{"prod": h.target}, Live: LiveFromPlan(p),
		State: lostStore{w}, Parallelism: 1, Who: "tester@host", Now: func() time.Time { return now }})
	if err == nil || !errors.Is(err, errLost) {
		t.Fatalf("Apply error = %v, want the failed record", err)
	}
	sent := h.target.TotalWrites()
	if sent == 0 || res.Writes != sent || res.Added != sent {
		t.Errorf("Kibana took %d writes; result counts %d writes, %d added", sent, res.Writes, res.Added)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "succeeded in Kibana but could not be recorded") || !errors.Is(res.Errors[0], errLost) {
		t.Errorf("errors = %v", res.Errors)
	}
	if pending, err := h.store.PendingJournal(); err != nil || len(pending) != sent {
		t.Errorf("pending journal = %d entries, %v; want %d for the next run to reconcile", len(pending), err, sent)
	}
}
