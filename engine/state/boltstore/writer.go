package boltstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/safefile"
	"github.com/lumuctl/lumuctl/engine/state"
)

// writer holds the write lock. Its transactions are serialised by mu: two
// bbolt opens of one file in one process would contend on the file's flock.
type writer struct {
	s    *Store
	info state.LockInfo

	mu sync.Mutex
	f  *os.File // lock file; nil after Unlock
}

var _ state.Writer = (*writer)(nil)

func (w *writer) Info() state.LockInfo { return w.info }

// do runs fn in one serial-bumping write transaction under mu.
func (w *writer) do(fn func(tx *bolt.Tx) error) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, state.ErrUnlocked
	}
	return w.s.update(true, fn)
}

func (w *writer) Unlock() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return state.ErrUnlocked
	}
	f := w.f
	w.f = nil
	// Clear the record first, so no one reads a released holder's record.
	errT := f.Truncate(0)
	errU := unlockFile(f)
	errC := f.Close()
	if err := errors.Join(errT, errU, errC); err != nil {
		return fmt.Errorf("unlock state %s: %w", w.s.LockPath(), err)
	}
	return nil
}

func (w *writer) JournalBegin(e state.JournalEntry) (uint64, error) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	e.Done, e.DoneTime, e.ResultID, e.ResultVersion = false, time.Time{}, "", ""
	e.Seq = 1 // placeholder so validation sees a complete record
	if err := state.ValidateJournal(e); err != nil {
		return 0, fmt.Errorf("journal begin: %w", err)
	}
	var seq uint64
	_, err := w.do(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		e.Seq = seq
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(seqKey(seq), data)
	})
	if err != nil {
		return 0, fmt.Errorf("journal begin %s %s: %w", e.Op, e.ItemID, err)
	}
	return seq, nil
}

func (w *writer) JournalDone(seq uint64, result provider.Item) error {
	_, err := w.do(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		v := b.Get(seqKey(seq))
		if v == nil {
			return fmt.Errorf("%w: seq %d", state.ErrNoJournalEntry, seq)
		}
		e, err := decodeJournal(v)
		if err != nil {
			return w.s.corrupt(fmt.Sprintf("journal[%d]", seq), err)
		}
		e.Done, e.DoneTime = true, time.Now().UTC()
		items := tx.Bucket(bucketItems)
		switch e.Op {
		case provider.Delete:
			if err := items.Delete([]byte(e.ItemID)); err != nil {
				return err
			}
		default:
			it := *e.Item
			if result.ItemID == "" {
				// Only the identity came back: keep the journaled body.
				it.Item.ID, it.Item.Version = result.ID, result.Version
			} else if result.ItemID != e.ItemID {
				return fmt.Errorf("result has item_id %q, journal entry %d is for %q", result.ItemID, seq, e.ItemID)
			} else {
				it.Item = result
			}
			e.ResultID, e.ResultVersion = it.Item.ID, it.Item.Version
			data, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := items.Put([]byte(e.ItemID), data); err != nil {
				return err
			}
		}
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(seqKey(seq), data)
	})
	if err != nil {
		return fmt.Errorf("journal done %d: %w", seq, err)
	}
	return nil
}

func (w *writer) JournalClear(seqs ...uint64) error {
	_, err := w.do(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		for _, seq := range seqs {
			if err := b.Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		return nil
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
	// Encode provenance before opening the file, to keep the transaction
	// (and the time the file is held) short.
	prov, err := state.EncodeProvenances(c.Provenance, encodeProvenance)
	if err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	serial, err := w.do(func(tx *bolt.Tx) error {
		if c.Namespace != "" {
			mb := tx.Bucket(bucketMeta)
			if rec := string(mb.Get(keyNamespace)); rec != "" && rec != c.Namespace {
				return &state.NamespaceError{Path: w.s.path, Recorded: rec, Configured: c.Namespace}
			}
			if err := mb.Put(keyNamespace, []byte(c.Namespace)); err != nil {
				return err
			}
		}
		items := tx.Bucket(bucketItems)
		for _, id := range c.Remove {
			if err := items.Delete([]byte(id)); err != nil {
				return err
			}
		}
		for _, it := range c.Put {
			data, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := items.Put([]byte(it.Item.ItemID), data); err != nil {
				return err
			}
		}
		pb := tx.Bucket(bucketProvenance)
		for _, bl := range slices.Sorted(maps.Keys(prov)) {
			if pb.Bucket([]byte(bl)) != nil {
				if err := pb.DeleteBucket([]byte(bl)); err != nil {
					return err
				}
			}
			if ep := prov[bl]; ep != nil {
				if err := ep.write(pb, bl); err != nil {
					return err
				}
			}
		}
		for _, bl := range slices.Sorted(maps.Keys(c.PatchProvenance)) {
			var old state.HashIncidents
			if b := pb.Bucket([]byte(bl)); b != nil {
				var err error
				if old, err = w.s.readProvenance(b, bl); err != nil {
					return err
				}
				if err := pb.DeleteBucket([]byte(bl)); err != nil {
					return err
				}
			}
			merged := c.PatchProvenance[bl].Apply(old)
			if merged == nil {
				continue
			}
			ep, err := encodeProvenance(merged)
			if err != nil {
				return fmt.Errorf("provenance of blocklist %s: %w", bl, err)
			}
			if err := ep.write(pb, bl); err != nil {
				return err
			}
		}
		if c.AppliedDigest != "" {
			data, err := json.Marshal(appliedRecord{Time: time.Now().UTC()})
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketApplied).Put([]byte(c.AppliedDigest), data); err != nil {
				return err
			}
		}
		if c.History != nil {
			h := *c.History
			if h.Time.IsZero() {
				h.Time = time.Now().UTC()
			}
			hb := tx.Bucket(bucketHistory)
			seq, err := hb.NextSequence()
			if err != nil {
				return err
			}
			h.Seq = seq
			data, err := json.Marshal(h)
			if err != nil {
				return err
			}
			if err := hb.Put(seqKey(seq), data); err != nil {
				return err
			}
		}
		if c.ClearDone {
			jb := tx.Bucket(bucketJournal)
			var done [][]byte
			err := jb.ForEach(func(k, v []byte) error {
				e, err := decodeJournal(v)
				if err != nil {
					return w.s.corrupt(fmt.Sprintf("journal[%x]", k), err)
				}
				if e.Done {
					done = append(done, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range done {
				if err := jb.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("commit state: %w", err)
	}
	return serial, nil
}

// encodedProvenance is one blocklist's provenance, ready to write: an
// incident table (each distinct IncidentRef once) and, per hash, the
// indexes of its incidents. Both are sorted by key so that bbolt appends.
type encodedProvenance struct {
	incidents [][]byte
	keys      [][]byte
	values    [][]byte
}

func encodeProvenance(p state.HashIncidents) (*encodedProvenance, error) {
	ep := &encodedProvenance{}
	index := map[string]uint32{}
	type kv struct{ k, v []byte }
	rows := make([]kv, 0, len(p))
	for h, refs := range p {
		key, err := state.HashBytes(h)
		if err != nil {
			return nil, err
		}
		if len(refs) == 0 {
			return nil, fmt.Errorf("hash %s has no incidents", h)
		}
		idx := make([]uint32, 0, len(refs))
		for _, r := range refs {
			if r.ID == "" {
				return nil, fmt.Errorf("hash %s: incident without id", h)
			}
			key := state.RefKey(r)
			i, ok := index[key]
			if !ok {
				data, err := json.Marshal(r)
				if err != nil {
					return nil, err
				}
				i = uint32(len(ep.incidents))
				index[key] = i
				ep.incidents = append(ep.incidents, data)
			}
			idx = append(idx, i)
		}
		rows = append(rows, kv{key, encodeIndexes(idx)})
	}
	sort.Slice(rows, func(i, j int) bool { return string(rows[i].k) < string(rows[j].k) })
	for _, r := range rows {
		ep.keys = append(ep.keys, r.k)
		ep.values = append(ep.values, r.v)
	}
	return ep, nil
}

func (ep *encodedProvenance) write(parent *bolt.Bucket, blocklist string) error {
	b, err := parent.CreateBucket([]byte(blocklist))
	if err != nil {
		return err
	}
	ib, err := b.CreateBucket(bucketIncidents)
	if err != nil {
		return err
	}
	ib.FillPercent = 1
	for i, data := range ep.incidents {
		if err := ib.Put(incidentKey(uint32(i)), data); err != nil {
			return err
		}
	}
	hb, err := b.CreateBucket(bucketHashes)
	if err != nil {
		return err
	}
	hb.FillPercent = 1
	for i, k := range ep.keys {
		if err := hb.Put(k, ep.values[i]); err != nil {
			return err
		}
	}
	return nil
}

// Backup copies the committed state to <state_path>.backup, mode 0600: a
// consistent copy made in one read transaction, written to a temporary file
// in the same directory, fsynced and renamed over the old backup. With no
// state file there is nothing to copy and Backup does nothing.
func (w *writer) Backup() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return state.ErrUnlocked
	}
	return w.s.backup()
}

func (s *Store) backup() error {
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	dst := s.BackupPath()
	if err := safefile.CheckTarget(dst); err != nil {
		return fmt.Errorf("backup state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp*")
	if err != nil {
		return fmt.Errorf("backup state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	err = s.guard(func() error {
		db, err := bolt.Open(s.path, 0o600, s.boltOptions(true))
		if err != nil {
			return s.openErr(err)
		}
		defer db.Close()
		return db.View(func(tx *bolt.Tx) error {
			// A file this lumuctl cannot read (a newer format) must not
			// replace the last good backup.
			if _, _, err := s.readMeta(tx); err != nil {
				return err
			}
			_, err := tx.WriteTo(tmp)
			return err
		})
	})
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err == nil {
		err = syncDir(filepath.Dir(dst))
	}
	if err != nil {
		return fmt.Errorf("backup state to %s: %w", dst, err)
	}
	return nil
}

// syncDir makes a rename durable. Directories cannot be fsynced everywhere
// (Windows); that is not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}
