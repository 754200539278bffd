package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// writer holds the namespace's advisory lock on conn; every write runs on
// that session, serialised by mu. When the session is lost the lock is
// gone, and every further write fails (wrapping ErrConnection).
type writer struct {
	s    *Store
	info state.LockInfo
	key  int64

	mu   sync.Mutex
	conn *pgx.Conn // nil after Unlock
}

var (
	_ state.Writer   = (*writer)(nil)
	_ state.Replacer = (*writer)(nil)
)

func (w *writer) Info() state.LockInfo { return w.info }

// do runs fn in one transaction that bumps the serial (creating the state
// row first if missing), and returns the new serial.
func (w *writer) do(what string, fn func(ctx context.Context, tx pgx.Tx) error) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return 0, state.ErrUnlocked
	}
	ctx := context.Background()
	var serial int64
	err := pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		if _, err := w.s.ensureState(ctx, tx); err != nil {
			return err
		}
		if fn != nil {
			if err := fn(ctx, tx); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, w.s.sql(`UPDATE %[1]s.states SET serial = serial + 1 WHERE namespace = $1 RETURNING serial`), w.s.namespace).Scan(&serial)
	})
	if err != nil {
		var ce *state.CorruptError
		if errors.Is(err, state.ErrNoJournalEntry) || errors.As(err, &ce) || errors.Is(err, errInput) {
			return 0, err
		}
		return 0, w.s.ci.wrap(what, err)
	}
	return uint64(serial), nil
}

// errInput marks errors about the caller's data (not the database).
var errInput = errors.New("invalid input")

type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Is(t error) bool {
	return t == errInput
}

func (w *writer) Unlock() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return state.ErrUnlocked
	}
	conn := w.conn
	w.conn = nil
	ctx := context.Background()
	// Clear the record first, so no one reads a released holder's record.
	_, errD := conn.Exec(ctx, w.s.sql(`DELETE FROM %[1]s.locks WHERE namespace = $1 AND backend_pid = pg_backend_pid()`), w.s.namespace)
	_, errU := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, w.key)
	errC := conn.Close(ctx)
	if err := errors.Join(errD, errU, errC); err != nil {
		return w.s.ci.wrap("unlock state", err)
	}
	return nil
}

// Backup does nothing: the database is backed up with the server's own
// tools (pg_dump), and `lumuctl state pull FILE` writes a local copy.
func (w *writer) Backup() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return state.ErrUnlocked
	}
	return nil
}

func (w *writer) JournalBegin(e state.JournalEntry) (uint64, error) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	e.Done, e.DoneTime, e.ResultID, e.ResultVersion = false, time.Time{}, "", ""
	if err := state.ValidateJournal(e); err != nil {
		return 0, fmt.Errorf("journal begin: %w", err)
	}
	var seq uint64
	_, err := w.do("journal begin", func(ctx context.Context, tx pgx.Tx) error {
		var n int64
		if err := tx.QueryRow(ctx, w.s.sql(`UPDATE %[1]s.states SET journal_seq = journal_seq + 1 WHERE namespace = $1 RETURNING journal_seq`), w.s.namespace).Scan(&n); err != nil {
			return err
		}
		seq = uint64(n)
		e.Seq = seq
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, w.s.sql(`INSERT INTO %[1]s.journal (namespace, seq, body) VALUES ($1, $2, $3)`), w.s.namespace, n, string(data))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("journal begin %s %s: %w", e.Op, e.ItemID, err)
	}
	return seq, nil
}

func (w *writer) JournalDone(seq uint64, result provider.Item) error {
	_, err := w.do("journal done", func(ctx context.Context, tx pgx.Tx) error {
		var body []byte
		err := tx.QueryRow(ctx, w.s.sql(`SELECT body FROM %[1]s.journal WHERE namespace = $1 AND seq = $2 FOR UPDATE`), w.s.namespace, int64(seq)).Scan(&body)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: seq %d", state.ErrNoJournalEntry, seq)
		}
		if err != nil {
			return err
		}
		var e state.JournalEntry
		err = decodeStrict(body, &e)
		if err == nil {
			err = state.ValidateJournal(e)
		}
		if err != nil {
			return w.s.corrupt(fmt.Sprintf("journal[%d]", seq), err)
		}
		e.Done, e.DoneTime = true, time.Now().UTC()
		switch e.Op {
		case provider.Delete:
			if _, err := tx.Exec(ctx, w.s.sql(`DELETE FROM %[1]s.items WHERE namespace = $1 AND item_id = $2`), w.s.namespace, e.ItemID); err != nil {
				return err
			}
		default:
			it := *e.Item
			if result.ItemID == "" {
				// Only the identity came back: keep the journaled body.
				it.Item.ID, it.Item.Version = result.ID, result.Version
			} else if result.ItemID != e.ItemID {
				return &inputError{fmt.Sprintf("result has item_id %q, journal entry %d is for %q", result.ItemID, seq, e.ItemID)}
			} else {
				it.Item = result
			}
			e.ResultID, e.ResultVersion = it.Item.ID, it.Item.Version
			data, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := w.putItem(ctx, tx, e.ItemID, data); err != nil {
				return err
			}
		}
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, w.s.sql(`UPDATE %[1]s.journal SET body = $3 WHERE namespace = $1 AND seq = $2`), w.s.namespace, int64(seq), string(data))
		return err
	})
	if err != nil {
		return fmt.Errorf("journal done %d: %w", seq, err)
	}
	return nil
}

func (w *writer) putItem(ctx context.Context, tx pgx.Tx, id string, data []byte) error {
	_, err := tx.Exec(ctx, w.s.sql(`INSERT INTO %[1]s.items (namespace, item_id, body) VALUES ($1, $2, $3)
		ON CONFLICT (namespace, item_id) DO UPDATE SET body = EXCLUDED.body`), w.s.namespace, id, string(data))
	return err
}

func (w *writer) JournalClear(seqs ...uint64) error {
	_, err := w.do("journal clear", func(ctx context.Context, tx pgx.Tx) error {
		list := make([]int64, len(seqs))
		for i, s := range seqs {
			list[i] = int64(s)
		}
		_, err := tx.Exec(ctx, w.s.sql(`DELETE FROM %[1]s.journal WHERE namespace = $1 AND seq = ANY($2)`), w.s.namespace, list)
		return err
	})
	if err != nil {
		return fmt.Errorf("journal clear: %w", err)
	}
	return nil
}

func (w *writer) Commit(c state.Commit) (uint64, error) {
	if err := state.ValidateCommit(c); err != nil {
		return 0, err
	}
	prov, err := state.EncodeProvenances(c.Provenance, encodeProvenance)
	if err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	serial, err := w.do("commit state", func(ctx context.Context, tx pgx.Tx) error {
		ns := w.s.namespace
		if len(c.Remove) > 0 {
			if _, err := tx.Exec(ctx, w.s.sql(`DELETE FROM %[1]s.items WHERE namespace = $1 AND item_id = ANY($2)`), ns, c.Remove); err != nil {
				return err
			}
		}
		for _, it := range c.Put {
			data, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := w.putItem(ctx, tx, it.Item.ItemID, data); err != nil {
				return err
			}
		}
		for _, bl := range slices.Sorted(maps.Keys(prov)) {
			if err := w.s.writeProvenance(ctx, tx, bl, prov[bl]); err != nil {
				return err
			}
		}
		for _, bl := range slices.Sorted(maps.Keys(c.PatchProvenance)) {
			old, err := w.s.readProvenance(ctx, tx, &bl)
			if err != nil {
				return err
			}
			var ep *encodedProvenance
			if merged := c.PatchProvenance[bl].Apply(old[bl]); merged != nil {
				if ep, err = encodeProvenance(merged); err != nil {
					return fmt.Errorf("provenance of blocklist %s: %w", bl, err)
				}
			}
			if err := w.s.writeProvenance(ctx, tx, bl, ep); err != nil {
				return err
			}
		}
		if c.AppliedDigest != "" {
			if _, err := tx.Exec(ctx, w.s.sql(`INSERT INTO %[1]s.applied (namespace, digest, applied) VALUES ($1, $2, $3)
				ON CONFLICT (namespace, digest) DO UPDATE SET applied = EXCLUDED.applied`), ns, c.AppliedDigest, time.Now().UTC()); err != nil {
				return err
			}
		}
		if c.History != nil {
			h := *c.History
			if h.Time.IsZero() {
				h.Time = time.Now().UTC()
			}
			var n int64
			if err := tx.QueryRow(ctx, w.s.sql(`UPDATE %[1]s.states SET history_seq = history_seq + 1 WHERE namespace = $1 RETURNING history_seq`), ns).Scan(&n); err != nil {
				return err
			}
			h.Seq = uint64(n)
			data, err := json.Marshal(h)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, w.s.sql(`INSERT INTO %[1]s.history (namespace, seq, body) VALUES ($1, $2, $3)`), ns, n, string(data)); err != nil {
				return err
			}
		}
		if c.ClearDone {
			if err := w.s.clearDone(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("commit state: %w", err)
	}
	return serial, nil
}

func (s *Store) clearDone(ctx context.Context, tx pgx.Tx) error {
	entries, err := s.readJournal(ctx, tx, false)
	if err != nil {
		return err
	}
	var done []int64
	for _, e := range entries {
		if e.Done {
			done = append(done, int64(e.Seq))
		}
	}
	if len(done) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, s.sql(`DELETE FROM %[1]s.journal WHERE namespace = $1 AND seq = ANY($2)`), s.namespace, done)
	return err
}

// encodedProvenance is one blocklist's provenance, ready to copy in: an
// incident table (each distinct IncidentRef once) and, per hash, the
// indexes of its incidents.
type encodedProvenance struct {
	incidents []string
	hashes    [][]byte
	lists     [][]int32
}

func encodeProvenance(p state.HashIncidents) (*encodedProvenance, error) {
	if err := state.ValidateProvenance(p); err != nil {
		return nil, err
	}
	ep := &encodedProvenance{}
	index := map[string]int32{}
	keys := slices.Sorted(maps.Keys(p))
	for _, h := range keys {
		key, _ := state.HashBytes(h)
		refs := p[h]
		idx := make([]int32, 0, len(refs))
		for _, r := range refs {
			k := state.RefKey(r)
			i, ok := index[k]
			if !ok {
				data, err := json.Marshal(r)
				if err != nil {
					return nil, err
				}
				i = int32(len(ep.incidents))
				index[k] = i
				ep.incidents = append(ep.incidents, string(data))
			}
			idx = append(idx, i)
		}
		ep.hashes = append(ep.hashes, key)
		ep.lists = append(ep.lists, idx)
	}
	return ep, nil
}

// writeProvenance replaces one blocklist's provenance (ep nil: deletes it),
// copying the rows in with COPY.
func (s *Store) writeProvenance(ctx context.Context, tx pgx.Tx, bl string, ep *encodedProvenance) error {
	ns := s.namespace
	if _, err := tx.Exec(ctx, s.sql(`DELETE FROM %[1]s.provenance WHERE namespace = $1 AND blocklist = $2`), ns, bl); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, s.sql(`DELETE FROM %[1]s.prov_incidents WHERE namespace = $1 AND blocklist = $2`), ns, bl); err != nil {
		return err
	}
	if ep == nil {
		return nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "prov_incidents"}, []string{"namespace", "blocklist", "idx", "body"},
		pgx.CopyFromSlice(len(ep.incidents), func(i int) ([]any, error) {
			return []any{ns, bl, int32(i), ep.incidents[i]}, nil
		})); err != nil {
		return err
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "provenance"}, []string{"namespace", "blocklist", "hash", "incidents"},
		pgx.CopyFromSlice(len(ep.hashes), func(i int) ([]any, error) {
			return []any{ns, bl, ep.hashes[i], ep.lists[i]}, nil
		}))
	return err
}

// Replace replaces the whole state of the namespace with d in one
// transaction: lineage as in d, serial d.Serial or, when the namespace
// already has a state, at least one more than its serial (so that a plan
// bound to an older serial can never match again).
func (w *writer) Replace(d *state.Dump) error {
	if err := state.ValidateDump(d); err != nil {
		return err
	}
	prov, err := state.EncodeProvenances(d.Provenance, encodeProvenance)
	if err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return state.ErrUnlocked
	}
	ctx := context.Background()
	s, ns := w.s, w.s.namespace
	err = pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		serial := int64(d.Serial)
		var cur int64
		err := tx.QueryRow(ctx, s.sql(`SELECT serial FROM %[1]s.states WHERE namespace = $1 FOR UPDATE`), ns).Scan(&cur)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			serial = max(serial, cur+1)
		}
		for _, t := range []string{"states", "items", "applied", "history", "journal", "prov_incidents", "provenance"} {
			if _, err := tx.Exec(ctx, s.sql(`DELETE FROM %[1]s.`+t+` WHERE namespace = $1`), ns); err != nil {
				return err
			}
		}
		var jseq, hseq uint64
		for _, e := range d.Journal {
			jseq = max(jseq, e.Seq)
		}
		for _, h := range d.History {
			hseq = max(hseq, h.Seq)
		}
		if _, err := tx.Exec(ctx, s.sql(`INSERT INTO %[1]s.states (namespace, lineage, serial, journal_seq, history_seq) VALUES ($1, $2, $3, $4, $5)`),
			ns, d.Lineage, serial, int64(jseq), int64(hseq)); err != nil {
			return err
		}
		ids := slices.Sorted(maps.Keys(d.Items))
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "items"}, []string{"namespace", "item_id", "body"},
			pgx.CopyFromSlice(len(ids), func(i int) ([]any, error) {
				data, err := json.Marshal(d.Items[ids[i]])
				return []any{ns, ids[i], string(data)}, err
			})); err != nil {
			return err
		}
		digests := slices.Sorted(maps.Keys(d.Applied))
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "applied"}, []string{"namespace", "digest", "applied"},
			pgx.CopyFromSlice(len(digests), func(i int) ([]any, error) {
				return []any{ns, digests[i], d.Applied[digests[i]].UTC()}, nil
			})); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "history"}, []string{"namespace", "seq", "body"},
			pgx.CopyFromSlice(len(d.History), func(i int) ([]any, error) {
				data, err := json.Marshal(d.History[i])
				return []any{ns, int64(d.History[i].Seq), string(data)}, err
			})); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "journal"}, []string{"namespace", "seq", "body"},
			pgx.CopyFromSlice(len(d.Journal), func(i int) ([]any, error) {
				data, err := json.Marshal(d.Journal[i])
				return []any{ns, int64(d.Journal[i].Seq), string(data)}, err
			})); err != nil {
			return err
		}
		bls := slices.Sorted(maps.Keys(prov))
		sort.Strings(bls)
		for _, bl := range bls {
			if err := s.writeProvenance(ctx, tx, bl, prov[bl]); err != nil {
				return err
			}
		}
		return nil
	})
	return s.ci.wrap("replace state", err)
}
