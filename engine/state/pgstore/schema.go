package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrations[i] takes the schema from version i to version i+1, in one
// transaction, run on first write (Init or Lock) by whoever gets there
// first (a transaction-level advisory lock serialises concurrent first
// runs). "%[1]s" is the quoted schema name. To change the layout, append a
// migration; never edit a released one.
var migrations = []string{
	// 0 → 1: the first layout. Every table is keyed by namespace.
	`CREATE TABLE IF NOT EXISTS %[1]s.schema_version (
		version integer NOT NULL
	);
	INSERT INTO %[1]s.schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM %[1]s.schema_version);
	CREATE TABLE %[1]s.states (
		namespace   text PRIMARY KEY,
		lineage     text NOT NULL,
		serial      bigint NOT NULL,
		journal_seq bigint NOT NULL DEFAULT 0,
		history_seq bigint NOT NULL DEFAULT 0,
		created     timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE %[1]s.items (
		namespace text NOT NULL,
		item_id   text NOT NULL,
		body      text NOT NULL,
		PRIMARY KEY (namespace, item_id)
	);
	CREATE TABLE %[1]s.applied (
		namespace text NOT NULL,
		digest    text NOT NULL,
		applied   timestamptz NOT NULL,
		PRIMARY KEY (namespace, digest)
	);
	CREATE TABLE %[1]s.history (
		namespace text NOT NULL,
		seq       bigint NOT NULL,
		body      text NOT NULL,
		PRIMARY KEY (namespace, seq)
	);
	CREATE TABLE %[1]s.journal (
		namespace text NOT NULL,
		seq       bigint NOT NULL,
		body      text NOT NULL,
		PRIMARY KEY (namespace, seq)
	);
	CREATE TABLE %[1]s.prov_incidents (
		namespace text NOT NULL,
		blocklist text NOT NULL,
		idx       integer NOT NULL,
		body      text NOT NULL,
		PRIMARY KEY (namespace, blocklist, idx)
	);
	CREATE TABLE %[1]s.provenance (
		namespace text NOT NULL,
		blocklist text NOT NULL,
		hash      bytea NOT NULL,
		incidents integer[] NOT NULL,
		PRIMARY KEY (namespace, blocklist, hash)
	);
	CREATE INDEX provenance_by_hash ON %[1]s.provenance (namespace, hash);
	CREATE TABLE %[1]s.locks (
		namespace   text PRIMARY KEY,
		pid         integer NOT NULL,
		who         text NOT NULL,
		command     text NOT NULL,
		started     timestamptz NOT NULL,
		backend_pid integer NOT NULL
	);`,
	// 1 → 2: the Lumu context cache and the daily request counters, shared
	// by every namespace of the schema (a company's incidents and a key's
	// quota are the same whichever configuration reads them).
	`CREATE TABLE %[1]s.cache (
		grp     text NOT NULL,
		id      text NOT NULL,
		body    bytea NOT NULL,
		updated timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (grp, id)
	);
	CREATE TABLE %[1]s.quota (
		key  text PRIMARY KEY,
		day  text NOT NULL,
		used integer NOT NULL
	);`,
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

// SchemaVersionError reports a schema this binary cannot use: written by a
// newer lumuctl.
type SchemaVersionError struct {
	Where     string // "PostgreSQL host:port database db schema s"
	Found     int
	Supported int
}

func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("%s has lumuctl schema version %d, but this lumuctl supports at most version %d: upgrade lumuctl", e.Where, e.Found, e.Supported)
}

// qualify returns the quoted schema name.
func (s *Store) qs() string { return pgx.Identifier{s.schema}.Sanitize() }

// sql expands %[1]s to the quoted schema name.
func (s *Store) sql(q string) string { return strings.ReplaceAll(q, "%[1]s", s.qs()) }

// readVersion returns the schema version (0 when the schema or its version
// table does not exist). It never creates anything.
func (s *Store) readVersion(ctx context.Context, q querier) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.qs()+".schema_version").Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v int
	err := q.QueryRow(ctx, s.sql(`SELECT version FROM %[1]s.schema_version LIMIT 1`)).Scan(&v)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	return v, err
}

func (s *Store) versionError(found int) error {
	return &SchemaVersionError{Where: fmt.Sprintf("%s schema %s", s.ci.where(), s.schema), Found: found, Supported: SchemaVersion()}
}

// migrate creates the schema and runs the missing migrations, refusing a
// newer schema. It runs in its own transaction on conn.
func (s *Store) migrate(ctx context.Context, conn *pgx.Conn) error {
	v, err := s.readVersion(ctx, conn)
	if err != nil {
		return s.ci.wrap("read schema version", err)
	}
	if v > SchemaVersion() {
		return s.versionError(v)
	}
	if v == SchemaVersion() {
		return nil
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Serialise concurrent first runs on this schema.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(s.schema, "\x00migrate")); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+s.qs()); err != nil {
			return err
		}
		v, err := s.readVersion(ctx, tx)
		if err != nil {
			return err
		}
		if v > SchemaVersion() {
			return s.versionError(v)
		}
		for ; v < SchemaVersion(); v++ {
			if _, err := tx.Exec(ctx, s.sql(migrations[v])); err != nil {
				return fmt.Errorf("migrate schema %s to version %d: %w", s.schema, v+1, err)
			}
			if _, err := tx.Exec(ctx, s.sql(`UPDATE %[1]s.schema_version SET version = $1`), v+1); err != nil {
				return err
			}
		}
		return nil
	})
	if _, ok := err.(*SchemaVersionError); ok {
		return err
	}
	return s.ci.wrap("create schema "+s.schema, err)
}
