package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/state"
)

// runFlags are the flags shared by plan, apply and destroy (SPEC section 4).
type runFlags struct {
	vars            varArgs
	targets         []string
	jsonOut         bool
	jsonInto        string
	markdown        string
	allowMassDelete bool
	metricsFile     string
	refresh         bool
}

// register adds the shared flags; --allow-mass-delete only where the
// mass-delete guard applies (not destroy).
func (f *runFlags) register(fs *pflag.FlagSet, massDeleteGuard bool) {
	f.vars.register(fs)
	fs.StringArrayVar(&f.targets, "target", nil, "only plan `blocklist.NAME` (repeatable)")
	fs.BoolVar(&f.jsonOut, "json", false, "print JSON-lines events on stdout instead of text")
	fs.StringVar(&f.jsonInto, "json-into", "", "also write JSON-lines events to `FILE`")
	fs.StringVar(&f.markdown, "markdown", "", "write a pull-request comment rendering of the plan to `FILE`")
	fs.StringVar(&f.metricsFile, "metrics-file", "", "write the run's metrics to `PATH` (node_exporter textfile format, mode 0644)")
	fs.BoolVar(&f.refresh, "refresh", false, "read every Lumu incident context again for this run instead of using the cache")
	if massDeleteGuard {
		fs.BoolVar(&f.allowMassDelete, "allow-mass-delete", false, "override the mass-delete guard for this run")
	}
}

// blocklistTargets turns --target blocklist.NAME values into names.
func (f *runFlags) blocklistTargets() ([]string, error) {
	var out []string
	for _, t := range f.targets {
		name, ok := strings.CutPrefix(t, "blocklist.")
		if !ok || name == "" || strings.ContainsAny(name, ". ") {
			return nil, fmt.Errorf("invalid --target %q: want blocklist.NAME", t)
		}
		out = append(out, name)
	}
	return out, nil
}

type planFlags struct {
	runFlags
	out              string
	detailedExitcode bool
	destroy          bool
	lockTimeout      time.Duration
}

func newPlanCommand(g *globals) *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan [flags]",
		Short: "Show what apply would change in Kibana, and why",
		Long: `Read Lumu Defender and Kibana and show which file hashes apply would block
or unblock, in which blocklist items, and which incidents are behind each one.

plan never writes to Kibana (its Kibana client refuses any non-GET request)
and never changes the state file. Save the plan with --out and apply exactly
that plan later with "lumuctl apply PLANFILE".

Exit status: 0 success (with --detailed-exitcode: no changes), 1 error,
2 changes present (--detailed-exitcode), 6 a safety guard tripped.`,
		Example: `  lumuctl plan
  lumuctl plan --out lumuctl.plan --markdown plan.md --detailed-exitcode
  lumuctl plan --target blocklist.lumu --var-file prod.lumuvars`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.recordRun("plan", f.metricsFile, func() error { return runPlan(cmd.Context(), g, f) })
		},
	}
	f.register(cmd.Flags(), true)
	cmd.Flags().StringVar(&f.out, "out", "", "save the plan to `FILE` (mode 0600) for apply")
	cmd.Flags().BoolVar(&f.detailedExitcode, "detailed-exitcode", false, "exit 2 when the plan has changes, 0 when it has none")
	cmd.Flags().BoolVar(&f.destroy, "destroy", false, "plan the removal of every owned item of the selected blocklists")
	durationVar(cmd.Flags(), &f.lockTimeout, "lock-timeout", 0, "accepted for symmetry with apply; plan never waits for the state lock")
	cmd.MarkFlagsMutuallyExclusive("json", "json-into")
	return cmd
}

// check rejects flags that can never run, before anything is loaded, and
// returns the --target blocklist names.
func (f *planFlags) check() ([]string, error) { return f.blocklistTargets() }

// newOperation builds the operation of plan, apply or destroy from the
// checked flags. Its Load records the workspace in *ws for the metrics
// and hands the configuration's files to out for diagnostics.
func (g *globals) newOperation(f runFlags, mode plan.Mode, targets []string, out *runOutput, markdown string) (*operation.Operation, **workspace) {
	ws := new(*workspace)
	return &operation.Operation{
		Mode: mode,
		Load: func() (*config.Config, state.Store, hcl.Diagnostics) {
			w, diags := g.loadWorkspace(f.vars.list)
			*ws = w
			g.observeConfig(w)
			out.files = w.files()
			return w.cfg, w.store, diags
		},
		Factories:       g.factories,
		HTTPLog:         g.httpLog(),
		Refresh:         f.refresh,
		Targets:         targets,
		AllowMassDelete: f.allowMassDelete,
		PlanKey:         g.env(operation.PlanKeyEnv),
		ToolVersion:     versionString(),
		Who:             state.CurrentUser(),
		Now:             g.now,
		Hook:            g.operationHooks(out, markdown),
	}, ws
}

func runPlan(ctx context.Context, g *globals, f planFlags) error {
	out, err := g.newRunOutput(f.runFlags)
	if err != nil {
		return err
	}
	defer out.close()
	targets, err := f.check()
	if err != nil {
		return out.fail(err)
	}
	mode := plan.ModeNormal
	if f.destroy {
		mode = plan.ModeDestroy
	}
	op, ws := g.newOperation(f.runFlags, mode, targets, out, "")
	defer func() { g.observeBlocked(*ws) }()
	op.PlanOut = f.out
	r, err := operation.Plan(ctx, op)
	g.observeResult(r)
	if operation.KindOf(err) == operation.GuardTripped && r.Plan != nil {
		// The PR comment still shows the plan, headed by the guard.
		if werr := out.writeMarkdown(r.Plan, f.markdown, "", r.Diags); werr != nil {
			return out.fail(werr)
		}
	}
	if err != nil {
		return out.exit(err)
	}
	if err := out.writeMarkdown(r.Plan, f.markdown, f.out, nil); err != nil {
		return out.fail(err)
	}
	if f.detailedExitcode && r.Plan.HasChanges() {
		return silentExit(ExitChanges)
	}
	return nil
}
