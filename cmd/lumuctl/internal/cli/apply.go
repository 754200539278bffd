package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/engine/apply"
	"github.com/lumuctl/lumuctl/engine/operation"
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

// check rejects flags that can never run, before anything is loaded or
// locked, and returns the --target blocklist names.
func (f *applyFlags) check(mode plan.Mode, planFile string) ([]string, error) {
	command := "apply"
	if mode == plan.ModeDestroy {
		command = "destroy"
	}
	switch {
	case f.parallelism < 1:
		return nil, fmt.Errorf("--parallelism must be at least 1")
	case f.jsonOut && planFile == "" && !f.autoApprove:
		return nil, fmt.Errorf("%s --json cannot ask for confirmation: add --auto-approve, or apply a saved plan", command)
	case planFile != "" && (len(f.targets) > 0 || f.allowMassDelete):
		return nil, fmt.Errorf("--target and --allow-mass-delete belong to the plan; a saved plan is applied as it is")
	}
	return f.blocklistTargets()
}

func runApply(ctx context.Context, g *globals, f applyFlags, mode plan.Mode, planFile string) error {
	out, err := g.newRunOutput(f.runFlags)
	if err != nil {
		return err
	}
	defer out.close()
	targets, err := f.check(mode, planFile)
	if err != nil {
		return out.fail(err)
	}
	markdown := f.markdown
	if planFile != "" {
		markdown = "" // the PR comment renders a plan being made
	}
	op, ws := g.newOperation(f.runFlags, mode, targets, out, markdown)
	defer func() { g.observeBlocked(*ws) }()
	op.PlanFile, op.PlanMaxAge, op.LockTimeout, op.Parallelism = planFile, f.planMaxAge, f.lockTimeout, f.parallelism
	if !f.autoApprove {
		op.Confirm = func(command string) error { return confirm(g, f.input, command) }
	}
	r, err := operation.Apply(ctx, op)
	g.observeResult(r)
	if r.Apply != nil {
		out.applyResult(r.Apply, r.Plan, r.Command)
	}
	return out.exit(err)
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

// applyResult reports what the writes did: apply_complete and
// change_summary events, and the final line for people on success (a
// failure is the operation's error, reported by exit).
func (o *runOutput) applyResult(res *apply.Result, p *plan.Plan, command string) {
	if o.events != nil {
		o.events.ApplyComplete(res, p.Digest, command == "destroy")
	}
	verb := "Apply"
	if command == "destroy" {
		verb = "Destroy"
	}
	if res.Outcome == state.OutcomeSuccess && o.human {
		fmt.Fprintf(o.g.streams.Out, "\n%s complete! Items: %d added, %d changed, %d destroyed. Hashes blocked: %d.\n",
			verb, res.Added, res.Changed, res.Destroyed, res.Blocked)
	}
}

// runHook reports an operation's progress (operation.Hook): fetching
// progress on a status line, notices, the plan, and apply progress: a bar
// on a terminal, a line every 10 s otherwise, and apply_progress events in
// JSON.
type runHook struct {
	g        *globals
	out      *runOutput
	fetch    provider.ProgressFunc
	markdown string // apply: where the plan's PR comment goes ("" none)

	mu     sync.Mutex
	total  int
	term   bool
	done   int // finished writes, made or failed
	failed int
	last   time.Time
}

func newRunHook(g *globals, out *runOutput, markdown string) *runHook {
	return &runHook{g: g, out: out, fetch: g.progress(), markdown: markdown}
}

// Fetch implements operation.Hook.
func (h *runHook) Fetch(ev provider.ProgressEvent) {
	if ev.Kind == operation.FetchFinished {
		if isTerminal(h.g.streams.Err) {
			fmt.Fprint(h.g.streams.Err, "\r\x1b[K") // clear the progress line
		}
		return
	}
	h.fetch(ev)
}

// Notice implements operation.Hook.
func (h *runHook) Notice(msg string) { h.out.note(msg) }

// Planned implements operation.Hook: the plan and its diagnostics, then
// (apply) the PR comment of a plan that goes ahead.
func (h *runHook) Planned(p *plan.Plan, diags hcl.Diagnostics) error {
	h.out.reportPlan(p, diags)
	if p == nil || diags.HasErrors() {
		return nil
	}
	return h.out.writeMarkdown(p, h.markdown, "", nil)
}

// ApplyStart implements operation.Hook.
func (h *runHook) ApplyStart(total int) {
	h.mu.Lock()
	h.total, h.term, h.last = total, h.out.human && isTerminal(h.g.streams.Err), h.g.now()
	h.mu.Unlock()
	if h.out.events != nil {
		h.out.events.ApplyStart(total)
	}
}

// PreApply implements operation.Hook.
func (h *runHook) PreApply(blocklist string, c plan.ItemChange) {
	h.g.writes.inFlight.Add(1)
	h.g.logger.Debug("writing", "blocklist", blocklist, "action", c.Action.String(), "item_id", c.ItemID)
}

// PostApply implements operation.Hook.
func (h *runHook) PostApply(blocklist string, c plan.ItemChange, err error) {
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
	// Failed writes are listed once, in the final summary.
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
func (h *runHook) failedNote() string {
	if h.failed == 0 {
		return ""
	}
	return fmt.Sprintf(", %d failed", h.failed)
}

// ApplyEnd implements operation.Hook.
func (h *runHook) ApplyEnd() {
	if h.term {
		fmt.Fprint(h.g.streams.Err, "\r\x1b[K")
	}
}

var _ operation.Hook = (*runHook)(nil)
