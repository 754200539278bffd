package pgstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// querier is what pgx.Conn and pgx.Tx share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store is the state of one namespace in a PostgreSQL schema. Readers share
// one lazily opened session (each read is one REPEATABLE READ, READ ONLY
// transaction, so it never waits for a writer); a writer holds a session
// of its own for its whole run. Call Close when done.
type Store struct {
	ci        *conninfo
	schema    string
	namespace string

	mu    sync.Mutex // guards rconn
	rconn *pgx.Conn
}

var (
	_ state.Store    = (*Store)(nil)
	_ state.Exporter = (*Store)(nil)
)

// New checks opts and returns a Store. It does no I/O.
func New(opts Options) (*Store, error) {
	if opts.Schema == "" {
		opts.Schema = DefaultSchema
	}
	if !SchemaRE.MatchString(opts.Schema) {
		return nil, fmt.Errorf("invalid PostgreSQL schema name %q: use lowercase letters, digits and underscores, not starting with a digit", opts.Schema)
	}
	if opts.Namespace == "" {
		return nil, errors.New("pgstore: empty namespace")
	}
	ci, err := parseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	return &Store{ci: ci, schema: opts.Schema, namespace: opts.Namespace}, nil
}

// Path describes where the state lives, without credentials:
// "postgres://host:port/db schema S namespace N".
func (s *Store) Path() string {
	return fmt.Sprintf("postgres://%s/%s (schema %s, namespace %s)", s.ci.addr(), s.ci.database, s.schema, s.namespace)
}

// Schema is the schema name; Namespace the namespace.
func (s *Store) Schema() string    { return s.schema }
func (s *Store) Namespace() string { return s.namespace }

// Close closes the readers' session.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rconn != nil {
		err := s.rconn.Close(context.Background())
		s.rconn = nil
		return err
	}
	return nil
}

// lockKey is the advisory lock key of a namespace in a schema.
func lockKey(schema, namespace string) int64 {
	h := fnv.New64a()
	h.Write([]byte("lumuctl\x00" + schema + "\x00" + namespace))
	return int64(h.Sum64())
}

// read runs fn in one REPEATABLE READ, READ ONLY transaction on the
// readers' session. exists is false (and fn is not called) when the schema
// or the namespace's state row does not exist.
func (s *Store) read(what string, fn func(ctx context.Context, tx pgx.Tx, lineage string, serial uint64) error) (exists bool, err error) {
	ctx := context.Background()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rconn == nil || s.rconn.IsClosed() {
		conn, err := s.ci.connect(ctx)
		if err != nil {
			return false, err
		}
		s.rconn = conn
	}
	err = pgx.BeginTxFunc(ctx, s.rconn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		v, err := s.readVersion(ctx, tx)
		if err != nil {
			return err
		}
		if v == 0 {
			return nil
		}
		if v > SchemaVersion() {
			return s.versionError(v)
		}
		var lineage string
		var serial int64
		err = tx.QueryRow(ctx, s.sql(`SELECT lineage, serial FROM %[1]s.states WHERE namespace = $1`), s.namespace).Scan(&lineage, &serial)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		exists = true
		return fn(ctx, tx, lineage, uint64(serial))
	})
	if err != nil {
		if isConnError(err) {
			_ = s.rconn.Close(ctx)
			s.rconn = nil
		}
		var ve *SchemaVersionError
		var ce *state.CorruptError
		if errors.As(err, &ve) || errors.As(err, &ce) {
			return false, err
		}
		return false, s.ci.wrap(what, err)
	}
	return exists, nil
}

func (s *Store) corrupt(detail string, err error) error {
	return &state.CorruptError{Path: s.Path(), Detail: detail, Err: err}
}

// Init creates the schema (migrating an older one) and the namespace's
// state with a new lineage and serial 0 if missing; reports whether it
// created the state.
func (s *Store) Init() (created bool, err error) {
	ctx := context.Background()
	conn, err := s.ci.connect(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	if err := s.migrate(ctx, conn); err != nil {
		return false, err
	}
	created, err = s.ensureState(ctx, conn)
	return created, s.ci.wrap("create state", err)
}

// ensureStateSQL inserts the namespace's state row ($1) with lineage $2 if
// it is missing.
const ensureStateSQL = `INSERT INTO %[1]s.states (namespace, lineage, serial) VALUES ($1, $2, 0) ON CONFLICT (namespace) DO NOTHING`

// ensureState inserts the namespace's state row if missing.
func (s *Store) ensureState(ctx context.Context, q querier) (bool, error) {
	lineage, err := state.NewLineage()
	if err != nil {
		return false, err
	}
	tag, err := q.Exec(ctx, s.sql(ensureStateSQL), s.namespace, lineage)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// decodeStrict decodes one JSON value and rejects trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return errors.New("invalid JSON: trailing data")
	}
	return nil
}

// Snapshot reads lineage, serial, items, applied digests and the journal
// in one repeatable-read transaction. No state reads as an empty State.
func (s *Store) Snapshot() (*state.State, error) {
	st := &state.State{Items: map[string]state.Item{}, Applied: map[string]time.Time{}}
	_, err := s.read("read state", func(ctx context.Context, tx pgx.Tx, lineage string, serial uint64) error {
		st.FormatVersion, st.Lineage, st.Serial = SchemaVersion(), lineage, serial
		st.Namespace = s.namespace // every row is keyed by it
		var err error
		if st.Items, err = s.readItems(ctx, tx); err != nil {
			return err
		}
		if st.Applied, err = s.readApplied(ctx, tx); err != nil {
			return err
		}
		st.Journal, err = s.readJournal(ctx, tx, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (s *Store) readItems(ctx context.Context, q querier) (map[string]state.Item, error) {
	out := map[string]state.Item{}
	rows, err := q.Query(ctx, s.sql(`SELECT item_id, body FROM %[1]s.items WHERE namespace = $1`), s.namespace)
	if err != nil {
		return nil, err
	}
	var id string
	var body []byte
	lists := provider.NewValueLists()
	_, err = pgx.ForEachRow(rows, []any{&id, &body}, func() error {
		it, ok := state.DecodeItemShared(body, lists)
		var err error
		if !ok {
			err = decodeStrict(body, &it)
		}
		if err == nil {
			err = state.ValidateItem(it)
		}
		if err == nil && it.Item.ItemID != id {
			err = fmt.Errorf("record has item_id %q", it.Item.ItemID)
		}
		if err != nil {
			return s.corrupt(fmt.Sprintf("items[%q]", id), err)
		}
		out[id] = it
		return nil
	})
	return out, err
}

func (s *Store) readApplied(ctx context.Context, q querier) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	rows, err := q.Query(ctx, s.sql(`SELECT digest, applied FROM %[1]s.applied WHERE namespace = $1`), s.namespace)
	if err != nil {
		return nil, err
	}
	var d string
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&d, &at}, func() error {
		out[d] = at.UTC()
		return nil
	})
	return out, err
}

func (s *Store) readJournal(ctx context.Context, q querier, pendingOnly bool) ([]state.JournalEntry, error) {
	var out []state.JournalEntry
	rows, err := q.Query(ctx, s.sql(`SELECT seq, body FROM %[1]s.journal WHERE namespace = $1 ORDER BY seq`), s.namespace)
	if err != nil {
		return nil, err
	}
	var seq int64
	var body []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &body}, func() error {
		var e state.JournalEntry
		err := decodeStrict(body, &e)
		if err == nil {
			err = state.ValidateJournal(e)
		}
		if err == nil && e.Seq != uint64(seq) {
			err = fmt.Errorf("record has seq %d", e.Seq)
		}
		if err != nil {
			return s.corrupt(fmt.Sprintf("journal[%d]", seq), err)
		}
		if !pendingOnly || !e.Done {
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

func (s *Store) readHistory(ctx context.Context, q querier) ([]state.HistoryEntry, error) {
	var out []state.HistoryEntry
	rows, err := q.Query(ctx, s.sql(`SELECT seq, body FROM %[1]s.history WHERE namespace = $1 ORDER BY seq`), s.namespace)
	if err != nil {
		return nil, err
	}
	var seq int64
	var body []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &body}, func() error {
		var h state.HistoryEntry
		err := decodeStrict(body, &h)
		if err == nil && !h.Outcome.Valid() {
			err = fmt.Errorf("history entry: unknown outcome %q", h.Outcome)
		}
		if err != nil {
			return s.corrupt(fmt.Sprintf("history[%d]", seq), err)
		}
		h.Seq = uint64(seq)
		out = append(out, h)
		return nil
	})
	return out, err
}

// PendingJournal returns the unfinished journal entries, ordered by Seq.
func (s *Store) PendingJournal() ([]state.JournalEntry, error) {
	var out []state.JournalEntry
	_, err := s.read("read journal", func(ctx context.Context, tx pgx.Tx, _ string, _ uint64) error {
		var err error
		out, err = s.readJournal(ctx, tx, true)
		return err
	})
	return out, err
}

// History returns the audit history, oldest first.
func (s *Store) History() ([]state.HistoryEntry, error) {
	var out []state.HistoryEntry
	_, err := s.read("read history", func(ctx context.Context, tx pgx.Tx, _ string, _ uint64) error {
		var err error
		out, err = s.readHistory(ctx, tx)
		return err
	})
	return out, err
}

// provenanceSQL returns, for one hash, each blocklist's incidents in their
// stored order.
// The incident is a scalar subquery, so that its lookup is always an index
// scan on the whole primary key (a join may be planned as a scan of the
// blocklist's incidents while the statistics are stale after a bulk write).
const provenanceSQL = `SELECT p.blocklist, (SELECT i.body FROM %[1]s.prov_incidents i
		WHERE i.namespace = p.namespace AND i.blocklist = p.blocklist AND i.idx = u.idx)
	FROM %[1]s.provenance p
	CROSS JOIN LATERAL unnest(p.incidents) WITH ORDINALITY AS u(idx, ord)
	WHERE p.namespace = $1 AND p.hash = $2`

// Provenance returns the incidents that put hash into blocklist at the last
// apply, or nil if the hash is not recorded there.
func (s *Store) Provenance(blocklist, hash string) ([]provider.IncidentRef, error) {
	all, err := s.provenance(hash, &blocklist)
	if err != nil {
		return nil, err
	}
	return all[blocklist], nil
}

// provenanceOfSQL returns, for some hashes of one blocklist, their
// incidents in stored order (index and body).
const provenanceOfSQL = `SELECT p.hash, u.idx, (SELECT i.body FROM %[1]s.prov_incidents i
		WHERE i.namespace = p.namespace AND i.blocklist = p.blocklist AND i.idx = u.idx)
	FROM %[1]s.provenance p
	CROSS JOIN LATERAL unnest(p.incidents) WITH ORDINALITY AS u(idx, ord)
	WHERE p.namespace = $1 AND p.blocklist = $2 AND p.hash = ANY($3)
	ORDER BY p.hash, u.ord`

// ProvenanceOf returns the recorded incidents of each of hashes in
// blocklist, in one query; each incident is decoded once.
func (s *Store) ProvenanceOf(blocklist string, hashes []string) (state.HashIncidents, error) {
	keys := make([][]byte, len(hashes))
	byKey := make(map[string]string, len(hashes))
	for i, h := range hashes {
		k, err := state.HashBytes(h)
		if err != nil {
			return nil, err
		}
		keys[i] = k
		byKey[string(k)] = h
	}
	out := state.HashIncidents{}
	if len(keys) == 0 {
		return out, nil
	}
	_, err := s.read("read provenance", func(ctx context.Context, tx pgx.Tx, _ string, _ uint64) error {
		rows, err := tx.Query(ctx, s.sql(provenanceOfSQL), s.namespace, blocklist, keys)
		if err != nil {
			return err
		}
		memo := map[int32]provider.IncidentRef{}
		var key, body []byte
		var idx int32
		_, err = pgx.ForEachRow(rows, []any{&key, &idx, &body}, func() error {
			h := byKey[string(key)]
			r, ok := memo[idx]
			if !ok {
				if r, err = decodeIncident(body); err != nil {
					return s.corrupt(fmt.Sprintf("provenance[%q] of %s", blocklist, h), err)
				}
				memo[idx] = r
			}
			out[h] = append(out[h], r)
			return nil
		})
		return err
	})
	return out, err
}

// ProvenanceAll returns, for every blocklist that holds hash, the incidents
// that put it there.
func (s *Store) ProvenanceAll(hash string) (map[string][]provider.IncidentRef, error) {
	return s.provenance(hash, nil)
}

func (s *Store) provenance(hash string, blocklist *string) (map[string][]provider.IncidentRef, error) {
	key, err := state.HashBytes(hash)
	if err != nil {
		return nil, err
	}
	out := map[string][]provider.IncidentRef{}
	_, err = s.read("read provenance", func(ctx context.Context, tx pgx.Tx, _ string, _ uint64) error {
		q, args := provenanceSQL, []any{s.namespace, key}
		if blocklist != nil {
			q += ` AND p.blocklist = $3`
			args = append(args, *blocklist)
		}
		rows, err := tx.Query(ctx, s.sql(q+` ORDER BY p.blocklist, u.ord`), args...)
		if err != nil {
			return err
		}
		var bl string
		var body []byte
		_, err = pgx.ForEachRow(rows, []any{&bl, &body}, func() error {
			r, err := decodeIncident(body)
			if err != nil {
				return s.corrupt(fmt.Sprintf("provenance[%q] of %s", bl, hash), err)
			}
			out[bl] = append(out[bl], r)
			return nil
		})
		return err
	})
	return out, err
}

func decodeIncident(body []byte) (provider.IncidentRef, error) {
	var r provider.IncidentRef
	if body == nil {
		return r, errors.New("missing incident")
	}
	if err := decodeStrict(body, &r); err != nil {
		return r, err
	}
	if r.ID == "" {
		return r, errors.New("incident has no id")
	}
	return r, nil
}

// Export reads the whole state in one repeatable-read transaction.
func (s *Store) Export() (*state.Dump, error) {
	d := &state.Dump{}
	_, err := s.read("export state", func(ctx context.Context, tx pgx.Tx, lineage string, serial uint64) error {
		d.Lineage, d.Serial = lineage, serial
		var err error
		if d.Items, err = s.readItems(ctx, tx); err != nil {
			return err
		}
		if d.Applied, err = s.readApplied(ctx, tx); err != nil {
			return err
		}
		if d.Journal, err = s.readJournal(ctx, tx, false); err != nil {
			return err
		}
		if d.History, err = s.readHistory(ctx, tx); err != nil {
			return err
		}
		d.Provenance, err = s.readAllProvenance(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Store) readAllProvenance(ctx context.Context, tx pgx.Tx) (map[string]state.HashIncidents, error) {
	return s.readProvenance(ctx, tx, nil)
}

// readProvenance reads the provenance of every blocklist, or of only one
// when only is not nil.
func (s *Store) readProvenance(ctx context.Context, tx pgx.Tx, only *string) (map[string]state.HashIncidents, error) {
	incidents := map[string][]provider.IncidentRef{}
	rows, err := tx.Query(ctx, s.sql(`SELECT blocklist, idx, body FROM %[1]s.prov_incidents WHERE namespace = $1 AND ($2::text IS NULL OR blocklist = $2) ORDER BY blocklist, idx`), s.namespace, only)
	if err != nil {
		return nil, err
	}
	var bl string
	var idx int32
	var body []byte
	_, err = pgx.ForEachRow(rows, []any{&bl, &idx, &body}, func() error {
		r, err := decodeIncident(body)
		if err == nil && int(idx) != len(incidents[bl]) {
			err = fmt.Errorf("incident index %d out of sequence", idx)
		}
		if err != nil {
			return s.corrupt(fmt.Sprintf("provenance[%q] incident %d", bl, idx), err)
		}
		incidents[bl] = append(incidents[bl], r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]state.HashIncidents{}
	rows, err = tx.Query(ctx, s.sql(`SELECT blocklist, hash, incidents FROM %[1]s.provenance WHERE namespace = $1 AND ($2::text IS NULL OR blocklist = $2)`), s.namespace, only)
	if err != nil {
		return nil, err
	}
	var hash []byte
	var list []int32
	_, err = pgx.ForEachRow(rows, []any{&bl, &hash, &list}, func() error {
		refs := make([]provider.IncidentRef, 0, len(list))
		for _, i := range list {
			if i < 0 || int(i) >= len(incidents[bl]) {
				return s.corrupt(fmt.Sprintf("provenance[%q][%x]", bl, hash), fmt.Errorf("incident index %d out of range", i))
			}
			refs = append(refs, incidents[bl][i])
		}
		if out[bl] == nil {
			out[bl] = state.HashIncidents{}
		}
		out[bl][fmt.Sprintf("%x", hash)] = refs
		return nil
	})
	return out, err
}
