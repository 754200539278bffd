package boltstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// Bucket and key names. The layout of format version 1:
//
//	meta        format_version, lineage, serial (decimal/text values)
//	items       item_id            → JSON state.Item
//	applied     plan digest        → JSON appliedRecord
//	history     uint64 big-endian  → JSON state.HistoryEntry
//	journal     uint64 big-endian  → JSON state.JournalEntry
//	provenance  one bucket per blocklist, holding
//	              incidents  uint32 big-endian → JSON provider.IncidentRef
//	              hashes     raw digest bytes  → uvarint list of incident indexes
var (
	bucketMeta       = []byte("meta")
	bucketItems      = []byte("items")
	bucketApplied    = []byte("applied")
	bucketHistory    = []byte("history")
	bucketJournal    = []byte("journal")
	bucketProvenance = []byte("provenance")
	bucketIncidents  = []byte("incidents")
	bucketHashes     = []byte("hashes")

	keyFormatVersion = []byte("format_version")
	keyLineage       = []byte("lineage")
	keySerial        = []byte("serial")
	keyNamespace     = []byte("namespace")
)

// topBuckets are created with every new state file.
var topBuckets = [][]byte{bucketMeta, bucketItems, bucketApplied, bucketHistory, bucketJournal, bucketProvenance}

func seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

func decodeSeqKey(k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("sequence key has %d bytes, want 8", len(k))
	}
	return binary.BigEndian.Uint64(k), nil
}

func incidentKey(n uint32) []byte {
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], n)
	return k[:]
}

// decodeUint parses a decimal meta value.
func decodeUint(v []byte) (uint64, error) {
	n, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a decimal number: %q", truncate(v))
	}
	return n, nil
}

func encodeUint(n uint64) []byte { return []byte(strconv.FormatUint(n, 10)) }

// decodeStrict decodes one JSON value and rejects trailing data.
func decodeStrict(data []byte, v any) error {
	// json.Unmarshal accepts a subset of what the decoder below accepts
	// and reads data in place (the decoder copies every record first);
	// it fails on syntax before storing anything, so the decoder, run on
	// failure, gives the same error (or accepts, e.g. a stray ']').
	if json.Unmarshal(data, v) == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return errors.New("invalid JSON: trailing data")
	}
	return nil
}

func decodeItem(data []byte, lists *provider.ValueLists) (state.Item, error) {
	if it, ok := state.DecodeItemShared(data, lists); ok {
		return it, state.ValidateItem(it)
	}
	var it state.Item
	if err := decodeStrict(data, &it); err != nil {
		return it, err
	}
	return it, state.ValidateItem(it)
}

func decodeJournal(data []byte) (state.JournalEntry, error) {
	var e state.JournalEntry
	if err := decodeStrict(data, &e); err != nil {
		return e, err
	}
	return e, state.ValidateJournal(e)
}

func decodeHistory(data []byte) (state.HistoryEntry, error) {
	var h state.HistoryEntry
	if err := decodeStrict(data, &h); err != nil {
		return h, err
	}
	if !h.Outcome.Valid() {
		return h, fmt.Errorf("history entry: unknown outcome %q", h.Outcome)
	}
	return h, nil
}

// appliedRecord is the value stored for an applied plan digest.
type appliedRecord struct {
	Time time.Time `json:"time"`
}

func decodeApplied(data []byte) (appliedRecord, error) {
	var r appliedRecord
	err := decodeStrict(data, &r)
	return r, err
}

func decodeIncident(data []byte) (provider.IncidentRef, error) {
	var r provider.IncidentRef
	if err := decodeStrict(data, &r); err != nil {
		return r, err
	}
	if r.ID == "" {
		return r, errors.New("incident has no id")
	}
	return r, nil
}

// encodeIndexes appends the uvarint encoding of idx.
func encodeIndexes(idx []uint32) []byte {
	out := make([]byte, 0, len(idx)*2)
	for _, n := range idx {
		out = binary.AppendUvarint(out, uint64(n))
	}
	return out
}

// decodeIndexes decodes a provenance value: a non-empty list of uvarint
// incident indexes, each below limit.
func decodeIndexes(v []byte, limit uint64) ([]uint32, error) {
	if len(v) == 0 {
		return nil, errors.New("empty incident list")
	}
	var out []uint32
	for len(v) > 0 {
		n, w := binary.Uvarint(v)
		if w <= 0 {
			return nil, errors.New("bad uvarint in incident list")
		}
		if n >= limit {
			return nil, fmt.Errorf("incident index %d out of range (%d incidents)", n, limit)
		}
		out = append(out, uint32(n))
		v = v[w:]
	}
	return out, nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
