package cli

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/safefile"
)

// runOutput is where plan, apply and destroy report: human text on the
// terminal, and/or JSON-lines events (--json on stdout, --json-into FILE).
// It is built before anything else runs, so that even flag errors come out
// in the format the user asked for.
type runOutput struct {
	g       *globals
	human   bool          // text on stdout/stderr
	events  *views.Events // nil without --json / --json-into
	file    *os.File      // --json-into
	color   bool
	verbose bool
	files   map[string]*hcl.File
}

func (g *globals) newRunOutput(f runFlags) (*runOutput, error) {
	o := &runOutput{g: g, human: !f.jsonOut, verbose: g.verbose > 0}
	o.color = o.human && g.color(g.streams.Out)
	switch {
	case f.jsonOut:
		o.events = views.NewEvents(g.streams.Out, versionString(), g.now)
	case f.jsonInto != "":
		file, err := safefile.Create(f.jsonInto, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--json-into: %w", err)
		}
		o.file = file
		o.events = views.NewEvents(file, versionString(), g.now)
	}
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
	if o.events != nil {
		o.events.Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Error", Detail: err.Error()}}, nil)
		if !o.human {
			return &exitError{code: exitCodeOf(err), err: err, printed: true}
		}
	}
	return err
}

// diagnostics renders diags in every requested format.
func (o *runOutput) diagnostics(diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			o.g.lastFailure = d.Summary + ": " + d.Detail
			break
		}
	}
	if o.events != nil {
		o.events.Diagnostics(diags, o.files)
	}
	if o.human {
		_ = views.WriteDiagnostics(o.g.streams.Out, o.g.streams.Err, o.files, diags, o.color && o.g.color(o.g.streams.Err))
	}
}

// note prints an informational line for people (JSON consumers get the
// facts from the typed events).
func (o *runOutput) note(msg string) {
	if o.human {
		fmt.Fprintln(o.g.streams.Out, msg)
	}
}

// renderPlan shows p in every requested format.
func (o *runOutput) renderPlan(p *plan.Plan) {
	if o.events != nil {
		o.events.Plan(p)
	}
	if o.human {
		_ = views.WritePlanHuman(o.g.streams.Out, p, views.PlanHumanOptions{Color: o.color, Verbose: o.verbose})
	}
}

// reportPlan shows a plan (nil: none) and its diagnostics: warnings first,
// so the plan's summary stays the last lines; errors (a tripped guard)
// after the plan they refer to.
func (o *runOutput) reportPlan(p *plan.Plan, diags hcl.Diagnostics) {
	if diags.HasErrors() {
		if p != nil {
			o.renderPlan(p)
		}
		o.diagnostics(diags)
		return
	}
	o.diagnostics(diags)
	if p != nil {
		o.renderPlan(p)
	}
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
	if o.human {
		fmt.Fprintf(o.g.streams.Err, "Wrote the markdown rendering of the plan to %s.\n", path)
	}
	return nil
}

// progress returns the ProgressFunc for source fetches: a status line on a
// terminal, a log line every 10 s otherwise (and every event at debug).
func (g *globals) progress() provider.ProgressFunc {
	var (
		mu   sync.Mutex
		last time.Time
	)
	term := isTerminal(g.streams.Err)
	return func(ev provider.ProgressEvent) {
		var msg string
		switch ev.Kind {
		case provider.ProgressIncidentsListed:
			msg = fmt.Sprintf("%s: %d incidents listed", ev.Source, ev.Done)
		case provider.ProgressContexts:
			msg = fmt.Sprintf("%s: incident contexts %d/%d", ev.Source, ev.Done, ev.Total)
		case provider.ProgressRateLimited:
			msg = fmt.Sprintf("%s: waiting %s for the Lumu rate limit", ev.Source, ev.Wait.Round(time.Millisecond))
		case provider.ProgressRetrying:
			return // the HTTP log shows every retry (httpLog.Retry)
		default:
			return
		}
		g.logger.Debug("progress", "event", msg)
		mu.Lock()
		defer mu.Unlock()
		now := g.now()
		if term {
			fmt.Fprintf(g.streams.Err, "\r\x1b[K%s", msg)
			return
		}
		if now.Sub(last) >= 10*time.Second {
			last = now
			g.logger.Info(msg)
		}
	}
}
