package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// Hook receives progress events. Implementations must be safe for
// concurrent use and must not block for long.
type Hook interface {
	// PreApply is called before a write is sent.
	PreApply(blocklist string, c plan.ItemChange)
	// PostApply is called after it finished; err is nil on success.
	PostApply(blocklist string, c plan.ItemChange, err error)
}

// NopHook ignores every event.
type NopHook struct{}

// PreApply implements Hook.
func (NopHook) PreApply(string, plan.ItemChange) {}

// PostApply implements Hook.
func (NopHook) PostApply(string, plan.ItemChange, error) {}

// Options are the inputs of Apply.
type Options struct {
	Plan *plan.Plan
	// Kibanas maps each kibana name of the plan to a writable Target.
	Kibanas map[string]provider.Target
	// Live maps each kibana name of the plan to the owned items read from
	// it in this run (for a saved plan: the read that Verify checked; for a
	// plan made in this process: the read it was made from, LiveFromPlan).
	// Apply writes nothing a change of which names an item outside it or
	// the plan's own creates (CheckOwnership).
	Live map[string]plan.LiveSet
	// State is the write handle (the caller holds the lock).
	State state.Writer
	// Parallelism bounds concurrent Kibana writes (default 4).
	Parallelism int
	Hook        Hook
	// Command is recorded in the audit history ("apply" or "destroy").
	Command string
	Who     string
	Now     func() time.Time
}

// Result says what Apply did.
type Result struct {
	Added, Changed, Destroyed  int
	HashesAdded, HashesRemoved int
	// Blocked is the number of hash values in the applied blocklists after
	// the run, if it completed.
	Blocked int
	// Writes counts the item writes that reached Kibana successfully.
	Writes int
	// Abandoned counts the writes given up because of an interrupt while
	// they waited to be retried: whether an earlier attempt landed is not
	// known, so their journal entries stay for the next run to reconcile.
	Abandoned int
	// Errors are the failed writes (and other failures), in order.
	Errors      []error
	Interrupted bool
	Outcome     state.Outcome
}

type op struct {
	blocklist string
	kibana    string
	change    plan.ItemChange
}

// Apply executes p. It returns an error only when it could not even start or
// could not record the outcome; failed writes are in Result.Errors with the
// outcome partial or error. When ctx is cancelled, Apply stops scheduling
// writes, lets in-flight writes finish, records what happened and returns
// with Interrupted set.
func Apply(ctx context.Context, opts Options) (*Result, error) {
	p := opts.Plan
	if opts.Hook == nil {
		opts.Hook = NopHook{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	par := opts.Parallelism
	if par <= 0 {
		par = 4
	}
	res := &Result{}
	// Writes must finish once sent, even if the user presses Ctrl-C; waits
	// to retry them end with ctx (the request on the wire is not cancelled,
	// the next attempt is not made).
	sendCtx := provider.WithRetryWait(context.WithoutCancel(ctx), ctx)

	for _, k := range p.Kibanas {
		if opts.Kibanas[k.Name] == nil {
			return nil, fmt.Errorf("no client for kibana %q", k.Name)
		}
		if _, ok := opts.Live[k.Name]; !ok {
			return nil, fmt.Errorf("kibana %q was not read in this run; refusing to apply", k.Name)
		}
	}
	if reasons := CheckOwnership(p, p.Namespace, opts.Live); len(reasons) > 0 {
		return nil, &OwnershipError{Reasons: reasons}
	}
	// An update read from a plan file carries its values as a change of
	// the live item until Verify rebuilt them (plan.Resolve): never send
	// its body without them.
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			if c.Unresolved() {
				return nil, &OwnershipError{Reasons: []string{fmt.Sprintf("update %s: the item's values were not rebuilt from the item read in this run (plan.Resolve)", c.ItemID)}}
			}
		}
	}
	live := map[string]liveIndex{}
	for name, ls := range opts.Live {
		live[name] = indexLive(ls)
	}

	for _, k := range p.Kibanas {
		t := opts.Kibanas[k.Name]
		if k.CreateContainer {
			if err := t.EnsureContainer(sendCtx); err != nil {
				res.Errors = append(res.Errors, fmt.Errorf("kibana %q: create the endpoint_blocklists list: %w", k.Name, err))
				return finish(opts, res, false, nil, nil)
			}
		}
	}

	// Writes that add hashes first, then updates that only drop values,
	// deletes last: a hash moving between items is never unblocked in
	// between. Among the writes that add hashes, one whose item gives
	// hashes to another item waits for that item's write (moveWaves).
	var adds, drops, deletes []op
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			o := op{blocklist: bp.Name, kibana: bp.Kibana, change: c}
			switch {
			case c.Action == provider.Delete:
				deletes = append(deletes, o)
			case c.Action == provider.Create || len(c.Added)+len(c.MovedIn) > 0:
				adds = append(adds, o)
			default:
				drops = append(drops, o)
			}
		}
	}
	failed := map[string]bool{}              // blocklists with a failed or skipped write
	landed := map[string][]plan.ItemChange{} // changes Kibana took, by blocklist
	var mu sync.Mutex
	for _, batch := range append(moveWaves(adds), drops, deletes) {
		skip := func(o op) {
			mu.Lock()
			failed[o.blocklist] = true
			mu.Unlock()
		}
		stop := runBatch(ctx, sendCtx, opts, live, batch, par, skip, func(o op, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors = append(res.Errors, err)
				failed[o.blocklist] = true
				if ctx.Err() != nil && errors.Is(err, context.Canceled) {
					res.Abandoned++
				}
				if !errors.Is(err, errUnrecorded) {
					return
				}
				// Kibana took the write; only recording it failed: it counts.
			}
			landed[o.blocklist] = append(landed[o.blocklist], o.change)
			res.Writes++
			switch o.change.Action {
			case provider.Create:
				res.Added++
			case provider.Update:
				res.Changed++
			case provider.Delete:
				res.Destroyed++
			}
			res.HashesAdded += len(o.change.Added)
			res.HashesRemoved += len(o.change.Removed)
		})
		if stop {
			break
		}
	}
	if ctx.Err() != nil {
		res.Interrupted = true
	}
	complete := len(res.Errors) == 0 && !res.Interrupted
	if complete {
		res.Blocked = p.Summary.BlockedAfter
	}
	return finish(opts, res, complete, failed, landed)
}

// runBatch runs ops with at most par in flight. It stops scheduling after
// the first failure or when ctx is cancelled (calling skip for every op not
// started), and reports whether it stopped early.
func runBatch(ctx, sendCtx context.Context, opts Options, live map[string]liveIndex, ops []op, par int, skip func(op), done func(op, error)) bool {
	var (
		wg      sync.WaitGroup
		sem     = make(chan struct{}, par)
		stopMu  sync.Mutex
		stopped bool
	)
	isStopped := func() bool { stopMu.Lock(); defer stopMu.Unlock(); return stopped }
	stop := func(rest []op) {
		stopMu.Lock()
		stopped = true
		stopMu.Unlock()
		for _, o := range rest {
			skip(o)
		}
	}
	for i, o := range ops {
		acquired := false
		if ctx.Err() == nil && !isStopped() {
			select {
			case sem <- struct{}{}:
				acquired = true
			case <-ctx.Done():
			}
		}
		if !acquired || ctx.Err() != nil || isStopped() {
			if acquired {
				<-sem
			}
			stop(ops[i:])
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := write(sendCtx, opts, live[o.kibana], o)
			if err != nil {
				stopMu.Lock()
				stopped = true
				stopMu.Unlock()
			}
			done(o, err)
		}()
	}
	wg.Wait()
	return isStopped()
}

// write sends one change, journaled.
func write(ctx context.Context, opts Options, live liveIndex, o op) error {
	p, c := opts.Plan, o.change
	// Ownership guard: whatever the plan says, only owned items of this
	// namespace and blocklist, as read from Kibana in this run, are ever
	// written (see guard.go). CheckOwnership checked the whole plan first;
	// this re-check keeps the guard next to the write.
	if !strings.HasPrefix(c.ItemID, pack.BlocklistPrefix(p.Namespace, o.blocklist)) {
		return fmt.Errorf("refusing to write %s: it is not owned by blocklist %q of namespace %q", c.ItemID, o.blocklist, p.Namespace)
	}
	if r := checkChange(p.Namespace, o.blocklist, c, live); r != "" {
		return fmt.Errorf("refusing to write: %s", r)
	}
	t := opts.Kibanas[o.kibana]
	entry := state.JournalEntry{
		ItemID:        c.ItemID,
		ID:            c.ID,
		ExpectVersion: c.ExpectVersion,
		PlanDigest:    p.Digest,
		Time:          opts.Now().UTC(),
		Item:          &state.Item{Blocklist: o.blocklist, OS: c.OS, HashType: c.HashType},
	}
	if c.After != nil {
		entry.Item.Item = *c.After
	} else {
		entry.Item.Item = provider.Item{ID: c.ID, ItemID: c.ItemID, Version: c.ExpectVersion}
	}
	switch c.Action {
	case provider.Create:
		entry.Op = provider.Create
	case provider.Update:
		entry.Op = provider.Update
	case provider.Delete:
		entry.Op = provider.Delete
	default:
		return fmt.Errorf("item %s: unknown action %s", c.ItemID, c.Action)
	}
	seq, err := opts.State.JournalBegin(entry)
	if err != nil {
		return fmt.Errorf("journal %s before writing it: %w", c.ItemID, err)
	}
	opts.Hook.PreApply(o.blocklist, c)
	var result provider.Item
	switch c.Action {
	case provider.Create:
		result, err = t.Create(ctx, *c.After)
	case provider.Update:
		result, err = t.Update(ctx, *c.After)
	case provider.Delete:
		err = t.Delete(ctx, c.ID, c.ExpectVersion)
		if errors.Is(err, provider.ErrNotFound) {
			// Gone already, which is all a delete asks: an interrupted
			// run's delete of the same item may land after this run read it.
			err = nil
		}
		result = entry.Item.Item
	}
	if err != nil {
		err = fmt.Errorf("%s %s: %w", c.Action, c.ItemID, err)
		if definitelyNotWritten(err) {
			if cerr := opts.State.JournalClear(seq); cerr != nil {
				err = errors.Join(err, fmt.Errorf("journal: %w", cerr))
			}
		}
		opts.Hook.PostApply(o.blocklist, c, err)
		return err
	}
	if err := opts.State.JournalDone(seq, result); err != nil {
		err = fmt.Errorf("%s %s succeeded in Kibana but could not be recorded (the next run reconciles it): %w", c.Action, c.ItemID, unrecordedError{err})
		opts.Hook.PostApply(o.blocklist, c, err)
		return err
	}
	opts.Hook.PostApply(o.blocklist, c, nil)
	return nil
}

// errUnrecorded marks a write Kibana accepted but the state store could not
// record (JournalDone failed, such as on a lost database connection): it is
// counted as made, and its journal entry stays for the next run.
var errUnrecorded = errors.New("write not recorded")

// unrecordedError wraps the store's error and matches errUnrecorded.
type unrecordedError struct{ err error }

func (e unrecordedError) Error() string        { return e.err.Error() }
func (e unrecordedError) Unwrap() error        { return e.err }
func (e unrecordedError) Is(target error) bool { return target == errUnrecorded }

// definitelyNotWritten reports whether Kibana certainly refused the write
// (so its journal entry can go); other failures stay pending for Reconcile.
func definitelyNotWritten(err error) bool {
	return errors.Is(err, provider.ErrConflict) || errors.Is(err, provider.ErrForbidden) ||
		errors.Is(err, provider.ErrUnauthorized) || errors.Is(err, provider.ErrReadOnly) ||
		errors.Is(err, provider.ErrNotFound)
}

// provenancePatch is what applying bp changes in its recorded provenance:
// hashes it removes (or found removed outside lumuctl) are forgotten, then
// the provenance the plan carries is recorded; every other kept hash keeps
// the incidents recorded before.
func provenancePatch(bp plan.BlocklistPlan) state.ProvenancePatch {
	var pp state.ProvenancePatch
	for _, c := range bp.Changes {
		pp.Drop = append(pp.Drop, c.Removed...)
	}
	for _, d := range bp.Drift {
		pp.Drop = append(pp.Drop, d.Removed...)
	}
	// Values removed from Kibana need not be hashes (typed by hand): only
	// valid ones can have provenance.
	pp.Drop = slices.DeleteFunc(pp.Drop, func(h string) bool { _, err := state.HashBytes(h); return err != nil })
	pp.Set = make(state.HashIncidents, len(bp.Provenance.Hashes))
	for h := range bp.Provenance.Hashes {
		pp.Set[h] = bp.Provenance.Lookup(h)
	}
	return pp
}

// landedPatch is the provenance patch of a blocklist whose writes did not
// all land: the hashes the landed changes removed and the plan no longer
// wants are forgotten (they are unblocked now, and no later plan sees them
// to remove again), the hashes they added are recorded. The rest stays as
// recorded; the next plan compares it again.
func landedPatch(bp plan.BlocklistPlan, changes []plan.ItemChange) state.ProvenancePatch {
	var pp state.ProvenancePatch
	pp.Set = state.HashIncidents{}
	done := map[string]bool{}
	for _, c := range changes {
		done[c.ItemID] = true
	}
	// An item whose change did not land still holds what it was to remove.
	held := map[string]bool{}
	for _, c := range bp.Changes {
		if !done[c.ItemID] {
			for _, h := range c.Removed {
				held[h] = true
			}
		}
	}
	for _, c := range changes {
		for _, h := range c.Removed {
			if _, wanted := bp.Provenance.Hashes[h]; !wanted && !held[h] {
				pp.Drop = append(pp.Drop, h)
			}
		}
		for _, l := range [][]string{c.Added, c.MovedIn} {
			for _, h := range l {
				if _, ok := bp.Provenance.Hashes[h]; ok {
					pp.Set[h] = bp.Provenance.Lookup(h)
				}
			}
		}
	}
	pp.Drop = slices.DeleteFunc(pp.Drop, func(h string) bool { _, err := state.HashBytes(h); return err != nil })
	return pp
}

// finish records the outcome: provenance of fully applied blocklists (and,
// for the others, of the changes that landed), the applied digest (complete
// runs only), the audit history; done journal entries are cleared. failed
// names the blocklists with a failed or skipped write; nil means the run
// stopped before any (no provenance is recorded unless it completed).
// landed are the changes Kibana took, by blocklist.
func finish(opts Options, res *Result, complete bool, failed map[string]bool, landed map[string][]plan.ItemChange) (*Result, error) {
	p := opts.Plan
	switch {
	case complete:
		res.Outcome = state.OutcomeSuccess
	case res.Interrupted:
		res.Outcome = state.OutcomeInterrupted
	case res.Writes > 0:
		res.Outcome = state.OutcomePartial
	default:
		res.Outcome = state.OutcomeError
	}
	commit := state.Commit{ClearDone: true, Provenance: map[string]state.HashIncidents{},
		PatchProvenance: map[string]state.ProvenancePatch{}, Namespace: p.Namespace}
	for _, bp := range p.Blocklists {
		if failed[bp.Name] || (!complete && failed == nil) {
			// Destroys and orphans too: their plans want no hash, so
			// every hash a landed delete removed is forgotten.
			if len(landed[bp.Name]) > 0 {
				commit.PatchProvenance[bp.Name] = landedPatch(bp, landed[bp.Name])
			}
			continue
		}
		if p.Mode == plan.ModeDestroy || bp.Orphan {
			commit.Provenance[bp.Name] = nil
			continue
		}
		commit.PatchProvenance[bp.Name] = provenancePatch(bp)
	}
	if complete {
		commit.AppliedDigest = p.Digest
	}
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Error())
	}
	if res.Interrupted {
		msgs = append(msgs, "interrupted")
	}
	command := opts.Command
	if command == "" {
		command = "apply"
	}
	commit.History = &state.HistoryEntry{
		Time:       opts.Now().UTC(),
		Who:        opts.Who,
		Command:    command,
		PlanDigest: p.Digest,
		Counts: state.Counts{ItemsAdded: res.Added, ItemsChanged: res.Changed, ItemsDestroyed: res.Destroyed,
			HashesAdded: res.HashesAdded, HashesRemoved: res.HashesRemoved},
		Outcome: res.Outcome,
		Message: strings.Join(msgs, "; "),
	}
	if _, err := opts.State.Commit(commit); err != nil {
		return res, fmt.Errorf("record the apply in the state file: %w", err)
	}
	return res, nil
}
