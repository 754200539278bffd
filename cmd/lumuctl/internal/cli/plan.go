package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
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

// planKeyEnv names the environment variable holding the plan-signing key
// (see plan.Sign and docs/ci.md). It is a secret: never printed.
const planKeyEnv = "LUMUCTL_PLAN_KEY"

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

// planRun is what a plan-making command computed.
type planRun struct {
	ws    *workspace
	plan  *plan.Plan
	diags hcl.Diagnostics
}

// makePlan plans in workspace ws (loaded by the caller), reading the state
// snapshot from snap (never waiting for the lock). Kibana is read through
// targets when given (tests), else through new read-only clients: plan and
// apply alike, since the Kibana client keeps no item state. The returned
// diagnostics have not been shown yet.
func makePlan(ctx context.Context, g *globals, f runFlags, mode plan.Mode, ws *workspace, snap func() (*state.State, error), targets map[string]provider.Target) (*planRun, error) {
	run := &planRun{ws: ws}
	names, err := f.blocklistTargets()
	if err != nil {
		return nil, withCode(ExitError, err)
	}
	if len(names) > 0 {
		run.diags = append(run.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Resource targeting is in effect",
			Detail: "Only the blocklists named with --target are planned. The rest of the configuration may not match Kibana; plan without --target before relying on it."})
	}
	st, err := snap()
	if err != nil {
		return nil, stateError(err)
	}
	if err := state.CheckNamespace(st, ws.store.Path(), ws.cfg.Settings.Namespace); err != nil {
		return nil, withCode(ExitError, err)
	}
	if n := len(st.Pending()); n > 0 {
		run.diags = append(run.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Unfinished writes from an interrupted apply",
			Detail: fmt.Sprintf("The state journal has %d write(s) that an earlier apply sent but did not record. The next apply reconciles them with Kibana before it plans; this plan reads Kibana directly.", n)})
	}
	src, d := ws.source(g.factories, f.refresh)
	run.diags = append(run.diags, d...)
	if d.HasErrors() {
		return run, nil
	}
	defer src.Close()
	if targets == nil {
		targets, d = ws.targets(g.factories, true)
		defer closeIdle(targets)
		run.diags = append(run.diags, d...)
		if d.HasErrors() {
			return run, nil
		}
	}
	unread := map[string]int{}
	p, d := plan.Make(ctx, plan.Options{
		Config:          ws.cfg,
		Prior:           ws.prior(st),
		Source:          src,
		Kibanas:         targets,
		Now:             g.now(),
		Mode:            mode,
		Targets:         names,
		AllowMassDelete: f.allowMassDelete,
		ToolVersion:     versionString(),
		Progress:        g.progress(),
		Fetched: func(f *config.IOCFilter, s provider.FetchStats) {
			unread[f.Company.Name] += s.IncidentsUnread
		},
	})
	if isTerminal(g.streams.Err) {
		fmt.Fprint(g.streams.Err, "\r\x1b[K") // clear the progress line
	}
	run.plan = p
	run.diags = append(run.diags, d...)
	g.observePlan(p, d)
	g.observeUnread(unread)
	return run, nil
}

func runPlan(ctx context.Context, g *globals, f planFlags) error {
	out, err := g.newRunOutput(f.runFlags)
	if err != nil {
		return err
	}
	defer out.close()
	mode := plan.ModeNormal
	if f.destroy {
		mode = plan.ModeDestroy
	}
	ws, diags := g.loadWorkspace(f.vars.list)
	g.observeConfig(ws)
	defer g.observeBlocked(ws)
	if diags.HasErrors() {
		out.files = ws.files()
		out.diagnostics(diags)
		return silentExit(ExitError)
	}
	run, err := makePlan(ctx, g, f.runFlags, mode, ws, ws.store.Snapshot, nil)
	if err != nil {
		return out.fail(err)
	}
	run.diags = append(diags, run.diags...)
	if ctx.Err() != nil {
		return out.fail(withCode(ExitInterrupted, fmt.Errorf("plan interrupted; nothing was written")))
	}
	if code, done := out.reportPlan(run); done {
		if code == ExitGuard && run.plan != nil {
			// The PR comment still shows the plan, headed by the guard.
			if err := out.writeMarkdown(run.plan, f.markdown, "", run.diags); err != nil {
				return out.fail(err)
			}
		}
		return silentExit(code)
	}
	p := run.plan
	if f.out != "" {
		if key := g.env(planKeyEnv); key != "" {
			if err := plan.Sign(p, key); err != nil {
				return out.fail(fmt.Errorf("%s: %w", planKeyEnv, err))
			}
		}
		var buf bytes.Buffer
		if err := plan.Encode(&buf, p); err != nil {
			return out.fail(err)
		}
		if err := writePrivateFile(f.out, buf.Bytes()); err != nil {
			return out.fail(err)
		}
		signed := ""
		if p.Signature != "" {
			signed = " signed"
		}
		out.note(fmt.Sprintf("Saved the%s plan to %s. Apply exactly this plan with: lumuctl apply %s", signed, f.out, f.out))
	}
	if err := out.writeMarkdown(p, f.markdown, f.out, nil); err != nil {
		return out.fail(err)
	}
	if f.detailedExitcode && p.HasChanges() {
		return silentExit(ExitChanges)
	}
	return nil
}
