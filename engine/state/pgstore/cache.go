package pgstore

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Cache is the source cache (provider.Cache) in the store's schema: the
// Lumu context cache and daily request counters, shared by every runner
// and every namespace of the schema. It has a session of its own, opened on
// first use; reads never create anything, the first write creates (or
// migrates) the schema.
type Cache struct {
	s *Store

	mu       sync.Mutex
	conn     *pgx.Conn
	migrated bool
}

var _ provider.Cache = (*Cache)(nil)

// Cache returns the store's source cache. Close it when done.
func (s *Store) Cache() *Cache { return &Cache{s: s} }

// session returns the cache's session; c.mu is held.
func (c *Cache) session(ctx context.Context) (*pgx.Conn, error) {
	if c.conn == nil || c.conn.IsClosed() {
		conn, err := c.s.ci.connect(ctx)
		if err != nil {
			return nil, err
		}
		c.conn, c.migrated = conn, false
	}
	return c.conn, nil
}

// run runs fn on the session, dropping a broken session.
func (c *Cache) run(what string, write bool, fn func(ctx context.Context, conn *pgx.Conn) error) error {
	ctx := context.Background()
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, err := c.session(ctx)
	if err != nil {
		return err
	}
	if write && !c.migrated {
		if err := c.s.migrate(ctx, conn); err != nil {
			return err
		}
		c.migrated = true
	}
	if !write {
		v, err := c.s.readVersion(ctx, conn)
		if err != nil {
			return c.fail(ctx, what, err)
		}
		if v < 2 {
			return errNoCache
		}
		if v > SchemaVersion() {
			return c.s.versionError(v)
		}
	}
	if err := fn(ctx, conn); err != nil {
		return c.fail(ctx, what, err)
	}
	return nil
}

// errNoCache means the schema has no cache tables yet: nothing cached.
var errNoCache = errors.New("no cache yet")

func (c *Cache) fail(ctx context.Context, what string, err error) error {
	if isConnError(err) {
		_ = c.conn.Close(ctx)
		c.conn = nil
	}
	return c.s.ci.wrap(what, err)
}

// Load returns the stored records of group for ids.
func (c *Cache) Load(group string, ids []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := c.run("read the cache", false, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, c.s.sql(`SELECT id, body FROM %[1]s.cache WHERE grp = $1 AND id = ANY($2)`), group, ids)
		if err != nil {
			return err
		}
		var id string
		var body []byte
		_, err = pgx.ForEachRow(rows, []any{&id, &body}, func() error {
			out[id] = append([]byte(nil), body...)
			return nil
		})
		return err
	})
	if errors.Is(err, errNoCache) {
		return out, nil
	}
	return out, err
}

// Store writes records of group in one statement.
func (c *Cache) Store(group string, recs map[string][]byte) error {
	if len(recs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(recs))
	bodies := make([][]byte, 0, len(recs))
	for id, b := range recs {
		ids = append(ids, id)
		bodies = append(bodies, b)
	}
	return c.run("write the cache", true, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, c.s.sql(`INSERT INTO %[1]s.cache (grp, id, body)
			SELECT $1, u.id, u.body FROM unnest($2::text[], $3::bytea[]) AS u(id, body)
			ON CONFLICT (grp, id) DO UPDATE SET body = EXCLUDED.body, updated = now()`), group, ids, bodies)
		return err
	})
}

// QuotaUsed returns the count of key on day.
func (c *Cache) QuotaUsed(key, day string) (int, error) {
	var n int
	err := c.run("read the request quota", false, func(ctx context.Context, conn *pgx.Conn) error {
		err := conn.QueryRow(ctx, c.s.sql(`SELECT used FROM %[1]s.quota WHERE key = $1 AND day = $2`), key, day).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if errors.Is(err, errNoCache) {
		return 0, nil
	}
	return n, err
}

// SetQuotaUsed stores the count of key for day.
func (c *Cache) SetQuotaUsed(key, day string, n int) error {
	return c.run("write the request quota", true, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, c.s.sql(`INSERT INTO %[1]s.quota (key, day, used) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET day = EXCLUDED.day, used = EXCLUDED.used`), key, day, n)
		return err
	})
}

// Close closes the cache's session.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close(context.Background())
	c.conn = nil
	return err
}
