package boltstore

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/safefile"
	"github.com/lumuctl/lumuctl/engine/state"
)

// DefaultOpenTimeout bounds how long one brief open of the database waits
// for another process's transaction to finish.
const DefaultOpenTimeout = 5 * time.Second

// Options configure a Store.
type Options struct {
	// OpenTimeout bounds each open of the bbolt file (its flock is held only
	// for the length of one transaction). 0 means DefaultOpenTimeout.
	OpenTimeout time.Duration
}

// Store is a state file in bbolt. It holds no open handle: every read or
// write opens the file, runs one transaction and closes it again, so that
// readers are never blocked by a long apply. The zero value is not usable;
// call New.
type Store struct {
	path string
	opts Options
}

var _ state.Store = (*Store)(nil)

// New returns a Store for the file at path. It does no I/O.
func New(path string, opts Options) *Store {
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = DefaultOpenTimeout
	}
	return &Store{path: path, opts: opts}
}

// Path returns the state file's path.
func (s *Store) Path() string { return s.path }

// LockPath returns the write lock file, <state_path>.lock.
func (s *Store) LockPath() string { return s.path + ".lock" }

// BackupPath returns the backup file, <state_path>.backup.
func (s *Store) BackupPath() string { return s.path + ".backup" }

// meta is the decoded meta bucket.
type meta struct {
	version int
	lineage string
	serial  uint64
}

func (s *Store) corrupt(detail string, err error) error {
	return &state.CorruptError{Path: s.path, Detail: detail, Err: err}
}

// boltOptions are the options of every open of the state file: it is
// never opened through a symbolic link, and a read-write open leaves it
// mode 0600 whatever mode it had.
func (s *Store) boltOptions(readOnly bool) *bolt.Options {
	return &bolt.Options{ReadOnly: readOnly, Timeout: s.opts.OpenTimeout, OpenFile: safefile.OpenFile}
}

// openErr classifies an error from bolt.Open.
func (s *Store) openErr(err error) error {
	switch {
	case safefile.IsNotRegular(err):
		return fmt.Errorf("open state: %w", err)
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("open state %s: %w (another process kept it for more than %s)", s.path, state.ErrBusy, s.opts.OpenTimeout)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("open state %s: %w", s.path, err)
	}
	return s.corrupt("cannot open as a bbolt database", err)
}

// guard runs fn, turning a panic (bbolt panics on some corrupt pages; a
// truncated file faults on its memory map) into a CorruptError.
func (s *Store) guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = s.corrupt("unreadable database pages", fmt.Errorf("%v", r))
		}
	}()
	return fn()
}

// view runs fn in a read transaction of a read-only open. It reports
// exists=false (and does not call fn) when there is no state file, or when
// the file is a bbolt database that was never initialised.
func (s *Store) view(fn func(tx *bolt.Tx, m meta) error) (exists bool, err error) {
	if _, err := os.Stat(s.path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("state %s: %w", s.path, err)
	}
	err = s.guard(func() error {
		db, err := bolt.Open(s.path, 0o600, s.boltOptions(true))
		if err != nil {
			return s.openErr(err)
		}
		defer db.Close()
		return db.View(func(tx *bolt.Tx) error {
			m, ok, err := s.readMeta(tx)
			if err != nil || !ok {
				return err
			}
			if m.version != currentVersion() {
				return &state.VersionError{Path: s.path, Found: m.version, Supported: currentVersion()}
			}
			exists = true
			return fn(tx, m)
		})
	})
	return exists, err
}

// readMeta decodes the meta bucket. ok is false for a bbolt file with no
// buckets at all (created but never initialised).
func (s *Store) readMeta(tx *bolt.Tx) (m meta, ok bool, err error) {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if empty {
			return m, false, nil
		}
		return m, false, s.corrupt("no meta bucket", nil)
	}
	v, err := decodeUint(b.Get(keyFormatVersion))
	if err != nil || v == 0 || v > 1<<20 {
		return m, false, s.corrupt("meta format_version", err)
	}
	m.version = int(v)
	if m.version > currentVersion() {
		return m, false, &state.VersionError{Path: s.path, Found: m.version, Supported: currentVersion()}
	}
	m.lineage = string(b.Get(keyLineage))
	if m.lineage == "" {
		return m, false, s.corrupt("meta has no lineage", nil)
	}
	if m.serial, err = decodeUint(b.Get(keySerial)); err != nil {
		return m, false, s.corrupt("meta serial", err)
	}
	return m, true, nil
}

// update opens the file read-write (creating it and its directory), runs
// fn in one write transaction and closes the file. A missing file gets a
// fresh lineage; an older format is upgraded first. When bump is true the
// serial is incremented. It returns the serial after the transaction.
func (s *Store) update(bump bool, fn func(tx *bolt.Tx) error) (serial uint64, err error) {
	if err := s.ensureDir(); err != nil {
		return 0, err
	}
	err = s.guard(func() error {
		db, err := bolt.Open(s.path, 0o600, s.boltOptions(false))
		if err != nil {
			return s.openErr(err)
		}
		defer db.Close()
		return db.Update(func(tx *bolt.Tx) error {
			m, err := s.prepare(tx)
			if err != nil {
				return err
			}
			if fn != nil {
				if err := fn(tx); err != nil {
					return err
				}
			}
			serial = m.serial
			if bump {
				serial++
				return tx.Bucket(bucketMeta).Put(keySerial, encodeUint(serial))
			}
			return nil
		})
	})
	return serial, err
}

// prepare initialises a new file or upgrades an old one, inside tx.
func (s *Store) prepare(tx *bolt.Tx) (meta, error) {
	m, ok, err := s.readMeta(tx)
	if err != nil {
		return m, err
	}
	if !ok {
		lineage, err := state.NewLineage()
		if err != nil {
			return m, err
		}
		for _, name := range topBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return m, err
			}
		}
		m = meta{version: currentVersion(), lineage: lineage}
		b := tx.Bucket(bucketMeta)
		for k, v := range map[string][]byte{
			string(keyFormatVersion): encodeUint(uint64(m.version)),
			string(keyLineage):       []byte(lineage),
			string(keySerial):        encodeUint(0),
		} {
			if err := b.Put([]byte(k), v); err != nil {
				return m, err
			}
		}
		return m, nil
	}
	for m.version < currentVersion() {
		if err := upgrades[m.version-1](tx); err != nil {
			return m, fmt.Errorf("upgrade state %s from format version %d: %w", s.path, m.version, err)
		}
		m.version++
		if err := tx.Bucket(bucketMeta).Put(keyFormatVersion, encodeUint(uint64(m.version))); err != nil {
			return m, err
		}
	}
	for _, name := range topBuckets {
		if tx.Bucket(name) == nil {
			return m, s.corrupt(fmt.Sprintf("bucket %s is missing", name), nil)
		}
	}
	return m, nil
}

func (s *Store) ensureDir() error {
	dir := filepath.Dir(s.path)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory %s: %w", dir, err)
	}
	return nil
}

// Init creates the state file (mode 0600, its directory 0700) with a new
// lineage and serial 0 if it does not exist, upgrading an older format.
// An existing current file is only checked: Init then changes nothing.
func (s *Store) Init() (created bool, err error) {
	exists, err := s.view(func(*bolt.Tx, meta) error { return nil })
	var verr *state.VersionError
	switch {
	case errors.As(err, &verr) && verr.Found < verr.Supported:
		_, err = s.update(true, nil)
		return false, err
	case err != nil:
		return false, err
	case exists:
		return false, nil
	}
	_, err = s.update(false, nil)
	return err == nil, err
}

// Snapshot reads lineage, serial, owned items, applied digests and the
// journal in one read transaction. A missing file yields an empty State.
func (s *Store) Snapshot() (*state.State, error) {
	st := &state.State{Items: map[string]state.Item{}, Applied: map[string]time.Time{}}
	_, err := s.view(func(tx *bolt.Tx, m meta) error {
		st.FormatVersion, st.Lineage, st.Serial = m.version, m.lineage, m.serial
		st.Namespace = string(tx.Bucket(bucketMeta).Get(keyNamespace))
		lists := provider.NewValueLists()
		err := tx.Bucket(bucketItems).ForEach(func(k, v []byte) error {
			it, err := decodeItem(v, lists)
			if err != nil {
				return s.corrupt(fmt.Sprintf("items[%q]", truncate(k)), err)
			}
			if it.Item.ItemID != string(k) {
				return s.corrupt(fmt.Sprintf("items[%q]", truncate(k)), fmt.Errorf("record has item_id %q", it.Item.ItemID))
			}
			st.Items[string(k)] = it
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketApplied).ForEach(func(k, v []byte) error {
			r, err := decodeApplied(v)
			if err != nil {
				return s.corrupt(fmt.Sprintf("applied[%q]", truncate(k)), err)
			}
			st.Applied[string(k)] = r.Time
			return nil
		})
		if err != nil {
			return err
		}
		st.Journal, err = s.readJournal(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (s *Store) readJournal(tx *bolt.Tx) ([]state.JournalEntry, error) {
	var out []state.JournalEntry
	err := tx.Bucket(bucketJournal).ForEach(func(k, v []byte) error {
		seq, err := decodeSeqKey(k)
		if err == nil {
			var e state.JournalEntry
			if e, err = decodeJournal(v); err == nil {
				if e.Seq != seq {
					err = fmt.Errorf("record has seq %d", e.Seq)
				}
				out = append(out, e)
			}
		}
		if err != nil {
			return s.corrupt(fmt.Sprintf("journal[%x]", k), err)
		}
		return nil
	})
	return out, err
}

// PendingJournal returns the unfinished journal entries, ordered by Seq.
func (s *Store) PendingJournal() ([]state.JournalEntry, error) {
	var out []state.JournalEntry
	_, err := s.view(func(tx *bolt.Tx, _ meta) error {
		all, err := s.readJournal(tx)
		for _, e := range all {
			if !e.Done {
				out = append(out, e)
			}
		}
		return err
	})
	return out, err
}

// History returns the audit history, oldest first.
func (s *Store) History() ([]state.HistoryEntry, error) {
	var out []state.HistoryEntry
	_, err := s.view(func(tx *bolt.Tx, _ meta) error {
		return tx.Bucket(bucketHistory).ForEach(func(k, v []byte) error {
			seq, err := decodeSeqKey(k)
			if err == nil {
				var h state.HistoryEntry
				if h, err = decodeHistory(v); err == nil {
					h.Seq = seq
					out = append(out, h)
				}
			}
			if err != nil {
				return s.corrupt(fmt.Sprintf("history[%x]", k), err)
			}
			return nil
		})
	})
	return out, err
}

// Provenance returns the incidents that put hash into blocklist at the last
// apply, or nil if the hash is not recorded there. hash must be a lowercase
// md5, sha1 or sha256 hex digest.
func (s *Store) Provenance(blocklist, hash string) ([]provider.IncidentRef, error) {
	key, err := state.HashBytes(hash)
	if err != nil {
		return nil, err
	}
	var out []provider.IncidentRef
	_, err = s.view(func(tx *bolt.Tx, _ meta) error {
		b := tx.Bucket(bucketProvenance).Bucket([]byte(blocklist))
		if b == nil {
			return nil
		}
		out, err = s.lookup(blocklist, b, key)
		return err
	})
	return out, err
}

// ProvenanceOf returns the recorded incidents of each of hashes in
// blocklist, in one read transaction; each stored incident is decoded once.
func (s *Store) ProvenanceOf(blocklist string, hashes []string) (state.HashIncidents, error) {
	keys := make([][]byte, len(hashes))
	for i, h := range hashes {
		k, err := state.HashBytes(h)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	out := state.HashIncidents{}
	_, err := s.view(func(tx *bolt.Tx, _ meta) error {
		b := tx.Bucket(bucketProvenance).Bucket([]byte(blocklist))
		if b == nil {
			return nil
		}
		memo := map[uint32][]provider.IncidentRef{} // index → {ref}, shared
		for i, key := range keys {
			refs, err := s.lookupMemo(blocklist, b, key, memo)
			if err != nil {
				return err
			}
			if len(refs) > 0 {
				out[hashes[i]] = refs
			}
		}
		return nil
	})
	return out, err
}

// ProvenanceAll returns, for every blocklist that holds hash, the incidents
// that put it there.
func (s *Store) ProvenanceAll(hash string) (map[string][]provider.IncidentRef, error) {
	key, err := state.HashBytes(hash)
	if err != nil {
		return nil, err
	}
	out := map[string][]provider.IncidentRef{}
	_, err = s.view(func(tx *bolt.Tx, _ meta) error {
		return tx.Bucket(bucketProvenance).ForEachBucket(func(name []byte) error {
			b := tx.Bucket(bucketProvenance).Bucket(name)
			refs, err := s.lookup(string(name), b, key)
			if len(refs) > 0 {
				out[string(name)] = refs
			}
			return err
		})
	})
	return out, err
}

func (s *Store) lookup(blocklist string, b *bolt.Bucket, key []byte) ([]provider.IncidentRef, error) {
	return s.lookupMemo(blocklist, b, key, nil)
}

// lookupMemo is lookup with memo (when not nil) holding the incidents
// decoded so far by index: a hash with one incident gets memo's shared
// one-element slice (no spare capacity, so an append copies).
func (s *Store) lookupMemo(blocklist string, b *bolt.Bucket, key []byte, memo map[uint32][]provider.IncidentRef) ([]provider.IncidentRef, error) {
	hashes, incidents := b.Bucket(bucketHashes), b.Bucket(bucketIncidents)
	where := fmt.Sprintf("provenance[%q]", blocklist)
	if hashes == nil || incidents == nil {
		return nil, s.corrupt(where, errors.New("missing hashes or incidents bucket"))
	}
	v := hashes.Get(key)
	if v == nil {
		return nil, nil
	}
	idx, err := decodeIndexes(v, math.MaxUint32+1)
	if err != nil {
		return nil, s.corrupt(fmt.Sprintf("%s[%x]", where, key), err)
	}
	incident := func(i uint32) ([]provider.IncidentRef, error) {
		if one, ok := memo[i]; ok {
			return one, nil
		}
		data := incidents.Get(incidentKey(i))
		if data == nil {
			return nil, s.corrupt(fmt.Sprintf("%s incident %d", where, i), errors.New("missing"))
		}
		r, err := decodeIncident(data)
		if err != nil {
			return nil, s.corrupt(fmt.Sprintf("%s incident %d", where, i), err)
		}
		one := []provider.IncidentRef{r}
		if memo != nil {
			memo[i] = one
		}
		return one, nil
	}
	if len(idx) == 1 {
		return incident(idx[0])
	}
	out := make([]provider.IncidentRef, 0, len(idx))
	for _, i := range idx {
		one, err := incident(i)
		if err != nil {
			return nil, err
		}
		out = append(out, one[0])
	}
	return out, nil
}

// Check runs bbolt's integrity check (Tx.Check) on the file and decodes
// every record; it returns all problems found, joined. A missing file is
// fine.
func (s *Store) Check() error {
	var errs []error
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	err := s.guard(func() error {
		db, err := bolt.Open(s.path, 0o600, s.boltOptions(true))
		if err != nil {
			return s.openErr(err)
		}
		defer db.Close()
		return db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				errs = append(errs, s.corrupt("integrity check", err))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if _, err := s.Snapshot(); err != nil {
		return err
	}
	_, err = s.History()
	return err
}
