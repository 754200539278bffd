package operation

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/safefile"
	"github.com/lumuctl/lumuctl/engine/state"
)

// Plan loads the configuration, plans from a state snapshot (it never
// takes the lock and never writes to Kibana or the state), reports the
// plan through Hook.Planned and saves it to op.PlanOut when set.
func Plan(ctx context.Context, op *Operation) (*Result, error) {
	r := &Result{Command: "plan"}
	h := op.hook()
	cfg, store, diags := op.Load()
	r.Diags = diags
	if diags.HasErrors() {
		return r, reportFailed(h, nil, diags)
	}
	p, d, err := op.makePlan(ctx, r, cfg, store)
	if err != nil {
		return r, err
	}
	r.Diags = append(r.Diags, d...)
	if ctx.Err() != nil {
		return r, fail(Interrupted, errors.New("plan interrupted; nothing was written"))
	}
	r.Plan = p
	if err := h.Planned(p, r.Diags); err != nil {
		return r, err
	}
	if err := planStop(p, r.Diags); err != nil {
		return r, err
	}
	if op.PlanOut != "" {
		if err := op.save(p); err != nil {
			return r, err
		}
		signed := ""
		if p.Signature != "" {
			signed = " signed"
		}
		h.Notice(fmt.Sprintf("Saved the%s plan to %s. Apply exactly this plan with: lumuctl apply %s", signed, op.PlanOut, op.PlanOut))
	}
	return r, nil
}

// reportFailed reports diags that end the operation and returns the
// (already reported) failure.
func reportFailed(h Hook, p *plan.Plan, diags hcl.Diagnostics) error {
	if err := h.Planned(p, diags); err != nil {
		return err
	}
	return fail(Failed, nil)
}

// planStop is the failure of a plan whose diagnostics refuse it: a tripped
// guard, another error, or no plan at all.
func planStop(p *plan.Plan, diags hcl.Diagnostics) error {
	switch {
	case plan.IsGuardTrip(diags):
		return fail(GuardTripped, nil)
	case diags.HasErrors() || p == nil:
		return fail(Failed, nil)
	}
	return nil
}

// save signs p with op.PlanKey (when set) and writes it to op.PlanOut.
func (op *Operation) save(p *plan.Plan) error {
	if op.PlanKey != "" {
		if err := plan.Sign(p, op.PlanKey); err != nil {
			return fmt.Errorf("%s: %w", PlanKeyEnv, err)
		}
	}
	var buf bytes.Buffer
	if err := plan.Encode(&buf, p); err != nil {
		return err
	}
	return WritePrivateFile(op.PlanOut, buf.Bytes())
}

// WritePrivateFile writes data to path with mode 0600 (via a temporary
// file and rename, so a reader never sees half a file). A symbolic link or
// other non-regular file at path is refused, not replaced.
func WritePrivateFile(path string, data []byte) error {
	if err := safefile.WriteAtomic(path, data, 0o600); err != nil {
		if safefile.IsNotRegular(err) {
			return err
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// makePlan plans from a state snapshot (never waiting for the lock),
// reading Kibana through new read-only clients: plan and apply alike, since
// the Kibana client keeps no item state. The returned diagnostics have not
// been reported; an error is a state failure.
func (op *Operation) makePlan(ctx context.Context, r *Result, cfg *config.Config, store state.Store) (*plan.Plan, hcl.Diagnostics, error) {
	var diags hcl.Diagnostics
	if len(op.Targets) > 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Resource targeting is in effect",
			Detail: "Only the blocklists named with --target are planned. The rest of the configuration may not match Kibana; plan without --target before relying on it."})
	}
	st, err := store.Snapshot()
	if err != nil {
		return nil, nil, stateErr(err)
	}
	if err := state.CheckNamespace(st, store.Path(), cfg.Settings.Namespace); err != nil {
		return nil, nil, fail(Failed, err)
	}
	if n := len(st.Pending()); n > 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Unfinished writes from an interrupted apply",
			Detail: fmt.Sprintf("The state journal has %d write(s) that an earlier apply sent but did not record. The next apply reconciles them with Kibana before it plans; this plan reads Kibana directly.", n)})
	}
	src, d := op.source(cfg, store)
	diags = append(diags, d...)
	if d.HasErrors() {
		return nil, diags, nil
	}
	defer src.Close()
	targets, d := op.targets(cfg, true)
	defer closeIdle(targets)
	diags = append(diags, d...)
	if d.HasErrors() {
		return nil, diags, nil
	}
	h := op.hook()
	r.Unread = map[string]int{}
	var readErr error
	p, d := plan.Make(ctx, plan.Options{
		Config:          cfg,
		Prior:           prior(store, st, &readErr),
		Source:          src,
		Kibanas:         targets,
		Now:             op.now(),
		Mode:            op.Mode,
		Targets:         op.Targets,
		AllowMassDelete: op.AllowMassDelete,
		ToolVersion:     op.ToolVersion,
		Progress:        h.Fetch,
		Fetched: func(f *config.IOCFilter, s provider.FetchStats) {
			r.Unread[f.Company.Name] += s.IncidentsUnread
		},
		// The cache is not read again: its file's pages leave memory
		// before the plan is built (the deferred Close is then a no-op).
		SourcesDone: func() { _ = src.Close() },
	})
	h.Fetch(provider.ProgressEvent{Kind: FetchFinished})
	if readErr != nil && !d.HasErrors() {
		// Planned without what the state records for some hashes: the
		// hashes of unread incidents would be unblocked.
		return nil, nil, fmt.Errorf("cannot read the incidents the state records for blocked hashes, so the plan cannot tell which to keep; nothing was planned: %w", readErr)
	}
	return p, append(diags, d...), nil
}
