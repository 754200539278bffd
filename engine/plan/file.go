package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// FormatVersion is the version of the saved-plan format written by Encode.
// Decode reads this version only: a plan file is short-lived (plan, review,
// apply), so an older one is refused with a clear message, never misread.
//
// Version 2: provenance per blocklist, only for the hashes a plan changes.
const FormatVersion = 2

// MaxFileSize bounds what Decode reads (a 200,000-hash plan is ~40 MB).
const MaxFileSize = 512 << 20

// ComputeDigest returns the plan digest: sha256 over the canonical encoding
// of p with its Digest field empty. It does not modify p.
//
// The canonical encoding is a sequence of JSON values, each newline
// terminated: the plan without its blocklists and provenance; then per
// blocklist, the blocklist without its changes followed by each change;
// then per provenance table (current, prior) its incident table followed by
// each hash and its index list in hash order. Every field is covered, and
// no buffer ever holds the whole plan (a 200,000-hash plan encodes to
// ~100 MB).
func ComputeDigest(p *Plan) (string, error) {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false)
	head := *p
	head.Digest = ""
	head.Signature = ""
	head.Blocklists = nil
	if err := enc.Encode(&head); err != nil {
		return "", fmt.Errorf("encode plan: %w", err)
	}
	for i := range p.Blocklists {
		bp := p.Blocklists[i]
		changes := bp.Changes
		bp.Changes = nil
		bp.Provenance, bp.PriorProvenance = Provenance{}, Provenance{}
		if err := enc.Encode(&bp); err != nil {
			return "", fmt.Errorf("encode plan: %w", err)
		}
		for j := range changes {
			if err := enc.Encode(&changes[j]); err != nil {
				return "", fmt.Errorf("encode plan: %w", err)
			}
		}
		for _, prov := range []*Provenance{&p.Blocklists[i].Provenance, &p.Blocklists[i].PriorProvenance} {
			if err := enc.Encode(prov.Incidents); err != nil {
				return "", fmt.Errorf("encode plan: %w", err)
			}
			for _, hash := range slices.Sorted(maps.Keys(prov.Hashes)) {
				if err := enc.Encode(hash); err != nil {
					return "", fmt.Errorf("encode plan: %w", err)
				}
				if err := enc.Encode(prov.Hashes[hash]); err != nil {
					return "", fmt.Errorf("encode plan: %w", err)
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Seal sets p.Digest. Call it once the plan is complete.
func Seal(p *Plan) error {
	d, err := ComputeDigest(p)
	if err != nil {
		return err
	}
	p.Digest = d
	return nil
}

// Encode writes the canonical encoding of a sealed plan.
func Encode(w io.Writer, p *Plan) error {
	if p.Digest == "" {
		return fmt.Errorf("encode plan: plan is not sealed")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// decodeError is returned for plan files that cannot be used.
type decodeError struct{ msg string }

func (e *decodeError) Error() string { return e.msg }

// IsDecodeError reports whether err means the plan file is malformed,
// tampered with or of an unknown version.
func IsDecodeError(err error) bool {
	_, ok := err.(*decodeError)
	return ok
}

func quoteTrunc(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// olderMessage refuses a plan file of an older format version.
func olderMessage(v int) string {
	return fmt.Sprintf("the plan file was made by an older lumuctl (plan file format version %d; this lumuctl reads version %d): make the plan again with this lumuctl", v, FormatVersion)
}

// Decode reads a plan written by Encode, checks its version and digest and
// the invariants apply relies on. Any problem is a *decodeError.
func Decode(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, &decodeError{fmt.Sprintf("plan file is larger than %d bytes", MaxFileSize)}
	}
	var head struct {
		FormatVersion *int `json:"format_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, &decodeError{"malformed plan file (truncated, or not a lumuctl plan file): " + err.Error()}
	}
	switch {
	case head.FormatVersion == nil:
		return nil, &decodeError{"not a lumuctl plan file: format_version is missing"}
	case *head.FormatVersion > FormatVersion:
		return nil, &decodeError{fmt.Sprintf("plan file format version %d is newer than this lumuctl supports (%d); use a newer lumuctl", *head.FormatVersion, FormatVersion)}
	case *head.FormatVersion >= 1 && *head.FormatVersion < FormatVersion:
		return nil, &decodeError{olderMessage(*head.FormatVersion)}
	case *head.FormatVersion != FormatVersion:
		return nil, &decodeError{fmt.Sprintf("unsupported plan file format version %d", *head.FormatVersion)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, &decodeError{"malformed plan file: " + err.Error()}
	}
	if dec.More() {
		return nil, &decodeError{"malformed plan file: trailing data after the plan"}
	}
	want, err := ComputeDigest(&p)
	if err != nil {
		return nil, err
	}
	if p.Digest != want {
		return nil, &decodeError{"plan file was modified after it was written (plan_digest does not match its content)"}
	}
	if err := p.check(); err != nil {
		return nil, &decodeError{"invalid plan file: " + err.Error()}
	}
	return &p, nil
}

// check verifies the invariants apply relies on, whatever wrote the file.
func (p *Plan) check() error {
	if p.Mode != ModeNormal && p.Mode != ModeDestroy {
		return fmt.Errorf("unknown mode %s", quoteTrunc(string(p.Mode)))
	}
	if !pack.ValidLabel(p.Namespace, 32, false) {
		return fmt.Errorf("invalid namespace %s", quoteTrunc(p.Namespace))
	}
	prefix := pack.OwnedPrefix(p.Namespace)
	kibanas := map[string]bool{}
	for _, k := range p.Kibanas {
		kibanas[k.Name] = true
	}
	for _, b := range p.Blocklists {
		if !kibanas[b.Kibana] {
			return fmt.Errorf("blocklist %s refers to unknown kibana %s", quoteTrunc(b.Name), quoteTrunc(b.Kibana))
		}
		bp := pack.BlocklistPrefix(p.Namespace, b.Name)
		for _, c := range b.Changes {
			if !strings.HasPrefix(c.ItemID, prefix) || !strings.HasPrefix(c.ItemID, bp) {
				return fmt.Errorf("change for item %s is outside blocklist %s", quoteTrunc(c.ItemID), quoteTrunc(b.Name))
			}
			switch c.Action {
			case Create:
				if c.After == nil || c.After.ItemID != c.ItemID {
					return fmt.Errorf("create of %s has no matching item body", c.ItemID)
				}
			case Update:
				if c.After == nil || c.After.ItemID != c.ItemID || c.ID == "" || c.ExpectVersion == "" {
					return fmt.Errorf("update of %s lacks its item body, id or expected _version", c.ItemID)
				}
			case Delete:
				if c.ID == "" || c.ExpectVersion == "" {
					return fmt.Errorf("delete of %s lacks its id or expected _version", c.ItemID)
				}
			default:
				return fmt.Errorf("change for %s has action %s", c.ItemID, c.Action)
			}
			if c.After != nil {
				if err := checkItemBody(c.After); err != nil {
					return fmt.Errorf("item %s: %w", c.ItemID, err)
				}
			}
		}
	}
	for _, b := range p.Blocklists {
		for _, prov := range []*Provenance{&b.Provenance, &b.PriorProvenance} {
			for h, idx := range prov.Hashes {
				for _, i := range idx {
					if i < 0 || i >= len(prov.Incidents) {
						return fmt.Errorf("provenance of %s in blocklist %s points outside the incident table", quoteTrunc(h), quoteTrunc(b.Name))
					}
				}
			}
		}
	}
	return nil
}

func checkItemBody(it *provider.Item) error {
	if len(it.OSTypes) != 1 {
		return fmt.Errorf("must have exactly one OS")
	}
	if len(it.Entries) == 0 {
		return fmt.Errorf("has no entries")
	}
	for _, e := range it.Entries {
		ht := provider.HashType(strings.TrimPrefix(e.Field, "file.hash."))
		if ht.HexLen() == 0 || e.Field != "file.hash."+string(ht) {
			return fmt.Errorf("entry field %s is not a file hash", quoteTrunc(e.Field))
		}
		for _, v := range e.Value {
			if !ht.Valid(v) {
				return fmt.Errorf("value %s is not a lowercase %s", quoteTrunc(v), ht)
			}
		}
	}
	return nil
}
