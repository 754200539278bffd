package state

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// ValidateItem checks what every store requires of an owned item: an
// item_id and a known hash type.
func ValidateItem(it Item) error {
	if it.Item.ItemID == "" {
		return errors.New("item has no item_id")
	}
	if it.HashType != "" && it.HashType.HexLen() == 0 {
		return fmt.Errorf("item %s: unknown hash type %q", it.Item.ItemID, it.HashType)
	}
	return nil
}

// ValidateJournal checks a journal entry: a known op, an item_id, a body for
// create and update (for the same item_id) and a saved-object id for update
// and delete.
func ValidateJournal(e JournalEntry) error {
	if !e.Op.IsWrite() {
		return fmt.Errorf("journal entry: unknown op %s (want create, update or delete)", e.Op)
	}
	if e.ItemID == "" {
		return errors.New("journal entry has no item_id")
	}
	switch e.Op {
	case provider.Create, provider.Update:
		if e.Item == nil {
			return fmt.Errorf("journal entry %s %s has no item body", e.Op, e.ItemID)
		}
		if e.Item.Item.ItemID != e.ItemID {
			return fmt.Errorf("journal entry %s: body has item_id %q", e.ItemID, e.Item.Item.ItemID)
		}
	}
	if e.Op != provider.Create && e.ID == "" {
		return fmt.Errorf("journal entry %s %s has no saved-object id", e.Op, e.ItemID)
	}
	return nil
}

// HashBytes turns a lowercase hex md5, sha1 or sha256 digest into its raw
// bytes (the provenance key of every store).
func HashBytes(h string) ([]byte, error) {
	v, err := provider.ParseHash(h)
	if err != nil {
		return nil, err
	}
	return v.Bytes(), nil
}

// ValidateProvenance checks one blocklist's provenance: valid hashes, each
// with at least one incident, each incident with an id.
func ValidateProvenance(p HashIncidents) error {
	for h, refs := range p {
		if _, err := HashBytes(h); err != nil {
			return err
		}
		if len(refs) == 0 {
			return fmt.Errorf("hash %s has no incidents", h)
		}
		for _, r := range refs {
			if r.ID == "" {
				return fmt.Errorf("hash %s: incident without id", h)
			}
		}
	}
	return nil
}

// ValidateCommit checks what every store requires of a commit before it
// writes anything: valid items, a known history outcome, provenance and
// provenance patches of named blocklists (never both for one), each valid.
func ValidateCommit(c Commit) error {
	for _, it := range c.Put {
		if err := ValidateItem(it); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	if c.History != nil && !c.History.Outcome.Valid() {
		return fmt.Errorf("commit: history entry has unknown outcome %q", c.History.Outcome)
	}
	for bl, p := range c.Provenance {
		if bl == "" {
			return errors.New("commit: provenance for an empty blocklist name")
		}
		if err := ValidateProvenance(p); err != nil {
			return fmt.Errorf("commit: provenance of blocklist %s: %w", bl, err)
		}
	}
	for bl, pp := range c.PatchProvenance {
		if bl == "" {
			return errors.New("commit: provenance patch for an empty blocklist name")
		}
		if _, both := c.Provenance[bl]; both {
			return fmt.Errorf("commit: blocklist %s has both a provenance and a provenance patch", bl)
		}
		if err := pp.Validate(); err != nil {
			return fmt.Errorf("commit: provenance patch of blocklist %s: %w", bl, err)
		}
	}
	return nil
}

// RefKey identifies an IncidentRef by every field a store encodes, without
// the cost of JSON-encoding each of the (often repeated) refs: stores keep
// each distinct ref once.
func RefKey(r provider.IncidentRef) string {
	return strings.Join([]string{r.ID, r.Company, r.Filter, r.AdversaryID,
		strings.Join(r.AdversaryTypes, "\x01"), r.Description,
		r.LastContact.Format(time.RFC3339Nano), r.Status}, "\x00")
}

// EncodeProvenances encodes each blocklist's provenance (of a commit or a
// dump) with a store's enc; a nil provenance (delete it) stays the zero E.
func EncodeProvenances[E any](prov map[string]HashIncidents, enc func(HashIncidents) (E, error)) (map[string]E, error) {
	out := make(map[string]E, len(prov))
	for bl, p := range prov {
		var e E
		if p != nil {
			var err error
			if e, err = enc(p); err != nil {
				return nil, fmt.Errorf("provenance of blocklist %s: %w", bl, err)
			}
		}
		out[bl] = e
	}
	return out, nil
}

// ValidateDump checks what every store requires of a whole state before
// Replace writes it: a lineage, valid items and journal entries.
func ValidateDump(d *Dump) error {
	if d.Lineage == "" {
		return errors.New("replace state: the source has no state (no lineage)")
	}
	for _, it := range d.Items {
		if err := ValidateItem(it); err != nil {
			return fmt.Errorf("replace state: %w", err)
		}
	}
	for _, e := range d.Journal {
		if err := ValidateJournal(e); err != nil {
			return fmt.Errorf("replace state: %w", err)
		}
	}
	return nil
}

// NewLineage returns a new state lineage: a random (version 4) UUID.
func NewLineage() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate lineage: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
