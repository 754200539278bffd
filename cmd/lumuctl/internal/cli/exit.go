package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, as documented in SPEC section 4 and docs/commands.md.
const (
	ExitOK          = 0   // success (plan --detailed-exitcode: no changes)
	ExitError       = 1   // error; nothing was changed in Kibana
	ExitChanges     = 2   // plan --detailed-exitcode: changes present
	ExitPartial     = 3   // apply/destroy: some changes made, then an error
	ExitPlanRefused = 4   // apply refused a saved plan
	ExitLocked      = 5   // state lock not acquired within --lock-timeout
	ExitGuard       = 6   // a safety guard tripped; nothing changed
	ExitInterrupted = 130 // interrupted
)

// exitError carries an exit code out of a command. If printed is true the
// message was already shown to the user and must not be printed again.
type exitError struct {
	code    int
	err     error
	printed bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that Main exits with code.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// silentExit returns an error that sets the exit code without printing
// anything more (the view already reported the problem).
func silentExit(code int) error { return &exitError{code: code, printed: true} }

// exitCodeOf maps an error returned by a command to an exit code.
func exitCodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitError
}

// ExitNotFormatted is the exit code of `fmt --check` when some file is not
// in canonical format (the same number as `terraform fmt -check`). It shares
// its value with ExitPartial; the two commands never overlap.
const ExitNotFormatted = 3

// usageError marks err as a command-line usage mistake (unknown flag, bad
// flag value, unknown command): exit code 1 and a hint naming the command's
// help.
func usageError(c *cobra.Command, err error) error {
	return withCode(ExitError, &usageErr{err: err, path: c.CommandPath()})
}

// argsError marks err as a wrong number or kind of positional arguments:
// like usageError, plus the command's usage line, so the user sees what the
// command expects without reading its help.
func argsError(c *cobra.Command, err error) error {
	return withCode(ExitError, &usageErr{err: err, path: c.CommandPath(), useLine: c.UseLine()})
}

// usageErr is the message of a usage mistake: the error, the usage line
// when there is one, and the line naming the help to read.
type usageErr struct {
	err     error
	path    string // command path, "lumuctl why"
	useLine string // "lumuctl why HASH", or empty
}

func (e *usageErr) Error() string {
	var b strings.Builder
	b.WriteString(e.err.Error())
	if e.useLine != "" {
		b.WriteString("\nUsage: " + e.useLine)
	}
	b.WriteString("\nRun '" + e.path + " --help' for usage.")
	return b.String()
}

func (e *usageErr) Unwrap() error { return e.err }

// explainArgs wraps a command's positional-argument check so that its
// errors are argument errors (usage line and help hint, exit 1). Checks
// that already return a usage error are left alone.
func explainArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		err := check(c, args)
		if err == nil {
			return nil
		}
		var ue *usageErr
		if errors.As(err, &ue) {
			return err
		}
		return argsError(c, err)
	}
}

// noArgs is a cobra.PositionalArgs for commands that take no arguments.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return argsError(c, fmt.Errorf("%s takes no arguments, got %q", c.CommandPath(), args))
	}
	return nil
}
