package pgstore

import (
	"bytes"
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
	// stateRow is true once a transaction of this writer created or found
	// the namespace's states row: it then exists until Unlock (only Replace
	// deletes it, and inserts it again in the same transaction).
	stateRow bool
	// mine are the journal entries this writer wrote in this session, by
	// seq (see journaled).
	mine map[uint64]journaled
}

// journaled is a journal entry as this writer wrote it, with the xmin of
// the row version that holds it. While the row has that xmin, it is that
// version, so it holds exactly this entry: any change to the row (by
// anyone) makes a new row version with another xmin. JournalDone and
// Commit's ClearDone then need not read the entry back: they act on the
// row in the same statement that checks its xmin, and fall back to reading
// and checking it, as for an entry of an earlier run, when it differs.
type journaled struct {
	entry state.JournalEntry
	xmin  uint32
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
	return w.doLocked(what, fn)
}

// doLocked is do for a caller that holds w.mu.
func (w *writer) doLocked(what string, fn func(ctx context.Context, tx pgx.Tx) error) (uint64, error) {
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
	w.stateRow = true
	return uint64(serial), nil
}

// batch sends the statements queue adds in one round trip, as one
// transaction: a batch is one implicit transaction, committed at its end
// (after its last statement) or, when a statement fails, rolled back
// whole. Unless this writer has seen the namespace's states row, the batch
// creates it first. The statements bump the serial themselves. Errors are
// wrapped as do wraps them. The caller holds w.mu.
func (w *writer) batch(what string, queue func(b *pgx.Batch)) error {
	if w.conn == nil {
		return state.ErrUnlocked
	}
	ctx := context.Background()
	b := &pgx.Batch{}
	if !w.stateRow {
		lineage, err := state.NewLineage()
		if err != nil {
			return err
		}
		b.Queue(w.s.sql(ensureStateSQL), w.s.namespace, lineage)
	}
	queue(b)
	if err := w.conn.SendBatch(ctx, b).Close(); err != nil {
		var ce *state.CorruptError
		if errors.Is(err, state.ErrNoJournalEntry) || errors.As(err, &ce) || errors.Is(err, errInput) {
			return err
		}
		return w.s.ci.wrap(what, err)
	}
	w.stateRow = true
	return nil
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

// journalBeginSQL takes the next journal seq, bumps the serial and inserts
// the entry in one statement: the body is the entry's JSON, whose first
// field is the seq, put together from the seq taken and the rest of the
// JSON ($2, everything after `{"seq":0`).
const journalBeginSQL = `WITH s AS (
		UPDATE %[1]s.states SET journal_seq = journal_seq + 1, serial = serial + 1 WHERE namespace = $1 RETURNING journal_seq)
	INSERT INTO %[1]s.journal (namespace, seq, body) SELECT $1, journal_seq, '{"seq":' || journal_seq || $2 FROM s
	RETURNING seq, xmin`

// seqPrefix is how a JournalEntry with Seq 0 encodes: its first field.
var seqPrefix = []byte(`{"seq":0`)

func (w *writer) JournalBegin(e state.JournalEntry) (uint64, error) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	e.Done, e.DoneTime, e.ResultID, e.ResultVersion = false, time.Time{}, "", ""
	if err := state.ValidateJournal(e); err != nil {
		return 0, fmt.Errorf("journal begin: %w", err)
	}
	e.Seq = 0
	data, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("journal begin: %w", err)
	}
	rest, ok := bytes.CutPrefix(data, seqPrefix)
	if !ok {
		return 0, fmt.Errorf("journal begin: the entry does not encode with its seq first: %.20s", data)
	}
	// One round trip: one statement (and, in a writer's first
	// transaction, the states row created before it).
	var seq int64
	var xmin uint32
	w.mu.Lock()
	defer w.mu.Unlock()
	err = w.batch("journal begin", func(b *pgx.Batch) {
		b.Queue(w.s.sql(journalBeginSQL), w.s.namespace, string(rest)).QueryRow(func(row pgx.Row) error {
			return row.Scan(&seq, &xmin)
		})
	})
	if err != nil {
		return 0, fmt.Errorf("journal begin %s %s: %w", e.Op, e.ItemID, err)
	}
	e.Seq = uint64(seq)
	if w.mine == nil {
		w.mine = map[uint64]journaled{}
	}
	// A copy: the caller's item may change after this returns; the row
	// holds it as it was.
	if e.Item != nil {
		it := *e.Item
		it.Item = cloneItem(it.Item)
		e.Item = &it
	}
	w.mine[e.Seq] = journaled{entry: e, xmin: xmin}
	return e.Seq, nil
}

// cloneItem copies it and the slices it holds.
func cloneItem(it provider.Item) provider.Item {
	it.OSTypes = slices.Clone(it.OSTypes)
	it.Tags = slices.Clone(it.Tags)
	it.Entries = slices.Clone(it.Entries)
	for i := range it.Entries {
		it.Entries[i].Value = slices.Clone(it.Entries[i].Value)
	}
	return it
}

// journalDoneSQL marks a journal entry done ($3: its new body) and records
// its item (putDoneItem: $5, $6) or forgets it (deleteDoneItem: $5), in one
// statement that changes nothing unless the entry's row is the version
// this writer wrote ($4: its xmin) and the states row exists. It returns
// the xmin of the entry's new row version, or no row when it changed
// nothing.
func journalDoneSQL(item string) string {
	return `WITH j AS (
		UPDATE %[1]s.journal SET body = $3 WHERE namespace = $1 AND seq = $2 AND xmin = $4
			AND EXISTS (SELECT 1 FROM %[1]s.states WHERE namespace = $1)
		RETURNING xmin),
	s AS (UPDATE %[1]s.states SET serial = serial + 1 WHERE namespace = $1 AND EXISTS (SELECT 1 FROM j)),
	i AS (` + item + `)
	SELECT xmin FROM j`
}

var (
	putDoneItemSQL = journalDoneSQL(`INSERT INTO %[1]s.items (namespace, item_id, body) SELECT $1, $5, $6 FROM j
		ON CONFLICT (namespace, item_id) DO UPDATE SET body = EXCLUDED.body`)
	deleteDoneItemSQL = journalDoneSQL(`DELETE FROM %[1]s.items WHERE namespace = $1 AND item_id = $5 AND EXISTS (SELECT 1 FROM j)`)
)

// done returns the entry e marked done with result, and the body of its
// item to record (nil for a delete).
func done(seq uint64, e state.JournalEntry, result provider.Item) (state.JournalEntry, []byte, error) {
	e.Done, e.DoneTime = true, time.Now().UTC()
	if e.Op == provider.Delete {
		return e, nil, nil
	}
	it := *e.Item
	if result.ItemID == "" {
		// Only the identity came back: keep the journaled body.
		it.Item.ID, it.Item.Version = result.ID, result.Version
	} else if result.ItemID != e.ItemID {
		return e, nil, &inputError{fmt.Sprintf("result has item_id %q, journal entry %d is for %q", result.ItemID, seq, e.ItemID)}
	} else {
		it.Item = result
	}
	e.ResultID, e.ResultVersion = it.Item.ID, it.Item.Version
	data, err := json.Marshal(it)
	return e, data, err
}

func (w *writer) JournalDone(seq uint64, result provider.Item) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if j, ok := w.mine[seq]; ok && !j.entry.Done {
		// Written by this writer: one statement, if the row is still the
		// one it wrote.
		e, item, err := done(seq, j.entry, result)
		if err != nil {
			return fmt.Errorf("journal done %d: %w", seq, err)
		}
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("journal done %d: %w", seq, err)
		}
		q, args := putDoneItemSQL, []any{w.s.namespace, int64(seq), string(data), j.xmin, e.ItemID, string(item)}
		if item == nil {
			q, args = deleteDoneItemSQL, args[:5]
		}
		var xmin uint32
		found := false
		err = w.batch("journal done", func(b *pgx.Batch) {
			b.Queue(w.s.sql(q), args...).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					if err := rows.Scan(&xmin); err != nil {
						return err
					}
					found = true
				}
				return rows.Err()
			})
		})
		if err != nil {
			return fmt.Errorf("journal done %d: %w", seq, err)
		}
		if found {
			w.mine[seq] = journaled{entry: e, xmin: xmin}
			return nil
		}
		// The row changed, or is gone: nothing was written; read it.
		delete(w.mine, seq)
	}
	return w.journalDoneRead(seq, result)
}

// journalDoneRead is JournalDone for an entry this writer did not write
// (or whose row changed since): it reads the entry, checks it and marks
// it done. The caller holds w.mu.
func (w *writer) journalDoneRead(seq uint64, result provider.Item) error {
	_, err := w.doLocked("journal done", func(ctx context.Context, tx pgx.Tx) error {
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
		e, item, err := done(seq, e, result)
		if err != nil {
			return err
		}
		if item == nil {
			if _, err := tx.Exec(ctx, w.s.sql(`DELETE FROM %[1]s.items WHERE namespace = $1 AND item_id = $2`), w.s.namespace, e.ItemID); err != nil {
				return err
			}
		} else if err := w.putItem(ctx, tx, e.ItemID, item); err != nil {
			return err
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
	list := make([]int64, len(seqs))
	for i, s := range seqs {
		list[i] = int64(s)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.batch("journal clear", func(b *pgx.Batch) {
		b.Queue(w.s.sql(`DELETE FROM %[1]s.journal WHERE namespace = $1 AND seq = ANY($2)`), w.s.namespace, list)
		b.Queue(w.s.sql(`UPDATE %[1]s.states SET serial = serial + 1 WHERE namespace = $1`), w.s.namespace)
	})
	if err != nil {
		return fmt.Errorf("journal clear: %w", err)
	}
	for _, s := range seqs {
		delete(w.mine, s)
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
		if err := w.s.putItems(ctx, tx, c.Put); err != nil {
			return err
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
			if err := w.clearDone(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("commit state: %w", err)
	}
	if c.ClearDone {
		w.mu.Lock()
		for seq, j := range w.mine {
			if j.entry.Done {
				delete(w.mine, seq)
			}
		}
		w.mu.Unlock()
	}
	return serial, nil
}

// putItems stores items in one statement (the last of one item_id wins, as
// if they were stored one after the other).
func (s *Store) putItems(ctx context.Context, tx pgx.Tx, items []state.Item) error {
	if len(items) == 0 {
		return nil
	}
	at := make(map[string]int, len(items))
	ids := make([]string, 0, len(items))
	bodies := make([]string, 0, len(items))
	for _, it := range items {
		data, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if i, ok := at[it.Item.ItemID]; ok {
			bodies[i] = string(data)
			continue
		}
		at[it.Item.ItemID] = len(ids)
		ids = append(ids, it.Item.ItemID)
		bodies = append(bodies, string(data))
	}
	_, err := tx.Exec(ctx, s.sql(`INSERT INTO %[1]s.items (namespace, item_id, body) SELECT $1, * FROM unnest($2::text[], $3::text[])
		ON CONFLICT (namespace, item_id) DO UPDATE SET body = EXCLUDED.body`), s.namespace, ids, bodies)
	return err
}

// clearDone deletes the journal entries marked done: first, in one
// statement, those this writer marked done whose rows are still the
// versions it wrote (w.mine), then every other entry that reads as done
// (each checked as Snapshot checks it). The caller holds w.mu.
func (w *writer) clearDone(ctx context.Context, tx pgx.Tx) error {
	var seqs []int64
	var xmins []uint32
	for seq, j := range w.mine {
		if j.entry.Done {
			seqs = append(seqs, int64(seq))
			xmins = append(xmins, j.xmin)
		}
	}
	if len(seqs) > 0 {
		if _, err := tx.Exec(ctx, w.s.sql(`DELETE FROM %[1]s.journal j USING unnest($2::bigint[], $3::xid[]) AS m(seq, xmin)
			WHERE j.namespace = $1 AND j.seq = m.seq AND j.xmin = m.xmin`), w.s.namespace, seqs, xmins); err != nil {
			return err
		}
	}
	return w.s.clearDone(ctx, tx)
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
	// The journal is replaced: whatever this writer wrote is gone.
	w.mine = nil
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
