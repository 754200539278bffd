package operation

import (
	"errors"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/apply"
	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// PlanKeyEnv names the environment variable holding the plan-signing key
// (plan.Sign); messages about Operation.PlanKey name it. The key is a
// secret: it is never printed.
const PlanKeyEnv = "LUMUCTL_PLAN_KEY"

// Operation is one plan, apply or destroy: what to load, what to plan and
// how to apply it. The command builds it from the flags it has checked
// (Check) and runs it with Plan or Apply.
type Operation struct {
	// Mode is plan.ModeNormal or plan.ModeDestroy.
	Mode plan.Mode
	// Load loads the configuration and opens its state store. Apply calls
	// it after decoding PlanFile (a bad plan file is refused before the
	// configuration is read), Plan first. Diagnostics with errors end the
	// operation before anything is locked.
	Load func() (*config.Config, state.Store, hcl.Diagnostics)
	// Factories build the Lumu source and the Kibana targets.
	Factories provider.Factories
	// HTTPLog is handed to every provider client (may be nil).
	HTTPLog provider.HTTPLog
	// Refresh reads every incident context again instead of the cache.
	Refresh bool
	// Targets are the blocklist names of --target (none: all).
	Targets []string
	// AllowMassDelete overrides the mass-delete guard.
	AllowMassDelete bool

	// PlanFile is the saved plan apply applies as it is ("" makes a plan).
	PlanFile string
	// PlanKey is the plan-signing key: Plan signs PlanOut with it, Apply
	// refuses a PlanFile not signed with it. "" signs and checks nothing.
	PlanKey string
	// PlanOut is where Plan saves the plan (mode 0600); "" saves nothing.
	PlanOut string
	// PlanMaxAge refuses a saved plan older than this (0: no limit).
	PlanMaxAge time.Duration
	// LockTimeout is how long Apply waits for the state lock.
	LockTimeout time.Duration
	// Parallelism bounds concurrent Kibana writes.
	Parallelism int
	// Confirm, when set, is asked before Apply writes a plan it made (never
	// for a saved plan); an error ends the operation with nothing written.
	Confirm func(command string) error

	// ToolVersion is recorded in plans.
	ToolVersion string
	// Who is recorded in the audit history.
	Who string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Hook receives everything the operation reports while it runs (a
	// NopHook when nil).
	Hook Hook
}

// Result is what an operation did. It is returned even when the operation
// failed, holding what was reached.
type Result struct {
	// Command is "plan", "apply" or "destroy" (a saved destroy plan is
	// applied as "destroy").
	Command string
	// Plan is the plan made, or the saved plan once verified; nil before.
	Plan *plan.Plan
	// Saved says Plan was decoded from Operation.PlanFile.
	Saved bool
	// Diags are every diagnostic of the operation (already reported
	// through Hook.Planned), for callers that count them.
	Diags hcl.Diagnostics
	// Unread counts, per company, the incidents whose context the fetch
	// left unread (the Lumu daily quota or a long rate limit).
	Unread map[string]int
	// Apply is what the Kibana writes did; nil when none was attempted or
	// their outcome could not be recorded.
	Apply *apply.Result
}

// Kind classifies why an operation failed; the command maps each to its
// exit code.
type Kind int

// The kinds of failure.
const (
	// Failed: an error; nothing was changed in Kibana.
	Failed Kind = iota + 1
	// Refused: a saved plan was refused (undecodable, unsigned, stale) or
	// a change named an item the run did not read.
	Refused
	// Locked: the state lock was not acquired.
	Locked
	// GuardTripped: a safety guard refused the plan.
	GuardTripped
	// Interrupted: ctx was cancelled before any write was made.
	Interrupted
	// Partial: some writes were made, then an error or an interrupt.
	Partial
)

// Error is an operation's failure. Err is nil when the failure was already
// reported as diagnostics (Result.Diags, through Hook.Planned).
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return "the operation failed; see its diagnostics"
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err: 0 for nil, Failed for an error that is
// not an *Error.
func KindOf(err error) Kind {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Failed
}

func fail(k Kind, err error) error { return &Error{Kind: k, Err: err} }

// stateErr classifies a state-store error: a lock not acquired is Locked.
func stateErr(err error) error {
	var le *state.LockError
	if errors.As(err, &le) {
		return fail(Locked, err)
	}
	return err
}

func (op *Operation) now() time.Time {
	if op.Now != nil {
		return op.Now()
	}
	return time.Now()
}

func (op *Operation) hook() Hook {
	if op.Hook == nil {
		return NopHook{}
	}
	return op.Hook
}
