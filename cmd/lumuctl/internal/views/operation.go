package views

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/apply"
	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// Plan is the view of `lumuctl plan`: it receives everything the operation
// reports while it runs through the engine's one progress interface
// (operation.Hook: the plan with its diagnostics, notices, progress) and
// the error that ends the command. It does not decide the exit code.
type Plan interface {
	operation.Hook
	// Failed reports the error that ends the command (the human view
	// leaves it to the command's error line; JSON writes a diagnostic).
	Failed(err error)
}

// Apply is the view of `lumuctl apply` and `destroy`: Plan's, plus what the
// writes did once they are over.
type Apply interface {
	Plan
	// Applied reports the outcome of the writes of command ("apply" or
	// "destroy"): the final line for people on success, apply_complete and
	// change_summary in JSON (ApplyCompleteText is their one text).
	Applied(res *apply.Result, planDigest, command string)
}

var (
	_ Apply = (*OperationHuman)(nil)
	_ Apply = (*OperationJSON)(nil)
	_ Apply = Both{}
)

// NewPlan returns the plan view of the requested formats: human text when
// human is not nil, JSON events when json is not nil, both (--json-into)
// when both are given.
func NewPlan(human *OperationHuman, json *OperationJSON) Plan { return NewApply(human, json) }

// NewApply returns the apply view of the requested formats (see NewPlan).
func NewApply(human *OperationHuman, json *OperationJSON) Apply {
	switch {
	case human != nil && json != nil:
		return Both{human, json}
	case json != nil:
		return json
	}
	return human
}

// ApplyCompleteText is the one text of a completed apply or destroy:
// the human view's last line and the @message of apply_complete and its
// change_summary.
func ApplyCompleteText(res *apply.Result, command string) string {
	verb := "Apply"
	if command == "destroy" {
		verb = "Destroy"
	}
	return fmt.Sprintf("%s complete! Items: %d added, %d changed, %d destroyed. Hashes blocked: %d.", verb, res.Added, res.Changed, res.Destroyed, res.Blocked)
}

// OperationHuman renders plan, apply and destroy for people: notices and
// the plan on Stdout, diagnostics with snippets (warnings on Stdout, errors
// on Stderr), and apply progress on Stderr: a bar on a terminal, a line
// every 10 s otherwise.
type OperationHuman struct {
	Stdout, Stderr io.Writer
	// Color colours the plan; ErrColor the diagnostics (both streams).
	Color, ErrColor bool
	// Verbose prints full hashes and every hash line.
	Verbose bool
	// Terminal says Stderr is a terminal (the progress bar).
	Terminal bool
	// Sources returns the configuration files, for snippets (may be nil).
	Sources func() map[string]*hcl.File
	// Now is the clock of the periodic progress line.
	Now func() time.Time

	mu     sync.Mutex
	total  int
	done   int // finished writes, made or failed
	failed int
	last   time.Time
}

func (v *OperationHuman) files() map[string]*hcl.File {
	if v.Sources == nil {
		return nil
	}
	return v.Sources()
}

// Fetch implements operation.Hook; fetching progress is FetchStatus's.
func (v *OperationHuman) Fetch(provider.ProgressEvent) {}

// Notice implements operation.Hook.
func (v *OperationHuman) Notice(msg string) { fmt.Fprintln(v.Stdout, msg) }

// Planned implements operation.Hook: warnings first, so the plan's summary
// stays the last lines; errors (a tripped guard) after the plan they refer
// to.
func (v *OperationHuman) Planned(p *plan.Plan, diags hcl.Diagnostics) error {
	if !diags.HasErrors() {
		v.diagnostics(diags)
	}
	if p != nil {
		_ = WritePlanHuman(v.Stdout, p, PlanHumanOptions{Color: v.Color, Verbose: v.Verbose})
	}
	if diags.HasErrors() {
		v.diagnostics(diags)
	}
	return nil
}

func (v *OperationHuman) diagnostics(diags hcl.Diagnostics) {
	if len(diags) > 0 {
		_ = WriteDiagnostics(v.Stdout, v.Stderr, v.files(), diags, v.ErrColor)
	}
}

// ApplyStart implements operation.Hook.
func (v *OperationHuman) ApplyStart(total int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.total, v.done, v.failed = total, 0, 0
	v.last = v.now()
}

func (v *OperationHuman) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

// PreApply implements operation.Hook (progress counts finished writes).
func (v *OperationHuman) PreApply(string, plan.ItemChange) {}

// PostApply implements operation.Hook. Failed writes are listed once, in
// the final error.
func (v *OperationHuman) PostApply(_ string, _ plan.ItemChange, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.done++
	if err != nil {
		v.failed++
	}
	if v.Terminal {
		const width = 30
		filled := width * v.done / max(v.total, 1)
		fmt.Fprintf(v.Stderr, "\r\x1b[K[%s%s] %d/%d items%s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), v.done, v.total, v.failedNote())
		return
	}
	if now := v.now(); now.Sub(v.last) >= 10*time.Second {
		v.last = now
		// Count made writes, not finished ones: the final message counts
		// made writes too, and the two must agree.
		fmt.Fprintf(v.Stderr, "Still applying: %d of %d item writes made%s.\n", v.done-v.failed, v.total, v.failedNote())
	}
}

// failedNote is ", N failed" when writes failed (v.mu held).
func (v *OperationHuman) failedNote() string {
	if v.failed == 0 {
		return ""
	}
	return fmt.Sprintf(", %d failed", v.failed)
}

// ApplyEnd implements operation.Hook: it clears the progress bar.
func (v *OperationHuman) ApplyEnd() {
	if v.Terminal {
		fmt.Fprint(v.Stderr, "\r\x1b[K")
	}
}

// Failed implements Plan: the command prints the error line.
func (v *OperationHuman) Failed(error) {}

// Applied implements Apply: the last line, on success only (a failure is
// the command's error).
func (v *OperationHuman) Applied(res *apply.Result, _ string, command string) {
	if res.Outcome == state.OutcomeSuccess {
		fmt.Fprintf(v.Stdout, "\n%s\n", ApplyCompleteText(res, command))
	}
}

// OperationJSON renders plan, apply and destroy as JSON-lines events
// (Events): diagnostics, the plan's messages, apply_start, apply_progress
// and apply_errored, apply_complete. Notices and fetching progress are for
// people: JSON consumers get the facts from the typed events.
type OperationJSON struct {
	Events *Events
	// Sources returns the configuration files, for snippets (may be nil).
	Sources func() map[string]*hcl.File
}

// Fetch implements operation.Hook.
func (v *OperationJSON) Fetch(provider.ProgressEvent) {}

// Notice implements operation.Hook.
func (v *OperationJSON) Notice(string) {}

// Planned implements operation.Hook.
func (v *OperationJSON) Planned(p *plan.Plan, diags hcl.Diagnostics) error {
	if !diags.HasErrors() {
		v.diagnostics(diags)
	}
	if p != nil {
		v.Events.Plan(p)
	}
	if diags.HasErrors() {
		v.diagnostics(diags)
	}
	return nil
}

func (v *OperationJSON) diagnostics(diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	var files map[string]*hcl.File
	if v.Sources != nil {
		files = v.Sources()
	}
	v.Events.Diagnostics(diags, files)
}

// ApplyStart implements operation.Hook.
func (v *OperationJSON) ApplyStart(total int) { v.Events.ApplyStart(total) }

// PreApply implements operation.Hook.
func (v *OperationJSON) PreApply(blocklist string, c plan.ItemChange) {
	v.Events.PreApply(blocklist, c)
}

// PostApply implements operation.Hook.
func (v *OperationJSON) PostApply(blocklist string, c plan.ItemChange, err error) {
	v.Events.PostApply(blocklist, c, err)
}

// ApplyEnd implements operation.Hook.
func (v *OperationJSON) ApplyEnd() {}

// Failed implements Plan: an error diagnostic.
func (v *OperationJSON) Failed(err error) {
	v.Events.Diagnostics(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Error", Detail: err.Error()}}, nil)
}

// Applied implements Apply.
func (v *OperationJSON) Applied(res *apply.Result, planDigest, command string) {
	v.Events.ApplyComplete(res, planDigest, command == "destroy")
}

// Both is the human and the JSON view together (--json-into): every event
// goes to each, JSON first.
type Both struct {
	Human *OperationHuman
	JSON  *OperationJSON
}

func (b Both) hooks() operation.Hooks { return operation.Hooks{b.JSON, b.Human} }

// Fetch implements operation.Hook.
func (b Both) Fetch(ev provider.ProgressEvent) { b.hooks().Fetch(ev) }

// Notice implements operation.Hook.
func (b Both) Notice(msg string) { b.hooks().Notice(msg) }

// Planned implements operation.Hook.
func (b Both) Planned(p *plan.Plan, diags hcl.Diagnostics) error { return b.hooks().Planned(p, diags) }

// ApplyStart implements operation.Hook.
func (b Both) ApplyStart(total int) { b.hooks().ApplyStart(total) }

// PreApply implements operation.Hook.
func (b Both) PreApply(blocklist string, c plan.ItemChange) { b.hooks().PreApply(blocklist, c) }

// PostApply implements operation.Hook.
func (b Both) PostApply(blocklist string, c plan.ItemChange, err error) {
	b.hooks().PostApply(blocklist, c, err)
}

// ApplyEnd implements operation.Hook.
func (b Both) ApplyEnd() { b.hooks().ApplyEnd() }

// Failed implements Plan.
func (b Both) Failed(err error) { b.JSON.Failed(err); b.Human.Failed(err) }

// Applied implements Apply.
func (b Both) Applied(res *apply.Result, planDigest, command string) {
	b.JSON.Applied(res, planDigest, command)
	b.Human.Applied(res, planDigest, command)
}

// FetchMessage is the one text of a fetching progress event, and whether
// it is shown (retries are not: the HTTP log has every one).
func FetchMessage(ev provider.ProgressEvent) (string, bool) {
	switch ev.Kind {
	case provider.ProgressIncidentsListed:
		return fmt.Sprintf("%s: %d incidents listed", ev.Source, ev.Done), true
	case provider.ProgressContexts:
		return fmt.Sprintf("%s: incident contexts %d/%d", ev.Source, ev.Done, ev.Total), true
	case provider.ProgressRateLimited:
		return fmt.Sprintf("%s: waiting %s for the Lumu rate limit", ev.Source, ev.Wait.Round(time.Millisecond)), true
	}
	return "", false
}

// FetchStatus shows the Lumu fetching progress for people whatever the
// output format (operation.Hook.Fetch; every other event is ignored): a
// status line on Stderr when it is a terminal, cleared when fetching ends;
// otherwise Log every 10 s. Debug receives every event.
type FetchStatus struct {
	operation.NopHook
	Stderr   io.Writer
	Terminal bool
	Now      func() time.Time
	Log      func(msg string)
	Debug    func(msg string)

	mu   sync.Mutex
	last time.Time
}

// Fetch implements operation.Hook.
func (s *FetchStatus) Fetch(ev provider.ProgressEvent) {
	if ev.Kind == operation.FetchFinished {
		if s.Terminal {
			fmt.Fprint(s.Stderr, "\r\x1b[K") // clear the progress line
		}
		return
	}
	msg, ok := FetchMessage(ev)
	if !ok {
		return
	}
	if s.Debug != nil {
		s.Debug(msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Terminal {
		fmt.Fprintf(s.Stderr, "\r\x1b[K%s", msg)
		return
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	if now.Sub(s.last) >= 10*time.Second && s.Log != nil {
		s.last = now
		s.Log(msg)
	}
}
