package state

import (
	"context"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// State is a consistent snapshot of everything plan needs, read in one
// transaction. A missing state file reads as the zero State (Lineage "",
// Serial 0, no items).
type State struct {
	// FormatVersion is the on-disk format version of the file (0 when the
	// file does not exist).
	FormatVersion int
	// Lineage identifies one state file for its whole life: a random UUID set
	// when the file is created and never changed. "" when there is no file.
	Lineage string
	// Serial counts committed write transactions since creation (a new file
	// has 0). Saved plans bind to Lineage and Serial.
	Serial uint64
	// Namespace is the ownership namespace of the configuration that wrote
	// the state ("" when none was recorded yet: a new state, or one written
	// before lumuctl recorded it). See CheckNamespace.
	Namespace string
	// Items are the owned items as last written, by item_id.
	Items map[string]Item
	// Applied is the set of plan digests already applied (with the time).
	Applied map[string]time.Time
	// Journal holds every uncleared write-ahead entry, ordered by Seq: the
	// unfinished ones (Done false) must be reconciled against Kibana before
	// planning; done ones are already reflected in Items.
	Journal []JournalEntry
}

// Pending returns the unfinished journal entries of s, ordered by Seq.
func (s *State) Pending() []JournalEntry {
	var out []JournalEntry
	for _, e := range s.Journal {
		if !e.Done {
			out = append(out, e)
		}
	}
	return out
}

// Item is one owned Kibana item as last written by lumuctl, with the
// blocklist, OS and hash type it was packed for.
type Item struct {
	Blocklist string            `json:"blocklist"`
	OS        string            `json:"os"`
	HashType  provider.HashType `json:"hash_type"`
	// Item is the body as Kibana returned it after the write (ID and
	// _version included).
	Item provider.Item `json:"item"`
}

// JournalEntry is one write-ahead record: it is committed (and fsynced)
// before the Kibana write is sent and marked done after.
type JournalEntry struct {
	// Seq is assigned by the store, strictly increasing and never reused.
	Seq uint64 `json:"seq"`
	// Op is the write: provider.Create, Update or Delete (the plan's
	// action; encoded as its word).
	Op provider.Action `json:"op"`
	// ItemID is the item's stable item_id.
	ItemID string `json:"item_id"`
	// ID is the saved-object id the update/delete targets ("" for create).
	ID string `json:"id,omitempty"`
	// ExpectVersion is the _version the write expects ("" for create).
	ExpectVersion string `json:"expect_version,omitempty"`
	// Item is the full body to write, with its blocklist/OS/hash type
	// (nil for delete).
	Item       *Item     `json:"item,omitempty"`
	PlanDigest string    `json:"plan_digest,omitempty"`
	Time       time.Time `json:"time"`

	// Done is set by JournalDone once Kibana confirmed the write.
	Done     bool      `json:"done,omitempty"`
	DoneTime time.Time `json:"done_time,omitzero"`
	// ResultID and ResultVersion are the saved-object id and _version
	// Kibana returned (empty for delete).
	ResultID      string `json:"result_id,omitempty"`
	ResultVersion string `json:"result_version,omitempty"`
}

// Outcome is how a run that changed the state ended.
type Outcome string

// Outcomes recorded in the audit history.
const (
	OutcomeSuccess     Outcome = "success"
	OutcomePartial     Outcome = "partial"
	OutcomeError       Outcome = "error"
	OutcomeInterrupted Outcome = "interrupted"
)

// Valid reports whether o is one of the known outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeSuccess, OutcomePartial, OutcomeError, OutcomeInterrupted:
		return true
	}
	return false
}

// Counts are the change totals of one run.
type Counts struct {
	ItemsAdded     int `json:"items_added"`
	ItemsChanged   int `json:"items_changed"`
	ItemsDestroyed int `json:"items_destroyed"`
	HashesAdded    int `json:"hashes_added"`
	HashesRemoved  int `json:"hashes_removed"`
}

// HistoryEntry is one audit record (lumuctl history).
type HistoryEntry struct {
	// Seq is assigned by the store when the entry is appended.
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Who        string    `json:"who"`     // user@host
	Command    string    `json:"command"` // e.g. "apply", "destroy", "state rm"
	PlanDigest string    `json:"plan_digest,omitempty"`
	Counts     Counts    `json:"counts"`
	Outcome    Outcome   `json:"outcome"`
	Message    string    `json:"message,omitempty"`
}

// HashIncidents maps a lowercase hex hash to the incidents that put it in one
// blocklist.
type HashIncidents map[string][]provider.IncidentRef

// ProvenancePatch changes part of one blocklist's recorded provenance:
// Drop forgets hashes, then Set records (replaces) the incidents of others.
type ProvenancePatch struct {
	Drop []string
	Set  HashIncidents
}

// Apply returns old patched with pp; old is not modified. The result is
// nil when no hash is left.
func (pp ProvenancePatch) Apply(old HashIncidents) HashIncidents {
	out := make(HashIncidents, len(old)+len(pp.Set))
	for h, refs := range old {
		out[h] = refs
	}
	for _, h := range pp.Drop {
		delete(out, h)
	}
	for h, refs := range pp.Set {
		out[h] = refs
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Validate checks the hashes and incidents of pp.
func (pp ProvenancePatch) Validate() error {
	for _, h := range pp.Drop {
		if _, err := HashBytes(h); err != nil {
			return err
		}
	}
	return ValidateProvenance(pp.Set)
}

// Commit is one state change made at the end of a run (or by state rm),
// written in a single transaction.
type Commit struct {
	// Put stores (replaces) owned items by item_id.
	Put []Item
	// Remove forgets owned items by item_id (never touches Kibana).
	Remove []string
	// Provenance replaces, per blocklist, the whole provenance of that
	// blocklist. A nil Provenance value deletes that blocklist's provenance.
	Provenance map[string]HashIncidents
	// PatchProvenance changes, per blocklist, the provenance of some hashes
	// and keeps the rest as recorded (apply records only what its plan
	// changes). A blocklist may not be in both Provenance and
	// PatchProvenance.
	PatchProvenance map[string]ProvenancePatch
	// AppliedDigest, when not "", is added to the applied plan digests.
	AppliedDigest string
	// History, when not nil, is appended to the audit history.
	History *HistoryEntry
	// ClearDone removes every journal entry marked done.
	ClearDone bool
	// Namespace, when not "", is recorded as the state's namespace. A store
	// refuses a commit naming another namespace than the one recorded.
	Namespace string
}

// LockInfo describes the holder of the write lock. It is written into the
// lock file so that a waiting process can name the holder.
type LockInfo struct {
	PID     int       `json:"pid"`
	Who     string    `json:"who"` // user@host
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

// LockOptions configure Locker.Lock.
type LockOptions struct {
	// Command names the run holding the lock ("apply", "destroy", "state rm").
	Command string
	// Timeout is how long to wait for a held lock; 0 tries once.
	Timeout time.Duration
	// Now, PID and Who override the holder record (for tests); zero values
	// mean time.Now, os.Getpid and CurrentUser.
	Now func() time.Time
	PID int
	Who string
}

// Reader reads the last committed state. Readers never wait for the write
// lock and never modify the state file (not even its mtime); a missing file
// reads as empty.
type Reader interface {
	// Snapshot reads lineage, serial, items, applied digests and the
	// journal in one read transaction.
	Snapshot() (*State, error)
	// Provenance returns the incidents that put hash in blocklist at the
	// last apply (nil if none).
	Provenance(blocklist, hash string) ([]provider.IncidentRef, error)
	// ProvenanceOf returns the incidents that put each of hashes in
	// blocklist at the last apply, in one read (hashes not recorded there
	// are absent). The planner compares many hashes at once with it.
	ProvenanceOf(blocklist string, hashes []string) (HashIncidents, error)
	// ProvenanceAll returns, per blocklist, the incidents that put hash
	// there (for why HASH).
	ProvenanceAll(hash string) (map[string][]provider.IncidentRef, error)
	// History returns the audit history, oldest first.
	History() ([]HistoryEntry, error)
	// PendingJournal returns the unfinished journal entries, by Seq.
	PendingJournal() ([]JournalEntry, error)
}

// Locker takes the exclusive write lock.
type Locker interface {
	// Lock takes the write lock, waiting up to opts.Timeout (or until ctx
	// is done). A lock held elsewhere yields a *LockError.
	Lock(ctx context.Context, opts LockOptions) (Writer, error)
}

// Writer changes the state. It exists only while the write lock is held;
// every method commits (and fsyncs) one transaction, bumping Serial.
// Methods are safe for concurrent use.
type Writer interface {
	// Backup copies the committed state to <state_path>.backup (0600),
	// atomically. It does nothing when there is no state file yet.
	Backup() error
	// JournalBegin records e before the Kibana write is sent and returns
	// its Seq. The store fills Seq (and Time if zero).
	JournalBegin(e JournalEntry) (uint64, error)
	// JournalDone marks entry seq done with the item Kibana returned and,
	// in the same transaction, updates the owned item (delete: forgets it).
	JournalDone(seq uint64, result provider.Item) error
	// JournalClear removes entries (reconciled, or known not written).
	JournalClear(seqs ...uint64) error
	// Commit writes c in one transaction and returns the new serial.
	Commit(c Commit) (uint64, error)
	// Info is the holder record written into the lock file.
	Info() LockInfo
	// Unlock releases the write lock; the Writer is unusable afterwards.
	Unlock() error
}

// Store is a state file: readable by anyone at any time, writable under the
// lock. boltstore.Store implements it.
type Store interface {
	Reader
	Locker
	// Init creates the state file (and its directory) if missing and reports
	// whether it did; an existing file is only checked.
	Init() (created bool, err error)
	// Path is the state file's path.
	Path() string
}
