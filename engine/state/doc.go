// Package state owns lumuctl's local state model (SPEC section 6): the types
// stored in the state file and the small interfaces the engine uses to read
// and change it. The bbolt implementation lives in engine/state/boltstore;
// test helpers in engine/state/statetest.
//
// It does not talk to Kibana or Lumu, plan, or print anything, and it stores
// only what it is given: no field here holds a credential, and callers must
// not put one in (provider.Item and provider.IncidentRef carry none).
//
// # What the state holds
//
//   - lineage (a UUID set once, at creation) and serial (bumped by every
//     committed write), which saved plans bind to;
//   - the owned items as last written (Item, by item_id);
//   - provenance: per blocklist, hash → incidents, as of the last apply (why HASH);
//   - the set of applied plan digests;
//   - the audit history (HistoryEntry);
//   - the write-ahead journal (JournalEntry).
//
// # Concurrency
//
// Reader methods (Snapshot, Provenance, History, PendingJournal) never wait
// for the write lock and never modify the file; a missing file reads as an
// empty State with Lineage "". Writes need a Writer, which only Locker.Lock
// returns: apply, destroy and state rm hold it for their whole run. A lock
// held elsewhere yields a *LockError naming the holder (exit code 5).
//
// # The journal
//
// For each Kibana write, call Writer.JournalBegin before sending it (the entry
// is fsynced when it returns), then Writer.JournalDone with the item Kibana
// returned (this also updates the owned item) or, when the write certainly
// did not happen, Writer.JournalClear. At the end of a run, Writer.Commit
// stores provenance, the applied digest and the history entry, and clears the
// done entries (ClearDone). Entries still unfinished at the next run
// (State.Pending, Reader.PendingJournal) must be reconciled against Kibana
// before planning: JournalDone if the write landed, JournalClear if not.
//
// # Where to start
//
// boltstore.New(path, opts) returns a Store; see the package example.
package state
