package cli

import (
	"fmt"
	"io"
	"sync/atomic"
)

// writeCounter counts item writes as apply's hook sees them, so that a
// second Ctrl-C, which exits without waiting for apply to return, can say
// what was done and choose the exit code.
type writeCounter struct {
	made     atomic.Int64 // succeeded (and journaled as done)
	inFlight atomic.Int64 // sent, not finished
}

// exitNow prints what a second interrupt leaves behind and returns the
// exit code: ExitPartial when item writes were made, else ExitInterrupted.
func (w *writeCounter) exitNow(out io.Writer) int {
	made, inFlight := w.made.Load(), w.inFlight.Load()
	msg := "Interrupted again: exiting at once."
	if made > 0 {
		msg += fmt.Sprintf(" %d item write(s) were made and recorded.", made)
	}
	if inFlight > 0 {
		msg += fmt.Sprintf(" %d write(s) were in flight: the next apply checks whether they landed.", inFlight)
	}
	if made > 0 || inFlight > 0 {
		msg += " Run apply again to converge."
	}
	fmt.Fprintf(out, "\n%s\n", msg)
	if made > 0 {
		return ExitPartial
	}
	return ExitInterrupted
}
