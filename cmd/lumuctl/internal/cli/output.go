package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/safefile"
)

// runOutput is where plan, apply and destroy report: the views the flags
// ask for (human text on the terminal and/or JSON-lines events: --json on
// stdout, --json-into FILE). It is built before anything else runs, so
// that even flag errors come out in the format the user asked for.
type runOutput struct {
	g     *globals
	human *views.OperationHuman // nil with --json
	json  *views.OperationJSON  // nil without --json / --json-into
	view  views.Apply           // human and/or json
	file  *os.File              // --json-into
	files map[string]*hcl.File  // the configuration, once loaded
}

func (g *globals) newRunOutput(f runFlags) (*runOutput, error) {
	o := &runOutput{g: g}
	sources := func() map[string]*hcl.File { return o.files }
	if !f.jsonOut {
		color := g.color(g.streams.Out)
		o.human = &views.OperationHuman{Stdout: g.streams.Out, Stderr: g.streams.Err, Color: color,
			ErrColor: color && g.color(g.streams.Err), Verbose: g.verbose > 0,
			Terminal: isTerminal(g.streams.Err), Sources: sources, Now: g.now}
	}
	switch {
	case f.jsonOut:
		o.json = &views.OperationJSON{Events: views.NewEvents(g.streams.Out, versionString(), g.now), Sources: sources}
	case f.jsonInto != "":
		file, err := safefile.Create(f.jsonInto, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--json-into: %w", err)
		}
		o.file = file
		o.json = &views.OperationJSON{Events: views.NewEvents(file, versionString(), g.now), Sources: sources}
	}
	o.view = views.NewApply(o.human, o.json)
	return o, nil
}

func (o *runOutput) close() {
	if o.file != nil {
		o.file.Close()
	}
}

// fail reports err in the requested format and returns the error to hand
// back to cobra (printed once).
func (o *runOutput) fail(err error) error {
	o.g.lastFailure = err.Error()
	o.view.Failed(err)
	if o.human == nil {
		return &exitError{code: exitCodeOf(err), err: err, printed: true}
	}
	return err
}

// exit reports an operation's failure (unless its diagnostics already
// did) and returns the error carrying its exit code.
func (o *runOutput) exit(err error) error {
	if err == nil {
		return nil
	}
	code := ExitError
	switch operation.KindOf(err) {
	case operation.Refused:
		code = ExitPlanRefused
	case operation.Locked:
		code = ExitLocked
	case operation.GuardTripped:
		code = ExitGuard
	case operation.Interrupted:
		code = ExitInterrupted
	case operation.Partial:
		code = ExitPartial
	}
	var oe *operation.Error
	if errors.As(err, &oe) && oe.Err == nil {
		return silentExit(code)
	}
	return o.fail(withCode(code, err))
}

// writeMarkdown writes the PR-comment rendering when --markdown was given.
// refused are the tripped guards, if any (the plan is then shown with them,
// so reviewers see both what would happen and why it is refused).
func (o *runOutput) writeMarkdown(p *plan.Plan, path, planFile string, refused hcl.Diagnostics) error {
	if path == "" {
		return nil
	}
	var reasons []string
	for _, d := range refused {
		if d.Severity == hcl.DiagError {
			reasons = append(reasons, d.Summary+": "+d.Detail)
		}
	}
	md := views.RenderMarkdown(p, views.MarkdownOptions{PlanFile: planFile, Refused: reasons})
	if err := writePrivateFile(path, []byte(md)); err != nil {
		return err
	}
	if o.human != nil {
		fmt.Fprintf(o.g.streams.Err, "Wrote the markdown rendering of the plan to %s.\n", path)
	}
	return nil
}
