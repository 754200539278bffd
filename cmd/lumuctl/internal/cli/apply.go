package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/apply"
	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

type applyFlags struct {
	runFlags
	loopFlags
	autoApprove bool
	input       bool
	planMaxAge  time.Duration
	parallelism int
	lockTimeout time.Duration
}

// register adds apply's flags; destroy takes no plan file and has no
// mass-delete guard, so it lacks --plan-max-age and --allow-mass-delete.
func (f *applyFlags) register(cmd *cobra.Command, destroy bool) {
	f.runFlags.register(cmd.Flags(), !destroy)
	fs := cmd.Flags()
	fs.BoolVar(&f.autoApprove, "auto-approve", false, "apply without asking for confirmation")
	fs.BoolVar(&f.input, "input", true, "ask for confirmation on the terminal (--input=false never asks)")
	if !destroy {
		durationVar(fs, &f.planMaxAge, "plan-max-age", 24*time.Hour, "refuse a saved plan older than this")
	}
	fs.IntVar(&f.parallelism, "parallelism", 4, "concurrent Kibana writes")
	durationVar(fs, &f.lockTimeout, "lock-timeout", 0, "how long to wait for the state lock")
	if !destroy {
		durationVar(fs, &f.every, "every", 0, "run a full plan and apply every `DURATION` until stopped (needs --auto-approve)")
		fs.StringVar(&f.metricsListen, "metrics-listen", "", "with --every, serve /metrics and /healthz on `ADDR` (host:port)")
	}
	cmd.MarkFlagsMutuallyExclusive("json", "json-into")
}

func newApplyCommand(g *globals) *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE] [flags]",
		Short: "Apply a plan to Kibana",
		Long: `Without PLANFILE, apply plans, shows the plan and asks for "yes" (or runs with
--auto-approve). With PLANFILE, it applies exactly that saved plan after
checking that nothing it was made against has changed.

Every write is recorded in the state file's journal before it is sent, so an
interrupted apply can be re-run safely.

Exit status: 0 success, 1 error (nothing changed), 3 partial (some changes made
and recorded; re-running converges), 4 saved plan refused, 5 state locked,
6 safety guard tripped, 130 interrupted.`,
		Example: `  lumuctl apply
  lumuctl apply --auto-approve
  lumuctl apply lumuctl.plan`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			planFile := ""
			if len(args) == 1 {
				planFile = args[0]
			}
			if cmd.Flags().Changed("every") {
				if err := checkLoop(f, planFile); err != nil {
					return usageError(cmd, err)
				}
				return runLoop(cmd.Context(), g, f)
			}
			if f.metricsListen != "" {
				return usageError(cmd, fmt.Errorf("--metrics-listen needs --every; a single run writes its metrics with --metrics-file"))
			}
			return g.recordRun("apply", f.metricsFile, func() error {
				return runApply(cmd.Context(), g, f, plan.ModeNormal, planFile)
			})
		},
	}
	f.register(cmd, false)
	return cmd
}

func newDestroyCommand(g *globals) *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "destroy [flags]",
		Short: "Remove every item lumuctl owns in the selected blocklists",
		Long: `destroy plans and applies the removal of every owned item of the selected
blocklists (all, or those named with --target). Items lumuctl does not own are
never touched. It asks for "yes" like apply. The mass-delete and empty-source
guards do not apply; prevent_destroy does.`,
		Example: `  lumuctl destroy --target blocklist.lumu`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.recordRun("destroy", f.metricsFile, func() error {
				return runApply(cmd.Context(), g, f, plan.ModeDestroy, "")
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

func runApply(ctx context.Context, g *globals, f applyFlags, mode plan.Mode, planFile string) error {
	out, err := g.newRunOutput(f.runFlags)
	if err != nil {
		return err
	}
	defer out.close()
	if f.parallelism < 1 {
		return out.fail(fmt.Errorf("--parallelism must be at least 1"))
	}
	command := "apply"
	if mode == plan.ModeDestroy {
		command = "destroy"
	}
	if f.jsonOut && planFile == "" && !f.autoApprove {
		return out.fail(fmt.Errorf("%s --json cannot ask for confirmation: add --auto-approve, or apply a saved plan", command))
	}
	if planFile != "" && (len(f.targets) > 0 || f.allowMassDelete) {
		return out.fail(fmt.Errorf("--target and --allow-mass-delete belong to the plan; a saved plan is applied as it is"))
	}
	// Decode the plan file first: a bad file is refused before anything else.
	var saved *plan.Plan
	if planFile != "" {
		fh, err := os.Open(planFile)
		if err != nil {
			return out.fail(err)
		}
		saved, err = plan.Decode(fh)
		fh.Close()
		if err != nil {
			if plan.IsDecodeError(err) {
				return out.fail(withCode(ExitPlanRefused, fmt.Errorf("%s: %w", planFile, err)))
			}
			return out.fail(err)
		}
		if err := checkPlanSignature(g, out, saved, planFile); err != nil {
			return out.fail(err)
		}
	}

	ws, diags := g.loadWorkspace(f.vars.list)
	g.observeConfig(ws)
	defer g.observeBlocked(ws)
	out.files = ws.files()
	if diags.HasErrors() {
		out.diagnostics(diags)
		return silentExit(ExitError)
	}
	lockCtx := ctx
	writer, err := ws.store.Lock(lockCtx, state.LockOptions{Command: command, Timeout: f.lockTimeout})
	if err != nil {
		return out.fail(interrupted(ctx, command, "while waiting for the state lock", stateError(err)))
	}
	defer writer.Unlock()
	if err := writer.Backup(); err != nil {
		return out.fail(err)
	}
	writable, d := ws.targets(g.factories, false)
	defer closeIdle(writable)
	diags = append(diags, d...)
	if d.HasErrors() {
		out.diagnostics(diags)
		return silentExit(ExitError)
	}
	// Settle writes an earlier run sent but did not record.
	pending, err := ws.store.PendingJournal()
	if err != nil {
		return out.fail(err)
	}
	// Only this namespace's writes are reconciled: an entry naming another
	// prefix (a state shared by mistake, or edited) is never acted on.
	pending, foreign := ownedEntries(pending, ws.cfg.ItemIDPrefix())
	if len(foreign) > 0 {
		out.note(fmt.Sprintf("Warning: the state journal has %d unfinished write(s) of items outside namespace %q (%s); they are not reconciled and nothing is done with them.", len(foreign), ws.cfg.Settings.Namespace, strings.Join(foreign, ", ")))
	}
	if len(pending) > 0 {
		// No waiting: a write the interrupted run had in flight may still
		// land after this check, but it carried what the journal recorded,
		// and this run's own write of the same item recognises it by its
		// content (a 409 on create, or a moved _version, whose live item
		// holds exactly what is sent counts as success; a delete finding
		// the item gone likewise), so the run starts at once (SPEC 8).
		done, err := apply.Reconcile(ctx, writer, pending, func(bl string) provider.Target {
			if b, ok := ws.cfg.Blocklists[bl]; ok {
				return writable[b.Kibana.Name]
			}
			return nil
		}, apply.ReconcileOptions{Now: g.now})
		if err != nil {
			return out.fail(interrupted(ctx, command, "while reconciling the journal", err))
		}
		landed := 0
		for _, r := range done {
			if r.Landed {
				landed++
			}
		}
		out.note(fmt.Sprintf("Reconciled %d unfinished write(s) of an earlier run with Kibana (%d had landed).", len(done), landed))
	}

	var p *plan.Plan
	var live map[string]plan.LiveSet
	if saved != nil {
		out.diagnostics(diags)
		live, err = verifySaved(ctx, g, ws, writable, saved, f.planMaxAge)
		if err != nil {
			return out.fail(interrupted(ctx, command, "while checking the saved plan", err))
		}
		p = saved
		g.observePlan(p, nil)
		out.renderPlan(p)
	} else {
		// Plan through read-only clients, as plan does: the Kibana client
		// keeps no state, so the writes need nothing the plan's reads saw.
		run, err := makePlan(ctx, g, f.runFlags, mode, ws, ws.store.Snapshot, nil)
		if err != nil {
			return out.fail(interrupted(ctx, command, "while planning", err))
		}
		run.diags = append(diags, run.diags...)
		if ctx.Err() != nil {
			return out.fail(withCode(ExitInterrupted, fmt.Errorf("%s interrupted while planning; nothing was written", command)))
		}
		if code, stop := out.reportPlan(run); stop {
			return silentExit(code)
		}
		p = run.plan
		live = apply.LiveFromPlan(p) // made just now, from this run's read
		if err := out.writeMarkdown(p, f.markdown, "", nil); err != nil {
			return out.fail(err)
		}
	}
	if !p.HasChanges() {
		syncOwned(ctx, out, ws, writer, p, live, writable)
		return nil
	}
	if p.Mode == plan.ModeDestroy {
		command = "destroy" // a saved destroy plan (plan --destroy --out)
	}
	if saved == nil && !f.autoApprove {
		if err := confirm(g, f.input, command); err != nil {
			return out.fail(err)
		}
	}

	hook := newApplyHook(g, out, p)
	res, err := apply.Apply(ctx, apply.Options{
		Plan:        p,
		Kibanas:     writable,
		Live:        live,
		State:       writer,
		Parallelism: f.parallelism,
		Hook:        hook,
		Command:     command,
		Who:         state.CurrentUser(),
		Now:         g.now,
	})
	hook.finish()
	var oe *apply.OwnershipError
	if errors.As(err, &oe) {
		return out.fail(withCode(ExitPlanRefused, err))
	}
	if err != nil {
		return out.fail(applyRecordError(res, command, err))
	}
	if res.Outcome == state.OutcomeSuccess {
		syncOwned(ctx, out, ws, writer, p, live, writable)
	}
	return out.applyResult(res, p, command)
}

// interrupted turns err into exit 130 when ctx was cancelled (Ctrl-C
// during a wait before any write: the lock, a retry, a rate limit), so
// that an interrupt is never reported as exit 1 "context canceled".
func interrupted(ctx context.Context, command, when string, err error) error {
	if ctx.Err() == nil || err == nil {
		return err
	}
	return withCode(ExitInterrupted, fmt.Errorf("%s interrupted %s; nothing was written", command, when))
}

// applyRecordError is the error of an apply whose outcome could not be
// recorded (the state store failed at the end, such as a lost PostgreSQL
// connection): exit 3 when Kibana writes were made (their journal entries
// let the next run reconcile them), the plain error otherwise.
func applyRecordError(res *apply.Result, command string, err error) error {
	if res == nil || (res.Writes == 0 && len(res.Errors) == 0) {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed after %d successful item write(s) (%d added, %d changed, %d destroyed):", command, res.Writes, res.Added, res.Changed, res.Destroyed)
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "\n  - %s", views.NoControl(e.Error())) // one line each, whatever Kibana put in it
	}
	fmt.Fprintf(&b, "\n  - %s", err)
	if res.Writes == 0 {
		b.WriteString("\nNothing was changed in Kibana.")
		return withCode(ExitError, errors.New(b.String()))
	}
	b.WriteString("\nThe writes made are in the journal; the next run reconciles them and converges.")
	return withCode(ExitPartial, errors.New(b.String()))
}

// checkPlanSignature enforces LUMUCTL_PLAN_KEY on a saved plan: when the
// key is set, a plan without a valid signature is refused (exit 4); when it
// is not, a signed plan is applied with a note that nothing checked it.
func checkPlanSignature(g *globals, out *runOutput, p *plan.Plan, file string) error {
	key := g.env(planKeyEnv)
	if key == "" {
		if p.Signature != "" {
			out.note(fmt.Sprintf("%s is signed, but %s is not set: the signature was not checked.", file, planKeyEnv))
		}
		return nil
	}
	err := plan.VerifySignature(p, key)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, plan.ErrUnsigned):
		return withCode(ExitPlanRefused, fmt.Errorf("%s: %w, and %s is set: only plans signed with that key are applied; nothing was changed", file, err, planKeyEnv))
	case errors.Is(err, plan.ErrBadSignature):
		return withCode(ExitPlanRefused, fmt.Errorf("%s: %w; nothing was changed", file, err))
	}
	return fmt.Errorf("%s: %w", planKeyEnv, err)
}

// verifySaved re-reads the owned items and checks every binding of a saved
// plan and that its changes name only those items or its own creates (exit
// 4 when one fails). It returns the live sets it read, for apply.Apply.
func verifySaved(ctx context.Context, g *globals, ws *workspace, targets map[string]provider.Target, p *plan.Plan, maxAge time.Duration) (map[string]plan.LiveSet, error) {
	st, err := ws.store.Snapshot()
	if err != nil {
		return nil, stateError(err)
	}
	if err := state.CheckNamespace(st, ws.store.Path(), ws.cfg.Settings.Namespace); err != nil {
		return nil, withCode(ExitError, err)
	}
	live := map[string]plan.LiveSet{}
	prefix := pack.OwnedPrefix(ws.cfg.Settings.Namespace)
	for _, k := range p.Kibanas {
		t, ok := targets[k.Name]
		if !ok {
			continue
		}
		exists, err := t.ContainerExists(ctx)
		if err != nil {
			return nil, fmt.Errorf("kibana %q: %w", k.Name, err)
		}
		var items []provider.Item
		if exists {
			resp, err := t.List(ctx, provider.ListRequest{Prefix: prefix})
			if err != nil {
				return nil, fmt.Errorf("kibana %q: %w", k.Name, err)
			}
			items = resp.Owned
		}
		live[k.Name] = plan.NewLiveSet(exists, items, ws.cfg.Settings.Namespace)
	}
	err = apply.Verify(p, apply.VerifyInput{
		ConfigDigest: ws.cfg.Digest(),
		Namespace:    ws.cfg.Settings.Namespace,
		State:        st,
		Live:         live,
		Now:          g.now(),
		MaxAge:       maxAge,
	})
	var se *apply.StaleError
	if errors.As(err, &se) {
		return nil, withCode(ExitPlanRefused, err)
	}
	return live, err
}

// confirm asks for "yes" on the terminal.
func confirm(g *globals, input bool, command string) error {
	if !input {
		return fmt.Errorf("%s needs confirmation, and --input=false forbids asking: use --auto-approve or apply a saved plan", command)
	}
	f, ok := g.streams.In.(*os.File)
	if !ok || !isTerminal(f) {
		return fmt.Errorf("%s needs confirmation, but standard input is not a terminal: use --auto-approve or apply a saved plan", command)
	}
	fmt.Fprintf(g.streams.Out, "\nDo you want to perform these actions? Only 'yes' will be accepted.\n  Enter a value: ")
	line, _ := bufio.NewReader(g.streams.In).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return fmt.Errorf("%s cancelled; nothing was changed", command)
	}
	return nil
}

// applyResult prints the final line and maps the outcome to an exit code.
func (o *runOutput) applyResult(res *apply.Result, p *plan.Plan, command string) error {
	if o.events != nil {
		o.events.ApplyComplete(res, p.Digest, command == "destroy")
	}
	verb := "Apply"
	if command == "destroy" {
		verb = "Destroy"
	}
	switch res.Outcome {
	case state.OutcomeSuccess:
		if o.human {
			fmt.Fprintf(o.g.streams.Out, "\n%s complete! Items: %d added, %d changed, %d destroyed. Hashes blocked: %d.\n",
				verb, res.Added, res.Changed, res.Destroyed, res.Blocked)
		}
		return nil
	case state.OutcomeInterrupted:
		msg := fmt.Sprintf("%s interrupted: %d item write(s) were made and recorded, nothing more was started.", verb, res.Writes)
		if res.Abandoned > 0 {
			msg += fmt.Sprintf(" %d write(s) waiting to be retried were abandoned: the next run checks whether an earlier attempt landed.", res.Abandoned)
		}
		msg += " Run it again to converge."
		if res.Writes > 0 {
			return o.fail(withCode(ExitPartial, errors.New(msg)))
		}
		return o.fail(withCode(ExitInterrupted, errors.New(msg)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed after %d successful item write(s) (%d added, %d changed, %d destroyed):", verb, res.Writes, res.Added, res.Changed, res.Destroyed)
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "\n  - %s", views.NoControl(e.Error())) // one line each, whatever Kibana put in it
	}
	if res.Writes > 0 {
		b.WriteString("\nThe changes made are recorded in the state; running apply again converges.")
		return o.fail(withCode(ExitPartial, errors.New(b.String())))
	}
	b.WriteString("\nNothing was changed in Kibana.")
	return o.fail(withCode(ExitError, errors.New(b.String())))
}

// applyHook reports progress: a bar on a terminal, a line every 10 s
// otherwise, and apply_progress events in JSON.
type applyHook struct {
	g     *globals
	out   *runOutput
	total int
	term  bool

	mu     sync.Mutex
	done   int // finished writes, made or failed
	failed int
	last   time.Time
}

func newApplyHook(g *globals, out *runOutput, p *plan.Plan) *applyHook {
	h := &applyHook{g: g, out: out, total: views.CountWrites(p), term: out.human && isTerminal(g.streams.Err), last: g.now()}
	if out.events != nil {
		out.events.ApplyStart(h.total)
	}
	return h
}

// PreApply implements apply.Hook.
func (h *applyHook) PreApply(blocklist string, c plan.ItemChange) {
	h.g.writes.inFlight.Add(1)
	h.g.logger.Debug("writing", "blocklist", blocklist, "action", c.Action.String(), "item_id", c.ItemID)
}

// PostApply implements apply.Hook.
func (h *applyHook) PostApply(blocklist string, c plan.ItemChange, err error) {
	if err == nil {
		h.g.writes.made.Add(1)
		h.g.observeWrite(blocklist, c.Action)
	}
	h.g.writes.inFlight.Add(-1)
	if h.out.events != nil {
		h.out.events.PostApply(blocklist, c, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done++
	if err != nil {
		h.failed++
	}
	// Failed writes are listed once, in the final summary (applyResult).
	if !h.out.human {
		return
	}
	if h.term {
		const width = 30
		filled := width * h.done / max(h.total, 1)
		fmt.Fprintf(h.g.streams.Err, "\r\x1b[K[%s%s] %d/%d items%s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), h.done, h.total, h.failedNote())
		return
	}
	if now := h.g.now(); now.Sub(h.last) >= 10*time.Second {
		h.last = now
		// Count made writes, not finished ones: the final message counts
		// made writes too, and the two must agree.
		fmt.Fprintf(h.g.streams.Err, "Still applying: %d of %d item writes made%s.\n", h.done-h.failed, h.total, h.failedNote())
	}
}

// failedNote is ", N failed" when writes failed (h.mu held).
func (h *applyHook) failedNote() string {
	if h.failed == 0 {
		return ""
	}
	return fmt.Sprintf(", %d failed", h.failed)
}

func (h *applyHook) finish() {
	if h.term {
		fmt.Fprint(h.g.streams.Err, "\r\x1b[K")
	}
}

var _ apply.Hook = (*applyHook)(nil)

// ownedEntries splits journal entries into those whose item_id carries
// prefix and the item_ids of the others.
func ownedEntries(entries []state.JournalEntry, prefix string) (owned []state.JournalEntry, foreign []string) {
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
func syncOwned(ctx context.Context, out *runOutput, ws *workspace, w state.Writer, p *plan.Plan, live map[string]plan.LiveSet, targets map[string]provider.Target) {
	st, err := ws.store.Snapshot()
	if err == nil {
		var r apply.SyncResult
		r, err = apply.SyncOwned(ctx, w, apply.SyncInput{Plan: p, Live: live, State: st, Kibanas: targets, Namespace: ws.cfg.Settings.Namespace})
		if n := len(r.Adopted); n > 0 {
			out.note(fmt.Sprintf("Recorded %d owned item(s) that Kibana holds but the state did not know.", n))
		}
		if n := len(r.Forgotten); n > 0 {
			out.note(fmt.Sprintf("Forgot %d item(s) deleted in Kibana outside lumuctl and no longer needed: %s.", n, strings.Join(r.Forgotten, ", ")))
		}
	}
	if err != nil {
		out.note(fmt.Sprintf("Warning: the state's owned items were not brought in line with Kibana (%v); the next apply tries again.", err))
	}
}
