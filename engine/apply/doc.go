// Package apply executes a plan.Plan against the Kibana targets and records
// every write in the state file's write-ahead journal.
//
// It owns: the order and parallelism of writes, the journal protocol
// (JournalBegin before a write is sent, JournalDone/JournalClear after), the
// ownership re-check before each write, stopping cleanly when the context is
// cancelled (in-flight writes finish), the final state commit (items,
// provenance, applied digest, audit history), reconciling journal entries a
// crashed run left behind (Reconcile), and checking a saved plan's bindings
// before it is applied (Verify).
//
// It does not plan, print or take the state lock: the caller (cmd/lumuctl)
// takes the lock, reconciles, plans or decodes a plan, verifies it, then calls
// Apply with a Hook that renders progress.
package apply
