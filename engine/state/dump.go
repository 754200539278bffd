package state

import "time"

// Dump is the whole content of one state, for moving it between backends
// (init --migrate-state, state pull, state push). It keeps lineage and
// serial: a moved state is the same state.
type Dump struct {
	Lineage string
	Serial  uint64
	Items   map[string]Item
	Applied map[string]time.Time
	// History keeps each entry's Seq; Journal likewise.
	History []HistoryEntry
	Journal []JournalEntry
	// Provenance is, per blocklist, hash → incidents.
	Provenance map[string]HashIncidents
}

// Exporter is a store that can read its whole content in one consistent
// snapshot. Both backends implement it. A store with no state yet returns
// a Dump with Lineage "".
type Exporter interface {
	Export() (*Dump, error)
}

// Replacer is a Writer that can replace the whole state with a Dump (lineage
// and serial included) in one transaction. Both backends' writers implement
// it.
type Replacer interface {
	Replace(d *Dump) error
}
