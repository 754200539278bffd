package lumu

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/safefile"
)

// The cache file layout (bbolt):
//
//	meta/version            = cacheVersion
//	companies/<company UUID>/<incident id> = JSON cachedIncident
//
// A file with another version is ignored when read and reset when written.
// The cache never holds a key: only incident ids, the fields that decide
// freshness and the raw context values lumuctl uses.
const cacheVersion = "1"

var (
	bucketMeta      = []byte("meta")
	bucketCompanies = []byte("companies")
	keyVersion      = []byte("version")
)

// DefaultCacheTimeout is how long opening the cache waits for another
// process holding it before continuing without it.
const DefaultCacheTimeout = time.Second

// cachedIncident is what the cache keeps per incident.
type cachedIncident struct {
	LastContact time.Time                           `json:"last_contact"`
	Contacts    int64                               `json:"contacts"`
	Status      string                              `json:"status"`
	Contexts    map[provider.HashType]cachedContext `json:"contexts,omitempty"`
}

// cachedContext is the part of an incident context lumuctl uses. Active is
// nil when the context had no currently_active, and true when it was true
// or null (see Context.Active); Rank is nil when absent.
type cachedContext struct {
	Active *bool    `json:"currently_active,omitempty"`
	Rank   *float64 `json:"rank,omitempty"`
	Files  fileList `json:"related_files,omitempty"`
}

// fileList is a cached list of related files. Decoding it takes one pass
// and two allocations (provider.DecodeValues) for the usual list of plain
// hex strings; a record is read for every kept incident on every run.
type fileList []string

// UnmarshalJSON decodes a JSON array of strings (or null).
func (l *fileList) UnmarshalJSON(raw []byte) error {
	if v, ok := provider.DecodeValues(raw); ok {
		*l = v
		return nil
	}
	return json.Unmarshal(raw, (*[]string)(l))
}

func newCachedContext(c *Context) cachedContext {
	cx := cachedContext{Rank: c.Rank, Files: c.Files()}
	if c.HasCurrentlyActive {
		a := c.Active()
		cx.Active = &a
	}
	return cx
}

// skipReason says why Lumu's integrations skip an incident with this
// context (SPEC 3, only_active), or "" when they keep it.
func (cx cachedContext) skipReason() string {
	switch {
	case cx.Active == nil:
		return "its context has no currently_active"
	case !*cx.Active:
		return "currently_active is false"
	case cx.Rank != nil && *cx.Rank < MinRank:
		return fmt.Sprintf("rank %g is below %d", *cx.Rank, MinRank)
	}
	return ""
}

func freshnessOf(in *Incident) cachedIncident {
	return cachedIncident{LastContact: in.LastContact.Time, Contacts: in.Contacts, Status: in.Status}
}

// sameIncident reports whether the fields that decide freshness agree.
func (c cachedIncident) sameIncident(o cachedIncident) bool {
	return c.LastContact.Equal(o.LastContact) && c.Contacts == o.Contacts && c.Status == o.Status
}

// cache is the bbolt context cache. A nil *cache is a cache that holds
// nothing and stores nothing.
type cache struct {
	db   *bolt.DB
	path string
	// ext, when not nil, replaces db: a provider.Cache from the engine
	// (the PostgreSQL backend's, shared by every runner).
	ext provider.Cache
}

// openCache opens (or creates) the cache at path. When it cannot, it
// returns a nil cache and a warning: the cache only ever costs time.
func openCache(path string, timeout time.Duration) (*cache, *provider.Warning) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &provider.Warning{
			Summary: "Lumu cache unavailable",
			Detail:  fmt.Sprintf("The cache directory for %s could not be created (%v). This run reads every incident context from Lumu.", path, err),
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, OpenFile: safefile.OpenFile})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, &provider.Warning{
			Summary: "Lumu cache in use",
			Detail:  fmt.Sprintf("The cache file %s is held by another lumuctl process. This run reads every incident context from Lumu and does not update the cache.", path),
		}
	}
	if safefile.IsNotRegular(err) {
		// Never moved aside or replaced: something put it there.
		return nil, &provider.Warning{
			Summary: "Lumu cache unavailable",
			Detail:  fmt.Sprintf("%v. This run reads every incident context from Lumu and does not update the cache.", err),
		}
	}
	if err != nil && !corrupt(err) {
		return nil, &provider.Warning{
			Summary: "Lumu cache unavailable",
			Detail:  fmt.Sprintf("The cache file %s could not be opened (%v). This run reads every incident context from Lumu.", path, err),
		}
	}
	if err != nil {
		// Not a bbolt file (or a damaged one): move it aside and start a
		// new one.
		aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
		if rerr := os.Rename(path, aside); rerr == nil {
			if db2, err2 := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, OpenFile: safefile.OpenFile}); err2 == nil {
				return &cache{db: db2, path: path}, &provider.Warning{
					Summary: "Lumu cache unreadable",
					Detail:  fmt.Sprintf("The cache file %s could not be read (%v). It was moved to %s and a new cache started; this run reads every incident context from Lumu.", path, err, aside),
				}
			}
		}
		return nil, &provider.Warning{
			Summary: "Lumu cache unreadable",
			Detail:  fmt.Sprintf("The cache file %s could not be read (%v). This run reads every incident context from Lumu; delete the file to start a new cache.", path, err),
		}
	}
	return &cache{db: db, path: path}, nil
}

// corrupt reports whether err says the file is not a usable bbolt file
// (as opposed to, say, a permission problem, where moving it would be wrong).
func corrupt(err error) bool {
	return errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch)
}

func (c *cache) close() error {
	if c == nil {
		return nil
	}
	if c.ext != nil {
		return c.ext.Close()
	}
	return c.db.Close()
}

// load returns the cached records of the given incidents of a company.
// Any failure reads as "nothing cached".
func (c *cache) load(company string, ids []string) (out map[string]cachedIncident, err error) {
	out = make(map[string]cachedIncident)
	if c == nil {
		return out, nil
	}
	if c.ext != nil {
		raw, err := c.ext.Load(company, ids)
		if err != nil {
			return out, fmt.Errorf("reading the cache %s: %w", c.path, err)
		}
		for id, v := range raw {
			if rec, ok := decodeCached(v); ok {
				out[id] = rec // an unreadable record is a miss
			}
		}
		return out, nil
	}
	err = c.viewGroup(company, func(b *bolt.Bucket) {
		for _, id := range ids {
			if v := b.Get([]byte(id)); v != nil {
				if rec, ok := decodeCached(v); ok {
					out[id] = rec // an unreadable record is a miss
				}
			}
		}
	})
	if err != nil {
		return map[string]cachedIncident{}, err
	}
	return out, nil
}

// decodeCached decodes one cached record: in one pass when it can,
// otherwise with encoding/json; ok is false for an unreadable record.
func decodeCached(v []byte) (cachedIncident, bool) {
	rec, ok := decodeCachedFast(v)
	if !ok && json.Unmarshal(v, &rec) != nil {
		return cachedIncident{}, false
	}
	return rec, true
}

// viewGroup calls f with the bucket of group (a company's incidents, or
// one of listing.go's groups) in a read transaction; not at all when the
// cache is of another version or holds no such group. A damaged file that
// makes bbolt panic is an error, as is a failed read.
func (c *cache) viewGroup(group string, f func(*bolt.Bucket)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the cache %s: %v", c.path, r)
		}
	}()
	err = c.db.View(func(tx *bolt.Tx) error {
		if !versionOK(tx) {
			return nil
		}
		root := tx.Bucket(bucketCompanies)
		if root == nil {
			return nil
		}
		if b := root.Bucket([]byte(group)); b != nil {
			f(b)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the cache %s: %w", c.path, err)
	}
	return nil
}

func versionOK(tx *bolt.Tx) bool {
	m := tx.Bucket(bucketMeta)
	return m != nil && string(m.Get(keyVersion)) == cacheVersion
}

// writableGroup returns the bucket of group (a company's incidents, or one
// of listing.go's groups) for writing, creating it. A cache of another
// version is emptied first and stamped with this one.
func writableGroup(tx *bolt.Tx, group string) (*bolt.Bucket, error) {
	if !versionOK(tx) {
		if tx.Bucket(bucketCompanies) != nil {
			if err := tx.DeleteBucket(bucketCompanies); err != nil {
				return nil, err
			}
		}
		m, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return nil, err
		}
		if err := m.Put(keyVersion, []byte(cacheVersion)); err != nil {
			return nil, err
		}
	}
	root, err := tx.CreateBucketIfNotExists(bucketCompanies)
	if err != nil {
		return nil, err
	}
	return root.CreateBucketIfNotExists([]byte(group))
}

// store merges updates into the cache in one transaction. A record whose
// freshness fields differ from the stored one replaces it; otherwise its
// contexts are added to the stored ones.
func (c *cache) store(company string, updates map[string]cachedIncident) (err error) {
	if c == nil || len(updates) == 0 {
		return nil
	}
	if c.ext != nil {
		return c.storeExt(company, updates)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("writing the cache %s: %v", c.path, r)
		}
	}()
	err = c.db.Update(func(tx *bolt.Tx) error {
		b, err := writableGroup(tx, company)
		if err != nil {
			return err
		}
		for id, upd := range updates {
			var old cachedIncident
			if v := b.Get([]byte(id)); v != nil && json.Unmarshal(v, &old) == nil && old.sameIncident(upd) {
				for t, cx := range old.Contexts {
					if _, ok := upd.Contexts[t]; !ok {
						if upd.Contexts == nil {
							upd.Contexts = make(map[provider.HashType]cachedContext)
						}
						upd.Contexts[t] = cx
					}
				}
			}
			data, err := json.Marshal(upd)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(id), data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing the cache %s: %w", c.path, err)
	}
	return nil
}

// storeExt is store for an external cache: the merge reads the stored
// records first (another process may write in between; the cache only
// ever costs time, so a lost merge costs a context read, never a wrong
// answer: records are checked for freshness when read).
func (c *cache) storeExt(company string, updates map[string]cachedIncident) error {
	ids := make([]string, 0, len(updates))
	for id := range updates {
		ids = append(ids, id)
	}
	old, err := c.load(company, ids)
	if err != nil {
		return err
	}
	recs := make(map[string][]byte, len(updates))
	for id, upd := range updates {
		if o, ok := old[id]; ok && o.sameIncident(upd) {
			for t, cx := range o.Contexts {
				if _, ok := upd.Contexts[t]; !ok {
					if upd.Contexts == nil {
						upd.Contexts = make(map[provider.HashType]cachedContext)
					}
					upd.Contexts[t] = cx
				}
			}
		}
		data, err := json.Marshal(upd)
		if err != nil {
			return err
		}
		recs[id] = data
	}
	if err := c.ext.Store(company, recs); err != nil {
		return fmt.Errorf("writing the cache %s: %w", c.path, err)
	}
	return nil
}

// CopyCache copies the bbolt cache file at path (its incident records,
// daily request counters, listing schedules and last listings; it returns
// the number of incident records) into dst, for `init --migrate-state`. A missing
// file copies nothing; a file of another cache version copies nothing.
func CopyCache(path string, dst provider.Cache) (records int, err error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: DefaultCacheTimeout, OpenFile: safefile.OpenFile})
	if err != nil {
		return 0, fmt.Errorf("open the cache %s: %w", path, err)
	}
	defer db.Close()
	groups := map[string]map[string][]byte{}
	quotas := map[string]quotaRecord{}
	err = db.View(func(tx *bolt.Tx) error {
		if !versionOK(tx) {
			return nil
		}
		if root := tx.Bucket(bucketCompanies); root != nil {
			err := root.ForEachBucket(func(name []byte) error {
				recs := map[string][]byte{}
				own := strings.HasPrefix(string(name), "lumuctl:") // listing.go's records, copied as they are
				err := root.Bucket(name).ForEach(func(k, v []byte) error {
					var rec cachedIncident
					if own || json.Unmarshal(v, &rec) == nil { // an unreadable record is a miss
						recs[string(k)] = append([]byte(nil), v...)
					}
					return nil
				})
				groups[string(name)] = recs
				return err
			})
			if err != nil {
				return err
			}
		}
		if b := tx.Bucket(bucketQuota); b != nil {
			return b.ForEach(func(k, v []byte) error {
				var r quotaRecord
				if json.Unmarshal(v, &r) == nil {
					quotas[string(k)] = r
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read the cache %s: %w", path, err)
	}
	for g, recs := range groups {
		if err := dst.Store(g, recs); err != nil {
			return records, err
		}
		if !strings.HasPrefix(g, "lumuctl:") {
			records += len(recs)
		}
	}
	for k, r := range quotas {
		// Never lower a count another runner already made.
		if n, err := dst.QuotaUsed(k, r.Day); err != nil || n >= r.Used {
			continue
		}
		if err := dst.SetQuotaUsed(k, r.Day, r.Used); err != nil {
			return records, err
		}
	}
	return records, nil
}
