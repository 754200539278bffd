package state

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by Store implementations, wrapped with the file name.
// Test with errors.Is / errors.As.
var (
	// Returned when the state file is not a readable state: not a bbolt
	// file, truncated, or with an undecodable record. Carried by
	// *CorruptError.
	ErrCorrupt = errors.New("state file is corrupt")

	// Returned when the state file stayed busy (another process in the
	// middle of a transaction) for longer than the store's open timeout.
	// This is not the write lock: that one yields *LockError.
	ErrBusy = errors.New("state file is busy")

	// Returned by Writer methods after Unlock.
	ErrUnlocked = errors.New("state write lock already released")

	// Returned by JournalDone for a sequence number with no entry.
	ErrNoJournalEntry = errors.New("no such journal entry")
)

// CorruptError says which file is unreadable and why. It wraps ErrCorrupt
// and the underlying cause.
type CorruptError struct {
	Path   string
	Detail string
	Err    error // cause, may be nil
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("state file %s is corrupt or not a lumuctl state file: %s", e.Path, e.Detail)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrCorrupt and the cause.
func (e *CorruptError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrCorrupt}
	}
	return []error{ErrCorrupt, e.Err}
}

// VersionError reports a state file written in a format this binary cannot
// read: newer (upgrade lumuctl) or older without an upgrade run yet.
type VersionError struct {
	Path      string
	Found     int
	Supported int
}

func (e *VersionError) Error() string {
	if e.Found > e.Supported {
		return fmt.Sprintf("state file %s has format version %d, but this lumuctl supports at most version %d: upgrade lumuctl", e.Path, e.Found, e.Supported)
	}
	return fmt.Sprintf("state file %s has format version %d, older than version %d: run `lumuctl init` to upgrade it", e.Path, e.Found, e.Supported)
}

// LockError is returned when the write lock is held by another run. The CLI
// turns it into exit code 5.
type LockError struct {
	// Path is the lock file.
	Path string
	// Holder describes the run holding the lock; zero if its record could
	// not be read.
	Holder LockInfo
	// Waited is how long this run waited.
	Waited time.Duration
}

func (e *LockError) Error() string {
	h := e.Holder
	if h.PID == 0 {
		return fmt.Sprintf("state is locked (%s) by another lumuctl run whose details could not be read; waited %s", e.Path, e.Waited)
	}
	return fmt.Sprintf("state is locked (%s): held by pid %d (%s) running %q since %s; waited %s",
		e.Path, h.PID, h.Who, h.Command, h.Started.Format(time.RFC3339), e.Waited)
}

// NamespaceError says that a state belongs to another namespace than the
// configuration that uses it: two configurations share one state_path.
type NamespaceError struct {
	Path       string
	Recorded   string
	Configured string
}

func (e *NamespaceError) Error() string {
	return fmt.Sprintf("state %s belongs to namespace %q, but this configuration has namespace %q: two configurations must not share one state file (give this one its own settings.state_path, or correct settings.namespace); nothing was changed", e.Path, e.Recorded, e.Configured)
}

// CheckNamespace returns a *NamespaceError when st records a namespace
// other than ns. A state that records none (new, or written by an older
// lumuctl) is accepted; the next commit records ns.
func CheckNamespace(st *State, path, ns string) error {
	if st == nil || st.Namespace == "" || st.Namespace == ns {
		return nil
	}
	return &NamespaceError{Path: path, Recorded: st.Namespace, Configured: ns}
}
