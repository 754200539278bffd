package pgstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lumuctl/lumuctl/engine/state"
)

// lockPoll is how often a waiting writer retries the lock.
const lockPoll = 50 * time.Millisecond

// Lock takes the namespace's write lock: a session-level advisory lock on a
// session of its own, kept open for the whole run, plus a row in the locks
// table naming the holder. PostgreSQL releases the advisory lock when the
// session ends, so a holder that dies (or whose connection is cut) never
// blocks anyone; its row is then ignored (only the row of a session that
// holds the advisory lock names the holder) and overwritten by the next
// writer. Lock tries once when opts.Timeout is 0 and otherwise polls until
// the timeout or until ctx is done; a lock that stays held yields a
// *state.LockError. The first Lock creates (or migrates) the schema.
func (s *Store) Lock(ctx context.Context, opts state.LockOptions) (state.Writer, error) {
	conn, err := s.ci.connect(ctx)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = conn.Close(context.Background())
		}
	}()
	if err := s.migrate(ctx, conn); err != nil {
		return nil, err
	}
	key := lockKey(s.schema, s.namespace)
	// Waiting starts after the first try (whose round trip is no wait).
	var start time.Time
	for {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("waiting for state lock %s: %w", s.Path(), ctx.Err())
			}
			return nil, s.ci.wrap("take the state lock", err)
		}
		if got {
			break
		}
		if start.IsZero() {
			start = time.Now()
		}
		waited := time.Since(start)
		if waited >= opts.Timeout {
			return nil, &state.LockError{Path: s.Path(), Holder: s.readHolder(ctx, conn), Waited: waited.Round(time.Millisecond)}
		}
		t := time.NewTimer(min(lockPoll, opts.Timeout-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for state lock %s: %w", s.Path(), ctx.Err())
		case <-t.C:
		}
	}
	info := holderInfo(opts)
	_, err = conn.Exec(ctx, s.sql(`INSERT INTO %[1]s.locks (namespace, pid, who, command, started, backend_pid)
		VALUES ($1, $2, $3, $4, $5, pg_backend_pid())
		ON CONFLICT (namespace) DO UPDATE SET pid = EXCLUDED.pid, who = EXCLUDED.who, command = EXCLUDED.command,
			started = EXCLUDED.started, backend_pid = EXCLUDED.backend_pid`),
		s.namespace, info.PID, info.Who, info.Command, info.Started)
	if err != nil {
		return nil, s.ci.wrap("write the state lock record", err)
	}
	if err := fastCompression(ctx, conn); err != nil {
		return nil, s.ci.wrap("set the session's compression", err)
	}
	ok = true
	return &writer{s: s, conn: conn, info: info, key: key}, nil
}

// fastCompression makes the session compress the large values it writes
// (journal entries and items, about 67 KB of JSON for an item of 1,000
// sha256) with lz4 instead of pglz, where the server has it (PostgreSQL 14
// or later built with lz4, as Debian's packages are): the same size, and
// a third of the server's CPU for the writes of an apply. A server that
// refuses the setting (older, or built without lz4) keeps pglz; values
// already stored keep their compression, and any server that wrote them
// reads them.
func fastCompression(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `SET default_toast_compression = 'lz4'`)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return nil
	}
	return err
}

func holderInfo(opts state.LockOptions) state.LockInfo {
	info := state.LockInfo{PID: opts.PID, Who: opts.Who, Command: opts.Command}
	if info.PID == 0 {
		info.PID = os.Getpid()
	}
	if info.Who == "" {
		info.Who = state.CurrentUser()
	}
	if opts.Now != nil {
		info.Started = opts.Now()
	} else {
		info.Started = time.Now()
	}
	// PostgreSQL keeps microseconds.
	info.Started = info.Started.UTC().Round(0).Truncate(time.Microsecond)
	return info
}

// holderSQL reads the lock row only when its session still holds the
// advisory lock (a dead holder's row is stale).
const holderSQL = `SELECT l.pid, l.who, l.command, l.started
	FROM %[1]s.locks l
	WHERE l.namespace = $1 AND EXISTS (
		SELECT 1 FROM pg_locks p
		WHERE p.locktype = 'advisory' AND p.granted AND p.pid = l.backend_pid
		AND p.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND p.classid = $2::bigint::oid AND p.objid = $3::bigint::oid AND p.objsubid = 1)`

// readHolder reads the holder record. The holder writes it right after
// taking the lock, so a missing record is retried briefly; one that stays
// missing yields the zero LockInfo.
func (s *Store) readHolder(ctx context.Context, conn *pgx.Conn) state.LockInfo {
	key := uint64(lockKey(s.schema, s.namespace))
	for range 10 {
		var info state.LockInfo
		var pid int32
		err := conn.QueryRow(ctx, s.sql(holderSQL), s.namespace, int64(key>>32), int64(key&0xffffffff)).
			Scan(&pid, &info.Who, &info.Command, &info.Started)
		if err == nil && pid > 0 {
			info.PID = int(pid)
			info.Started = info.Started.UTC()
			return info
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return state.LockInfo{}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return state.LockInfo{}
}
