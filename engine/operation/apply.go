package operation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/apply"
	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// Apply runs apply or destroy: decode the saved plan (op.PlanFile, refused
// before anything else), load the configuration, take the state lock,
// back the state up, reconcile the journal an earlier run left, then
// verify the saved plan against what Kibana and the state hold now, or
// make a plan and confirm it (op.Confirm), apply it (each write journaled,
// the outcome committed) and bring the state's owned items in line with
// Kibana. The lock is released before it returns.
func Apply(ctx context.Context, op *Operation) (*Result, error) {
	r := &Result{Command: "apply"}
	if op.Mode == plan.ModeDestroy {
		r.Command = "destroy"
	}
	h := op.hook()
	var saved *plan.Plan
	if op.PlanFile != "" {
		p, err := op.decode()
		if err != nil {
			return r, err
		}
		saved = p
	}
	cfg, store, diags := op.Load()
	r.Diags = diags
	if diags.HasErrors() {
		return r, reportFailed(h, nil, diags)
	}
	if d := op.checkTargets(ctx, cfg, store); d.HasErrors() {
		r.Diags = append(r.Diags, d...)
		return r, reportFailed(h, nil, r.Diags)
	}
	w, err := store.Lock(ctx, state.LockOptions{Command: r.Command, Timeout: op.LockTimeout})
	if err != nil {
		return r, interrupted(ctx, r.Command, "while waiting for the state lock", stateErr(err))
	}
	defer w.Unlock()
	if err := w.Backup(); err != nil {
		return r, err
	}
	writable, d := op.targets(cfg, false)
	defer closeIdle(writable)
	diags = append(diags, d...)
	r.Diags = diags
	if d.HasErrors() {
		return r, reportFailed(h, nil, diags)
	}
	if err := op.reconcile(ctx, cfg, store, w, writable); err != nil {
		return r, interrupted(ctx, r.Command, "while reconciling the journal", err)
	}

	var p *plan.Plan
	var live map[string]plan.LiveSet
	if saved != nil {
		if err := h.Planned(nil, diags); err != nil {
			return r, err
		}
		live, err = op.verify(ctx, cfg, store, writable, saved)
		if err != nil {
			return r, interrupted(ctx, r.Command, "while checking the saved plan", err)
		}
		p, r.Plan, r.Saved = saved, saved, true
		if err := h.Planned(p, nil); err != nil {
			return r, err
		}
	} else {
		// Plan through read-only clients, as plan does: the Kibana client
		// keeps no state, so the writes need nothing the plan's reads saw.
		made, d, err := op.makePlan(ctx, r, cfg, store)
		if err != nil {
			return r, interrupted(ctx, r.Command, "while planning", err)
		}
		r.Diags = append(r.Diags, d...)
		if ctx.Err() != nil {
			return r, fail(Interrupted, fmt.Errorf("%s interrupted while planning; nothing was written", r.Command))
		}
		r.Plan = made
		if err := h.Planned(made, r.Diags); err != nil {
			return r, err
		}
		if err := planStop(made, r.Diags); err != nil {
			return r, err
		}
		p = made
		live = apply.LiveFromPlan(p) // made just now, from this run's read
	}
	if !p.HasChanges() {
		op.syncOwned(ctx, cfg, store, w, p, live, writable)
		return r, nil
	}
	if p.Mode == plan.ModeDestroy {
		r.Command = "destroy" // a saved destroy plan (plan --destroy --out)
	}
	if saved == nil && op.Confirm != nil {
		if err := op.Confirm(r.Command); err != nil {
			return r, err
		}
	}

	h.ApplyStart(countWrites(p))
	res, err := apply.Apply(ctx, apply.Options{
		Plan:        p,
		Kibanas:     writable,
		Live:        live,
		State:       w,
		Parallelism: op.Parallelism,
		Hook:        h,
		Command:     r.Command,
		Who:         op.Who,
		Now:         op.Now,
	})
	h.ApplyEnd()
	var oe *apply.OwnershipError
	if errors.As(err, &oe) {
		return r, fail(Refused, err)
	}
	if err != nil {
		return r, recordError(res, r.Command, err)
	}
	r.Apply = res
	if res.Outcome == state.OutcomeSuccess {
		op.syncOwned(ctx, cfg, store, w, p, live, writable)
	}
	return r, outcomeError(res, r.Command)
}

// checkTargets refuses, before anything is locked, a --target that names
// no configured blocklist and no blocklist the state or Kibana holds owned
// items of (plan.CheckTargets; Kibana is read only in that case).
func (op *Operation) checkTargets(ctx context.Context, cfg *config.Config, store state.Store) hcl.Diagnostics {
	unconfigured := false
	for _, t := range op.Targets {
		if _, ok := cfg.Blocklists[t]; !ok {
			unconfigured = true
		}
	}
	if !unconfigured {
		return nil
	}
	st, err := store.Snapshot()
	if err != nil {
		return nil // the plan reports it, after the lock
	}
	ro, d := op.targets(cfg, true)
	defer closeIdle(ro)
	if d.HasErrors() {
		return d
	}
	var readErr error // the plan reads the state again and reports it
	return plan.CheckTargets(ctx, cfg, op.Targets, prior(store, st, &readErr), ro)
}

// countWrites is the number of item writes in p.
func countWrites(p *plan.Plan) int {
	n := 0
	for _, bp := range p.Blocklists {
		n += len(bp.Changes)
	}
	return n
}

// decode reads and checks the saved plan op.PlanFile: a file that is not a
// plan, or whose signature op.PlanKey refuses, is Refused.
func (op *Operation) decode() (*plan.Plan, error) {
	fh, err := os.Open(op.PlanFile)
	if err != nil {
		return nil, err
	}
	p, err := plan.Decode(fh)
	fh.Close()
	if err != nil {
		if plan.IsDecodeError(err) {
			return nil, fail(Refused, fmt.Errorf("%s: %w", op.PlanFile, err))
		}
		return nil, err
	}
	if err := op.checkSignature(p); err != nil {
		return nil, err
	}
	return p, nil
}

// checkSignature enforces op.PlanKey on a saved plan: when the key is set,
// a plan without a valid signature is Refused; when it is not, a signed
// plan is applied with a notice that nothing checked it.
func (op *Operation) checkSignature(p *plan.Plan) error {
	file := op.PlanFile
	if op.PlanKey == "" {
		if p.Signature != "" {
			op.hook().Notice(fmt.Sprintf("%s is signed, but %s is not set: the signature was not checked.", file, PlanKeyEnv))
		}
		return nil
	}
	err := plan.VerifySignature(p, op.PlanKey)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, plan.ErrUnsigned):
		return fail(Refused, fmt.Errorf("%s: %w, and %s is set: only plans signed with that key are applied; nothing was changed", file, err, PlanKeyEnv))
	case errors.Is(err, plan.ErrBadSignature):
		return fail(Refused, fmt.Errorf("%s: %w; nothing was changed", file, err))
	}
	return fmt.Errorf("%s: %w", PlanKeyEnv, err)
}

// verify re-reads the owned items of the saved plan's Kibanas (the
// planner's own read, plan.ReadLive) and checks every binding of the plan
// and that its changes name only those items or its own creates (Refused
// when one fails). It returns the live sets it read, for apply.Apply.
func (op *Operation) verify(ctx context.Context, cfg *config.Config, store state.Store, targets map[string]provider.Target, p *plan.Plan) (map[string]plan.LiveSet, error) {
	st, err := store.Snapshot()
	if err != nil {
		return nil, stateErr(err)
	}
	ns := cfg.Settings.Namespace
	if err := state.CheckNamespace(st, store.Path(), ns); err != nil {
		return nil, fail(Failed, err)
	}
	live := map[string]plan.LiveSet{}
	for _, k := range p.Kibanas {
		t, ok := targets[k.Name]
		if !ok {
			continue
		}
		ls, err := plan.ReadLive(ctx, t, ns)
		if err != nil {
			return nil, fmt.Errorf("kibana %q: %w", k.Name, err)
		}
		live[k.Name] = ls
	}
	err = apply.Verify(p, apply.VerifyInput{
		ConfigDigest: cfg.Digest(),
		Namespace:    ns,
		State:        st,
		Live:         live,
		Now:          op.now(),
		MaxAge:       op.PlanMaxAge,
	})
	var se *apply.StaleError
	if errors.As(err, &se) {
		return nil, fail(Refused, err)
	}
	return live, err
}

// reconcile settles the writes an earlier run sent but did not record
// (apply.Reconcile), for this namespace's items only.
func (op *Operation) reconcile(ctx context.Context, cfg *config.Config, store state.Store, w state.Writer, writable map[string]provider.Target) error {
	pending, err := store.PendingJournal()
	if err != nil {
		return err
	}
	h := op.hook()
	// Only this namespace's writes are reconciled: an entry naming another
	// prefix (a state shared by mistake, or edited) is never acted on.
	pending, foreign := OwnedEntries(pending, cfg.ItemIDPrefix())
	if len(foreign) > 0 {
		h.Notice(fmt.Sprintf("Warning: the state journal has %d unfinished write(s) of items outside namespace %q (%s); they are not reconciled and nothing is done with them.", len(foreign), cfg.Settings.Namespace, strings.Join(foreign, ", ")))
	}
	if len(pending) == 0 {
		return nil
	}
	before, err := store.Snapshot()
	if err != nil {
		return err
	}
	// No waiting, and no race with the interrupted run: a write it had in
	// flight may still land at Kibana after this check, after the plan
	// below read Kibana (a 409-recognised identical write is not enough:
	// the plan may put the same hashes into other items, or keep an item
	// a late delete removes). So a write that has not landed is sent
	// again now, exactly as journaled, before anything is planned: then
	// it has landed whichever copy arrives first, and Kibana refuses the
	// other (the item_id exists, the _version moved on, the item is
	// gone). The run starts at once (SPEC 8).
	done, err := apply.Reconcile(ctx, w, pending, func(bl string) provider.Target {
		if b, ok := cfg.Blocklists[bl]; ok {
			return writable[b.Kibana.Name]
		}
		return nil
	}, apply.ReconcileOptions{Now: op.Now})
	landed, resent := 0, 0
	for _, r := range done {
		switch {
		case r.Resent:
			resent++
		case r.Landed:
			landed++
		case r.Note != "":
			h.Notice(fmt.Sprintf("Journal entry %d (%s %s): %s.", r.Entry.Seq, r.Entry.Op, r.Entry.ItemID, r.Note))
		}
	}
	if err != nil {
		// The entries settled before the failure are recorded: their
		// unblocked hashes are forgotten all the same.
		return errors.Join(err, forgetUnblocked(store, w, before, done))
	}
	msg := fmt.Sprintf("Reconciled %d unfinished write(s) of an earlier run with Kibana (%d had landed", len(done), landed)
	if resent > 0 {
		msg += fmt.Sprintf(", %d sent again", resent)
	}
	h.Notice(msg + ").")
	return forgetUnblocked(store, w, before, done)
}

// forgetUnblocked drops the provenance of the hashes that the landed writes
// of an interrupted run took out of their items and that no owned item of
// the blocklist holds any more: that run never recorded its outcome, and a
// plan carries provenance only for what it changes, so no later run would
// forget them. before is the state as it was before reconciling.
func forgetUnblocked(store state.Store, w state.Writer, before *state.State, done []apply.Reconciled) error {
	removed := map[string]map[string]bool{} // blocklist → values
	for _, r := range done {
		e := r.Entry
		if !r.Landed || e.Item == nil || (e.Op != provider.Update && e.Op != provider.Delete) {
			continue
		}
		old, ok := before.Items[e.ItemID]
		if !ok {
			continue
		}
		kept := map[string]bool{}
		if e.Op == provider.Update {
			for _, v := range plan.ItemValues(e.Item.Item) {
				kept[v] = true
			}
		}
		for _, v := range plan.ItemValues(old.Item) {
			if !kept[v] {
				if removed[e.Item.Blocklist] == nil {
					removed[e.Item.Blocklist] = map[string]bool{}
				}
				removed[e.Item.Blocklist][v] = true
			}
		}
	}
	if len(removed) == 0 {
		return nil
	}
	after, err := store.Snapshot()
	if err != nil {
		return err
	}
	for _, it := range after.Items {
		for _, v := range plan.ItemValues(it.Item) {
			delete(removed[it.Blocklist], v)
		}
	}
	patch := map[string]state.ProvenancePatch{}
	for _, bl := range slices.Sorted(maps.Keys(removed)) {
		var drop []string
		for _, v := range slices.Sorted(maps.Keys(removed[bl])) {
			if _, err := state.HashBytes(v); err == nil {
				drop = append(drop, v)
			}
		}
		if len(drop) > 0 {
			patch[bl] = state.ProvenancePatch{Drop: drop}
		}
	}
	if len(patch) == 0 {
		return nil
	}
	_, err = w.Commit(state.Commit{PatchProvenance: patch})
	return err
}

// OwnedEntries splits journal entries into those whose item_id carries
// prefix and the item_ids of the others.
func OwnedEntries(entries []state.JournalEntry, prefix string) (owned []state.JournalEntry, foreign []string) {
	for _, e := range entries {
		if strings.HasPrefix(e.ItemID, prefix) {
			owned = append(owned, e)
		} else {
			foreign = append(foreign, e.ItemID)
		}
	}
	return owned, foreign
}

// syncOwned brings the state's owned items in line with Kibana after a
// complete run (apply.SyncOwned): records of items deleted outside lumuctl
// are forgotten, owned items the state did not know are recorded. It is
// best effort: a failure is a warning, and the next run tries again.
func (op *Operation) syncOwned(ctx context.Context, cfg *config.Config, store state.Store, w state.Writer, p *plan.Plan, live map[string]plan.LiveSet, targets map[string]provider.Target) {
	h := op.hook()
	st, err := store.Snapshot()
	if err == nil {
		var r apply.SyncResult
		r, err = apply.SyncOwned(ctx, w, apply.SyncInput{Plan: p, Live: live, State: st, Kibanas: targets, Namespace: cfg.Settings.Namespace})
		if n := len(r.Adopted); n > 0 {
			h.Notice(fmt.Sprintf("Recorded %d owned item(s) that Kibana holds but the state did not know.", n))
		}
		if n := len(r.Forgotten); n > 0 {
			h.Notice(fmt.Sprintf("Forgot %d item(s) deleted in Kibana outside lumuctl and no longer needed: %s.", n, strings.Join(r.Forgotten, ", ")))
		}
	}
	if err != nil {
		h.Notice(fmt.Sprintf("Warning: the state's owned items were not brought in line with Kibana (%v); the next apply tries again.", err))
	}
}

// interrupted turns err into Interrupted when ctx was cancelled (Ctrl-C
// during a wait before any write: the lock, a retry, a rate limit), so that
// an interrupt is never reported as a plain "context canceled".
func interrupted(ctx context.Context, command, when string, err error) error {
	if ctx.Err() == nil || err == nil {
		return err
	}
	return fail(Interrupted, fmt.Errorf("%s interrupted %s; nothing was written", command, when))
}

// recordError is the error of an apply whose outcome could not be
// recorded (the state store failed at the end, such as a lost PostgreSQL
// connection): Partial when Kibana writes were made (their journal entries
// let the next run reconcile them), the plain error otherwise.
func recordError(res *apply.Result, command string, err error) error {
	if res == nil || (res.Writes == 0 && len(res.Errors) == 0) {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed after %d successful item write(s) (%d added, %d changed, %d destroyed):", command, res.Writes, res.Added, res.Changed, res.Destroyed)
	writeErrors(&b, res.Errors)
	fmt.Fprintf(&b, "\n  - %s", err)
	if res.Writes == 0 {
		b.WriteString("\nNothing was changed in Kibana.")
		return fail(Failed, errors.New(b.String()))
	}
	b.WriteString("\nThe writes made are in the journal; the next run reconciles them and converges.")
	return fail(Partial, errors.New(b.String()))
}

// outcomeError is the failure an apply's outcome amounts to (nil for
// success), with the message for people.
func outcomeError(res *apply.Result, command string) error {
	verb := "Apply"
	if command == "destroy" {
		verb = "Destroy"
	}
	switch res.Outcome {
	case state.OutcomeSuccess:
		return nil
	case state.OutcomeInterrupted:
		msg := fmt.Sprintf("%s interrupted: %d item write(s) were made and recorded, nothing more was started.", verb, res.Writes)
		if res.Abandoned > 0 {
			msg += fmt.Sprintf(" %d write(s) waiting to be retried were abandoned: the next run checks whether an earlier attempt landed.", res.Abandoned)
		}
		msg += " Run it again to converge."
		if res.Writes > 0 {
			return fail(Partial, errors.New(msg))
		}
		return fail(Interrupted, errors.New(msg))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed after %d successful item write(s) (%d added, %d changed, %d destroyed):", verb, res.Writes, res.Added, res.Changed, res.Destroyed)
	writeErrors(&b, res.Errors)
	if res.Writes > 0 {
		b.WriteString("\nThe changes made are recorded in the state; running apply again converges.")
		return fail(Partial, errors.New(b.String()))
	}
	b.WriteString("\nNothing was changed in Kibana.")
	return fail(Failed, errors.New(b.String()))
}

// writeErrors lists errs one per line, each made one line whatever Kibana
// put in it (control characters become spaces).
func writeErrors(b *strings.Builder, errs []error) {
	for _, e := range errs {
		line := strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return ' '
			}
			return r
		}, e.Error())
		fmt.Fprintf(b, "\n  - %s", line)
	}
}
