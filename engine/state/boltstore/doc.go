// Package boltstore implements state.Store on a bbolt file.
//
// The database is never kept open: every read opens it read-only for one
// transaction and every write opens it read-write for one transaction, so
// that bbolt's file lock is held only for milliseconds and plan, show, why
// and history can read while an apply runs. The exclusive write lock that
// apply holds for its whole run is a separate flock on <state_path>.lock,
// whose content names the holder.
//
// Files: the state (0600, directory 0700 when created), <state_path>.lock
// (0600, never removed) and <state_path>.backup (0600, written atomically).
// The bucket layout is documented in codec.go; format versions and their
// upgrades in version.go.
//
// Errors: a file that is not a readable state gives *state.CorruptError
// naming the file; a newer format gives *state.VersionError; a held write
// lock gives *state.LockError. Start with New.
package boltstore
