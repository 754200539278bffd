package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// ReconcileOptions tune Reconcile.
type ReconcileOptions struct {
	// Settle is how old an entry must be before it is checked (the
	// Kibana request timeout); 0 checks at once.
	Settle time.Duration
	Now    func() time.Time
	// Sleep waits; nil means a timer that stops when ctx is done.
	Sleep func(ctx context.Context, d time.Duration) error
	// Waiting, if set, is told before Reconcile waits.
	Waiting func(d time.Duration)
}

// Reconciled reports what Reconcile decided for one journal entry.
type Reconciled struct {
	Entry state.JournalEntry
	// Landed is true when the write reached Kibana (the state now records
	// the live item), false when it did not (the entry was dropped).
	Landed bool
	// Note explains entries that could not be checked.
	Note string
}

// Reconcile settles journal entries a previous run left unfinished (it
// crashed or was killed between sending a write and recording it). For each
// entry it reads the item from Kibana: if the write landed, the state
// records the live item; if not, the entry is dropped. The next plan then
// starts from an accurate state. targetFor returns the Target of a
// blocklist (nil if the blocklist is no longer configured: such entries are
// dropped with a note, since planning reads Kibana anyway).
//
// A write sent just before a crash may still be travelling or being
// processed when the next run starts; reading the item too early would
// wrongly conclude it never landed. So an entry younger than opts.Settle
// (the Kibana request timeout) is checked only once it is that old.
func Reconcile(ctx context.Context, w state.Writer, pending []state.JournalEntry, targetFor func(blocklist string) provider.Target, opts ReconcileOptions) ([]Reconciled, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = provider.Sleep
	}
	var newest time.Time
	for _, e := range pending {
		if e.Time.After(newest) {
			newest = e.Time
		}
	}
	// Never wait longer than Settle: an entry dated in the future (a clock
	// set back since it was written) would otherwise hold the lock for
	// hours.
	if wait := min(newest.Add(opts.Settle).Sub(opts.Now()), opts.Settle); len(pending) > 0 && wait > 0 {
		if opts.Waiting != nil {
			opts.Waiting(wait)
		}
		if err := opts.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	var out []Reconciled
	for _, e := range pending {
		r := Reconciled{Entry: e}
		var t provider.Target
		if e.Item != nil {
			t = targetFor(e.Item.Blocklist)
		}
		if t == nil {
			r.Note = "its blocklist is no longer configured; the entry is dropped"
			if err := w.JournalClear(e.Seq); err != nil {
				return out, err
			}
			out = append(out, r)
			continue
		}
		landed, live, err := check(ctx, t, e)
		if err != nil {
			return out, fmt.Errorf("reconcile journal entry %d (%s %s): %w", e.Seq, e.Op, e.ItemID, err)
		}
		r.Landed = landed
		if landed {
			err = w.JournalDone(e.Seq, live)
		} else {
			err = w.JournalClear(e.Seq)
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// check decides whether the write of e reached Kibana.
func check(ctx context.Context, t provider.Target, e state.JournalEntry) (bool, provider.Item, error) {
	switch e.Op {
	case provider.Create:
		it, err := t.GetByItemID(ctx, e.ItemID)
		if errors.Is(err, provider.ErrNotFound) {
			return false, provider.Item{}, nil
		}
		return err == nil, it, err
	case provider.Update:
		it, err := t.Get(ctx, e.ID)
		if errors.Is(err, provider.ErrNotFound) {
			return false, provider.Item{}, nil
		}
		if err != nil {
			return false, provider.Item{}, err
		}
		// Unchanged _version: the update never landed. Changed: it did
		// (or someone else changed the item; the next plan sees that).
		return it.Version != e.ExpectVersion, it, nil
	case provider.Delete:
		it, err := t.Get(ctx, e.ID)
		if errors.Is(err, provider.ErrNotFound) {
			return true, provider.Item{ID: e.ID, ItemID: e.ItemID}, nil
		}
		if err != nil {
			return false, provider.Item{}, err
		}
		_ = it
		return false, provider.Item{}, nil
	}
	return false, provider.Item{}, fmt.Errorf("unknown journal operation %q", e.Op)
}
