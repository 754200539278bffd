package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/plan"
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
		out.view.Applied(r.Apply, r.Plan.Digest, r.Command)
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

// operationHooks are every receiver of an operation's reports: the
// process's own bookkeeping (recordHook), the fetching status line, the
// views of the requested formats and, for apply, the PR comment of the
// plan it is about to apply (markdown, "" none).
func (g *globals) operationHooks(out *runOutput, markdown string) operation.Hook {
	return operation.Hooks{
		&recordHook{g: g},
		&views.FetchStatus{Stderr: g.streams.Err, Terminal: isTerminal(g.streams.Err), Now: g.now,
			Log:   func(msg string) { g.logger.Info(msg) },
			Debug: func(msg string) { g.logger.Debug("progress", "event", msg) }},
		out.view,
		&markdownHook{out: out, path: markdown},
	}
}

// recordHook keeps the process's account of an operation: the writes made
// and in flight (for a second Ctrl-C), the metrics of each write, the debug
// log, and the last error diagnostic (for the loop's log and /healthz).
type recordHook struct {
	operation.NopHook
	g *globals
}

// Planned implements operation.Hook.
func (h *recordHook) Planned(_ *plan.Plan, diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			h.g.lastFailure = d.Summary + ": " + d.Detail
			break
		}
	}
	return nil
}

// PreApply implements operation.Hook.
func (h *recordHook) PreApply(blocklist string, c plan.ItemChange) {
	h.g.writes.inFlight.Add(1)
	h.g.logger.Debug("writing", "blocklist", blocklist, "action", c.Action.String(), "item_id", c.ItemID)
}

// PostApply implements operation.Hook.
func (h *recordHook) PostApply(blocklist string, c plan.ItemChange, err error) {
	if err == nil {
		h.g.writes.made.Add(1)
		h.g.observeWrite(blocklist, c.Action)
	}
	h.g.writes.inFlight.Add(-1)
}

// markdownHook writes the PR comment of a plan apply goes ahead with.
type markdownHook struct {
	operation.NopHook
	out  *runOutput
	path string
}

// Planned implements operation.Hook.
func (h *markdownHook) Planned(p *plan.Plan, diags hcl.Diagnostics) error {
	if p == nil || diags.HasErrors() {
		return nil
	}
	return h.out.writeMarkdown(p, h.path, "", nil)
}
