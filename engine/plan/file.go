package plan

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// FormatVersion is the version of the saved-plan format written by Encode.
// Decode reads this version only: a plan file is short-lived (plan, review,
// apply), so an older one is refused with a clear message, never misread.
//
// Version 2: provenance per blocklist, only for the hashes a plan changes.
// Version 3: the compact gzip-compressed form of planfile.go.
// Version 4: an update's values as a change of the live item (ValueDiff).
const FormatVersion = 4

// MaxFileSize bounds what Decode reads, and MaxBodySize what it
// decompresses (an initial sync of 200,000 sha256 hashes on three OSes is
// about 7 MB on disk, 17 MB decompressed). Below MaxBodySize, a body may
// also be at most maxRatio times the file's size, beyond a floor of
// minBodyLimit: hex hashes compress about 2.5 to 1, so a crafted file that
// inflates a thousandfold (a "gzip bomb") is refused after minBodyLimit
// bytes, not after a gigabyte held in memory.
const (
	MaxFileSize  = 256 << 20
	MaxBodySize  = 1 << 30
	minBodyLimit = 64 << 20
	maxRatio     = 32
)

// bodyLimit is how many decompressed bytes Decode accepts from a file of
// n bytes.
func bodyLimit(n int) int {
	return min(MaxBodySize, max(minBodyLimit, maxRatio*n))
}

// fileHeader is the first line of the decompressed plan file.
type fileHeader struct {
	FormatVersion int    `json:"format_version"`
	Digest        string `json:"plan_digest"`
	Signature     string `json:"plan_signature,omitempty"`
}

// encodeBody returns the canonical body of p: the JSON of its file form,
// newline terminated.
func encodeBody(p *Plan) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toFile(p)); err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return buf.Bytes(), nil
}

func digestOf(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// ComputeDigest returns the plan digest: the sha256 of the canonical body
// of p (its file form without digest and signature). It does not modify p.
func ComputeDigest(p *Plan) (string, error) {
	body, err := encodeBody(p)
	if err != nil {
		return "", err
	}
	return digestOf(body), nil
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

// Encode writes a sealed plan: gzip of a header line (format version,
// digest, signature) followed by the canonical body. The output is
// deterministic for a given plan.
func Encode(w io.Writer, p *Plan) error {
	if p.Digest == "" {
		return fmt.Errorf("encode plan: plan is not sealed")
	}
	body, err := encodeBody(p)
	if err != nil {
		return err
	}
	head, err := json.Marshal(fileHeader{FormatVersion: FormatVersion, Digest: p.Digest, Signature: p.Signature})
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	if _, err := zw.Write(append(head, '\n')); err != nil {
		return err
	}
	if _, err := zw.Write(body); err != nil {
		return err
	}
	return zw.Close()
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

// Decode reads a plan written by Encode, checks its version, that its
// body is canonical and matches its digest, and the invariants apply relies
// on. Any problem is a *decodeError.
func Decode(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, &decodeError{fmt.Sprintf("plan file is larger than %d bytes", MaxFileSize)}
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return nil, decodeLegacy(data)
	}
	br := bytes.NewReader(data) // an io.ByteReader: gzip reads no further than its member
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, &decodeError{"malformed plan file (truncated, or not a lumuctl plan file): " + err.Error()}
	}
	zr.Multistream(false)
	limit := bodyLimit(len(data))
	raw, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, &decodeError{"malformed plan file (truncated, or not a lumuctl plan file): " + err.Error()}
	}
	if len(raw) > limit {
		return nil, &decodeError{fmt.Sprintf("plan file of %d bytes decompresses to more than %d bytes: not a plan lumuctl wrote", len(data), limit)}
	}
	if br.Len() > 0 { // one gzip member, and nothing after it
		return nil, &decodeError{"malformed plan file: trailing data after the plan"}
	}
	line, body, ok := bytes.Cut(raw, []byte("\n"))
	if !ok {
		return nil, &decodeError{"malformed plan file: no header line"}
	}
	var head struct {
		FormatVersion *int `json:"format_version"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return nil, &decodeError{"malformed plan file header: " + err.Error()}
	}
	if err := checkVersion(head.FormatVersion); err != nil {
		return nil, err
	}
	var hdr fileHeader
	if err := strictJSON(line, &hdr); err != nil {
		return nil, &decodeError{"malformed plan file header: " + err.Error()}
	}
	if hdr.Digest != digestOf(body) {
		return nil, &decodeError{"plan file was modified after it was written (plan_digest does not match its content)"}
	}
	var fb fileBody
	if err := strictJSON(body, &fb); err != nil {
		return nil, &decodeError{"malformed plan file: " + err.Error()}
	}
	p, err := fromFile(&fb)
	if err != nil {
		return nil, &decodeError{"invalid plan file: " + err.Error()}
	}
	again, err := encodeBody(p)
	if err != nil {
		return nil, &decodeError{"invalid plan file: " + err.Error()}
	}
	if !bytes.Equal(again, body) {
		return nil, &decodeError{"invalid plan file: its content is not in the canonical form lumuctl writes"}
	}
	p.Digest, p.Signature = hdr.Digest, hdr.Signature
	if err := p.check(); err != nil {
		return nil, &decodeError{"invalid plan file: " + err.Error()}
	}
	return p, nil
}

// strictJSON decodes exactly one JSON value with no unknown fields.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the plan")
	}
	return nil
}

func checkVersion(v *int) error {
	switch {
	case v == nil:
		return &decodeError{"not a lumuctl plan file: format_version is missing"}
	case *v > FormatVersion:
		return &decodeError{fmt.Sprintf("plan file format version %d is newer than this lumuctl supports (%d); use a newer lumuctl", *v, FormatVersion)}
	case *v >= 1 && *v < FormatVersion:
		return &decodeError{olderMessage(*v)}
	case *v != FormatVersion:
		return &decodeError{fmt.Sprintf("unsupported plan file format version %d", *v)}
	}
	return nil
}

// decodeLegacy explains a file that is not gzip-compressed: the JSON plan
// files of format versions 1 and 2, or not a plan file at all.
func decodeLegacy(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &decodeError{"malformed plan file (truncated, or not a lumuctl plan file): the file is empty"}
	}
	var head struct {
		FormatVersion *int `json:"format_version"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&head); err != nil {
		return &decodeError{"malformed plan file (truncated, or not a lumuctl plan file): " + err.Error()}
	}
	if err := checkVersion(head.FormatVersion); err != nil {
		return err
	}
	return &decodeError{"malformed plan file: not compressed"}
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
			case provider.Create:
				if c.After == nil || c.After.ItemID != c.ItemID {
					return fmt.Errorf("create of %s has no matching item body", c.ItemID)
				}
			case provider.Update:
				if c.After == nil || c.After.ItemID != c.ItemID || c.ID == "" || c.ExpectVersion == "" {
					return fmt.Errorf("update of %s lacks its item body, id or expected _version", c.ItemID)
				}
			case provider.Delete:
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
			if c.Diff != nil {
				if !c.Unresolved() {
					return fmt.Errorf("update of %s carries both its values and a change of them", c.ItemID)
				}
				ht := provider.HashType(strings.TrimPrefix(c.After.Entries[0].Field, "file.hash."))
				if err := c.Diff.check(ht); err != nil {
					return fmt.Errorf("update of %s: %w", c.ItemID, err)
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
	seen := map[string]bool{}
	for _, e := range it.Entries {
		ht := provider.HashType(strings.TrimPrefix(e.Field, "file.hash."))
		if ht.HexLen() == 0 || e.Field != "file.hash."+string(ht) {
			return fmt.Errorf("entry field %s is not a file hash", quoteTrunc(e.Field))
		}
		for _, v := range e.Value {
			if !ht.Valid(v) {
				return fmt.Errorf("value %s is not a lowercase %s", quoteTrunc(v), ht)
			}
			if seen[v] {
				return fmt.Errorf("value %s is listed more than once", quoteTrunc(v))
			}
			seen[v] = true
		}
	}
	return nil
}
