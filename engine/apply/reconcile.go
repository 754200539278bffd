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
	// Landed is true when the write is in Kibana now (the state records
	// the live item), false when it is not and cannot land any more (the
	// entry was dropped).
	Landed bool
	// Resent is true when the write had not landed when it was checked and
	// Reconcile sent it again (Landed is then true: this copy landed, or
	// the earlier one landed just before it and was recognised).
	Resent bool
	// Note explains entries that were dropped without landing.
	Note string
}

// Reconcile settles journal entries a previous run left unfinished (it
// crashed or was killed between sending a write and recording it, or gave
// up on it without knowing whether it landed). For each entry it reads the
// item from Kibana: if the write landed, the state records the live item.
// If it has not landed, Reconcile sends it again, exactly as journaled,
// and records what Kibana returns: the killed run's request may still be
// on its way or queued at Kibana, and would land later, after the next
// plan read Kibana. Sent again, it is settled now whichever copy arrives
// first, and the other is refused by Kibana's own guards: a create's
// item_id exists (409), an update's _version moved on (409), a deleted
// item is gone (404). So when Reconcile returns, no write of an earlier
// run can change Kibana any more, and the next plan starts from what
// Kibana will hold. An entry whose write Kibana now refuses for good (the
// item changed or was deleted by someone else, its item_id is held by
// another item) is dropped with a note: its earlier copy is refused the
// same way. A write that cannot be sent (Kibana unreachable) is an error,
// and its entry stays for the next run.
//
// targetFor returns the Target of a blocklist (nil if the blocklist is no
// longer configured: such entries are dropped with a note, since planning
// reads Kibana anyway).
//
// With opts.Settle, an entry younger than it is checked only once it is
// that old (the old way to let a late write land before reading Kibana;
// apply no longer uses it).
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
	// A write sent again finishes once sent, like apply's; an interrupt
	// ends only the waits to retry it (the entry then stays).
	sendCtx := provider.WithRetryWait(context.WithoutCancel(ctx), ctx)
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
		if err := ctx.Err(); err != nil {
			return out, err
		}
		live, err := settle(ctx, sendCtx, t, e, &r)
		if err != nil {
			return out, fmt.Errorf("reconcile journal entry %d (%s %s): %w", e.Seq, e.Op, e.ItemID, err)
		}
		if r.Landed {
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

// settle decides e's write: landed already, sent again now (r.Resent), or
// refused for good (r.Note). It returns the live item to record when
// r.Landed. Reads use ctx, the write sent again sendCtx.
func settle(ctx, sendCtx context.Context, t provider.Target, e state.JournalEntry, r *Reconciled) (provider.Item, error) {
	switch e.Op {
	case provider.Create:
		it, err := t.GetByItemID(ctx, e.ItemID)
		if err == nil {
			r.Landed = true
			return it, nil
		}
		if !errors.Is(err, provider.ErrNotFound) {
			return provider.Item{}, err
		}
		if e.Item.Item.ItemID != e.ItemID {
			r.Note = fmt.Sprintf("its body names item_id %q; it is not sent again", e.Item.Item.ItemID)
			return provider.Item{}, nil
		}
		return resent(r, func() (provider.Item, error) { return t.Create(sendCtx, e.Item.Item) })
	case provider.Update, provider.Delete:
		it, err := t.Get(ctx, e.ID)
		switch {
		case errors.Is(err, provider.ErrNotFound) && e.Op == provider.Delete:
			r.Landed = true
			return provider.Item{ID: e.ID, ItemID: e.ItemID}, nil
		case errors.Is(err, provider.ErrNotFound):
			// Deleted by someone else: the update can never land.
			r.Note = "the item is gone from Kibana; the update is dropped"
			return provider.Item{}, nil
		case err != nil:
			return provider.Item{}, err
		case it.ItemID != e.ItemID:
			// Never write an item the journal does not name.
			r.Note = fmt.Sprintf("Kibana's item %s has item_id %q; it is not written", e.ID, it.ItemID)
			return provider.Item{}, nil
		case it.Version != e.ExpectVersion && e.Op == provider.Update:
			// The update landed (or someone else changed the item; the
			// next plan sees that).
			r.Landed = true
			return it, nil
		case it.Version != e.ExpectVersion:
			// Changed by someone else since the earlier run read it: it is
			// not deleted.
			r.Note = fmt.Sprintf("the item changed in Kibana (_version %s, the delete expected %s); it is not deleted", it.Version, e.ExpectVersion)
			return provider.Item{}, nil
		}
		if e.Op == provider.Delete {
			return resent(r, func() (provider.Item, error) {
				err := t.Delete(sendCtx, e.ID, e.ExpectVersion)
				if errors.Is(err, provider.ErrNotFound) {
					err = nil // the earlier copy landed just before
				}
				return provider.Item{ID: e.ID, ItemID: e.ItemID}, err
			})
		}
		body := e.Item.Item
		if body.ItemID != e.ItemID {
			r.Note = fmt.Sprintf("its body names item_id %q; it is not sent again", body.ItemID)
			return provider.Item{}, nil
		}
		body.ID, body.Version = e.ID, e.ExpectVersion
		return resent(r, func() (provider.Item, error) { return t.Update(sendCtx, body) })
	}
	return provider.Item{}, fmt.Errorf("unknown journal operation %q", e.Op)
}

// resent sends a write again and records the outcome in r: landed, or
// refused for good (dropped with a note): a conflict (the item_id is held
// by an item with other content, the item changed) or a missing item or
// list, which refuse the earlier copy too. Any other failure (Kibana
// unreachable, a key without the privilege) is returned and the entry
// stays for the next run.
func resent(r *Reconciled, send func() (provider.Item, error)) (provider.Item, error) {
	it, err := send()
	switch {
	case err == nil:
		r.Landed, r.Resent = true, true
		return it, nil
	case errors.Is(err, provider.ErrConflict) || errors.Is(err, provider.ErrNotFound):
		r.Note = fmt.Sprintf("sent again, Kibana refused it (%v); the entry is dropped", err)
		return provider.Item{}, nil
	}
	return provider.Item{}, fmt.Errorf("send it again: %w", err)
}
